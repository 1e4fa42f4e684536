"""Fifteenth fuzz wave: normalization layers and weight reparametrizations against PyTorch 2.13
(class hierarchy and the helpers that find BatchNorm layers by it, fusion, mixed dtypes of the
functional normalizations)."""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import check

torch = pytest.importorskip("torch")
# PyTorch's rms_norm warns that mixed dtypes take its unfused path, and a lazy instance norm
# with no state to size that its (unused) num_features, 0, is not the input's channel count
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:Mismatch dtype:UserWarning"),
              pytest.mark.filterwarnings("ignore:input's size at dim:UserWarning")]


def _with_instance_norm(lib):
    """A net with BatchNorm and InstanceNorm layers (running statistics on both), float64."""
    nn = lib.nn
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3, momentum=0.3),
                        nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
                        nn.Sequential(nn.InstanceNorm1d(3), nn.BatchNorm1d(3))).double()
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape))))
    return net


def test_instance_norms_are_not_batch_norms():
    # chainrule's InstanceNorm subclassed _BatchNorm: isinstance(m, _BatchNorm) (how programs
    # and PyTorch's helpers find BatchNorm layers) caught instance norms too
    for lib in (torch, cr):
        base = lib.nn.modules.batchnorm
        norms = [lib.nn.InstanceNorm1d(3), lib.nn.InstanceNorm2d(3, affine=True),
                 lib.nn.InstanceNorm3d(3, track_running_stats=True), lib.nn.LazyInstanceNorm2d()]
        assert not any(isinstance(m, base._BatchNorm) for m in norms), lib.__name__
        assert all(isinstance(m, base._NormBase) for m in norms), lib.__name__
        assert all(isinstance(m, lib.nn.modules.instancenorm._InstanceNorm) for m in norms)
        for m in (lib.nn.BatchNorm2d(3), lib.nn.SyncBatchNorm(3), lib.nn.LazyBatchNorm1d()):
            assert isinstance(m, base._BatchNorm) and isinstance(m, base._NormBase)


def test_convert_sync_batchnorm_leaves_instance_norms_alone():
    # it turned every InstanceNorm into a SyncBatchNorm: batch statistics instead of each
    # sample's own, silently
    x = np.random.default_rng(1).standard_normal((4, 2, 3, 3))
    outs = {}
    for lib in (torch, cr):
        net = lib.nn.SyncBatchNorm.convert_sync_batchnorm(_with_instance_norm(lib))
        kinds = [type(m).__name__ for m in net.modules()]
        y = net[:3](lib.tensor(x))
        outs[lib.__name__] = kinds, y.detach().numpy(), net[2].running_mean.numpy()
    assert outs["chainrule"][0] == outs["torch"][0]
    np.testing.assert_allclose(outs["chainrule"][1], outs["torch"][1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs["chainrule"][2], outs["torch"][2], rtol=1e-12, atol=1e-12)


def test_update_bn_and_replace_batch_norms_leave_instance_norms_alone():
    # swa_utils.update_bn reset an InstanceNorm's running statistics and averaged them anew;
    # torch.func.replace_all_batch_norm_modules_ dropped them
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((4, 2, 3, 3)) for _ in range(3)]
    got = {}
    for lib in (torch, cr):
        net = _with_instance_norm(lib)[:3]
        net.train()
        for b in batches:
            net(lib.tensor(b))
        lib.optim.swa_utils.update_bn([lib.tensor(b) for b in batches[:2]], net)
        stats = [net[k].running_mean.numpy().copy() for k in (1, 2)]
        lib.func.replace_all_batch_norm_modules_(net)
        got[lib.__name__] = stats, [net[k].running_mean is None for k in (1, 2)]
    for c, t in zip(got["chainrule"][0], got["torch"][0]):
        np.testing.assert_allclose(c, t, rtol=1e-12, atol=1e-12)
    assert got["chainrule"][1] == got["torch"][1] == [True, False]


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("kind", ["conv", "convT", "linear"])
def test_fused_parameters_require_grad_as_the_layers_did(kind, bias, frozen):
    # the fused weight and bias always required grad: a frozen layer's fused copy trained, and
    # a bias-less layer's made-up bias (PyTorch's: requires none) too
    got = {}
    for lib in (torch, cr):
        nn = lib.nn
        layer = {"conv": lambda: nn.Conv2d(2, 3, 2, bias=bias),
                 "convT": lambda: nn.ConvTranspose2d(2, 3, 2, bias=bias),
                 "linear": lambda: nn.Linear(2, 3, bias=bias)}[kind]().double().eval()
        bn = (nn.BatchNorm1d(3) if kind == "linear" else nn.BatchNorm2d(3)).double().eval()
        layer.requires_grad_(not frozen)
        if kind == "linear":
            fused = nn.utils.fuse_linear_bn_eval(layer, bn)
        else:
            fused = nn.utils.fuse_conv_bn_eval(layer, bn, transpose=kind == "convT")
        got[lib.__name__] = [(n, p.requires_grad) for n, p in fused.named_parameters()]
    assert got["chainrule"] == got["torch"]


def _mixed_norm_calls():
    """(label, fn(lib, x, w, b, rm, rv)) of every normalization that takes per-channel or
    elementwise parameters, with x (4, 3, 5)."""
    def stats(lib, rm, rv):
        return rm.detach().clone(), rv.detach().clone()

    def bn_train(lib, x, w, b, rm, rv):
        m, v = stats(lib, rm, rv)
        return lib.nn.functional.batch_norm(x, m, v, w, b, True, 0.3), m, v

    def in_train(lib, x, w, b, rm, rv):
        m, v = stats(lib, rm, rv)
        return lib.nn.functional.instance_norm(x, m, v, w, b, True, 0.3), m, v

    return {
        "batch_norm training": bn_train,
        "batch_norm eval": lambda lib, x, w, b, rm, rv: lib.nn.functional.batch_norm(
            x, rm, rv, w, b, False),
        "batch_norm without statistics": lambda lib, x, w, b, rm, rv:
            lib.nn.functional.batch_norm(x, None, None, w, b, True),
        "instance_norm": in_train,
        "instance_norm eval": lambda lib, x, w, b, rm, rv: lib.nn.functional.instance_norm(
            x, rm, rv, w, b, False),
        "group_norm": lambda lib, x, w, b, rm, rv: lib.nn.functional.group_norm(x, 3, w, b),
        "layer_norm": lambda lib, x, w, b, rm, rv: lib.nn.functional.layer_norm(
            x.transpose(1, 2), (3,), w, b),
        "layer_norm weight only": lambda lib, x, w, b, rm, rv: lib.nn.functional.layer_norm(
            x.transpose(1, 2), [3], w),
        "rms_norm": lambda lib, x, w, b, rm, rv: lib.nn.functional.rms_norm(
            x.transpose(1, 2), (3,), w),
        "rms_norm eps": lambda lib, x, w, b, rm, rv: lib.nn.functional.rms_norm(
            x.transpose(1, 2), [3], w, 0.1),
    }


@pytest.mark.parametrize("label", list(_mixed_norm_calls()))
def test_float16_input_with_float32_parameters(label):
    # PyTorch normalizes a float16 input with float32 weights, biases and running statistics
    # (a half input to a layer whose parameters stayed float32) and returns float16, computing
    # in float32; batch_norm and layer_norm refused (weight dtype is not the input's), and
    # group_norm, instance_norm and rms_norm returned float32
    fn = _mixed_norm_calls()[label]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 5)).astype(np.float16) * 2 + 1
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    rm, rv = rng.standard_normal(3).astype(np.float32), (rng.random(3) + 0.5).astype(np.float32)
    check(torch, fn, x, w, b, rm, rv, grad=(0, 1, 2), label=label)


@pytest.mark.parametrize("x_dtype,w_dtype", [("float32", "float64"), ("float64", "float32"),
                                             ("float16", "float64"), ("float16", "float32")])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_keeps_the_input_dtype(x_dtype, w_dtype, eps):
    # rms_norm of a float32 input by a float64 weight was float64 (PyTorch's: float32)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 4)).astype(x_dtype)
    w = (rng.random(4) + 0.5).astype(w_dtype)
    check(torch, lambda lib, x, w: lib.nn.functional.rms_norm(x, [4], w, eps), x, w,
          grad=(0, 1), label=f"rms_norm {x_dtype} {w_dtype}")


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (2, 5), (2, 3, 3)])
@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", None])
@pytest.mark.parametrize("trivialize", [True, False])
def test_orthogonal_keeps_a_complex_weight_unitary(shape, orthogonal_map, trivialize):
    # the maps took X - X^T where PyTorch takes X - X^H: for a complex weight that matrix is not
    # skew-Hermitian, so the "orthogonal" weight was not unitary (and its gradients differed)
    rng = np.random.default_rng(5)
    a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    c = np.cos(np.arange(a.size)).reshape(shape)
    random_base = trivialize and shape[-2] != shape[-1]  # completed by random columns

    def fn(lib, a):
        m = lib.nn.Module()
        m.weight = lib.nn.Parameter(a.detach().clone())
        lib.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map,
                                                 use_trivialization=trivialize)
        w = m.weight
        (w * lib.tensor(c)).abs().sum().backward()
        orig = m.parametrizations.weight.original
        return (w, orig) if random_base else (w, orig, orig.grad)

    w = check(torch, fn, a, label=f"orthogonal {shape} {orthogonal_map}")[0].detach().numpy()
    wh = np.swapaxes(w, -1, -2).conj()
    gram = wh @ w if shape[-2] >= shape[-1] else w @ wh
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(gram.shape[-1]), gram.shape),
                               atol=1e-12)


def test_householder_orthogonal_refuses_a_complex_weight():
    a = np.ones((3, 3)) + 1j
    for lib in (torch, cr):
        m = lib.nn.Module()
        m.weight = lib.nn.Parameter(lib.tensor(a))
        with pytest.raises(ValueError, match="householder"):
            lib.nn.utils.parametrizations.orthogonal(m, orthogonal_map="householder")


@pytest.mark.parametrize("which", ["mean", "var"])
@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_refuses_one_running_statistic_without_the_other(which, use_input_stats):
    # F.instance_norm with only running_mean updated it and normalized on (PyTorch: ValueError)
    x = np.random.default_rng(6).standard_normal((2, 3, 4))
    stat = np.ones(3)

    def fn(lib, x, stat):
        stats = (stat, None) if which == "mean" else (None, stat)
        return lib.nn.functional.instance_norm(x, *stats, use_input_stats=use_input_stats)

    with pytest.raises((ValueError, RuntimeError)):  # RuntimeError without use_input_stats
        fn(torch, torch.tensor(x), torch.tensor(stat))
    with pytest.raises(ValueError, match="running_mean and running_var"):
        fn(cr, cr.tensor(x), cr.tensor(stat))


def _draw_norm_call(rng):
    """A random functional normalization in float64: (label, fn, arrays, grad positions).
    Weights and biases require grad; the input is sometimes a transposed (non-contiguous) view;
    the running statistics are updated copies, returned. (float32 and float16 are left to the
    tests above: there both libraries round once, but their statistics differ in the last
    float32 bits, which a near-constant group amplifies past any fixed tolerance.)"""
    kind = str(rng.choice(["batch", "instance", "group", "layer", "rms", "normalize"]))
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    spatial = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(0, 3))))
    shape = (n, c) + spatial
    x = rng.standard_normal(shape) * 2 + 0.3
    transposed = x.ndim >= 3 and rng.random() < 0.3

    def view(x):  # the same values as the drawn x, through a transposed view
        return x.transpose(-1, -2).contiguous().transpose(-1, -2) if transposed else x

    def arr(shp, p=0.6):
        return rng.standard_normal(shp) if rng.random() < p else None
    eps = float(rng.choice([1e-5, 0.1]))
    if kind in ("batch", "instance"):
        w, b = arr(c), arr(c)
        rm = arr(c)
        rv = None if rm is None else rng.random(c) + 0.5
        training = bool(rng.random() < 0.6) or rm is None
        momentum = float(rng.choice([0.1, 0.5, 1.0]))

        def fn(lib, x, *t):
            stats = [s.detach().clone() if s is not None else None for s in t[:2]]
            f = getattr(lib.nn.functional, f"{kind}_norm")
            y = f(view(x), *stats, t[2], t[3], training, momentum, eps)
            return (y,) + tuple(s for s in stats if s is not None)
        arrays = [x, rm, rv, w, b]
        label = f"{kind}_norm training={training} m={momentum}"
    elif kind == "group":
        g = int(rng.choice([d for d in range(1, c + 1) if c % d == 0]))
        w, b = arr(c), arr(c)

        def fn(lib, x, w, b):
            return lib.nn.functional.group_norm(view(x), g, w, b, eps)
        arrays = [x, w, b]
        label = f"group_norm G={g}"
    elif kind in ("layer", "rms"):
        ns = shape[-int(rng.integers(1, len(shape) + 1)):]
        w, b = arr(ns), arr(ns)
        e = None if kind == "rms" and rng.random() < 0.4 else eps

        def fn(lib, x, w, b):
            if kind == "layer":
                return lib.nn.functional.layer_norm(view(x), list(ns), w, b, e)
            return lib.nn.functional.rms_norm(view(x), list(ns), w, e)
        arrays = [x, w, b]
        label = f"{kind}_norm {ns} eps={e}"
    else:
        p = float(rng.choice([1.0, 2.0, 3.0, np.inf, 0.5]))
        dim = int(rng.integers(-x.ndim, x.ndim))

        def fn(lib, x):
            return lib.nn.functional.normalize(view(x), p, dim, eps)
        arrays = [x]
        label = f"normalize p={p} dim={dim}"
    stats = (1, 2) if kind in ("batch", "instance") else ()
    grad = tuple(i for i, a in enumerate(arrays) if a is not None and i not in stats)
    return f"{label} x{shape} transposed={transposed}", fn, arrays, grad


@pytest.mark.parametrize("seed", range(3))
def test_functional_normalizations_with_gradients_of_their_parameters(seed):
    rng = np.random.default_rng(1500 + seed)
    for _ in range(60):
        label, fn, arrays, grad = _draw_norm_call(rng)
        check(torch, fn, *arrays, grad=grad, label=label)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_of_a_batch_of_vectors(use_input_stats):
    # (N, C) input was refused (rank below 3); PyTorch normalizes it by the running statistics
    # and refuses it only with use_input_stats (one position per channel)
    rng = np.random.default_rng(8)
    x, rm, rv, w = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.random(3) + .5, \
        rng.standard_normal(3)
    check(torch, lambda lib, x, rm, rv, w: lib.nn.functional.instance_norm(
        x, rm, rv, w, use_input_stats=use_input_stats), x, rm, rv, w, grad=(0, 3),
        label=f"instance_norm (N, C) use_input_stats={use_input_stats}")


@pytest.mark.parametrize("momentum", [0.3, None])
def test_batch_norm_without_a_batch_counter(momentum):
    # num_batches_tracked set to None (PyTorch skips the count; with momentum=None the running
    # statistics then stay) raised AttributeError
    x = np.random.default_rng(9).standard_normal((4, 3, 5))

    def fn(lib, x):
        bn = lib.nn.BatchNorm1d(3, momentum=momentum).double()
        bn.num_batches_tracked = None
        ys = [bn(x), bn(x * 2)]
        return ys + [bn.running_mean, bn.running_var]
    check(torch, fn, x, grad=(0,), label=f"momentum={momentum}")


@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrized_weight_norm_loads_a_hook_based_weight_norm_checkpoint(dim):
    # PyTorch's parametrizations.weight_norm renames <name>_g/<name>_v of an old checkpoint
    # (nn.utils.weight_norm's, as HiFi-GAN-style vocoders saved them) to original0/original1;
    # chainrule's reported them unexpected and left the weights as they were
    rng = np.random.default_rng(10)
    old = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.ReLU(),
                              torch.nn.Conv1d(3, 2, 1)).double()
    with pytest.warns(FutureWarning):  # PyTorch's deprecation of the hook-based form
        torch.nn.utils.weight_norm(old[0], dim=dim)
    with torch.no_grad():
        old[0].weight_g.mul_(torch.tensor(rng.random(old[0].weight_g.shape) + 0.5))
    state = {k: v.numpy() for k, v in old.state_dict().items()}
    x = rng.standard_normal((2, 2, 7))
    outs = {}
    for lib in (torch, cr):
        new = lib.nn.Sequential(lib.nn.Conv1d(2, 3, 3), lib.nn.ReLU(),
                                lib.nn.Conv1d(3, 2, 1)).double()
        lib.nn.utils.parametrizations.weight_norm(new[0], dim=dim)
        new.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        outs[lib.__name__] = new(lib.tensor(x)).detach().numpy(), sorted(new.state_dict())
    np.testing.assert_allclose(outs["chainrule"][0], outs["torch"][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs["chainrule"][0], old(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    assert outs["chainrule"][1] == outs["torch"][1]


def test_normalization_files_of_nn_modules_hold_pytorchs_classes():
    # nn.modules.normalization lacked CrossMapLRN2d, nn.modules.instancenorm the lazy instance
    # norms (and _NormBase, which PyTorch's file imports)
    import torch.nn.modules.batchnorm as tb
    import torch.nn.modules.instancenorm as ti
    import torch.nn.modules.normalization as tn
    for theirs, ours in ((tn, cr.nn.modules.normalization), (tb, cr.nn.modules.batchnorm),
                         (ti, cr.nn.modules.instancenorm)):
        names = list(theirs.__all__) + [n for n in ("_NormBase", "_BatchNorm", "_InstanceNorm")
                                        if hasattr(theirs, n)]
        assert [n for n in names if not hasattr(ours, n)] == [], theirs.__name__
    from chainrule.nn.modules.instancenorm import LazyInstanceNorm2d, _NormBase
    assert isinstance(LazyInstanceNorm2d(), _NormBase)


def _draw_norm_module(rng):
    """A random normalization layer (lazy and sync forms included) run for a few steps in
    training and evaluation modes: (label, fn, x). The weights are drawn, the same for both
    libraries; fn returns the outputs, the buffers and the parameters' gradients."""
    name = str(rng.choice(["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm",
                           "LazyBatchNorm2d", "InstanceNorm1d", "InstanceNorm2d",
                           "LazyInstanceNorm1d", "GroupNorm", "LayerNorm", "RMSNorm"]))
    c = int(rng.integers(1, 4))
    rank = {"1d": 3, "2d": 4, "3d": 5}.get(name[-2:], int(rng.integers(2, 5)))
    if name == "BatchNorm1d":
        rank = int(rng.choice([2, 3]))
    shape = (int(rng.integers(2, 4)), c) + tuple(int(v) for v in rng.integers(2, 4, rank - 2))
    if name.startswith("InstanceNorm") and rng.random() < 0.3:
        shape = shape[1:]  # unbatched (C, *)
    kw, args = {}, ()
    if "BatchNorm" in name or "InstanceNorm" in name:
        kw = dict(eps=float(rng.choice([1e-5, 0.1])),
                  momentum=None if rng.random() < 0.3 else float(rng.choice([0.1, 0.7])),
                  affine=bool(rng.random() < 0.7), track_running_stats=bool(rng.random() < 0.7))
        args = () if name.startswith("Lazy") else (c,)
    elif name == "GroupNorm":
        args, kw = (int(rng.choice([d for d in range(1, c + 1) if c % d == 0])), c), dict(
            affine=bool(rng.random() < 0.7))
    else:
        ns = shape[-int(rng.integers(1, min(3, len(shape)) + 1)):]
        args = (ns,)
        kw = dict(elementwise_affine=bool(rng.random() < 0.7))
        if name == "RMSNorm":
            kw["eps"] = None if rng.random() < 0.5 else 0.1
    modes = [bool(rng.random() < 0.7) for _ in range(int(rng.integers(1, 4)))]
    x = rng.standard_normal(shape) * 2 + 0.5

    def fn(lib, x):
        m = getattr(lib.nn, name)(*args, **kw).double()
        outs = []
        for k, train in enumerate(modes):
            m.train(train)
            y = m(x * (k + 1))
            if k == 0:  # the lazy ones have their parameters now: draw them
                r = np.random.default_rng(0)
                with lib.no_grad():
                    for p in m.parameters():
                        p.copy_(lib.tensor(r.standard_normal(tuple(p.shape))))
                y = m(x * (k + 1))
            outs.append(y)
        (outs[-1] * outs[-1]).sum().backward()
        state = [v for k, v in sorted(m.state_dict().items())]
        return outs + state + [p.grad for p in m.parameters()]
    return f"{name}{args}{kw} x{shape} modes={modes}", fn, x


@pytest.mark.parametrize("seed", range(3))
def test_normalization_layers_over_training_and_evaluation_steps(seed):
    rng = np.random.default_rng(1510 + seed)
    for _ in range(25):
        label, fn, x = _draw_norm_module(rng)
        check(torch, fn, x, grad=(0,), label=label)


@pytest.mark.parametrize("layer", ["linear", "conv", "conv_transpose"])
@pytest.mark.parametrize("with_v", [False, True])
def test_spectral_norm_loads_a_checkpoint_from_before_pytorch_1_0(layer, with_v):
    # such a state dict has weight (saved as a buffer), weight_orig and weight_u, and no
    # weight_v: PyTorch's load hook drops weight and solves weight_v; chainrule's load failed
    rng = np.random.default_rng(11)
    make = {"linear": lambda nn: nn.Linear(4, 3), "conv": lambda nn: nn.Conv2d(2, 3, 2),
            "conv_transpose": lambda nn: nn.ConvTranspose2d(3, 2, 2)}[layer]
    x = rng.standard_normal((2, 4) if layer == "linear" else (2, 2 + (layer != "conv"), 4, 4))
    src = torch.nn.utils.spectral_norm(make(torch.nn).double())
    for _ in range(3):
        src(torch.tensor(x))
    old = {k: v.numpy() for k, v in src.state_dict().items()}
    old["weight"] = src.weight.detach().numpy()
    if not with_v:
        del old["weight_v"]
    outs = {}
    for lib in (torch, cr):
        m = lib.nn.utils.spectral_norm(make(lib.nn).double())
        m.load_state_dict({k: lib.tensor(v) for k, v in old.items()})
        m.eval()
        outs[lib.__name__] = m(lib.tensor(x)).detach().numpy(), m.weight_v.numpy()
    for c, t in zip(outs["chainrule"], outs["torch"]):
        np.testing.assert_allclose(c, t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(outs["chainrule"][0], src.eval()(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 4, 3), (3,), (), (2, 0)])
@pytest.mark.parametrize("p", [1.0, 2.0, np.inf, 0.5])
def test_normalize_over_the_whole_tensor(shape, p):
    # F.normalize(x, dim=None) (PyTorch: one norm of every entry) was a TypeError
    x = np.random.default_rng(12).standard_normal(shape)
    check(torch, lambda lib, x: lib.nn.functional.normalize(x, p, None), x, grad=(0,),
          label=f"normalize p={p} dim=None {shape}")


@pytest.mark.parametrize("out_shape", [(2, 3), (0,), (5,)])
def test_normalize_writes_into_out(out_shape):
    # F.normalize(x, out=o) was a TypeError ('out= is not supported'); PyTorch writes into o
    # (resizing it as its out= functions do) and returns it
    x = np.random.default_rng(13).standard_normal((2, 3))
    got = {}
    for lib in (torch, cr):
        out = lib.zeros(out_shape, dtype=lib.float64)
        with pytest.warns(UserWarning, match="resized") if out_shape == (5,) else \
                _no_warning():
            r = lib.nn.functional.normalize(lib.tensor(x), 2.0, 1, 1e-12, out=out)
        assert r is out
        got[lib.__name__] = out.numpy()
    np.testing.assert_allclose(got["chainrule"], got["torch"], rtol=1e-12, atol=0)
    for lib in (torch, cr):  # out= is not differentiable
        with pytest.raises(RuntimeError):
            lib.nn.functional.normalize(lib.tensor(x, requires_grad=True),
                                        out=lib.zeros((2, 3), dtype=lib.float64))


def _no_warning():
    import contextlib
    import warnings
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("error")
    return stack
