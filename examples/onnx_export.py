"""Exporting a trained network to ONNX and running it in onnxruntime.

A small CNN (two 3x3 convolutions, max pooling, two dense layers: ``chainrule.models.SmallCNN``)
is trained for a few epochs on scikit-learn's 8x8 digits, written with ``chainrule.onnx.export``
(dynamic batch axis, named input and output), loaded by onnxruntime and run on the whole test
set at once. The script prints the largest difference between the two runtimes' logits and how
often their predicted classes agree. Needs ``pip install "chainrule[onnx]"`` and scikit-learn.

    python examples/onnx_export.py --epochs 8 --out runs/onnx_export/digits.onnx
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data.datasets import digits
from chainrule.models import SmallCNN


def train(epochs: int, seed: int, train_size: int | None = None):
    """SmallCNN fitted with Adam on minibatches of 32; returns it in eval mode, and the test set."""
    (x, y), (x_test, y_test) = digits(seed=seed)
    x, x_test = x[:train_size, None], x_test[:, None]  # (N, 1, 8, 8)
    y = y[:train_size]
    rng = np.random.default_rng(seed)
    model = SmallCNN(input_size=8, rng=rng)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 32):
            idx = order[start:start + 32]
            opt.zero_grad()
            loss = loss_fn(model(cr.tensor(x[idx])), cr.tensor(y[idx]))
            loss.backward()
            opt.step()
    return model.eval(), (x_test, y_test)


def export_and_compare(model, x_test, path: Path) -> dict:
    """Write ``model`` to ``path`` and compare onnxruntime's logits with chainrule's."""
    import onnxruntime as ort  # optional: pip install "chainrule[onnx]"

    path.parent.mkdir(parents=True, exist_ok=True)
    example = cr.tensor(x_test[:1])  # batch 1; the batch axis is dynamic in the file
    cr.onnx.export(model, example, path, input_names=["images"], output_names=["logits"],
                   dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_logits = session.run(["logits"], {"images": x_test})[0]
    with cr.no_grad():
        ours = model(cr.tensor(x_test)).numpy()
    return {"max_abs_diff": float(np.abs(onnx_logits - ours).max()),
            "agreement": float((onnx_logits.argmax(1) == ours.argmax(1)).mean()),
            "onnx_predictions": onnx_logits.argmax(1), "bytes": path.stat().st_size}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-size", type=int, default=None, help="default: all 1438")
    parser.add_argument("--out", default="runs/onnx_export/digits.onnx")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, (x_test, y_test) = train(args.epochs, args.seed, args.train_size)
    print(f"trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s")
    result = export_and_compare(model, x_test, Path(args.out))
    result["onnx_accuracy"] = float((result["onnx_predictions"] == y_test).mean())
    print(f"wrote {args.out} ({result['bytes'] / 1024:.1f} KiB); on {len(x_test)} test digits: "
          f"max |onnxruntime - chainrule| = {result['max_abs_diff']:.2e}, predictions agree "
          f"{100 * result['agreement']:.1f}%, onnxruntime accuracy "
          f"{100 * result['onnx_accuracy']:.1f}%")
    return result


if __name__ == "__main__":
    main()
