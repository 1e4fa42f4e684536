"""Loading ONNX models as trainable chainrule Modules, and fine-tuning them.

``chainrule.onnx.load`` reads an ``.onnx`` file and returns a Module whose forward evaluates the
graph with chainrule ops, so gradients reach the inputs and the weights:

1. a small MLP is written as an ONNX graph with ``onnx.helper`` (no PyTorch; its weights are
   random, as if it came from elsewhere), loaded, and fine-tuned on the 8x8 digits: the loss and
   the test accuracy before and after are printed, and then it is attacked by FGSM
   (``chainrule.robust.fgsm``) through the loaded graph;
2. if PyTorch is installed (and ``--no-torch`` is not given), a small CNN is trained briefly in
   PyTorch, exported with ``torch.onnx.export(..., dynamo=False)``, loaded, checked against
   PyTorch's outputs, and fine-tuned in chainrule; its ``state_dict`` keys are PyTorch's.

    python examples/onnx_load.py --steps 60 --out runs/onnx
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import warnings
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.data.datasets import digits
from chainrule.robust import fgsm


def helper_mlp(rng, hidden=32):
    """A 64 -> hidden -> 10 MLP as an ONNX graph: Flatten, Gemm, Relu, Gemm."""
    from onnx import TensorProto, helper, numpy_helper

    def weight(name, *shape):
        scale = 1.0 / np.sqrt(shape[-1])
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32),
                                       name)

    nodes = [helper.make_node("Flatten", ["image"], ["flat"]),
             helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["a"]),
             helper.make_node("Gemm", ["a", "fc2.weight", "fc2.bias"], ["logits"], transB=1)]
    inits = [weight("fc1.weight", hidden, 64), weight("fc1.bias", hidden),
             weight("fc2.weight", 10, hidden), weight("fc2.bias", 10)]
    graph = helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def evaluate(model, x, y):
    """(cross-entropy, accuracy) of ``model`` on ``x``, ``y`` in eval mode."""
    was = model.training
    model.eval()
    with cr.no_grad():
        logits = model(x)
        loss = float(cr.nn.functional.cross_entropy(logits, cr.tensor(y)))
    model.train(was)
    return loss, float((logits.numpy().argmax(1) == y).mean())


def fine_tune(model, train, test, steps, lr, rng):
    """SGD with momentum on minibatches of 64; returns the before/after (loss, accuracy)."""
    (x, y), (xt, yt) = train, test
    before = evaluate(model, xt, yt)
    opt = cr.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(steps):
        idx = rng.choice(len(x), 64, replace=False)
        loss = cr.nn.functional.cross_entropy(model(x[idx]), cr.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return before, evaluate(model, xt, yt)


def report(title, before, after):
    print(f"{title}: test loss {before[0]:.3f} -> {after[0]:.3f}, "
          f"accuracy {before[1]:.3f} -> {after[1]:.3f}")


def torch_cnn_part(torch, out, data, steps, rng):
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(16 * 4 * 4, 10))
    (x, y), (xt, yt) = data
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(10):  # a briefly trained PyTorch model
        idx = rng.choice(len(x), 64, replace=False)
        loss = nn.functional.cross_entropy(net(torch.tensor(x[idx, None])), torch.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter's notice
        torch.onnx.export(net, (torch.tensor(x[:2, None]),), buffer, dynamo=False,
                          opset_version=17, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    if out is not None:
        (out / "torch_cnn.onnx").write_bytes(buffer.getvalue())
    model = cr.onnx.load(buffer.getvalue())
    with torch.no_grad():
        want = net(torch.tensor(xt[:, None])).numpy()
    diff = float(np.abs(model(xt[:, None]).numpy() - want).max())
    print(f"PyTorch CNN loaded: {model}\n  largest difference from PyTorch's outputs: {diff:.2e}")
    print(f"  state_dict keys: {list(model.state_dict())}")
    before, after = fine_tune(model, (x[:, None], y), (xt[:, None], yt), steps, 0.05, rng)
    report("PyTorch CNN fine-tuned in chainrule", before, after)
    return {"max_abs_diff": diff, "keys": list(model.state_dict()), "before": before,
            "after": after}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="fine-tuning steps (default 60)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch part")
    parser.add_argument("--out", type=Path, default=None, help="folder to write the .onnx files")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("onnx") is None:
        parser.error('the onnx package is needed: pip install "chainrule[onnx]"')
    rng = np.random.default_rng(0)
    data = digits()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    proto = helper_mlp(rng)
    source = proto.SerializeToString()
    if args.out is not None:
        (args.out / "digits_mlp.onnx").write_bytes(source)
    model = cr.onnx.load(source)
    print(f"loaded: {model}")
    before, after = fine_tune(model, data[0], data[1], args.steps, 0.1, rng)
    report("onnx.helper MLP fine-tuned", before, after)
    attack = fgsm(model, data[1][0], data[1][1], eps=0.1)  # gradients reach the inputs
    adversarial = float((attack.predictions == data[1][1]).mean())
    print(f"FGSM (eps 0.1) through the loaded graph: test accuracy {after[1]:.3f} -> "
          f"{adversarial:.3f}")
    result = {"mlp": {"before": before, "after": after, "fgsm_accuracy": adversarial}}
    if args.no_torch:
        return result
    if importlib.util.find_spec("torch") is None:
        print("PyTorch is not installed: skipped the PyTorch-exported model")
        return result
    import torch

    result["torch"] = torch_cnn_part(torch, args.out, data, args.steps, rng)
    return result


if __name__ == "__main__":
    main()
