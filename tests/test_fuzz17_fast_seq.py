"""Fuzz wave 17: the fast paths of sequence and embedding models against PyTorch.

The sixteenth wave's ``test_fuzz16_fast_paths`` did this for convolutional nets and MLPs; here
the layers are recurrent (RNN with tanh or ReLU, LSTM with and without ``proj_size``, GRU; one to
three layers, bidirectional, ``batch_first``, with and without bias; batched, unbatched and
packed inputs, sorted or not; states given or omitted), embeddings (``padding_idx``,
``max_norm``, ``scale_grad_by_freq``), embedding bags (sum, mean, max; offsets, 2-D inputs,
``per_sample_weights``, ``include_last_offset``, ``padding_idx``), Transformer encoder and
decoder layers and stacks (``norm_first``, ReLU or GELU, masks, key padding masks),
MultiheadAttention (``kdim``/``vdim``, ``add_bias_kv``, ``add_zero_attn``, the attention weights
averaged or not) and a text classifier (Embedding, LSTM or GRU over a packed batch, Linear).
A recurrent layer's loss reads all it returns, only its final states (a classifier's, whose
output gradient the kernels skip as zero) or only its output.
Each random case (``_fuzz17_seq_cases``) gets PyTorch's twin with chainrule's initial weights and
compares, in float64:

- a few training steps (SGD with momentum and weight decay, Adam, or a drawn rule among SGD,
  Adam, AdamW, RMSprop and Adagrad with their options) on a random weighted sum of every
  output: the outputs of each step, the input gradients of the first, the weights after the
  last; as written, with the compiled (numba) kernels switched off, and in reference mode;
- in eval mode, ``cr.trace`` against the model itself (bit for bit) and against PyTorch, also
  after the weights change in place;

and one float32 step. Where PyTorch's eval takes its inference fast path (a nested tensor that
drops padded positions), its inputs require grad so that it does not.
"""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import jit

from ._fuzz17_seq_cases import draw_case

torch = pytest.importorskip("torch")

NUMBA = jit._NUMBA is not False


def _twins(case, dtype):
    cm = case.build(cr)
    tm = case.build(torch)
    cm = cm.double() if dtype == "float64" else cm.float()
    tm = tm.double() if dtype == "float64" else tm.float()
    tm.load_state_dict({k: torch.tensor(np.array(v.numpy())) for k, v in cm.state_dict().items()})
    return cm, tm


def _optimizer(lib, params, which):
    """``which``: "sgd", "adam" or a (name, kwargs) pair drawn by ``_draw_optimizer``."""
    if which == "sgd":
        return lib.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3)
    if which == "adam":
        return lib.optim.Adam(params, lr=0.01, eps=1e-4)
    name, kw = which
    return getattr(lib.optim, name)(params, **kw)


def _draw_optimizer(seed):
    """The compiled update rules' options: SGD (Nesterov, dampening, maximize), Adam and AdamW
    (AMSGrad, weight decay), RMSprop (centered, momentum), Adagrad."""
    rng = np.random.default_rng(10_000 + seed)
    name = str(rng.choice(["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]))
    wd = float(rng.choice([0.0, 1e-2]))
    maximize = bool(rng.random() < 0.2)
    if name == "SGD":
        nesterov = bool(rng.random() < 0.5)
        kw = dict(lr=0.05, momentum=0.9, nesterov=nesterov,
                  dampening=0.0 if nesterov else float(rng.choice([0.0, 0.3])))
    elif name in ("Adam", "AdamW"):
        kw = dict(lr=0.01, eps=1e-4, amsgrad=bool(rng.random() < 0.5))
    elif name == "RMSprop":
        kw = dict(lr=0.01, eps=1e-4, centered=bool(rng.random() < 0.5),
                  momentum=float(rng.choice([0.0, 0.5])))
    else:
        kw = dict(lr=0.05, eps=1e-4)
    return name, dict(kw, weight_decay=wd, maximize=maximize)


def _tensors(lib, arrays, grad, dtype):
    out = []
    for i, a in enumerate(arrays):
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        out.append(lib.tensor(a, requires_grad=i in grad))
    return out


def _train(lib, case, model, batches, weights, which, dtype):
    opt = _optimizer(lib, list(model.parameters()), which)
    model.train()
    outs, grads = [], []
    for step, arrays in enumerate(batches):
        xs = _tensors(lib, arrays, case.grad if step == 0 else (), dtype)
        opt.zero_grad()
        ys = case.run(lib, model, *xs)
        loss = sum((y * lib.tensor(w.astype(dtype))).sum() for y, w in zip(ys, weights[step]))
        loss.backward()
        if step == 0:
            grads = [np.zeros(x.shape) if x.grad is None else x.grad.numpy().copy()
                     for i, x in enumerate(xs) if i in case.grad]
        opt.step()
        outs.append([y.detach().numpy().copy() for y in ys])
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return outs, grads, state


def _close(a, b, dtype, what):
    assert a.shape == b.shape, f"{what}: shape {a.shape}, PyTorch's {b.shape}"
    scale = max(1.0, float(np.abs(b[np.isfinite(b)]).max(initial=0)))
    tol = 1e-9 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale, err_msg=what)


def _weights(rng, case, batches):
    """One random weight per output of each step (their shapes from a PyTorch call)."""
    model = case.build(torch).double()
    out = []
    for arrays in batches:
        with torch.no_grad():
            ys = case.run(torch, model, *_tensors(torch, arrays, (), "float64"))
        out.append([rng.standard_normal(tuple(y.shape)) for y in ys])
    return out


def _prepare(seed, family=None, steps=3):
    case, rng = draw_case(seed, family)
    cr.manual_seed(seed)
    batches = [case.draw(rng) for _ in range(steps)]
    return case, rng, batches, _weights(rng, case, batches)


VARIANTS = ["layers", "no jit", "reference"]


def _variant(name):
    if name == "no jit":
        return _Jit(False)
    return cr.reference_mode(name == "reference")


class _Jit:
    def __init__(self, on):
        self.on = on

    def __enter__(self):
        self.before = cr.config.jit
        cr.config.jit = self.on

    def __exit__(self, *exc):
        cr.config.jit = self.before


def check_training(seed, family=None, variants=VARIANTS):
    case, rng, batches, weights = _prepare(seed, family)
    which = "sgd" if seed % 3 == 1 else "adam" if seed % 3 == 2 else _draw_optimizer(seed)
    cm, tm = _twins(case, "float64")
    start = copy.deepcopy(cm.state_dict())
    theirs = _train(torch, case, tm, batches, weights, which, "float64")
    for variant in variants:
        if variant == "no jit" and not NUMBA:
            continue
        cm.load_state_dict(copy.deepcopy(start))
        with _variant(variant):
            ours = _train(cr, case, cm, batches, weights, which, "float64")
        label = f"seed {seed} {variant} {which} {case.label}"
        for step, (a, b) in enumerate(zip(ours[0], theirs[0])):
            assert len(a) == len(b), f"{label}: {len(a)} outputs, PyTorch's {len(b)}"
            for k, (u, v) in enumerate(zip(a, b)):
                _close(u, v, "float64", f"{label}: output {k} of step {step}")
        for k, (u, v) in enumerate(zip(ours[1], theirs[1])):
            _close(u, v, "float64", f"{label}: gradient of input {k}")
        assert ours[2].keys() == theirs[2].keys(), label
        for k in theirs[2]:
            _close(ours[2][k], theirs[2][k], "float64", f"{label}: {k} after training")


def _eval(lib, case, model, arrays, dtype="float64"):
    # inputs that require grad keep PyTorch off its inference fast path
    xs = _tensors(lib, arrays, case.grad if lib is torch else (), dtype)
    return [y.detach().numpy().copy() for y in case.run(lib, model, *xs)]


def check_trace(seed, family=None):
    case, rng, batches, weights = _prepare(seed, family, steps=2)
    if not case.extra.get("traces", True):
        return  # max_norm renormalizes the weight in place: a trace refuses it (docs/pytorch.md)
    cm, tm = _twins(case, "float64")
    _train(cr, case, cm, batches, weights, "sgd", "float64")
    _train(torch, case, tm, batches, weights, "sgd", "float64")
    cm.eval(), tm.eval()
    fast = cr.trace(lambda *xs: case.run(cr, cm, *xs), *_tensors(cr, batches[0], (), "float64"))
    label = f"seed {seed} {case.label}"

    def agree(what):
        arrays = case.draw(rng)
        for variant in VARIANTS:
            if variant == "no jit" and not NUMBA:
                continue
            with _variant(variant):
                traced = [y.numpy() for y in fast(*_tensors(cr, arrays, (), "float64"))]
                with cr.no_grad():
                    eager = _eval(cr, case, cm, arrays)
            for k, (a, b) in enumerate(zip(traced, eager)):
                where = f"{label}: trace vs model, output {k}, {variant}, {what}"
                if case.extra.get("rounding"):  # recorded bags sum in another order (_bag_record)
                    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14, err_msg=where)
                else:
                    assert np.array_equal(a, b, equal_nan=True), where
            for k, (a, b) in enumerate(zip(traced, _eval(torch, case, tm, arrays))):
                _close(a, b, "float64", f"{label}: trace vs PyTorch, output {k}, {variant}, {what}")

    agree("after training")
    with cr.no_grad():
        for p in cm.parameters():
            p.mul_(0.9).add_(0.01)
    with torch.no_grad():
        for p in tm.parameters():
            p.mul_(0.9).add_(0.01)
    agree("after an in-place change of the weights")


def check_single(seed, family=None):
    case, rng, batches, weights = _prepare(seed, family, steps=1)
    cm, tm = _twins(case, "float32")
    theirs = _train(torch, case, tm, batches, weights, "sgd", "float32")
    for variant in VARIANTS:
        if variant == "no jit" and not NUMBA:
            continue
        with _variant(variant):
            ours = _train(cr, case, copy.deepcopy(cm), batches, weights, "sgd", "float32")
        label = f"seed {seed} float32 {variant} {case.label}"
        for k, (a, b) in enumerate(zip(ours[0][0], theirs[0][0])):
            assert a.dtype == np.float32, label
            _close(a, b, "float32", f"{label}: output {k}")
        for k, (a, b) in enumerate(zip(ours[1], theirs[1])):
            assert a.dtype == np.float32, label
            _close(a, b, "float32", f"{label}: gradient of input {k}")
        for k in theirs[2]:
            assert ours[2][k].dtype == theirs[2][k].dtype, f"{label}: {k}"
            _close(ours[2][k], theirs[2][k], "float32", f"{label}: {k} after a step")


# Run when written (all six families in turn, or one family): about 2,600 seeds of training,
# 2,300 of tracing and 900 in float32 passed after the fixes of this wave, 150 of each with sizes
# six times the suite's (_fuzz17_seq_cases.SCALE); 18 stay in the suite.
SEEDS = range(18)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_sequence_layers_train_as_pytorchs(seed):
    check_training(seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_sequence_layers_traced(seed):
    check_trace(seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_sequence_layers_in_single_precision(seed):
    check_single(seed)
