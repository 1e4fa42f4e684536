"""Fuzz wave 13: float16 against PyTorch (CPU). PyTorch computes a float16 op in float32 where
its kernels say so ("opmath") and rounds once; results are compared with its dtype exactly and
its values exactly where both round once, else within a few float16 units (``_ulps``).

Before this wave:

* ``x * s``, ``x / s``, ``x // s``, ``div(x, s, rounding_mode=)`` and ``x.mul_(s)``/``x.div_(s)``
  of a float16 ``x`` and a number ``s`` (or a 0-d float32/float64 tensor) rounded ``s`` to
  float16 first: ``x * 1e5`` and ``x / 1e-5`` were inf where PyTorch's are finite, ``x / 1e5``
  0, and ``x * 1e-7`` 20% off (1e-7 is a float16 subnormal); PyTorch keeps ``s`` in float32.
  ``s / x`` is PyTorch's ``reciprocal(x) * s`` for float16 (inf where ``1 / x`` is).
* ``var``/``std`` of float16 accumulated in float16: the variance of 5000 values near 30 was inf
  (the sum overflows), where PyTorch's is about 1.
* ``cumsum``/``cumprod``/``logcumsumexp`` of float16 (and their gradients) rounded every step to
  float16: a running sum of 3000 ones stuck at 2048; PyTorch accumulates in float32.
* ``einsum`` over a middle index (``"ij,jk->ik"``, ``"bij,bjk->bik"``, so also ``tensordot``)
  of float16 summed in float16 (NumPy's einsum): 25 float16 units off for 1000 terms.
* ``interpolate`` (linear, bilinear, trilinear, bicubic) of float16 took its positions, weights
  and first-axis pass in float16: up to 10x PyTorch's error, which computes in float32.
* ``addcmul``/``addcdiv`` (and ``addcmul_``/``addcdiv_``) of float16 formed ``tensor1 * tensor2``
  in float16: inf for products past 65504 where PyTorch's float32 result is finite.
* Optimizer steps of float16 parameters ran the rules' formulas in float16: with gradients of
  400 Adam's ``v / (1 - beta2**t)`` was inf and the step lost (RMSprop, Adadelta alike), where
  PyTorch's ops (float32 products, another order) stay finite.
* ``sum`` over any but the innermost axis and ``nansum`` of float16 summed in float16 (NumPy's
  loop): a column sum of 1000 values near 3 was tens of units off.
* ``layer_norm``, ``group_norm``, ``instance_norm``, ``batch_norm`` (training), norms
  (``linalg.vector_norm``/``norm``, ``Tensor.norm``), ``normalize``, ``cosine_similarity``,
  ``pairwise_distance`` and ``mse_loss`` of float16 formed sums of squares in float16: inf norms
  and losses and NaN gradients for values near 100; PyTorch computes them in float32.
* ``clip_grad_norm_``/``get_total_norm`` of float16 gradients: the norm of a 300 x 300 gradient
  of values near 3 was inf, so every gradient was scaled to 0.
* ``masked_fill``/``masked_fill_``, ``index_fill`` and ``scatter(value=)`` wrote a number the
  tensor's dtype cannot hold (``-1e9`` into float16 attention scores, 1000 into int8) as inf or
  wrapped, where PyTorch raises; and ``full``/``fill_`` (and those) refused a negative int for
  an unsigned tensor, which PyTorch wraps (uint8: -1 is 255, down to -255).
* ``x.half()`` (``to``/``type``) of integers past 65504 warned NumPy's "overflow encountered
  in cast", where casts are silent (the value inf, as PyTorch's).

Added: ``io.load_weights`` reads BF16 tensors of a safetensors file (a large model's usual
checkpoint dtype; NumPy has no bfloat16) as float32, exactly, for a float32 or float16 model.
"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check, same_outcome

torch = pytest.importorskip("torch")

H = np.float16
EPS = 2.0**-10  # float16's unit in the last place, relative


def _np(t):
    return np.asarray(t.detach().numpy(), np.float64)


def _ulps(c, t, n, label=""):
    """``c`` (chainrule) and ``t`` (torch): one dtype and shape, values within ``n`` float16
    units of the larger magnitude of ``t`` (absolute; the same infinities and NaNs)."""
    assert str(c.dtype) == str(t.dtype).replace("torch.", ""), f"{label}: {c.dtype}, {t.dtype}"
    assert tuple(c.shape) == tuple(t.shape), label
    cv, tv = _np(c), _np(t)
    finite = np.isfinite(tv)
    np.testing.assert_array_equal(np.isfinite(cv), finite, err_msg=label)
    np.testing.assert_array_equal(cv[~finite], tv[~finite], err_msg=label)
    scale = np.abs(tv[finite]).max(initial=0.0)
    np.testing.assert_allclose(cv[finite], tv[finite], rtol=0, atol=n * EPS * scale,
                               err_msg=label)


def _no_worse(c, t, exact, n, label=""):
    """``c`` has ``t``'s dtype and shape, and is as close to ``exact`` (float64) as ``t`` is, or
    within ``n`` float16 units of its largest magnitude (PyTorch rounds some float16 backward
    formulas at every step; chainrule's may be the more accurate)."""
    assert str(c.dtype) == str(t.dtype).replace("torch.", ""), f"{label}: {c.dtype}, {t.dtype}"
    assert tuple(c.shape) == tuple(t.shape), label
    e = _np(exact)
    bound = max(np.abs(_np(t) - e).max(), n * EPS * np.abs(e).max())
    assert np.abs(_np(c) - e).max() <= bound, f"{label}: {np.abs(_np(c) - e).max()} > {bound}"


def _values(rng, *shape, loc=0.0):
    spread = rng.choice([1e-3, 1.0, 100.0], shape)
    return (rng.standard_normal(shape) * spread + loc).astype(H)


SCALARS = [0.1, 3.3, 1 / 3, 1e-5, 1e-7, 1e5, 7e4, 100001, 2.0, -0.75, float("inf")]


@pytest.mark.parametrize("s", SCALARS)
def test_float16_times_a_number_is_computed_in_float32(s):
    x = _values(np.random.default_rng(0), 500)
    ops = {
        "x * s": lambda L, a: a * s, "s * x": lambda L, a: s * a,
        "x / s": lambda L, a: a / s, "x // s": lambda L, a: a // s,
        "mul": lambda L, a: L.mul(a, s), "div": lambda L, a: L.div(a, s),
        "floor": lambda L, a: L.div(a, s, rounding_mode="floor"),
        "trunc": lambda L, a: L.div(a, s, rounding_mode="trunc"),
        "x * 0-d float32": lambda L, a: a * L.tensor(s, dtype=L.float32),
        "0-d float64 * x": lambda L, a: L.tensor(s, dtype=L.float64) * a,
        "x / 0-d float32": lambda L, a: a / L.tensor(s, dtype=L.float32),
        "numpy scalar": lambda L, a: a * np.float64(s),
        "mul_": lambda L, a: a.clone().mul_(s), "div_": lambda L, a: a.clone().div_(s),
        "*=": lambda L, a: a.clone().__imul__(s),
    }
    for label, fn in ops.items():
        with np.errstate(all="ignore"):
            t, c = fn(torch, torch.tensor(x)), fn(cr, cr.tensor(x))
        assert str(c.dtype) == "float16", label
        # both round the float32 result once: equal to the bit
        np.testing.assert_array_equal(c.numpy(), t.numpy(), err_msg=f"{label}, s={s}")


@pytest.mark.parametrize("s", [0.1, 1e-7, 1e5])
def test_float16_times_a_number_gradient(s):
    x = _values(np.random.default_rng(1), 40)
    g = np.random.default_rng(2).standard_normal(40).astype(H)
    grads = {}
    for L in (torch, cr):
        a = L.tensor(x, requires_grad=True)
        w = L.tensor(0.3, dtype=L.float32, requires_grad=True)  # its gradient overflows float16
        # in PyTorch for a tiny w
        with np.errstate(all="ignore"):
            ((a * s + a / w) * L.tensor(g)).float().sum().backward()
        grads[L.__name__] = (a.grad, w.grad)
    for c, t in zip(grads["chainrule"], grads["torch"]):
        _ulps(c, t, 2, f"grad, s={s}")


def test_float16_reflected_division_by_a_number():
    x = _values(np.random.default_rng(3), 500)
    for s in (0.1, 3.3, 1e5, 1e-7, 2, -1.0):
        with np.errstate(all="ignore"):
            # PyTorch's s / x is reciprocal(x) * s: 1 / x rounded to float16 first (inf beyond
            # 65504 even where s / x is small)
            t, c = s / torch.tensor(x), s / cr.tensor(x)
        assert c.dtype == np.float16
        np.testing.assert_array_equal(c.numpy(), t.numpy(), err_msg=f"{s} / x")


@pytest.mark.parametrize("seed", range(6))
def test_float16_var_std_accumulate_in_float32(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 4, 2)) + (int(rng.integers(2000, 6000)),)
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-50, 50)).astype(H)
    dim = [None, -1, (0, 2)][seed % 3]
    for name in ("var", "std"):
        for kw in ({}, {"correction": 0}):
            t = getattr(torch.tensor(x), name)(dim=dim, **kw)
            c = getattr(cr.tensor(x), name)(dim=dim, **kw)
            _ulps(c, t, 2, f"{name}{kw}, dim={dim}")


def test_float16_variance_past_the_range_is_inf_silently():
    x = np.array([-300.0, 300.0, 0.0], H)  # variance 9e4 > 65504; std 300
    for name in ("var", "std"):
        t, c = getattr(torch.tensor(x), name)(), getattr(cr.tensor(x), name)()
        np.testing.assert_array_equal(c.numpy(), t.numpy(), err_msg=name)


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
def test_float16_var_std_values_and_gradients(name):
    x = (np.random.default_rng(4).standard_normal((3, 7)) + 5).astype(H)
    check(torch, lambda L, a: getattr(L, name)(a, 1), x, grad=(0,), rtol=4e-3, label=name)


SCANS = {
    "cumsum": (lambda L, a, d: L.cumsum(a, d), lambda rng, s: rng.standard_normal(s)),
    "cumprod": (lambda L, a, d: L.cumprod(a, d), lambda rng, s: 1 + 0.01 * rng.standard_normal(s)),
    "logcumsumexp": (lambda L, a, d: L.logcumsumexp(a, d), lambda rng, s: rng.standard_normal(s)),
}


@pytest.mark.parametrize("name", sorted(SCANS))
@pytest.mark.parametrize("seed", range(3))
def test_float16_running_sums_accumulate_in_float32(name, seed):
    fn, draw = SCANS[name]
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 4)), int(rng.integers(500, 3000)))
    x, g = draw(rng, shape).astype(H), rng.standard_normal(shape).astype(H)
    out = {}
    for L, dtype in ((torch, H), (cr, H), (torch, np.float64)):
        a = L.tensor(x.astype(dtype), requires_grad=True)
        y = fn(L, a, 1)
        (y * L.tensor(g.astype(dtype))).double().sum().backward()
        out[L.__name__, dtype] = (y, a.grad)
    # each running value rounded once from float32 (float16 steps were off by hundreds of units:
    # a running sum stuck at 2048, where adding 1 rounds away)
    for k, what in enumerate(("value", "grad")):
        c, t, e = (out[key][k] for key in (("chainrule", H), ("torch", H), ("torch", np.float64)))
        _no_worse(c, t, e, 3, f"{name} {what}")


def _three_ways(fn, arrays, grad=True):
    """``fn`` in PyTorch float16, chainrule float16 and PyTorch float64: each a list of the
    outputs followed by the inputs' gradients (of a fixed random weighting of the outputs)."""
    out = {}
    for L, dtype in ((torch, H), (cr, H), (torch, np.float64)):
        ts = [L.tensor(a.astype(dtype) if a.dtype.kind == "f" else a,
                       requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        ys = fn(L, *ts)
        ys = list(ys) if isinstance(ys, (tuple, list)) else [ys]
        if grad:
            rng = np.random.default_rng(9)
            sum((y.double() * L.tensor(rng.standard_normal(tuple(y.shape)))).sum()
                for y in ys).backward()
        out[L, dtype] = ys + [t.grad for t in ts if t.grad is not None]
    return zip(out[cr, H], out[torch, H], out[torch, np.float64])


CONTRACTIONS = {  # a is (3, n), b is (n, 4)
    "einsum": lambda L, a, b: L.einsum("ij,jk->ik", a, b),
    "einsum rows": lambda L, a, b: L.einsum("ij,kj->ik", a, b.T.contiguous()),
    "einsum batched": lambda L, a, b: L.einsum("bij,bjk->bik", a[None], b[None]),
    "einsum3": lambda L, a, b: L.einsum("ij,jk,jk->ik", a, b, b),
    "tensordot": lambda L, a, b: L.tensordot(a, b, dims=1),
    "inner": lambda L, a, b: L.inner(a, b.T.contiguous()),
    "mv": lambda L, a, b: L.mv(b.T.contiguous(), a[0]),
    "dot": lambda L, a, b: L.dot(a[0], b[:, 0].contiguous()),
    "matmul": lambda L, a, b: a @ b,
    "bmm": lambda L, a, b: L.bmm(a[None], b[None]),
}


def _float16_contractions_accumulate_in_float32_case(name):
    rng = np.random.default_rng(len(name))
    n = int(rng.integers(500, 2000))
    a, b = rng.standard_normal((3, n)), rng.standard_normal((n, 4))
    # rounded once from float32: within half a unit of the exact value (a float16 running sum,
    # as NumPy's einsum took over a middle index, was off by 25 units)
    for k, (c, t, e) in enumerate(_three_ways(CONTRACTIONS[name], [a, b])):
        _no_worse(c, t, e, 1, f"{name} output/grad {k}")


def test_float16_contractions_accumulate_in_float32():
    each_case(_float16_contractions_accumulate_in_float32_case, grid(
        ("name", sorted(CONTRACTIONS)),
    ))


@pytest.mark.parametrize("seed", range(8))
def test_float16_interpolate_in_float32(seed):
    rng = np.random.default_rng(seed)
    mode = ["linear", "bilinear", "trilinear", "bicubic"][seed % 4]
    ndim = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}[mode]
    x = rng.standard_normal((2, 2) + tuple(rng.integers(3, 9, ndim - 2))) * 10 + 20
    kw = {"mode": mode, "align_corners": bool(seed & 4)}
    if seed % 3:
        kw["scale_factor"] = float(rng.choice([0.6, 1.7, 2.5]))
    else:
        kw["size"] = tuple(int(v) for v in rng.integers(2, 12, ndim - 2))
    fn = lambda L, a: L.nn.functional.interpolate(a, **kw)  # noqa: E731
    for k, (c, t, e) in enumerate(_three_ways(fn, [x])):
        _no_worse(c, t, e, 1, f"interpolate {kw} output/grad {k}")


def _float16_addcmul_addcdiv_in_float32_case(name, seed):
    rng = np.random.default_rng(seed)
    shape = (3, 50)
    x, t1 = _values(rng, *shape), (rng.standard_normal(shape) * 300).astype(H)
    t2 = (np.abs(rng.standard_normal(shape)) * 300 + 1).astype(H)
    value = float(rng.choice([1e-3, 0.1, -0.05]))

    def fn(L, a, b, c):
        if name.endswith("_"):
            return getattr(a.clone(), name)(b, c, value=value)
        return getattr(L, name)(a, b, c, value=value)
    # the products reach 9e4, past float16's 65504: PyTorch's float32 sum is finite
    for k, (c, t, e) in enumerate(_three_ways(fn, [x, t1, t2])):
        _no_worse(c, t, e, 1, f"{name}(value={value}) output/grad {k}")
    assert np.isfinite(fn(cr, *(cr.tensor(a) for a in (x, t1, t2))).numpy()).all()


def test_float16_addcmul_addcdiv_in_float32():
    each_case(_float16_addcmul_addcdiv_in_float32_case, grid(
        ("seed", range(3)),
        ("name", ["addcmul", "addcdiv", "addcmul_", "addcdiv_"]),
    ))


OPTIMIZERS = [("Adam", {"lr": 1e-2}), ("AdamW", {"lr": 1e-2, "weight_decay": 0.1}),
              ("Adam", {"lr": 1e-2, "amsgrad": True}), ("NAdam", {"lr": 1e-2}),
              ("RAdam", {"lr": 1e-2}), ("RMSprop", {"lr": 1e-2}),
              ("RMSprop", {"lr": 1e-2, "centered": True, "momentum": 0.9}),
              ("Adadelta", {"lr": 1.0}), ("Adamax", {"lr": 1e-2}),
              ("SGD", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}), ("ASGD", {"lr": 1e-2}),
              ("Rprop", {"lr": 1e-2})]


def _float16_parameters_optimizer_steps_case(name, kw, scale):
    rng = np.random.default_rng(5)
    p0 = rng.standard_normal((4, 5)).astype(H)
    grads = [(rng.standard_normal((4, 5)) * scale).astype(H) for _ in range(5)]
    out = {}
    for L, dtype in ((torch, H), (cr, H), (torch, np.float64)):
        p = L.nn.Parameter(L.tensor(p0.astype(dtype)))
        opt = getattr(L.optim, name)([p], **kw)
        for g in grads:
            p.grad = L.tensor(g.astype(dtype))
            opt.step()
        state = {k: str(v.dtype).replace("torch.", "") for k, v in opt.state[p].items()}
        out[L.__name__, dtype] = p.detach(), state
    (c, c_state), (t, t_state) = out["chainrule", H], out["torch", H]
    assert c_state == t_state  # the state in float16 (the step count in float32), as PyTorch's
    # Gradients of 400: Adam's v / (1 - beta2**t) is 1.6e5, inf in float16, and the step was
    # lost; the rule now runs in float32 and rounds the parameter and state once
    _no_worse(c, t, out["torch", np.float64][0], 1, f"{name}{kw}")


def test_float16_parameters_optimizer_steps():
    each_case(_float16_parameters_optimizer_steps_case, grid(
        ("scale", [1.0, 400.0]),
        ("name,kw", OPTIMIZERS, [f"{n}{i}" for i, (n, _) in
                                                     enumerate(OPTIMIZERS)]),
    ))


SUMS = {
    "sum(0)": lambda L, a: a.sum(0), "sum": lambda L, a: a.sum(),
    "sum((0, 1))": lambda L, a: a.sum((0, 1)), "nansum(0)": lambda L, a: a.nansum(0),
    "mean(0)": lambda L, a: a.mean(0),
}


def _float16_sums_accumulate_in_float32_case(name, loc):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((int(rng.integers(500, 2000)), 3)) + loc
    # a column sum (NumPy's float16 loop off by tens of units for 1000 values near 3)
    for k, (c, t, e) in enumerate(_three_ways(SUMS[name], [x])):
        _no_worse(c, t, e, 1, f"{name} output/grad {k}")


def test_float16_sums_accumulate_in_float32():
    each_case(_float16_sums_accumulate_in_float32_case, grid(
        ("loc", [0.0, 3.0]),
        ("name", sorted(SUMS)),
    ))


NORMS = {  # sums of squares of values near 100 pass 65504: inf norms, NaN gradients before
    "layer_norm": lambda L, a, w, b: L.nn.functional.layer_norm(a, (a.shape[-1],), w, b),
    "group_norm": lambda L, a, w, b: L.nn.functional.group_norm(a[None], 2, w[:4], b[:4]),
    "instance_norm": lambda L, a, w, b: L.nn.functional.instance_norm(a[None], weight=w[:4]),
    "batch_norm": lambda L, a, w, b: L.nn.functional.batch_norm(a.T, None, None, training=True),
    "rms_norm": lambda L, a, w, b: L.nn.functional.rms_norm(a, (a.shape[-1],), w),
    "vector_norm": lambda L, a, w, b: L.linalg.vector_norm(a, dim=-1),
    "linalg.norm": lambda L, a, w, b: L.linalg.norm(a),
    "Tensor.norm": lambda L, a, w, b: a.norm(dim=0),
    "normalize": lambda L, a, w, b: L.nn.functional.normalize(a, dim=-1),
    "cosine_similarity": lambda L, a, w, b: L.nn.functional.cosine_similarity(a, a + w, dim=-1),
    "pairwise_distance": lambda L, a, w, b: L.nn.functional.pairwise_distance(a, w),
    "mse_loss": lambda L, a, w, b: L.nn.functional.mse_loss(a, b.expand(a.shape)),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_float16_norms_and_normalizations_in_float32(name):
    rng = np.random.default_rng(len(name))
    d = int(rng.integers(300, 1000))
    x = rng.standard_normal((4, d)) * 3 + 100
    w, b = rng.standard_normal(d), rng.standard_normal(d)
    out = list(_three_ways(NORMS[name], [x, w, b]))
    for k, (c, t, e) in enumerate(out):
        assert np.isfinite(_np(c)).all() == np.isfinite(_np(t)).all(), f"{name} {k}"
        _no_worse(c, t, e, 2, f"{name} output/grad {k}")


def test_float16_batch_norm_running_statistics_stay_float16_and_update():
    x = np.random.default_rng(8).standard_normal((300, 3)) * 3 + 100
    out = {}
    for L, dtype in ((torch, H), (cr, H), (torch, np.float64)):
        bn = L.nn.BatchNorm1d(3).to(getattr(L, np.dtype(dtype).name))
        y = bn(L.tensor(x.astype(dtype)))  # the statistics updated in place, in their dtype
        out[L, dtype] = (y, bn.running_mean, bn.running_var)
    for c, t, e in zip(out[cr, H], out[torch, H], out[torch, np.float64]):
        _no_worse(c, t, e, 2)


def test_float16_clip_grad_norm():
    g = (np.random.default_rng(9).standard_normal((300, 300)) * 3).astype(H)
    out = {}
    for L in (torch, cr):
        p, q = (L.nn.Parameter(L.zeros(s, dtype=L.float16)) for s in ((300, 300), (3,)))
        p.grad, q.grad = L.tensor(g), L.tensor(g[0, :3])
        # the sum of squares (8e5) passes 65504: the norm was inf and every gradient cleared
        out[L.__name__] = (L.nn.utils.clip_grad_norm_([p, q], 1.0), p.grad, q.grad)
    for c, t in zip(out["chainrule"], out["torch"]):
        np.testing.assert_array_equal(c.numpy(), t.numpy())
        assert c.dtype == np.float16


@pytest.mark.parametrize("half", [False, True])
def test_bfloat16_safetensors_weights_load(tmp_path, half):
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    saved = {k: v.bfloat16() if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    st.save_file(saved, tmp_path / "w.safetensors")  # a large model's usual checkpoint dtype
    ours = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4))
    if half:
        ours.half(), model.half()
    model.load_state_dict(saved)
    with pytest.warns(UserWarning, match="no SHA-256 checksums"):  # another tool's file
        cr.io.load_weights(ours, tmp_path / "w.safetensors")
    for (k, c), t in zip(ours.state_dict().items(), model.state_dict().values()):
        assert str(c.dtype) == str(t.dtype).replace("torch.", ""), k
        np.testing.assert_array_equal(c.numpy(), t.numpy(), err_msg=k)  # widened exactly


@pytest.mark.parametrize("dtype", ["float16", "float32", "int8", "uint8", "int64", "bool"])
def test_writing_a_number_the_dtype_cannot_hold_is_an_error(dtype):
    x = np.array([1, 2, 3]).astype(dtype)
    fills = {
        "masked_fill": lambda L, a, v: a.masked_fill(a > 1, v),
        "masked_fill_": lambda L, a, v: a.clone().masked_fill_(a > 1, v),
        "index_fill": lambda L, a, v: a.index_fill(0, L.tensor([0, 2]), v),
        "scatter": lambda L, a, v: a.scatter(0, L.tensor([1]), v),
        "scatter_": lambda L, a, v: a.clone().scatter_(0, L.tensor([1]), v),
        "full": lambda L, a, v: L.full((2,), v, dtype=a.dtype),
    }
    for value in (1e5, -1e9, float("-inf"), -65504.0, float("nan"), 2.5, 1000, True, -1, -129,
                  -256, -1.0):
        for label, fn in fills.items():
            if dtype in ("int8", "uint8", "int64") and value != value:
                continue  # NaN into integers: PyTorch's CPU kernel is undefined there
            # -1e9 into float16 attention scores is PyTorch's RuntimeError, not a silent -inf;
            # a negative int wraps into uint8 (-1 is 255) down to -255, as PyTorch's
            same_outcome(torch, lambda L, a, f=fn, v=value: f(L, a, v), [x],
                         label=f"{label}({value}) of {dtype}")


def _activation_ops():
    F = "nn.functional"

    def fn(path, *args, **kw):
        def call(L, a):
            obj = L
            for part in path.split("."):
                obj = getattr(obj, part)
            return obj(a, *args, **kw)
        return call
    return {
        "exp": lambda L, a: (a / 3).exp(), "log": lambda L, a: (a.abs() + 0.01).log(),
        "rsqrt": lambda L, a: (a.abs() + 0.01).rsqrt(), "tanh": fn("tanh"),
        "sigmoid": fn("sigmoid"), "erf": fn("erf"), "atan": fn("atan"), "sin": fn("sin"),
        "gelu": fn(f"{F}.gelu"), "gelu tanh": fn(f"{F}.gelu", approximate="tanh"),
        "silu": fn(f"{F}.silu"), "mish": fn(f"{F}.mish"), "elu": fn(f"{F}.elu"),
        "selu": fn(f"{F}.selu"), "softplus": fn(f"{F}.softplus"),
        "logsigmoid": fn(f"{F}.logsigmoid"), "softsign": fn(f"{F}.softsign"),
        "softmax": lambda L, a: L.softmax(a.reshape(20, -1), 1),
        "log_softmax": lambda L, a: L.log_softmax(a.reshape(20, -1), 1),
        "logsumexp": lambda L, a: L.logsumexp(a.reshape(20, -1), 1),
        "cross_entropy": lambda L, a: L.nn.functional.cross_entropy(
            a.reshape(-1, 10), L.arange(a.numel() // 10) % 10),
        "x ** 3": lambda L, a: a**3, "x * x.flip": lambda L, a: a * a.flip(0),
        "x / (|x| + 1)": lambda L, a: a / (a.abs() + 1),
    }


def _float16_elementwise_and_activations_against_pytorch_case(name):
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal(2000) * 3
    # values and gradients within a few float16 units of the largest (PyTorch computes each
    # in float32 and rounds once; chainrule rounds some composites twice)
    for k, (c, t, e) in enumerate(_three_ways(_activation_ops()[name], [x])):
        _no_worse(c, t, e, 4, f"{name} output/grad {k}")


def test_float16_elementwise_and_activations_against_pytorch():
    each_case(_float16_elementwise_and_activations_against_pytorch_case, grid(
        ("name", sorted(_activation_ops())),
    ))


def test_float16_model_trains_as_closely_as_pytorch():
    """A float16 MLP with LayerNorm and GELU, five Adam steps (eps=1e-4: float16 cannot hold
    1e-8; see docs/pytorch.md) on inputs near 50: losses and parameters as close to a float64
    run as PyTorch's float16 run is, or closer."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 16)) * 20 + 50, rng.integers(0, 5, 64)
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.LayerNorm(32), torch.nn.GELU(),
                              torch.nn.Linear(32, 5))
    weights = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    out = {}
    for L, dtype in ((torch, "float16"), (cr, "float16"), (torch, "float64")):
        m = L.nn.Sequential(L.nn.Linear(16, 32), L.nn.LayerNorm(32), L.nn.GELU(),
                            L.nn.Linear(32, 5))
        m.load_state_dict({k: L.tensor(v) for k, v in weights.items()})
        m = m.to(getattr(L, dtype))
        opt = L.optim.Adam(m.parameters(), lr=1e-2, eps=1e-4)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = L.nn.functional.cross_entropy(m(L.tensor(x.astype(dtype))), L.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        flat = np.concatenate([np.asarray(p.detach().numpy(), np.float64).ravel()
                               for p in m.parameters()])
        out[L.__name__, dtype] = np.array(losses), flat
    exact = out["torch", "float64"]
    for k in (0, 1):
        ours = np.abs(out["chainrule", "float16"][k] - exact[k]).max()
        theirs = np.abs(out["torch", "float16"][k] - exact[k]).max()
        assert ours <= max(theirs, 4 * EPS * np.abs(exact[k]).max()), (k, ours, theirs)


def test_float16_beside_float32_is_not_rounded_to_float16():
    """The float32 computation of a float16 op (``_wide.in_float32``) rounds back only what
    would be float16: with a float32 operand the result keeps float32, as PyTorch's."""
    rng = np.random.default_rng(10)
    a, b = rng.standard_normal((2, 3)).astype(H), rng.standard_normal((2, 3)).astype(np.float32)
    for name in ("cosine_similarity", "pairwise_distance"):
        c = getattr(cr.nn.functional, name)(cr.tensor(a), cr.tensor(b))
        t = getattr(torch.nn.functional, name)(torch.tensor(a), torch.tensor(b))
        _ulps(c, t, 1, name)
    m, v = rng.standard_normal(3).astype(np.float32), rng.random(3).astype(np.float32) + 1
    t = torch.nn.functional.batch_norm(torch.tensor(a), torch.tensor(m), torch.tensor(v))
    c = cr.nn.functional.batch_norm(cr.tensor(a), cr.tensor(m), cr.tensor(v))
    _ulps(c, t, 2, "batch_norm with float32 running statistics")


def test_integers_past_float16_range_convert_to_inf_silently():
    for dtype in ("int64", "int32", "uint16"):
        x = np.array([70000, 65504, 65520, 5]).astype(dtype)
        for fn in (lambda L, a: a.half(), lambda L, a: a.to(L.float16),
                   lambda L, a: a.type(L.float16)):
            c, t = fn(cr, cr.tensor(x)), fn(torch, torch.tensor(x))  # -W error: no warning
            np.testing.assert_array_equal(c.numpy(), t.numpy(), err_msg=dtype)
            assert c.dtype == np.float16
