"""The CuPy path: every op, layer, optimizer and model on the GPU against the same thing on the CPU.

Each check runs a function twice, on the CPU and on the second device, from the same float64
inputs, with the same random weights on its outputs, and compares the outputs and every input
gradient. Without CuPy and a GPU the module is skipped. ``CHAINRULE_TEST_DEVICE=cpu`` runs it
with the CPU as the "second device", which checks this harness itself on a machine without one.
"""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn, optim
from chainrule.backend import cuda_available, device_of

DEVICE = os.environ.get("CHAINRULE_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(DEVICE == "cuda" and not cuda_available(),
                                reason="needs CuPy and a GPU")

# float64 on both devices: the results differ only by rounding (cuBLAS and CUDA's reductions
# sum in other orders, CUDA's exp/log are within a few ulps), so a real error shows as O(1).
RTOL, ATOL = 1e-7, 1e-9


def _g(seed):
    return np.random.default_rng(seed)


class _Input:
    """How to draw one input: a sampler and whether it gets a gradient."""

    def __init__(self, make, grad=True):
        self.make, self.grad = make, grad


def N(*shape):  # noqa: N802 - reads like a shape constructor in the table
    return _Input(lambda rng: rng.standard_normal(shape))


def P(*shape):  # noqa: N802
    return _Input(lambda rng: rng.uniform(0.5, 2.0, shape))


def U(*shape):  # noqa: N802 - probabilities away from 0 and 1
    return _Input(lambda rng: rng.uniform(0.05, 0.95, shape))


def I(high, *shape):  # noqa: E743, N802
    return _Input(lambda rng: rng.integers(0, high, shape), grad=False)


def C(*shape):  # noqa: N802 - a constant (no gradient) float input
    return _Input(lambda rng: rng.uniform(0.0, 1.0, shape), grad=False)


def _distinct(*shape):
    """Values with no ties, so max/min and pooling pick the same element on both devices."""
    def make(rng):
        size = int(np.prod(shape))
        return (rng.permutation(size) / size - 0.5).reshape(shape) + rng.uniform(0, 1e-3, shape)
    return _Input(make)


D = _distinct

CASES = {
    # elementwise
    "neg": (F.neg, [N(3, 4)]),
    "exp": (F.exp, [N(3, 4)]),
    "log": (F.log, [P(3, 4)]),
    "sqrt": (F.sqrt, [P(3, 4)]),
    "abs": (F.abs, [D(3, 4)]),
    "clip": (lambda x: F.clip(x, -0.5, 0.5), [D(3, 4)]),
    "pow_scalar": (lambda x: F.pow(x, 3), [N(3, 4)]),
    "pow_tensor": (F.pow, [P(3, 4), N(4)]),
    "rpow": (lambda x: 2.0 ** x, [N(3, 4)]),
    "add_broadcast": (F.add, [N(4, 1, 2), N(3, 1)]),
    "sub": (F.sub, [N(2, 3), N(3)]),
    "mul": (F.mul, [N(2, 3), N(2, 1)]),
    "div": (F.div, [N(2, 3), P(2, 3)]),
    "maximum": (F.maximum, [D(2, 3), N(2, 3)]),
    "minimum": (F.minimum, [D(2, 3), N(2, 3)]),
    "where": (lambda c, a, b: F.where(c > 0.5, a, b), [C(3, 4), N(3, 4), N(4)]),
    "sign": (lambda x: F.sign(x) * x, [D(3, 4)]),
    # activations
    "relu": (F.relu, [D(3, 4)]),
    "relu6": (lambda x: F.relu6(4 * x), [D(3, 4)]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), [D(3, 4)]),
    "elu": (F.elu, [D(3, 4)]),
    "selu": (F.selu, [D(3, 4)]),
    "gelu": (F.gelu, [N(3, 4)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [N(3, 4)]),
    "silu": (F.silu, [N(3, 4)]),
    "sigmoid": (F.sigmoid, [N(3, 4)]),
    "tanh": (F.tanh, [N(3, 4)]),
    "softplus": (F.softplus, [N(3, 4)]),
    "softsign": (F.softsign, [N(3, 4)]),
    "hardtanh": (F.hardtanh, [D(3, 4)]),
    "logsigmoid": (F.logsigmoid, [N(3, 4)]),
    "step_straight_through": (lambda x: F.step(x, straight_through=True), [D(3, 4)]),
    "softmax": (lambda x: F.softmax(x, axis=1), [N(3, 5)]),
    "log_softmax": (F.log_softmax, [N(3, 5)]),
    # reductions
    "sum": (lambda x: F.sum(x, axis=1), [N(3, 4, 2)]),
    "mean": (lambda x: F.mean(x, axis=(0, 2), keepdims=True), [N(3, 4, 2)]),
    "max": (lambda x: F.max(x, axis=1), [D(3, 4)]),
    "min_all": (F.min, [D(3, 4)]),
    "var": (lambda x: F.var(x, axis=0, ddof=1), [N(5, 3)]),
    "std": (lambda x: F.std(x, axis=1), [N(3, 5)]),
    "logsumexp": (lambda x: F.logsumexp(x, axis=1), [N(3, 5)]),
    # shapes
    "reshape": (lambda x: F.reshape(x, 4, 6) * 1.0, [N(2, 3, 4)]),
    "transpose": (lambda x: F.transpose(x, 0, 2), [N(2, 3, 4)]),
    "permute": (lambda x: F.permute(x, 2, 0, 1), [N(2, 3, 4)]),
    "flatten": (lambda x: F.flatten(x, 1), [N(2, 3, 4)]),
    "squeeze_unsqueeze": (lambda x: F.unsqueeze(F.squeeze(x, 1), 0), [N(3, 1, 4)]),
    "broadcast_to": (lambda x: F.broadcast_to(x, (2, 3, 4)), [N(3, 1)]),
    "getitem_slice": (lambda x: x[1:, ::2], [N(3, 5)]),
    "getitem_repeated_index": (lambda x, i: F.getitem(x, i), [N(5, 3), I(5, 7)]),
    "cat": (lambda a, b: F.cat([a, b], axis=1), [N(2, 3), N(2, 2)]),
    "stack": (lambda a, b: F.stack([a, b], axis=0), [N(2, 3), N(2, 3)]),
    "split": (lambda x: F.split(x, 2, axis=1), [N(2, 5)]),
    "pad_constant": (lambda x: F.pad(x, ((1, 0), (2, 1)), value=0.5), [N(2, 3)]),
    "pad_reflect": (lambda x: F.pad(x, ((0, 0), (2, 1)), mode="reflect"), [N(2, 5)]),
    "sum_to": (lambda x: F.sum_to(x, (1, 4)), [N(3, 4)]),
    # linear algebra
    "matmul": (F.matmul, [N(3, 4), N(4, 5)]),
    "matmul_batched": (F.matmul, [N(2, 3, 4), N(4, 2)]),
    "matvec": (F.matmul, [N(3, 4), N(4)]),
    "outer_product": (F.matmul, [N(6, 1), N(1, 5)]),
    "linear": (F.linear, [N(7, 4), N(3, 4), N(3)]),
    "linear_relu": (F.linear_relu, [N(7, 4), N(3, 4), N(3)]),
    "linear_relu_3d": (lambda x, w: F.linear_relu(x, w), [N(2, 7, 4), N(3, 4)]),
    # convolutions
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
               [N(2, 3, 9), N(4, 3, 3), N(4)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1), [N(2, 3, 6, 5), N(4, 3, 3, 3), N(4)]),
    "conv2d_strided_dilated": (lambda x, w: F.conv2d(x, w, stride=2, dilation=2, padding=2),
                               [N(2, 2, 9, 8), N(3, 2, 3, 3)]),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, groups=2), [N(2, 4, 5, 5), N(6, 2, 3, 3)]),
    "conv2d_lenet_c1": (F.conv2d, [N(20, 1, 28, 28), N(6, 1, 5, 5)]),
    "conv2d_relu": (lambda x, w, b: F.conv2d_relu(x, w, b, padding=1),
                    [N(2, 3, 6, 5), N(4, 3, 3, 3), N(4)]),
    "conv2d_relu_strided_groups": (lambda x, w: F.conv2d_relu(x, w, stride=2, groups=2),
                                   [N(2, 4, 7, 7), N(6, 2, 3, 3)]),
    "conv1d_relu": (lambda x, w, b: F.conv1d_relu(x, w, b, padding=3),
                    [N(3, 5, 20), N(8, 5, 7), N(8)]),
    "conv_transpose1d": (lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, output_padding=1),
                         [N(2, 3, 5), N(3, 2, 3), N(2)]),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                           output_padding=1),
                         [N(2, 3, 4, 4), N(3, 2, 3, 3), N(2)]),
    # pooling
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [D(3, 2, 6, 6)]),
    "max_pool2d_overlap_pad": (lambda x: F.max_pool2d(x, 3, 2, 1), [D(2, 2, 7, 7)]),
    "min_pool2d": (lambda x: F.min_pool2d(x, 2), [D(2, 2, 6, 6)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [N(2, 2, 7, 7)]),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3), [D(2, 3, 9)]),
    "avg_pool1d": (lambda x: F.avg_pool1d(x, 2), [N(2, 3, 8)]),
    "min_pool1d": (lambda x: F.min_pool1d(x, 2), [D(2, 3, 8)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [N(2, 2, 7, 5)]),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, 3), [D(2, 2, 7, 7)]),
    "adaptive_avg_pool1d": (lambda x: F.adaptive_avg_pool1d(x, 4), [N(2, 2, 9)]),
    "adaptive_max_pool1d": (lambda x: F.adaptive_max_pool1d(x, 4), [D(2, 2, 9)]),
    # normalization
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, weight=w, bias=b, training=True),
                         [N(6, 3, 2, 2), P(3), N(3)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [N(3, 4), P(4), N(4)]),
    # losses
    "cross_entropy": (F.cross_entropy, [N(6, 5), I(5, 6)]),
    "cross_entropy_options": (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1,
                                                          reduction="sum"), [N(6, 5), I(5, 6)]),
    "cross_entropy_spatial": (F.cross_entropy, [N(2, 4, 3, 3), I(4, 2, 3, 3)]),
    "cross_entropy_soft_targets": (F.cross_entropy, [N(4, 3), U(4, 3)]),
    "nll_loss": (lambda x, t: F.nll_loss(F.log_softmax(x, axis=1), t), [N(6, 5), I(5, 6)]),
    "mse_loss": (F.mse_loss, [N(4, 3), N(4, 3)]),
    "l1_loss": (F.l1_loss, [D(4, 3), C(4, 3)]),
    "huber_loss": (lambda a, b: F.huber_loss(a, b, delta=0.5), [D(4, 3), C(4, 3)]),
    "binary_cross_entropy": (F.binary_cross_entropy, [U(4, 3), C(4, 3)]),
    "bce_with_logits": (lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, pos_weight=w),
                        [N(4, 3), C(4, 3), C(3)]),
    # dtype cast
    "cast_round_trip": (lambda x: F.cast(F.cast(x, "float32"), "float64"), [N(3, 4)]),
}


def _leaves(arrays, specs, device):
    return [cr.tensor(a, requires_grad=s.grad, device=device) for a, s in zip(arrays, specs)]


def _run(fn, arrays, specs, device, weights=None, seed=0):
    """Outputs and input gradients of ``sum(weights * fn(inputs))`` on ``device``, on the host."""
    leaves = _leaves(arrays, specs, device)
    out = fn(*leaves)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if weights is None:
        rng = np.random.default_rng(seed)
        weights = [rng.standard_normal(o.shape) for o in outs]
    total = None
    for o, w in zip(outs, weights):
        assert o.device == device, f"an output is on {o.device}, expected {device}"
        term = (o * cr.tensor(w, device=device)).sum()
        total = term if total is None else total + term
    total.backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in leaves]
    for t in leaves:
        if t.grad is not None:
            assert t.grad.device == device and t.grad.dtype == t.dtype
    return [o.numpy() for o in outs], grads, weights


def _check(fn, specs, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [s.make(rng) for s in specs]
    cpu_out, cpu_grads, weights = _run(fn, arrays, specs, "cpu")
    dev_out, dev_grads, _ = _run(fn, arrays, specs, DEVICE, weights)
    for i, (a, b) in enumerate(zip(dev_out, cpu_out)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"output {i}")
    for i, (a, b, s) in enumerate(zip(dev_grads, cpu_grads, specs)):
        if s.grad:
            assert a is not None and b is not None, f"input {i} got no gradient"
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"grad of input {i}")


@pytest.mark.parametrize("name", CASES)
def test_op_matches_the_cpu(name):
    fn, specs = CASES[name]
    _check(fn, specs)


@pytest.mark.parametrize("name", ["relu", "conv2d", "max_pool2d", "linear", "cross_entropy",
                                  "batch_norm_train", "sigmoid", "avg_pool2d", "linear_relu",
                                  "conv2d_relu", "conv1d_relu"])
def test_float32_stays_float32_on_the_device(name):
    fn, specs = CASES[name]
    rng = np.random.default_rng(0)
    arrays = [s.make(rng) for s in specs]
    arrays32 = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays]
    leaves = _leaves(arrays32, specs, DEVICE)
    out = fn(*leaves)
    assert out.dtype == np.float32 and out.device == DEVICE
    out.sum().backward()
    for t, s in zip(leaves, specs):
        if s.grad:
            assert t.grad.dtype == np.float32 and t.grad.device == DEVICE
    reference = fn(*_leaves(arrays, specs, "cpu"))
    np.testing.assert_allclose(out.numpy(), reference.numpy(), rtol=1e-4, atol=1e-5)


def test_second_order_gradient_on_the_device():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    results = {}
    for device in ("cpu", DEVICE):
        t = cr.tensor(x, requires_grad=True, device=device)
        (g,) = cr.grad((F.tanh(t) ** 2).sum(), [t], create_graph=True)
        (gg,) = cr.grad(g.sum(), [t])
        results[device] = g.numpy(), gg.numpy()
    for a, b in zip(results[DEVICE], results["cpu"]):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------------------------ layers

LAYERS = {
    "linear": (lambda: nn.Linear(5, 4, rng=_g(0)), (3, 5)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, padding=1, rng=_g(0)), (2, 3, 8)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1, rng=_g(0)), (2, 3, 7, 7)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1, rng=_g(0)),
                         (2, 3, 4, 4)),
    "batch_norm1d": (lambda: nn.BatchNorm1d(4), (6, 4)),
    "batch_norm2d": (lambda: nn.BatchNorm2d(3), (4, 3, 3, 3)),
    "layer_norm": (lambda: nn.LayerNorm(5), (3, 5)),
    "rnn": (lambda: nn.RNN(4, 5, num_layers=2, rng=_g(0)), (6, 3, 4)),
    "lstm": (lambda: nn.LSTM(4, 5, bidirectional=True, batch_first=True, rng=_g(0)), (3, 6, 4)),
    "gru": (lambda: nn.GRU(4, 5, rng=_g(0)), (6, 3, 4)),
    "max_pool2d": (lambda: nn.MaxPool2d(2), (2, 3, 6, 6)),
    "adaptive_avg_pool2d": (lambda: nn.AdaptiveAvgPool2d(2), (2, 3, 5, 5)),
}


def _module_run(make, x, device, weights=None):
    """Outputs, input grad, parameter grads and buffers of one forward/backward of a module."""
    module = make().to(dtype="float64").to(device)
    inp = cr.tensor(x, requires_grad=True, device=device)
    out = module(inp)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    flat = []
    for o in outs:  # an LSTM returns (output, (h, c))
        flat.extend(o if isinstance(o, (tuple, list)) else [o])
    if weights is None:
        rng = np.random.default_rng(1)
        weights = [rng.standard_normal(o.shape) for o in flat]
    total = sum((o * cr.tensor(w, device=device)).sum() for o, w in zip(flat, weights))
    total.backward()
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    state = {k: v.numpy() for k, v in module.state_dict().items()}
    return [o.numpy() for o in flat], inp.grad.numpy(), grads, state, weights


@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_the_cpu(name):
    make, shape = LAYERS[name]
    x = np.random.default_rng(0).standard_normal(shape)
    cpu = _module_run(make, x, "cpu")
    dev = _module_run(make, x, DEVICE, cpu[-1])
    for a, b in zip(dev[0], cpu[0]):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dev[1], cpu[1], rtol=RTOL, atol=ATOL)
    assert dev[2].keys() == cpu[2].keys()
    for key in cpu[2]:
        np.testing.assert_allclose(dev[2][key], cpu[2][key], rtol=RTOL, atol=ATOL, err_msg=key)
    for key in cpu[3]:  # running statistics of batch norm, too
        np.testing.assert_allclose(dev[3][key], cpu[3][key], rtol=RTOL, atol=ATOL, err_msg=key)


def test_embedding_matches_the_cpu():
    idx = np.random.default_rng(0).integers(0, 6, (4, 5))
    grads = {}
    for device in ("cpu", DEVICE):
        emb = nn.Embedding(6, 3, padding_idx=0, rng=_g(0)).to(dtype="float64").to(device)
        out = emb(cr.tensor(idx, device=device))
        (out * cr.tensor(np.arange(60.0).reshape(4, 5, 3), device=device)).sum().backward()
        grads[device] = out.numpy(), emb.weight.grad.numpy()
    for a, b in zip(grads[DEVICE], grads["cpu"]):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_dropout_on_the_device_keeps_the_expected_fraction_and_scale():
    x = cr.tensor(np.ones((200, 500), dtype=np.float32), requires_grad=True, device=DEVICE)
    y = F.dropout(x, p=0.3, rng=_g(0))
    kept = y.numpy() != 0
    assert y.device == DEVICE and abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, kept)


# -------------------------------------------------------------------------------- optimizers

OPTIMIZERS = {
    "sgd_nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
    "adam_amsgrad": lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "rmsprop_centered": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.01),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optimizer_steps_match_the_cpu(name, dtype):
    rng = np.random.default_rng(0)
    start = rng.standard_normal((40, 30)).astype(dtype)
    grads = [rng.standard_normal((40, 30)).astype(dtype) for _ in range(4)]
    final = {}
    for device in ("cpu", DEVICE):
        p = nn.Parameter(cr.tensor(start, device=device)._data)
        opt = OPTIMIZERS[name]([p])
        for g in grads:
            p.grad = cr.tensor(g, device=device)
            opt.step()
        assert p.device == device and p.dtype == dtype
        final[device] = p.numpy()
    rtol = RTOL if dtype == "float64" else 1e-5
    np.testing.assert_allclose(final[DEVICE], final["cpu"], rtol=rtol, atol=rtol)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_adam_kernel_matches_the_array_path(monkeypatch, amsgrad, dtype):
    """backend.gpu's one-launch Adam against the eleven array operations it replaces."""
    rng = np.random.default_rng(0)
    start = rng.standard_normal((50, 20)).astype(dtype)
    grads = [rng.standard_normal((50, 20)).astype(dtype) for _ in range(5)]
    final = {}
    for flag in ("1", "0"):
        monkeypatch.setattr(cr.config, "gpu_kernels", flag == "1")
        p = nn.Parameter(cr.tensor(start, device=DEVICE)._data)
        opt = optim.Adam([p], lr=0.01, weight_decay=0.1, amsgrad=amsgrad)
        for g in grads:
            p.grad = cr.tensor(g, device=DEVICE)
            opt.step()
        final[flag] = p.numpy()
    tol = 1e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(final["1"], final["0"], rtol=tol, atol=tol)


def _with_and_without_kernels(monkeypatch, run):
    results = {}
    for flag in ("1", "0"):
        monkeypatch.setattr(cr.config, "gpu_kernels", flag == "1")
        results[flag] = run()
    return results["1"], results["0"]


POOLS = {
    "max_2x2": lambda x: F.max_pool2d(x, 2),
    "max_overlapping_padded": lambda x: F.max_pool2d(x, 3, 2, 1),
    "min_overlapping": lambda x: F.min_pool2d(x, 3, 1),
    "max_1d": lambda x: F.max_pool1d(x, 3, 2),
}


@pytest.mark.parametrize("name", POOLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pooling_backward_kernel_matches_the_array_path_with_ties_and_nan(monkeypatch, name,
                                                                          dtype):
    """backend.gpu.route_to_winners: the first of tied inputs wins, a NaN output goes to the
    first NaN, overlapping windows add up, as in the array path (and on the CPU)."""
    rng = np.random.default_rng(0)
    shape = (5, 3, 9) if name == "max_1d" else (5, 3, 8, 7)
    x = rng.integers(0, 3, shape).astype(dtype)  # many ties
    x.reshape(-1)[::17] = np.nan
    g = rng.standard_normal(POOLS[name](cr.tensor(x)).shape).astype(dtype)

    def run():
        t = cr.tensor(x, requires_grad=True, device=DEVICE)
        out = POOLS[name](t)
        (out * cr.tensor(g, device=DEVICE)).sum().backward()
        return out.numpy(), t.grad.numpy()

    fused, plain = _with_and_without_kernels(monkeypatch, run)
    cpu = cr.tensor(x, requires_grad=True)
    cpu_out = POOLS[name](cpu)
    cpu_out.backward(cr.tensor(g))
    for result in (fused, plain):
        np.testing.assert_array_equal(result[0], cpu_out.numpy())  # pooling only picks values
        np.testing.assert_allclose(result[1], cpu.grad.numpy(), rtol=1e-6, atol=1e-6)


COL2IM = {
    "conv2d_backward": (lambda x, w: F.conv2d(x, w, stride=2, padding=2, dilation=2),
                        (4, 3, 11, 10), (5, 3, 3, 3)),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=3, padding=1,
                                                         output_padding=2),
                         (4, 3, 5, 6), (3, 2, 4, 4)),
    "conv1d_backward": (lambda x, w: F.conv1d(x, w, padding=3), (4, 6, 20), (8, 6, 7)),
}


@pytest.mark.parametrize("name", COL2IM)
def test_col2im_kernel_matches_the_array_path(monkeypatch, name):
    fn, xs, ws = COL2IM[name]
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)

    def run():
        tx = cr.tensor(x, requires_grad=True, device=DEVICE)
        tw = cr.tensor(w, requires_grad=True, device=DEVICE)
        out = fn(tx, tw)
        (out * out).sum().backward()
        return out.numpy(), tx.grad.numpy(), tw.grad.numpy()

    fused, plain = _with_and_without_kernels(monkeypatch, run)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------------------------ models

def _train(make, x, target, loss_fn, device, steps=3):
    model = make().to(dtype="float64").to(device)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(cr.tensor(x, device=device)), cr.tensor(target, device=device))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, {k: v.numpy() for k, v in model.state_dict().items()}


MODELS = {
    "lenet5": (lambda: cr.models.LeNet5(rng=_g(0)), (8, 1, 28, 28), "classes"),
    "lenet5_classic": (lambda: cr.models.LeNet5("classic", rng=_g(0)), (8, 1, 28, 28), "classes"),
    "small_cnn": (lambda: cr.models.SmallCNN(rng=_g(0)), (8, 1, 8, 8), "classes"),
    "mlp": (lambda: cr.models.MLP((64, 32, 10), dropout=0.0, rng=_g(0)), (8, 64), "classes"),
    "conv_autoencoder": (lambda: cr.models.ConvAutoencoder(rng=_g(0)), (4, 1, 28, 28), "images"),
    "dcgan_discriminator": (lambda: cr.models.DCGANDiscriminator(rng=_g(0)), (4, 1, 28, 28),
                            "logits"),
}


@pytest.mark.parametrize("name", MODELS)
def test_training_steps_match_the_cpu(name):
    make, shape, kind = MODELS[name]
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, shape)
    if kind == "classes":
        target, loss_fn = rng.integers(0, 10, shape[0]), F.cross_entropy
    elif kind == "images":
        target, loss_fn = x, F.mse_loss
    else:
        target = rng.integers(0, 2, shape[0]).astype(float)
        loss_fn = F.binary_cross_entropy_with_logits
    cpu_losses, cpu_state = _train(make, x, target, loss_fn, "cpu")
    dev_losses, dev_state = _train(make, x, target, loss_fn, DEVICE)
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=1e-6)
    for key in cpu_state:
        np.testing.assert_allclose(dev_state[key], cpu_state[key], rtol=1e-5, atol=1e-7,
                                   err_msg=key)


def test_float32_lenet_training_step_creates_no_float64_on_the_device():
    model = cr.models.LeNet5(rng=_g(0)).to(DEVICE)
    opt = optim.Adam(model.parameters())
    x = cr.tensor(np.random.default_rng(0).uniform(0, 1, (16, 1, 28, 28)).astype(np.float32),
                  device=DEVICE)
    loss = F.cross_entropy(model(x), cr.tensor(np.arange(16) % 10, device=DEVICE))
    loss.backward()
    opt.step()
    assert loss.dtype == np.float32
    for p in model.parameters():
        assert p.dtype == np.float32 and p.grad.dtype == np.float32 and p.device == DEVICE
        assert device_of(p._data) == DEVICE


def test_weights_saved_from_the_device_load_on_the_cpu(tmp_path):
    model = cr.models.LeNet5(rng=_g(0)).to(DEVICE)
    path = cr.io.save_weights(model, tmp_path / "lenet.safetensors")
    back = cr.models.LeNet5(rng=_g(1))
    cr.io.load_weights(back, path)
    for (name, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
        assert b.device == "cpu"
    again = cr.models.LeNet5(rng=_g(2)).to(DEVICE)
    cr.io.load_weights(again, path)
    assert all(p.device == DEVICE for p in again.parameters())


def test_gan_trainer_runs_on_the_device():
    from chainrule.generative import GANTrainer

    gan = cr.models.MLPGAN(latent_dim=8, g_hidden=(16,), d_hidden=(16,), image_shape=(1, 8, 8),
                           rng=_g(0))
    trainer = GANTrainer(gan, optim.Adam(gan.generator.parameters(), lr=1e-3),
                         optim.Adam(gan.discriminator.parameters(), lr=1e-3), rng=_g(0),
                         device=DEVICE)
    images = np.random.default_rng(0).uniform(0, 1, (32, 1, 8, 8)).astype(np.float32)
    history = trainer.fit(images, epochs=2, batch_size=16, rng=0, verbose=0)
    assert history.history
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    assert all(p.device == DEVICE for p in gan.parameters())


# ----------------------------------------------------------------------- the command line


def test_cli_trains_a_classifier_on_the_device_like_on_the_cpu(tmp_path):
    import json

    from chainrule.cli import main

    results = []
    for device in ("cpu", DEVICE):
        out = tmp_path / f"cnn-{len(results)}"
        assert main(["train", "small_cnn", "--epochs", "2", "--out", str(out), "--quiet",
                     "--device", device, "--seed", "3"]) == 0
        results.append(json.loads((out / "results.json").read_text()))
        assert (out / "model.safetensors").is_file()
    # float32 on two devices: sums in other orders, then the same decisions almost everywhere
    assert results[0]["test_accuracy"] > 0.7
    assert abs(results[1]["test_accuracy"] - results[0]["test_accuracy"]) <= 0.02
    assert main(["evaluate", str(tmp_path / "cnn-1")]) == 0


@pytest.mark.parametrize("argv", [
    ["denoising", "--model-arg", "sizes=[64,32,16]"],
    ["colorization", "--n-train", "64"],
    ["dcgan", "--loss", "wgan-gp", "--n-train", "64", "--batch-size", "32",
     "--model-arg", "g_channels=[8,4]", "--model-arg", "d_channels=[4,8]"],
    ["cgan", "--n-train", "64", "--batch-size", "32", "--model-arg", "arch=mlp",
     "--model-arg", "g_hidden=[32]", "--model-arg", "d_hidden=[32]"],
])
def test_cli_generative_runs_on_the_device(tmp_path, argv):
    import json

    from chainrule.cli import main

    out = tmp_path / "run"
    assert main(["train", *argv, "--dataset", "digits", "--epochs", "1", "--out", str(out),
                 "--quiet", "--device", DEVICE]) == 0
    results = json.loads((out / "results.json").read_text())
    assert (out / "model.safetensors").is_file() and results


def test_a_trace_replays_the_same_arrays_on_the_device():
    model = cr.models.LeNet5("modern", rng=_g(0)).to(DEVICE).eval()
    traced = cr.trace(model, cr.tensor(_g(1).random((2, 1, 28, 28)), dtype="float32",
                                       device=DEVICE))
    x = cr.tensor(_g(2).random((2, 1, 28, 28)), dtype="float32", device=DEVICE)
    with cr.no_grad():
        want = model(x)
    got = traced(x)
    assert device_of(got._data) == device_of(want._data) and got.dtype == np.float32
    np.testing.assert_array_equal(cr.backend.asnumpy(got._data), cr.backend.asnumpy(want._data))
    assert traced.signatures[0][0][2] == device_of(x._data)


def test_a_fused_model_and_reference_mode_give_the_layers_values_on_the_device():
    """nn.fuse and cr.reference_mode() on the device: the plain layers' values, on the device."""
    import copy

    model = cr.models.LeNet5("modern", rng=_g(0)).to(DEVICE).eval()
    x = cr.tensor(_g(2).random((2, 1, 28, 28)), dtype="float32", device=DEVICE)
    fused = nn.fuse(copy.deepcopy(model))
    with cr.no_grad():
        want = model(x)
        got = fused(x)
        with cr.reference_mode():
            ref = model(x)
    for out in (got, ref):
        assert device_of(out._data) == device_of(x._data) and out.dtype == np.float32
        np.testing.assert_allclose(cr.backend.asnumpy(out._data), cr.backend.asnumpy(want._data),
                                   rtol=1e-5, atol=1e-6)
