"""The benchmark workloads: what each one is, its data and initial weights, and the comparison.

Every workload is defined once here: its parameters (names and shapes: the state-dict keys that
chainrule and PyTorch share) and its synthetic batch. All frameworks start from the same initial
weights (``init_params``: PyTorch's default initialization, drawn with NumPy from a seed and loaded
into each model through its state dict) and see the same batch, so their losses agree step for
step. The steps themselves live in ``chainrule_steps`` (forward, loss, backward and optimizer step
through chainrule's public API), ``torch_steps``, ``jax_steps`` and ``tinygrad_steps`` (the same
in PyTorch, JAX and tinygrad) and ``numpy_reference`` (by hand). ``make_runner`` imports only the
one it needs, so a worker process imports only the framework it measures.

>>> sorted(WORKLOADS)[:3]
['charcnn', 'conv_ae', 'gan']
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

import numpy as np

FRAMEWORKS = ("chainrule", "torch", "numpy", "jax", "tinygrad")
F32 = np.float32
DROPOUT_P = 0.5


@dataclass(frozen=True)
class Workload:
    """What a benchmark needs to know about one workload."""

    name: str
    title: str
    batch: int            # default batch size
    steps: int            # default timed steps per round
    params: dict          # state-dict key -> shape
    data: object          # (batch, rng) -> dict of NumPy arrays
    train: bool = True    # False: an inference step (eval mode, no_grad); it returns the logits
    heavy: bool = False   # opt-in: only run when named in --workloads
    model: str = ""       # the builder (a key of each framework's BUILDERS); "": the name
    traced: bool = False  # inference through the framework's tracer: its TRACED builder if any

    @property
    def builder(self) -> str:
        return self.model or self.name


class Runner:
    """A built step (``step()``), how to read its result, and the gradients it left behind."""

    def __init__(self, step, to_numpy, grads=None):
        self.step = step
        self._to_numpy = to_numpy
        self._grads = grads

    def outputs(self, value) -> tuple:
        """The step's return value (a loss, several losses or logits) as float64 NumPy arrays."""
        values = value if isinstance(value, tuple) else (value,)
        return tuple(np.asarray(self._to_numpy(v), dtype=np.float64) for v in values)

    def grads(self) -> dict:
        """key -> gradient of the last step (PyTorch layout); for the smoke test."""
        return self._grads()


# -- parameters and data -----------------------------------------------------------------------

def _linear(key, n_in, n_out):
    return {f"{key}.weight": (n_out, n_in), f"{key}.bias": (n_out,)}


def _conv(key, c_in, c_out, *kernel):
    return {f"{key}.weight": (c_out, c_in, *kernel), f"{key}.bias": (c_out,)}


def _conv_t(key, c_in, c_out, *kernel):
    return {f"{key}.weight": (c_in, c_out, *kernel), f"{key}.bias": (c_out,)}


def init_params(shapes: dict, seed: int) -> dict:
    """PyTorch's default init for every layer: U(-b, b), b = 1/sqrt(fan_in), as float32 arrays.

    fan_in is ``weight.shape[1] * prod(kernel)``, PyTorch's rule (for a transposed convolution
    that is out_channels * kernel), and a bias uses its weight's bound.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape in shapes.items():
        weight = shapes[key.rsplit(".", 1)[0] + ".weight"]
        bound = 1 / math.sqrt(weight[1] * math.prod(weight[2:]))
        out[key] = rng.uniform(-bound, bound, shape).astype(F32)
    return out


def _images(batch, rng):
    return {"x": rng.random((batch, 1, 28, 28), dtype=F32)}


def _labelled_images(batch, rng):
    return {**_images(batch, rng), "t": rng.integers(0, 10, batch)}


def _gan_data(batch, rng):
    return {"real": rng.uniform(-1, 1, (batch, 784)).astype(F32),
            "z": rng.standard_normal((batch, 100), dtype=F32)}


CHARS, TEXT_LENGTH, CHAR_CLASSES = 70, 1014, 4


def _char_data(batch, rng):
    """One-hot (N, 70, 1014) texts; index 70 is a character outside the alphabet (all zeros)."""
    idx = rng.integers(0, CHARS + 1, (batch, TEXT_LENGTH))
    x = (np.arange(CHARS)[None, :, None] == idx[:, None, :]).astype(F32)
    return {"x": x, "t": rng.integers(0, CHAR_CLASSES, batch)}


def dropout_seeds(seed: int) -> tuple[int, int]:
    """Seeds of the two dropout layers' generators; every framework draws the same masks."""
    return seed + 101, seed + 102


# -- the registry ------------------------------------------------------------------------------

_MLP = {**_linear("layers.1", 784, 256), **_linear("layers.3", 256, 256),
        **_linear("layers.5", 256, 10)}
_LENET = {**_conv("features.0", 1, 6, 5, 5), **_conv("features.3", 6, 16, 5, 5),
          **_conv("features.6", 16, 120, 5, 5), **_linear("classifier.1", 120, 84),
          **_linear("classifier.3", 84, 10)}
_CONV_AE = {**_conv("0", 1, 16, 3, 3), **_conv("2", 16, 32, 3, 3), **_conv_t("4", 32, 16, 3, 3),
            **_conv_t("6", 16, 1, 3, 3)}
_GAN = {**_linear("G.0", 100, 256), **_linear("G.2", 256, 512), **_linear("G.4", 512, 784),
        **_linear("D.0", 784, 512), **_linear("D.2", 512, 256), **_linear("D.4", 256, 1)}
_CHARCNN = {**_conv("0", CHARS, 256, 7), **_conv("3", 256, 256, 7), **_conv("6", 256, 256, 3),
            **_conv("8", 256, 256, 3), **_conv("10", 256, 256, 3), **_conv("12", 256, 256, 3),
            **_linear("16", 256 * 34, 1024), **_linear("19", 1024, 1024),
            **_linear("22", 1024, CHAR_CLASSES)}

WORKLOADS = {w.name: w for w in [
    Workload("mlp", "MLP 784-256-256-10, ReLU, cross-entropy, SGD", 128, 50, _MLP,
             _labelled_images),
    Workload("lenet5", "LeNet-5 (modern: ReLU, max pool), cross-entropy, SGD", 128, 20, _LENET,
             _labelled_images),
    Workload("conv_ae", "conv autoencoder 1-16-32-16-1 (stride 2), MSE, Adam", 128, 20, _CONV_AE,
             _images),
    Workload("gan", "GAN step (D then G), G 100-256-512-784, D 784-512-256-1, BCE, Adam", 128, 20,
             _GAN, _gan_data),
    Workload("lenet5_infer_b1", "LeNet-5 inference (eval, no_grad)", 1, 200, _LENET,
             _images, train=False, model="lenet5"),
    Workload("lenet5_infer_b1_traced", "LeNet-5 inference, traced (cr.trace, torch.jit.trace)",
             1, 200, _LENET, _images, train=False, model="lenet5", traced=True),
    Workload("lenet5_infer_b1000", "LeNet-5 inference (eval, no_grad)", 1000, 10,
             _LENET, _images, train=False, model="lenet5"),
    Workload("charcnn", "char-CNN small (Zhang et al. 2015), 70x1014, SGD momentum", 32, 5,
             _CHARCNN, _char_data, heavy=True),
]}
LIGHT = tuple(name for name, w in WORKLOADS.items() if not w.heavy)


# -- arithmetic: GEMM flops per step, for the fraction of sgemm peak -------------------------

def _gemm(out, inner, positions):
    """One layer as a GEMM (out x inner) @ (inner x positions * batch): its flops per sample."""
    return 2 * out * inner * positions


_LAYERS = {  # flops per sample of each layer's forward GEMM, input to output
    "mlp": [_gemm(256, 784, 1), _gemm(256, 256, 1), _gemm(10, 256, 1)],
    "lenet5": [_gemm(6, 25, 28 * 28), _gemm(16, 150, 10 * 10), _gemm(120, 400, 1),
               _gemm(84, 120, 1), _gemm(10, 84, 1)],
    # a transposed convolution is the GEMM (C_out k k x C_in) @ columns of its input pixels
    "conv_ae": [_gemm(16, 9, 14 * 14), _gemm(32, 144, 7 * 7), _gemm(16 * 9, 32, 7 * 7),
                _gemm(9, 16, 14 * 14)],
    "charcnn": [_gemm(256, 70 * 7, 1008), _gemm(256, 256 * 7, 330),
                *[_gemm(256, 256 * 3, n) for n in (108, 106, 104, 102)],
                _gemm(1024, 256 * 34, 1), _gemm(1024, 1024, 1), _gemm(4, 1024, 1)],
}
_G = [_gemm(256, 100, 1), _gemm(512, 256, 1), _gemm(784, 512, 1)]
_D = [_gemm(512, 784, 1), _gemm(256, 512, 1), _gemm(1, 256, 1)]


def _train(layers):
    """Forward, filter gradients, and input gradients for every layer but the first."""
    return 3 * sum(layers) - layers[0]


def gemm_flops(name: str, batch: int) -> float:
    """Floating-point operations per step in the workload's matrix products (2 per multiply-add).

    Elementwise work, im2col and pooling are not counted: this is the arithmetic a perfect
    implementation could not avoid, to set against the machine's sgemm peak.
    """
    if name == "gan":
        d_step = sum(_G) + 2 * _train(_D)  # G forward once (its output is reused), D on both
        g_step = 2 * sum(_D) + _train(_G)  # D forward and input gradients, then G's backward
        per_sample = d_step + g_step
    elif name.startswith("lenet5_infer"):
        per_sample = sum(_LAYERS["lenet5"])
    else:
        per_sample = _train(_LAYERS[name])
    return float(per_sample * batch)


def make_runner(framework: str, name: str, *, batch: int | None = None, seed: int = 0,
                replay_dropout: bool = False) -> Runner:
    """Build workload ``name`` in ``framework`` from the seeded init and batch.

    Args:
        framework: one of ``FRAMEWORKS``.
        name: a key of ``WORKLOADS``.
        batch: batch size (None: the workload's default).
        seed: seeds the weights (``seed``), the data (``seed + 1``) and the dropout masks.
        replay_dropout: make PyTorch, JAX and tinygrad draw their dropout masks as chainrule does
            (for the check).
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"make_runner: framework must be one of {FRAMEWORKS}, got {framework!r}")
    if name not in WORKLOADS:
        raise ValueError(f"make_runner: unknown workload {name!r}; expected one of "
                         f"{sorted(WORKLOADS)}")
    w = WORKLOADS[name]
    params = init_params(w.params, seed)
    data = w.data(w.batch if batch is None else batch, np.random.default_rng(seed + 1))
    if framework == "numpy":
        import numpy_reference

        return numpy_reference.REFERENCES[w.builder](params, data, seed)
    steps = importlib.import_module(f"{framework}_steps")  # imports the framework lazily
    builders = steps.BUILDERS
    if w.traced:  # JAX (jit) and tinygrad (TinyJit) always trace: they have no TRACED table
        builders = {**builders, **getattr(steps, "TRACED", {})}
    return builders[w.builder](params, data, seed, replay_dropout)


def relative_error(a, b) -> float:
    """max |a - b| / max |b| over arrays (0 when both are all zeros)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    scale = float(np.max(np.abs(b), initial=0.0))
    diff = float(np.max(np.abs(a - b), initial=0.0))
    return diff / scale if scale > 0 else diff


def check_outputs(name: str, frameworks, *, batch: int | None = None, seed: int = 0) -> dict:
    """Run two steps (one for inference) of ``name`` in each framework from the same start.

    Returns:
        framework -> list (one per step) of the outputs as NumPy arrays: the losses of the first
        step (at the init) and of the second (after one update), or the logits.
    """
    n_steps = 2 if WORKLOADS[name].train else 1
    out = {}
    for fw in frameworks:
        runner = make_runner(fw, name, batch=batch, seed=seed, replay_dropout=True)
        out[fw] = [runner.outputs(runner.step()) for _ in range(n_steps)]
    return out


def max_relative_error(a_steps, b_steps) -> float:
    """Largest ``relative_error`` over the steps and outputs of two ``check_outputs`` entries."""
    return max(relative_error(a, b) for sa, sb in zip(a_steps, b_steps) for a, b in zip(sa, sb))
