"""Thirteenth fuzz wave, the less-used layers: activations with their options, the padding
modules (negative pads included), LocalResponseNorm and CrossMapLRN2d, Upsample and its 2-D
forms, embeddings looked up by one id, the Lazy modules and the init fans, each built in PyTorch
and chainrule with the weights ported, outputs, gradients (float64) and error-vs-no-error
compared."""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz8_port import check
from ._fuzz12_check import same_outcome

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _layer(name, *args, call=None, **kw):
    def make(lib):
        return getattr(lib.nn, name)(*args, **kw), call or (lambda m, *a: m(*a))
    return make


def _run(draw, seed, n, least):
    rng = np.random.default_rng(seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(n):
        desc, make, arrays = draw(rng)
        # PyTorch's CELU and Hardsigmoid backwards are off by about 1e-8 in float64 (a
        # float32 constant, checked against finite differences): their values only
        grad = () if desc.startswith(("CELU", "Hardsigmoid")) else None
        try:
            counts[check(make, arrays, rng, grad=grad)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= least, counts


@pytest.mark.parametrize("sparse", [False, True])
def test_embedding_of_one_id_is_a_copy_of_the_row(sparse):
    # a 0-d id read the row as a view of the weight: a later change to the weight (max_norm's
    # renorm at the next lookup, an optimizer step) changed the output already returned
    for lib in (torch, cr):
        e = lib.nn.Embedding(3, 2, max_norm=1.0, sparse=sparse).double()
        with lib.no_grad():
            e.weight.copy_(lib.tensor([[3.0, 4.0], [1.0, 0.0], [6.0, 8.0]]))
        y = e(lib.tensor(0))
        f = lib.nn.functional.embedding(lib.tensor(2), e.weight)
        t = lib.embedding(e.weight, lib.tensor(1))
        with lib.no_grad():
            e.weight.mul_(0.0)
        np.testing.assert_allclose(y.detach().numpy(), [0.6, 0.8], rtol=1e-6, err_msg=str(lib))
        np.testing.assert_allclose(f.detach().numpy(), [6.0, 8.0], err_msg=str(lib))
        np.testing.assert_allclose(t.detach().numpy(), [1.0, 0.0], err_msg=str(lib))
    w = cr.tensor([[3.0, 4.0], [1.0, 0.0]])
    v = w[cr.tensor(0)]  # plain indexing by a 0-d id stays a view, as PyTorch's
    w.mul_(0.0)
    assert v.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("sparse", [False, True])
def test_embedding_with_max_norm_called_twice_before_backward(sparse):
    # the second lookup renorms the weight in place; neither lookup's backward reads the weight
    # (PyTorch's saves none), but the sparse one refused the changed weight and the 0-d one
    # refused its changed view
    ids = [np.array([[0, 2], [2, 1]]), np.array([0, 0])] + ([] if sparse else [np.array(1)])
    w = np.random.default_rng(0).standard_normal((3, 3)) * 2
    for idx in ids:
        grads = []
        for lib in (torch, cr):
            e = lib.nn.Embedding(3, 3, max_norm=1.0, norm_type=3.0, sparse=sparse).double()
            with lib.no_grad():
                e.weight.copy_(lib.tensor(w))
            a, b = e(lib.tensor(idx)), e(lib.tensor(np.flip(idx).copy()))
            (a * b).sum().backward()
            g = e.weight.grad
            grads.append((g.to_dense() if sparse else g).numpy())
            grads.append(e.weight.detach().numpy())
        np.testing.assert_allclose(grads[2], grads[0], rtol=1e-12, err_msg=str(idx))
        np.testing.assert_allclose(grads[3], grads[1], rtol=1e-12, err_msg=str(idx))


_ACTS = [("Threshold", (0.1, 20.0)), ("Threshold", (-0.3, -3)), ("Hardtanh", (-2.0, 0.5)),
         ("Hardtanh", ()), ("ReLU6", ()), ("RReLU", (0.1, 0.3)), ("Softmin", (1,)),
         ("Softmin", (-1,)), ("Softmax2d", ()), ("LogSigmoid", ()), ("Softsign", ()),
         ("Tanhshrink", ()), ("GLU", ()), ("GLU", (0,)), ("GLU", (1,)), ("CELU", (0.5,)),
         ("CELU", (2.0,)), ("SELU", ()), ("Mish", ()), ("Hardswish", ()), ("Hardsigmoid", ()),
         ("SiLU", ()), ("GELU", ("tanh",)), ("GELU", ()), ("Softplus", (2.0, 1.0))]


def _draw_activation(rng):
    name, args = _ACTS[int(rng.integers(len(_ACTS)))]
    shape = tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(1, 5))))
    x = rng.standard_normal(shape) * 3
    # RReLU in eval mode: the mean slope; the random training slopes are not compared
    call = (lambda m, x: m.eval()(x)) if name == "RReLU" else None
    return f"{name}{args} x{shape}", _layer(name, *args, call=call), [x]


@pytest.mark.parametrize("seed", range(2))
def test_activation_modules_ported_from_pytorch(seed):
    _run(_draw_activation, 1300 + seed, 60, 35)


@pytest.mark.parametrize("name", ["CELU", "Hardsigmoid"])
def test_celu_and_hardsigmoid_gradients_match_finite_differences(name):
    x = np.random.default_rng(0).standard_normal((3, 4)) * 3
    x = x[np.abs(np.abs(x) - 3) > 0.1].reshape(-1)  # away from Hardsigmoid's kinks at +-3
    args = (0.4,) if name == "CELU" else ()
    assert cr.autograd.gradcheck(getattr(cr.nn, name)(*args), [cr.tensor(x, requires_grad=True)])


def _draw_pad(rng):
    d, kind = int(rng.integers(1, 4)), str(rng.choice(["Zero", "Constant", "Reflection",
                                                        "Replication", "Circular"]))
    shape = ((2,) if rng.random() < 0.5 else (2, 2)) + tuple(int(v) for v in rng.integers(2, 6, d))
    if rng.random() < 0.7:
        pad = [int(v) for v in rng.integers(-1, 3, 2 * d)]
        for j in range(d):
            n, (lo, hi) = shape[-1 - j], pad[2 * j:2 * j + 2]
            kept = n + min(lo, 0) + min(hi, 0)  # what a crop leaves
            if n + lo + hi < 1 or (kind == "Circular" and max(lo, hi) > kept):
                pad[2 * j:2 * j + 2] = 0, 0
        pad = tuple(pad)
    else:
        pad = int(rng.integers(0, 3))
    args = (pad, 1.5) if kind == "Constant" else (pad,)
    # PyTorch's circular pad of a crop reads uninitialized memory, and its 2-D and 3-D reflect
    # and replicate return empty tensors where its 1-D refuses: crops that leave an axis of one
    # entry or more only
    return f"{kind}Pad{d}d{args} x{shape}", _layer(f"{kind}Pad{d}d", *args), \
        [rng.standard_normal(shape)]


@pytest.mark.parametrize("seed", range(2))
def test_padding_modules_ported_from_pytorch(seed):
    _run(_draw_pad, 1310 + seed, 50, 30)


def _draw_lrn(rng):
    size, k = int(rng.integers(1, 6)), float(rng.choice([1.0, 2.0]))
    alpha, beta = float(rng.choice([1e-4, 0.1, 1.0])), float(rng.choice([0.75, 0.5, 1.0]))
    if rng.random() < 0.5:
        shape = (2, int(rng.integers(1, 7))) + tuple(int(v) for v in rng.integers(1, 4, int(
            rng.integers(0, 3))))
        return f"LocalResponseNorm({size}, {alpha}, {beta}, {k}) x{shape}", \
            _layer("LocalResponseNorm", size, alpha, beta, k), [rng.standard_normal(shape)]
    # CrossMapLRN2d: PyTorch's backward fails its own gradcheck and its size=1 fails in
    # forward; the forward values of size >= 2 are compared (chainrule's gradient is
    # checked against finite differences below)
    size, shape = max(size, 2), (2, int(rng.integers(1, 7)), 3, 3)
    return f"CrossMapLRN2d({size}, {alpha}, {beta}, {k}) x{shape}", \
        _layer("CrossMapLRN2d", size, alpha, beta, k), [rng.standard_normal(shape)]


def test_local_response_norms_ported_from_pytorch():
    rng = np.random.default_rng(1320)
    for _ in range(30):
        desc, make, arrays = _draw_lrn(rng)
        grad = () if desc.startswith("Cross") else None
        try:
            assert check(make, arrays, rng, grad=grad) in ("compared", "raised")
        except AssertionError as e:
            raise AssertionError(desc) from e
    x = cr.tensor(rng.standard_normal((2, 5, 3, 3)), requires_grad=True)
    assert cr.autograd.gradcheck(cr.nn.CrossMapLRN2d(3, 1.0, 1.0, 2.0), [x])


_MODES = {1: ["nearest", "linear", "nearest-exact"], 2: ["nearest", "bilinear", "bicubic",
                                                          "nearest-exact"],
          3: ["nearest", "trilinear", "nearest-exact"]}


def _draw_upsample(rng):
    d = int(rng.integers(1, 4))
    mode = str(rng.choice(_MODES[d]))
    shape = (2, 2) + tuple(int(v) for v in rng.integers(1, 6, d))
    kw = {"mode": mode}
    scales = [0.5, 1.5, 2.0, 3.0, 0.7, 2.3]
    if rng.random() < 0.5:
        kw["size"] = tuple(int(v) for v in rng.integers(1, 9, d)) if rng.random() < 0.6 else \
            int(rng.integers(1, 9))
    else:
        kw["scale_factor"] = tuple(float(v) for v in rng.choice(scales, d)) \
            if rng.random() < 0.5 else float(rng.choice(scales))
        if rng.random() < 0.5:
            kw["recompute_scale_factor"] = bool(rng.random() < 0.5)
    if "nearest" not in mode and rng.random() < 0.5:
        kw["align_corners"] = bool(rng.random() < 0.5)
    if d == 2 and rng.random() < 0.3:
        name = str(rng.choice(["UpsamplingNearest2d", "UpsamplingBilinear2d"]))
        kw = {k: v for k, v in kw.items() if k in ("size", "scale_factor")}
    else:
        name = "Upsample"
    return f"{name}({kw}) x{shape}", _layer(name, **kw), [rng.standard_normal(shape)]


def test_upsample_modules_ported_from_pytorch():
    rng = np.random.default_rng(1330)
    for _ in range(60):
        desc, make, arrays = _draw_upsample(rng)
        # PyTorch's 1-D and 3-D nearest backward of a fractional scale fails its own gradcheck
        # (its forward does not): those compare the forward values
        grad = () if "'nearest'" in desc and "size" not in desc and "2d" not in desc else None
        try:
            assert check(make, arrays, rng, grad=grad) in ("compared", "raised")
        except AssertionError as e:
            raise AssertionError(desc) from e


_BAD = {
    "Upsample both": lambda lib, x: lib.nn.Upsample(size=4, scale_factor=2)(x),
    "Upsample neither": lambda lib, x: lib.nn.Upsample()(x),
    "Upsample nearest align_corners": lambda lib, x: lib.nn.Upsample(
        scale_factor=2, mode="nearest", align_corners=True)(x),
    "Upsample linear of 4-D": lambda lib, x: lib.nn.Upsample(scale_factor=2, mode="linear")(x),
    "Upsample size of 3 axes": lambda lib, x: lib.nn.Upsample(size=(2, 3, 4))(x),
    "Upsample size 0": lambda lib, x: lib.nn.Upsample(size=(0, 3))(x),
    "Upsample negative scale": lambda lib, x: lib.nn.Upsample(scale_factor=-2.0)(x),
    "Upsample recompute with size": lambda lib, x: lib.nn.Upsample(
        size=5, recompute_scale_factor=True)(x),
    "UpsamplingNearest2d of 3-D": lambda lib, x: lib.nn.UpsamplingNearest2d(scale_factor=2)(x[0]),
    "PixelShuffle 3 of 4 channels": lambda lib, x: lib.nn.PixelShuffle(3)(x),
    "PixelShuffle of 2-D": lambda lib, x: lib.nn.PixelShuffle(2)(x[0, 0]),
    "PixelUnshuffle of odd sides": lambda lib, x: lib.nn.PixelUnshuffle(2)(x),
    "ChannelShuffle 3 of 4": lambda lib, x: lib.nn.ChannelShuffle(3)(x),
    "ChannelShuffle of 2-D": lambda lib, x: lib.nn.ChannelShuffle(2)(x[0, :, :, 0]),
    "ChannelShuffle 0": lambda lib, x: lib.nn.ChannelShuffle(0)(x),
    "GLU of an odd axis": lambda lib, x: lib.nn.GLU(2)(x),
    "Softmax2d of 2-D": lambda lib, x: lib.nn.Softmax2d()(x[0, 0]),
    "Softmax2d of 5-D": lambda lib, x: lib.nn.Softmax2d()(x[None]),
    "RReLU lower above upper": lambda lib, x: lib.nn.RReLU(0.5, 0.3).eval()(x),
    "LocalResponseNorm of 2-D": lambda lib, x: lib.nn.LocalResponseNorm(2)(x[0, 0]),
    "CrossMapLRN2d of 3-D": lambda lib, x: lib.nn.CrossMapLRN2d(3)(x[0]),
    "Fold of 4-D": lambda lib, x: lib.nn.Fold((3, 3), 2)(x),
    "Fold of too few blocks": lambda lib, x: lib.nn.Fold((3, 3), 2)(x.reshape(2, 4, 9)),
    "Unfold of 3-D": lambda lib, x: lib.nn.Unfold(2)(x[0]),
    "Unfold of a kernel above the input": lambda lib, x: lib.nn.Unfold(4)(x),
    "Unfold stride 0": lambda lib, x: lib.nn.Unfold(2, stride=0)(x),
    "Flatten start after end": lambda lib, x: lib.nn.Flatten(3, 1)(x),
    "Flatten of 0-D": lambda lib, x: lib.nn.Flatten()(x[0, 0, 0, 0]),
    "Unflatten of a size that does not split": lambda lib, x: lib.nn.Unflatten(1, (3, -1))(x),
    "Identity of any arguments": lambda lib, x: lib.nn.Identity(54, unused="x")(x),
    "CosineSimilarity axis out of range": lambda lib, x: lib.nn.CosineSimilarity(4)(x, x),
    "CosineSimilarity unbroadcastable": lambda lib, x: lib.nn.CosineSimilarity(1)(x, x[:, :2]),
    "PairwiseDistance of 0-D": lambda lib, x: lib.nn.PairwiseDistance()(x[0, 0, 0, 0],
                                                                        x[1, 0, 0, 0]),
    "Bilinear wrong features": lambda lib, x: lib.nn.Bilinear(3, 3, 2).double()(
        x[0, 0], x[0, 1, :2]),
    "Bilinear wrong batch": lambda lib, x: lib.nn.Bilinear(3, 3, 2).double()(
        x[0, 0], x[0, 1:3, 0]),
    "ReflectionPad3d wider than the input": lambda lib, x: lib.nn.ReflectionPad3d(3)(x[None]),
    "ReplicationPad1d of 4-D": lambda lib, x: lib.nn.ReplicationPad1d(1)(x),
    "CircularPad3d of 3-D": lambda lib, x: lib.nn.CircularPad3d(1)(x[0]),
    "ZeroPad2d of 1-D": lambda lib, x: lib.nn.ZeroPad2d(1)(x[0, 0, 0]),
}


def _odd_arguments_raise_where_pytorch_raises_case(label):
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_outcome(torch, _BAD[label], [x], label=label, rtol=1e-12,
                     errors=(Exception,))  # PyTorch's asserts (AssertionError) count too


def test_odd_arguments_raise_where_pytorch_raises():
    each_case(_odd_arguments_raise_where_pytorch_raises_case, grid(("label", list(_BAD))))


@pytest.mark.parametrize("norm_type", [0.0, -np.inf, -1.0, -2.0, 0.5, np.inf])
def test_max_norm_of_pytorchs_other_norm_orders(norm_type):
    # norm_type=0 (PyTorch's count of nonzeros) raised ZeroDivisionError, and -inf (the
    # smallest magnitude) renormed rows by a norm of 1
    w = np.array([[3.0, 4.0, 0.0], [0.5, 0.2, 0.1], [-2.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    for max_norm in (0.5, 1.0, 2.5):
        t, c = torch.tensor(w), cr.tensor(w)
        want = torch.nn.functional.embedding(torch.tensor([0, 1, 2, 3]), t, max_norm=max_norm,
                                             norm_type=norm_type)
        got = cr.nn.functional.embedding(cr.tensor([0, 1, 2, 3]), c, max_norm=max_norm,
                                         norm_type=norm_type)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-15)
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-15)


def test_functional_embedding_bag_takes_pytorchs_positional_order_and_max_norm():
    # F.embedding_bag had mode and the rest keyword-only and no max_norm/norm_type/
    # scale_grad_by_freq: PyTorch's positional calls and max_norm= raised TypeError
    from ._fuzz12_check import check as both

    rng = np.random.default_rng(1340)
    for _ in range(40):
        n = int(rng.integers(2, 6))
        w = rng.standard_normal((n, 3)) * 2
        ids = rng.integers(0, n, int(rng.integers(1, 7)))
        offsets = np.array([0] + sorted(int(v) for v in rng.integers(0, len(ids) + 1, 2)))
        mode = str(rng.choice(["sum", "mean", "max"]))
        max_norm = float(rng.choice([0.5, 1.5])) if rng.random() < 0.6 else None
        norm_type = float(rng.choice([1.0, 2.0, np.inf]))
        pi = int(rng.integers(-n, n)) if rng.random() < 0.4 else None
        psw = rng.standard_normal(ids.shape) if mode == "sum" and rng.random() < 0.5 else None

        def fn(lib, w, ids, offsets, *p, mode=mode, max_norm=max_norm, norm_type=norm_type,
               pi=pi):
            # max_norm renorms the leaf w in place (under no_grad), returned to compare
            out = lib.nn.functional.embedding_bag(ids, w, offsets, max_norm, norm_type, False,
                                                  mode, False, p[0] if p else None, False, pi)
            return out, w
        both(torch, fn, w, ids, offsets, *([] if psw is None else [psw]),
             grad=(0, 3) if psw is not None else (0,),
             label=f"{mode} max_norm={max_norm} {norm_type} pi={pi} psw={psw is not None}")
    w, ids = cr.tensor(np.ones((3, 2))), cr.tensor([0, 1])
    with pytest.raises(NotImplementedError, match="scale_grad_by_freq"):
        cr.nn.functional.embedding_bag(ids, w, cr.tensor([0]), scale_grad_by_freq=True)
    with pytest.raises(ValueError, match="max_norm"):
        cr.nn.functional.embedding_bag(ids, w, cr.tensor([0]), max_norm=-1.0)


@pytest.mark.parametrize("freeze", [False, True])
def test_embeddings_take_pytorchs_weight_argument(freeze):
    # Embedding(_weight=, _freeze=) and EmbeddingBag(_weight=) were TypeErrors
    w = np.random.default_rng(0).standard_normal((4, 3))
    for lib in (torch, cr):
        table = lib.tensor(w)
        e = lib.nn.Embedding(4, 3, 1, None, 2.0, False, False, table, freeze)
        bag = lib.nn.EmbeddingBag(4, 3, mode="sum", padding_idx=1, _weight=table * 2)
        assert e.weight.requires_grad is not freeze and bag.weight.requires_grad
        np.testing.assert_array_equal(e(lib.tensor([1, 3])).detach().numpy(), w[[1, 3]])
        np.testing.assert_array_equal(bag(lib.tensor([[1, 3]])).detach().numpy(), 2 * w[[3]])
        with lib.no_grad():
            table[0] = 7.0  # the table is shared, as PyTorch's
        assert e.weight[0, 0].item() == 7.0
        assert repr(e) == "Embedding(4, 3, padding_idx=1)"
        assert tuple(e.weight.shape) == (4, 3) and e.weight.dtype == table.dtype
    with pytest.raises(ValueError, match=r"_weight must have shape .*\(4, 2\).*\(4, 3\)"):
        cr.nn.Embedding(4, 2, _weight=cr.tensor(w))
    with pytest.raises(TypeError, match="_weight must be a floating-point Tensor"):
        cr.nn.EmbeddingBag(4, 3, _weight=w)


@pytest.mark.parametrize("name", ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyInstanceNorm2d"])
def test_lazy_norm_without_state_runs_on_any_channel_count(name):
    # affine=False, track_running_stats=False: nothing to size, so the first call left
    # num_features 0 and the layer then refused every input ("expected 0 channels")
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (4, 5)] if name.endswith("1d") else [(2, 3, 2, 2), (2, 5, 3, 2)]
    ms = [getattr(lib.nn, name)(affine=False, track_running_stats=False) for lib in (torch, cr)]
    for shape in shapes:
        x = rng.standard_normal(shape)
        t, c = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
        with warnings.catch_warnings():  # the instance norms warn of the count (PyTorch's)
            warnings.simplefilter("ignore")
            want = ms[0](t)
            got = ms[1](c)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
        w = rng.standard_normal(shape)
        (want * torch.tensor(w)).sum().backward()
        (got * cr.tensor(w)).sum().backward()
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert repr(ms[1]) == repr(ms[0]) and ms[1].state_dict() == {}


def test_attributes_of_the_layers_are_pytorchs():
    # ReLU6 had no min_val/max_val and EmbeddingBag no scale_grad_by_freq
    for name, args, attrs in [
            ("ReLU6", (), ["min_val", "max_val", "inplace"]),
            ("EmbeddingBag", (5, 3), ["num_embeddings", "embedding_dim", "max_norm",
                                      "norm_type", "scale_grad_by_freq", "mode", "sparse",
                                      "include_last_offset", "padding_idx"]),
            ("Upsample", (None, 2.0, "bilinear", True), ["size", "scale_factor", "mode",
                                                         "align_corners",
                                                         "recompute_scale_factor"]),
            ("AdaptiveLogSoftmaxWithLoss", (16, 10, [3, 6]), ["cutoffs", "div_value",
                                                               "shortlist_size", "n_clusters",
                                                               "head_size", "head_bias"]),
            ("Fold", ((4, 5), 2), ["output_size", "kernel_size", "dilation", "padding",
                                   "stride"]),
            ("PairwiseDistance", (), ["norm", "eps", "keepdim"])]:
        t, c = getattr(torch.nn, name)(*args), getattr(cr.nn, name)(*args)
        for a in attrs:
            assert getattr(c, a) == getattr(t, a), (name, a)
            assert type(getattr(c, a)) is type(getattr(t, a)), (name, a)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_fixed_value_inits_fill_integer_and_bool_tensors(dtype):
    # constant_/zeros_/ones_/eye_/dirac_ refused integer and bool tensors, which PyTorch fills
    for name, args in [("constant_", (2.7,)), ("constant_", (-2.7,)), ("zeros_", ()),
                       ("ones_", ()), ("eye_", ()), ("dirac_", ()), ("dirac_", (2,))]:
        if dtype == "uint8" and args == (-2.7,):
            continue
        shape = (4, 2, 3, 3) if name == "dirac_" else (3, 4)
        want = getattr(torch.nn.init, name)(torch.full(shape, 5, dtype=getattr(torch, dtype)),
                                            *args)
        got = getattr(cr.nn.init, name)(cr.full(shape, 5, dtype=getattr(cr, dtype)), *args)
        assert str(got.dtype) == dtype
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=f"{name}{args}")
    if dtype == "uint8":  # -2.7 does not fit: PyTorch refuses it
        with pytest.raises((RuntimeError, ValueError, OverflowError)):
            cr.nn.init.constant_(cr.zeros(3, dtype=cr.uint8), -2.7)
    with pytest.raises(TypeError, match="normal_: tensor must be floating-point"):
        cr.nn.init.normal_(cr.zeros(3, dtype=getattr(cr, dtype)))


@pytest.mark.parametrize(("name", "args", "shape"), [
    ("LazyLinear", (3,), (2, 5)), ("LazyConv2d", (3, 2), (1, 2, 4, 4)),
    ("LazyConvTranspose1d", (3, 2), (1, 2, 4)), ("LazyBatchNorm1d", (), (4, 3)),
    ("LazyInstanceNorm2d", (), (2, 3, 4, 4)),
    ("LazyBatchNorm2d", (1e-5, 0.1, False, False), (2, 3, 2, 2))])
def test_lazy_modules_answer_has_uninitialized_params(name, args, shape):
    # PyTorch's LazyModuleMixin method was missing (AttributeError)
    seen = []
    for lib in (torch, cr):
        m = getattr(lib.nn, name)(*args)
        before = m.has_uninitialized_params()
        m(lib.ones(shape))
        loaded = getattr(lib.nn, name)(*args)
        loaded.load_state_dict(m.state_dict())
        seen.append((before, hasattr(m, "has_uninitialized_params"), type(m).__name__,
                     getattr(loaded, "has_uninitialized_params", lambda: None)()))
    assert seen[1] == seen[0]


def test_embedding_reprs_are_pytorchs():
    # Embedding left out sparse=True; EmbeddingBag showed include_last_offset=True, which
    # PyTorch's repr leaves out
    for kw in [{}, {"padding_idx": -1}, {"max_norm": 1.0}, {"norm_type": 3.0},
               {"scale_grad_by_freq": True}, {"sparse": True},
               {"max_norm": 2, "norm_type": 1.0, "sparse": True, "padding_idx": 0}]:
        assert repr(cr.nn.Embedding(5, 3, **kw)) == repr(torch.nn.Embedding(5, 3, **kw))
    for kw in [{}, {"mode": "sum"}, {"padding_idx": -1}, {"max_norm": 1.0}, {"sparse": True},
               {"include_last_offset": True},
               {"mode": "max", "padding_idx": 2, "max_norm": 1.0, "norm_type": 1.0}]:
        assert repr(cr.nn.EmbeddingBag(5, 3, **kw)) == repr(torch.nn.EmbeddingBag(5, 3, **kw))
