"""examples/cifar10_tutorial.py runs on a small CIFAR-10 binary folder made here."""

from __future__ import annotations

import numpy as np


def test_cifar10_tutorial_example_trains(tmp_path, load_script, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name in names:
        labels = rng.integers(0, 10, 8)
        images = rng.integers(0, 256, (8, 3, 32, 32), dtype=np.uint8)
        images[:, 0] = (images[:, 0] // (1 + labels[:, None, None])).astype(np.uint8)
        (folder / name).write_bytes(b"".join(bytes([int(y)]) + x.tobytes()
                                             for x, y in zip(images, labels, strict=True)))
    example = load_script("examples/cifar10_tutorial.py")
    result = example.main(["--data", str(tmp_path), "--epochs", "2", "--batch-size", "8",
                           "--workers", "2"])
    assert len(result["losses"]) == 2 * 5 and all(np.isfinite(result["losses"]))
    assert 0.0 <= result["accuracy"] <= 1.0
    assert "Accuracy of the network on the 8 test images" in capsys.readouterr().out
