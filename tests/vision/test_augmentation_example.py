"""examples/augmentation_pipeline.py runs with each policy, reproducibly, on a few images."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("policy", ["trivial", "auto", "rand", "none"])
def test_augmentation_example_trains(load_script, capsys, policy):
    example = load_script("examples/augmentation_pipeline.py")
    argv = ["--policy", policy, "--train", "24", "--test", "8", "--epochs", "1"]
    first = example.main(argv)
    assert len(first["losses"]) == 1 and np.isfinite(first["losses"]).all()
    assert 0.0 <= first["shifted"] <= 1.0 and 0.0 <= first["like training"] <= 1.0
    assert example.main(argv)["losses"] == first["losses"]  # manual_seed makes it repeat
    assert f"({policy} policy, 1 epochs)" in capsys.readouterr().out


def test_augmentation_example_saves_a_grid(load_script, tmp_path):
    pytest.importorskip("PIL.Image")
    example = load_script("examples/augmentation_pipeline.py")
    example.main(["--train", "8", "--test", "4", "--epochs", "1",
                  "--grid", str(tmp_path / "grid.png")])
    assert (tmp_path / "grid.png").stat().st_size > 0
    images, labels = example.make_images(6, np.random.default_rng(0))
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8 and labels.max() <= 2
