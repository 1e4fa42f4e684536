"""Saving weights portably: a chainrule model in a safetensors file, loaded by PyTorch (and back).

chainrule names and lays out parameters as PyTorch does (``Linear.weight`` is (out, in),
``Conv2d.weight`` is (out, in, kh, kw), state-dict keys are dotted attribute paths), and
``chainrule.io.save_weights`` writes the state dict as a safetensors file. So:

1. a ``SmallCNN`` is trained briefly on the 8x8 digits and saved with ``io.save_weights`` (the
   architecture config rides along in the file's metadata);
2. if PyTorch is installed, the same network written in PyTorch loads the file with
   ``safetensors.torch.load_file`` + ``load_state_dict(strict=True)``, its outputs on the test
   images are compared with chainrule's, and the way back (PyTorch weights -> chainrule) is
   checked too, and so are PyTorch's own ``.pth`` files: ``torch.save(state_dict)`` read by
   ``chainrule.load`` (no unpickling), and ``chainrule.save(..., format="torch")`` read by
   ``torch.load(weights_only=True)``;
3. without PyTorch (or with ``--no-torch``) the file is read back by chainrule alone: the model
   is rebuilt from the stored config (``io.read_config`` + ``models.build_from_config``), the
   weights loaded with ``io.load_weights``, and the outputs compared.

    python examples/save_load_torch.py --epochs 2 --out runs/small_cnn.safetensors
"""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np

import chainrule as cr
from chainrule import io, optim
from chainrule.data.datasets import digits
from chainrule.models import build, build_from_config
from chainrule.train import Trainer


def torch_small_cnn(torch):
    """``chainrule.models.SmallCNN(input_size=8)`` written in PyTorch, with the same names."""
    nn = torch.nn

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10),
            )

        def forward(self, x):
            return self.net(x)

    return SmallCNN()


def compare(a, b) -> dict:
    """Largest absolute difference of two logit arrays and how often their argmax agrees."""
    return {"max_abs_diff": float(np.abs(a - b).max()),
            "prediction_agreement": float((a.argmax(axis=1) == b.argmax(axis=1)).mean())}


def with_torch(path, x, logits, seed: int) -> dict:
    import torch
    from safetensors.torch import load_file, save_file

    net = torch_small_cnn(torch)
    net.load_state_dict(load_file(str(path)), strict=True)  # chainrule -> PyTorch
    net.eval()
    with torch.no_grad():
        torch_logits = net(torch.from_numpy(x)).numpy()
    result = {"backend": "torch", **compare(logits, torch_logits)}

    # ... and back: PyTorch's own (freshly initialized) weights, saved by PyTorch, loaded into a
    # chainrule SmallCNN rebuilt from the config stored in our file.
    torch.manual_seed(seed)
    fresh = torch_small_cnn(torch).eval()
    back = path.with_name(path.stem + "-from-torch.safetensors")
    save_file({k: v.contiguous() for k, v in fresh.state_dict().items()}, str(back))
    model = build_from_config(io.read_config(path))
    io.load_weights(model, back)
    with torch.no_grad():
        expected = fresh(torch.from_numpy(x)).numpy()
    result["torch_to_chainrule_max_abs_diff"] = compare(predict(model, x), expected)[
        "max_abs_diff"]

    # PyTorch's own checkpoint format, both ways: torch.save -> chainrule.load, and back
    pth = path.with_name(path.stem + "-from-torch.pth")
    torch.save(fresh.state_dict(), pth)
    model.load_state_dict(cr.load(pth))
    result["pth_to_chainrule_max_abs_diff"] = compare(predict(model, x), expected)["max_abs_diff"]
    cr.save(model.state_dict(), pth, format="torch")
    net.load_state_dict(torch.load(pth, weights_only=True))
    with torch.no_grad():
        again = net(torch.from_numpy(x)).numpy()
    result["chainrule_pth_to_torch_max_abs_diff"] = compare(again, expected)["max_abs_diff"]
    return result


def without_torch(path, x, logits) -> dict:
    rebuilt = build_from_config(io.read_config(path))  # a new, randomly initialized SmallCNN
    io.load_weights(rebuilt, path)
    return {"backend": "safetensors", **compare(logits, predict(rebuilt, x))}


def predict(model, x):
    return Trainer(model, cr.F.cross_entropy, None).predict(x, batch_size=512)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", default="runs/small_cnn.safetensors", help="the weights file")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 0:
        parser.error("--epochs must be at least 0")
    (x_train, y_train), (x_test, y_test) = digits(seed=args.seed)
    x_train, x_test = x_train[:, None], x_test[:, None]  # NCHW: one grey channel

    model = build("small_cnn", input_size=8, rng=np.random.default_rng(args.seed))
    trainer = Trainer(model, cr.F.cross_entropy, optim.Adam(model.parameters(), lr=3e-3),
                      metrics=["accuracy"])
    trainer.fit((x_train, y_train), epochs=args.epochs, batch_size=32, rng=args.seed, verbose=0)
    test_acc = trainer.evaluate((x_test, y_test))["accuracy"]
    path = io.save_weights(model, args.out, config=model.config)
    print(f"SmallCNN, {args.epochs} epoch(s): test accuracy {test_acc:.4f}; saved "
          f"{len(model.state_dict())} tensors to {path} with config {io.read_config(path)}")

    logits = predict(model, x_test)
    installed = importlib.util.find_spec("torch") is not None
    use_torch = not args.no_torch and installed
    if use_torch:
        result = with_torch(path, x_test, logits, args.seed)
    else:
        why = "--no-torch was given" if args.no_torch else (
            "PyTorch is not installed (pip install torch==2.13.0, or pip install "
            "'chainrule[oracle]')")
        print(f"{why}: skipped loading the file into PyTorch and PyTorch's weights into "
              "chainrule; checking the file with chainrule alone")
        result = without_torch(path, x_test, logits)
    result.update({"test_accuracy": test_acc, "path": str(path)})
    reader = "PyTorch" if use_torch else "chainrule (rebuilt from the stored config)"
    print(f"loaded by {reader}: largest logit difference {result['max_abs_diff']:.2e}, "
          f"predictions agree on {result['prediction_agreement']:.2%} of {len(x_test)} images")
    if use_torch:
        print("PyTorch weights loaded by chainrule: largest logit difference "
              f"{result['torch_to_chainrule_max_abs_diff']:.2e} (safetensors), "
              f"{result['pth_to_chainrule_max_abs_diff']:.2e} (torch.save's .pth)")
    return result


if __name__ == "__main__":
    main()
