"""Eighth fuzz wave: embeddings, fold/unfold, pixel and channel shuffles, parametrized and lazy
layers, and functional forms with running statistics, under random options, with the weights
ported from PyTorch through ``load_state_dict`` (float64)."""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import check, port

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _ident(fn):
    def make(lib):
        return lib.nn.Identity(), lambda m, *a: fn(lib, *a)
    return make


def _layer(name, *args, call=None, **kw):
    def make(lib):
        return getattr(lib.nn, name)(*args, **kw), call or (lambda m, *a: m(*a))
    return make


def _draw_layer(rng):
    kind = str(rng.choice(["emb", "ebag", "fold", "unfold", "pix", "unpix", "chsh", "bilinear",
                           "convt", "wn", "sn", "lazy", "alsm"]))
    grad = None
    if kind == "emb":
        n = int(rng.integers(1, 7))
        pi = int(rng.integers(-n, n)) if rng.random() < 0.5 else None
        idx = rng.integers(0, n + (rng.random() < 0.1), tuple(rng.integers(1, 4, 2)))
        kw = {"padding_idx": pi, "scale_grad_by_freq": bool(rng.random() < 0.3)}
        if rng.random() < 0.4:  # rows renormed in place: the weights are compared after 2 steps
            kw.update(max_norm=float(rng.choice([0.5, 1.0, 2.0])),
                      norm_type=float(rng.choice([1.0, 2.0, 3.0, np.inf])))
        return f"Embedding({n}, {kw})", _layer("Embedding", n, 3, **kw), [idx], grad
    if kind == "ebag":
        n, mode = int(rng.integers(2, 7)), str(rng.choice(["sum", "mean", "max"]))
        pi = int(rng.integers(0, n)) if rng.random() < 0.4 else None
        if rng.random() < 0.4:
            idx, offs, last = rng.integers(0, n, tuple(rng.integers(1, 4, 2))), None, False
        else:
            idx = rng.integers(0, n, int(rng.integers(1, 7)))
            offs = np.sort(rng.integers(0, len(idx) + 1, int(rng.integers(1, 4))))
            offs[0], last = 0, bool(rng.random() < 0.3)
            offs = np.concatenate([offs, [len(idx)]]) if last else offs
        psw = rng.standard_normal(idx.shape) if mode == "sum" and rng.random() < 0.4 else None

        def call(m, idx, *rest):
            rest = list(rest)
            o = rest.pop(0) if offs is not None else None
            return m(idx, o, per_sample_weights=rest.pop(0) if psw is not None else None)
        arrays = [a for a in (idx, offs, psw) if a is not None]
        return (f"EmbeddingBag({n}, {mode}, pi={pi}, last={last}) {offs}",
                _layer("EmbeddingBag", n, 2, mode=mode, padding_idx=pi,
                       include_last_offset=last, call=call), arrays, grad)
    if kind in ("fold", "unfold"):
        k, dil, pad, st = (tuple(int(v) for v in rng.integers(lo, hi, 2))
                           for lo, hi in ((1, 4), (1, 3), (0, 2), (1, 3)))
        kw = dict(dilation=dil, padding=pad, stride=st)
        C = int(rng.integers(1, 3))
        lead = (C,) if rng.random() < 0.2 else (2, C)
        if kind == "unfold":
            x = rng.standard_normal(lead + tuple(int(v) for v in rng.integers(1, 7, 2)))
            return f"Unfold({k}, {kw}) x{x.shape}", _layer("Unfold", k, **kw), [x], grad
        out = tuple(int(v) for v in rng.integers(1, 7, 2))
        blocks = int(np.prod([(out[j] + 2 * pad[j] - dil[j] * (k[j] - 1) - 1) // st[j] + 1
                              for j in range(2)]))
        x = rng.standard_normal(lead[:-1] + (C * k[0] * k[1], max(blocks, 1)
                                             + (rng.random() < 0.1)))
        return f"Fold({out}, {k}, {kw}) x{x.shape}", _layer("Fold", out, k, **kw), [x], grad
    batch = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 3))))
    r, C = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    if kind == "pix":
        x = rng.standard_normal(batch + (C * r * r + (rng.random() < 0.1), 2, 3))
        return f"PixelShuffle({r}) x{x.shape}", _layer("PixelShuffle", r), [x], grad
    if kind == "unpix":
        x = rng.standard_normal(batch + (C, 2 * r, r + (rng.random() < 0.1)))
        return f"PixelUnshuffle({r}) x{x.shape}", _layer("PixelUnshuffle", r), [x], grad
    if kind == "chsh":
        x = rng.standard_normal((2, r * C + (rng.random() < 0.1), 3))
        return f"ChannelShuffle({r}) x{x.shape}", _layer("ChannelShuffle", r), [x], grad
    if kind == "bilinear":
        a, b, o = (int(v) for v in rng.integers(1, 4, 3))
        arrays = [rng.standard_normal(batch + (a,)), rng.standard_normal(batch + (b,))]
        bias = bool(rng.random() < 0.7)
        return f"Bilinear({a}, {b}, {o}, {bias})", _layer("Bilinear", a, b, o, bias=bias), \
            arrays, grad
    if kind == "convt":  # ConvTranspose's forward(x, output_size=)
        d, s, k, p = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), 1
        sp = tuple(int(v) for v in rng.integers(1, 5, d))
        size = [(n - 1) * s - 2 * p + k + int(rng.integers(0, s + 1)) for n in sp]
        size = [2, 1] + size if rng.random() < 0.5 else size
        return (f"ConvTranspose{d}d(k={k}, s={s}) output_size={size} x{sp}",
                _layer(f"ConvTranspose{d}d", 1, 1, k, stride=s, padding=p,
                       call=lambda m, x: m(x, output_size=size)),
                [rng.standard_normal((2, 1) + sp)], grad)
    if kind in ("wn", "sn"):
        new, dim = kind == "sn" or rng.random() < 0.7, int(rng.choice([0, 1, -1]))
        conv = rng.random() < 0.5

        def make(lib):
            m = lib.nn.Conv1d(3, 4, 2) if conv else lib.nn.Linear(3, 4)
            U = lib.nn.utils
            if kind == "sn":
                return U.parametrizations.spectral_norm(m), lambda m, x: m(x)
            wn = U.parametrizations.weight_norm if new else U.weight_norm
            return wn(m, dim=dim), lambda m, x: m(x)
        x = rng.standard_normal((2, 3, 5) if conv else (2, 3))
        return f"{kind} new={new} dim={dim} conv={conv}", make, [x], grad
    if kind == "lazy":  # the weights land in a module that has not seen an input yet
        name, args, shape = [("LazyLinear", (4,), (2, 3)), ("LazyConv2d", (2, 3), (2, 3, 4, 4)),
                             ("LazyBatchNorm1d", (), (4, 3)),
                             ("LazyConvTranspose1d", (2, 2), (2, 3, 4))][int(rng.integers(4))]
        return name, _layer(name, *args), [rng.standard_normal(shape)], grad
    nc = int(rng.integers(4, 9))
    cut, dv, hb = [int(rng.integers(1, nc))], float(rng.choice([2.0, 1.5])), rng.random() < 0.5

    def call(m, x, t):
        return m(x, t), m.log_prob(x), m.predict(x)
    return (f"AdaptiveLogSoftmaxWithLoss({nc}, {cut}, {dv}, {hb})",
            _layer("AdaptiveLogSoftmaxWithLoss", 8, nc, cut, div_value=dv, head_bias=hb,
                   call=call), [rng.standard_normal((4, 8)), rng.integers(0, nc, 4)], [0])


@pytest.mark.parametrize("seed", range(3))
def test_layers_ported_from_pytorch(seed):
    rng = np.random.default_rng(900 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(60):
        desc, make, arrays, grad = _draw_layer(rng)
        train = bool(rng.random() < 0.5)
        try:
            counts[check(make, arrays, rng, grad=grad, train=train, steps=2)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 45, counts


def _draw_functional(rng):
    kind = str(rng.choice(["bn", "inorm", "pad", "normalize", "glu", "one_hot", "rms", "ln"]))
    F = "torch.nn.functional"
    if kind in ("bn", "inorm"):
        C = int(rng.integers(1, 4))
        lo = 1 if kind == "bn" else 2
        x = rng.standard_normal((int(rng.integers(1, 4)), C)
                                + tuple(int(v) for v in rng.integers(lo, 4, int(rng.integers(
                                    lo - 1, 3)))))
        stats = rng.random() < 0.7
        on_input = bool(rng.random() < 0.6) or not stats
        mom = float(rng.choice([0.1, 0.5, 1.0]))

        def make(lib):  # the running statistics are buffers: updated in place, then compared
            m = lib.nn.Module()
            if stats:
                m.register_buffer("rm", lib.tensor(np.linspace(-1, 1, C)))
                m.register_buffer("rv", lib.tensor(np.linspace(0.5, 2, C)))

            def call(m, x):
                rm, rv = getattr(m, "rm", None), getattr(m, "rv", None)
                if kind == "bn":
                    return lib.nn.functional.batch_norm(x, rm, rv, training=on_input,
                                                        momentum=mom, eps=1e-3)
                return lib.nn.functional.instance_norm(x, rm, rv, use_input_stats=on_input,
                                                       momentum=mom)
            return m, call
        return f"{F}.{kind} x{x.shape} stats={stats} on_input={on_input} {mom}", make, [x]
    shape = tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(1, 5))))
    x = rng.standard_normal(shape)
    if kind == "pad":
        mode = str(rng.choice(["constant", "reflect", "replicate", "circular"]))
        n = min(int(rng.integers(1, 4)), len(shape))
        if mode != "constant":  # PyTorch pads n axes of (n + 1)- or (n + 2)-D input only
            n = int(rng.integers(1, 4))
            x = rng.standard_normal(tuple(int(v) for v in rng.integers(1, 5, n + int(
                rng.integers(1, 3)))))
        p = tuple(int(v) for v in rng.integers(0, 4, 2 * n))
        value = float(rng.choice([0.0, 0.5])) if mode == "constant" else None
        return (f"{F}.pad x{x.shape} {p} {mode}",
                _ident(lambda lib, x: lib.nn.functional.pad(x, p, mode=mode, value=value)), [x])
    if kind == "normalize":
        x[..., 0] = 0 if rng.random() < 0.2 else x[..., 0]
        kw = dict(p=float(rng.choice([1.0, 2.0, 3.0, 0.5, np.inf])), eps=float(rng.choice(
            [1e-12, 0.1])), dim=int(rng.integers(-x.ndim, x.ndim)))
        return (f"{F}.normalize x{x.shape} {kw}",
                _ident(lambda lib, x: lib.nn.functional.normalize(x, **kw)), [x])
    if kind == "glu":
        d = int(rng.integers(-x.ndim, x.ndim))
        return f"{F}.glu x{x.shape} {d}", _ident(lambda lib, x: lib.nn.functional.glu(x, d)), [x]
    if kind == "one_hot":
        t, nc = rng.integers(0, 4, shape[:2]), int(rng.choice([-1, 3, 4, 5]))
        return (f"{F}.one_hot {t.shape} {nc}",
                _ident(lambda lib, t: lib.nn.functional.one_hot(t, nc)), [t])
    ns = list(shape[-int(rng.integers(1, len(shape) + 1)):])
    w = rng.standard_normal(ns)
    b = rng.standard_normal(ns)
    eps = None if kind == "rms" and rng.random() < 0.5 else float(rng.choice([1e-5, 0.1]))

    def norm(lib, x, w, b):
        if kind == "rms":
            return lib.nn.functional.rms_norm(x, ns, w, eps=eps)
        return lib.nn.functional.layer_norm(x, ns, w, b, eps=eps)
    return f"{F}.{kind} x{x.shape} {ns} eps={eps}", _ident(norm), [x, w, b]


def test_functional_forms_against_pytorch():
    rng = np.random.default_rng(910)
    counts = {"compared": 0, "raised": 0}
    for _ in range(120):
        desc, make, arrays = _draw_functional(rng)
        try:
            counts[check(make, arrays, rng)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 90, counts


@pytest.mark.parametrize("dim", [0, 1])
def test_weight_norm_second_order_gradient_matches_finite_differences(dim):
    # docs/pytorch.md: PyTorch's fused _weight_norm has a wrong double backward with respect to
    # the direction v (its gradient of a gradient differs from the same weight g * v / |v|
    # written with plain ops, and from finite differences); chainrule composes plain ops
    rng = np.random.default_rng(dim)
    tm = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 4), dim=dim).double()
    cm = cr.nn.utils.parametrizations.weight_norm(cr.nn.Linear(3, 4), dim=dim).double()
    port(tm, cm)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    gv = (rng.standard_normal((4, 1) if dim == 0 else (1, 3)), rng.standard_normal((4, 3)))

    def second(lib, m, g, v):
        m.parametrizations.weight.original0.data.copy_(lib.tensor(g))
        m.parametrizations.weight.original1.data.copy_(lib.tensor(v))
        params = [m.parametrizations.weight.original0, m.parametrizations.weight.original1]
        loss = (m(lib.tensor(x)) * lib.tensor(w)).sum()
        first = lib.autograd.grad(loss, params, create_graph=True)
        s = sum((f * lib.tensor(a)).sum() for f, a in zip(first, gv))
        return [h.detach().numpy() for h in lib.autograd.grad(s, params)], float(s.detach())

    g0, v0 = (p.detach().numpy().copy() for p in (tm.parametrizations.weight.original0,
                                                 tm.parametrizations.weight.original1))
    (_, theirs), _ = second(torch, tm, g0, v0)
    (_, ours), _ = second(cr, cm, g0, v0)
    h, numeric = 1e-6, np.zeros_like(v0)
    for i in np.ndindex(v0.shape):
        e = np.zeros_like(v0)
        e[i] = h
        numeric[i] = (second(cr, cm, g0, v0 + e)[1] - second(cr, cm, g0, v0 - e)[1]) / (2 * h)
    np.testing.assert_allclose(ours, numeric, rtol=1e-6, atol=1e-7)
    assert not np.allclose(theirs, numeric, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_of_the_other_modes_takes_any_number_of_trailing_axes(mode):
    # docs/pytorch.md: PyTorch ties the length of pad to the input's dimensions in these modes
    # (4 values need 3-D or 4-D input); chainrule pads the trailing axes as "constant" does, and
    # the values are PyTorch's for the same axes of a batched copy
    x = np.random.default_rng(2).standard_normal((3, 4))
    with pytest.raises((RuntimeError, NotImplementedError), match="not supported"):
        torch.nn.functional.pad(torch.tensor(x), (1, 2, 2, 1), mode=mode)
    want = torch.nn.functional.pad(torch.tensor(x)[None], (1, 2, 2, 1), mode=mode)[0]
    got = cr.nn.functional.pad(cr.tensor(x), (1, 2, 2, 1), mode=mode)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_negative_constant_pads_crop_as_in_pytorch():
    # they were refused ("pads must be non-negative ints"); PyTorch crops first, then pads
    rng = np.random.default_rng(7)
    compared = 0
    for _ in range(300):
        shape = tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(1, 4))))
        p = tuple(int(v) for v in rng.integers(-3, 3, 2 * int(rng.integers(1, len(shape) + 1))))
        x = rng.standard_normal(shape)
        try:
            want = torch.nn.functional.pad(torch.tensor(x, requires_grad=True), p, value=0.5)
        except RuntimeError:
            with pytest.raises(ValueError, match="crop"):
                cr.nn.functional.pad(cr.tensor(x), p, value=0.5)
            continue
        t = torch.tensor(x, requires_grad=True)
        c = cr.tensor(x, requires_grad=True)
        w = rng.standard_normal(tuple(want.shape))
        (torch.nn.functional.pad(t, p, value=0.5) * torch.tensor(w)).sum().backward()
        got = cr.nn.functional.pad(c, p, value=0.5)
        (got * cr.tensor(w)).sum().backward()
        np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
        np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())
        compared += 1
    assert compared > 100
    x = np.arange(8.0).reshape(2, 4)  # other modes crop too (reflect: after padding)
    np.testing.assert_array_equal(
        cr.nn.functional.pad(cr.tensor(x), (-1, 2), mode="reflect").numpy(),
        torch.nn.functional.pad(torch.tensor(x), (-1, 2), mode="reflect").numpy())


@pytest.mark.parametrize(("name", "shape", "per"), [
    ("dropout1d", (4, 6), (4, 1)), ("dropout3d", (3, 2, 2, 2), (3, 1, 1, 1)),
    ("dropout2d", (2, 5, 6), (2, 5, 1))])
def test_channel_dropout_takes_pytorchs_other_ranks(name, shape, per):
    # they were refused: PyTorch's dropout1d/dropout3d take unbatched (C, L)/(C, D, H, W), and
    # its dropout2d takes 3-D input as (N, C, L) with a warning; one draw per channel either way
    x = np.ones(shape)
    if name == "dropout2d":
        with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
            theirs = torch.nn.functional.dropout2d(torch.tensor(x), 0.5, True).numpy()
        with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
            ours = cr.nn.functional.dropout2d(cr.tensor(x), 0.5, True).numpy()
        with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
            module = cr.nn.Dropout2d(0.5)(cr.tensor(x)).numpy()
    else:
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x), 0.5, True).numpy()
        ours = getattr(cr.nn.functional, name)(cr.tensor(x), 0.5, True).numpy()
        module = getattr(cr.nn, name.replace("d", "D", 1).capitalize())(0.5)(
            cr.tensor(x)).numpy()
    for y in (theirs, ours, module):  # constant along the axes one draw covers, values 0 or 2
        assert y.shape == shape and set(np.unique(y)) <= {0.0, 2.0}
        assert (y == y.reshape(per + (-1,))[..., :1].reshape(per)).all()
