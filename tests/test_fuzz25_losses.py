"""Wave 25 audit of the losses against PyTorch 2.13: what its grids found.

``margin_ranking_loss`` dropped a float target's gradient silently (PyTorch's composition
``(-target * (input1 - input2) + margin).clamp_min(0)`` differentiates it), and computed in
``input1``'s dtype where PyTorch promotes the three (a float64 target: a float64 loss); an
``input2`` of another float dtype was refused with an error naming the target.
``cosine_embedding_loss`` refused inputs of two float dtypes, which PyTorch promotes.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck

F = cr.nn.functional


def _pair(lib, arrays, grads):
    return [lib.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]


@pytest.mark.parametrize("dtypes", [("float64", "float64", "float64"),
                                    ("float32", "float32", "float64"),
                                    ("float32", "float64", "float32"),
                                    ("float32", "float32", "int64")])
def test_margin_ranking_loss_differentiates_and_promotes_its_target(dtypes):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(5).astype(dtypes[0]), rng.standard_normal(5).astype(dtypes[1]),
              (rng.standard_normal(5) * 2).astype(dtypes[2])]
    grads = [True, True, dtypes[2] != "int64"]
    got = []
    for lib in (cr, torch):
        xs = _pair(lib, arrays, grads)
        out = lib.nn.functional.margin_ranking_loss(*xs, margin=0.3, reduction="none")
        (out * lib.tensor(np.arange(1.0, 6.0).astype(dtypes[0]))).sum().backward()
        got.append((str(out.dtype).replace("torch.", ""), out.detach().numpy(),
                    [x.grad.numpy() for x, g in zip(xs, grads) if g]))
    assert got[0][0] == got[1][0]
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-6)
    for g, h in zip(got[0][2], got[1][2]):
        assert g.dtype == h.dtype
        np.testing.assert_allclose(g, h, rtol=1e-6)


def test_margin_ranking_loss_target_gradcheck():
    rng = np.random.default_rng(1)
    a, b, t = (cr.tensor(rng.standard_normal(4), requires_grad=True) for _ in range(3))
    assert gradcheck(lambda a, b, t: F.margin_ranking_loss(a, b, t, margin=0.1), (a, b, t))


def test_cosine_embedding_loss_promotes_inputs_of_two_float_dtypes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4))]
    y = np.array([1, -1, 1])
    got = []
    for lib in (cr, torch):
        xs = _pair(lib, arrays, (True, True))
        out = lib.nn.functional.cosine_embedding_loss(*xs, lib.tensor(y), margin=-0.2)
        out.backward()
        got.append((str(out.dtype).replace("torch.", ""), out.item(),
                    [x.grad.numpy() for x in xs]))
    assert got[0][0] == got[1][0] == "float64"
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-6)
    for g, h in zip(got[0][2], got[1][2]):
        assert g.dtype == h.dtype
        np.testing.assert_allclose(g, h, rtol=1e-5)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 1), (3, 4)), ((2, 3, 2), (2, 1, 2), (2, 3)),
                                    ((3, 4), (4,), (3, 1))])
def test_gaussian_nll_loss_broadcasts_its_target_as_pytorch(shapes):
    # PyTorch documents a target of the input's shape with one axis of size 1; it was refused
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1]),
              rng.random(shapes[2]) + 0.1]
    got = []
    for lib in (cr, torch):
        xs = _pair(lib, arrays, (True, True, True))
        out = lib.nn.functional.gaussian_nll_loss(*xs, full=True, reduction="none")
        (out * lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)))).sum() \
            .backward()
        got.append((tuple(out.shape), out.detach().numpy(), [x.grad.numpy() for x in xs]))
    assert got[0][0] == got[1][0] == shapes[0]
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-12)
    for g, h in zip(got[0][2], got[1][2]):
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-12)
    xs = _pair(cr, arrays, (True, True, True))
    assert gradcheck(lambda x, t, v: F.gaussian_nll_loss(x, t, v), xs)


def test_gaussian_nll_loss_still_refuses_a_target_that_grows_the_loss():
    x, t = cr.tensor(np.zeros((3, 1))), cr.tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"input shape \(3, 1\) and target shape \(3, 4\)"):
        F.gaussian_nll_loss(x, t, cr.tensor(np.ones((3, 1))))


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")])
def test_cross_entropy_promotes_class_probabilities_of_another_dtype(dtypes):
    # PyTorch computes in the promoted dtype; they were refused with a TypeError
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((3, 4)).astype(dtypes[0]), rng.random((3, 4)).astype(dtypes[1])]
    got = []
    for lib in (cr, torch):
        xs = _pair(lib, arrays, (True, True))
        out = lib.nn.functional.cross_entropy(*xs, lib.tensor(np.array([0.5, 1.0, 2.0, 1.5],
                                                                        dtype=dtypes[0])),
                                              label_smoothing=0.1)
        out.backward()
        got.append((str(out.dtype).replace("torch.", ""), out.item(),
                    [x.grad.numpy() for x in xs]))
    assert got[0][0] == got[1][0] == "float64"
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-6)
    for g, h in zip(got[0][2], got[1][2]):
        assert g.dtype == h.dtype
        np.testing.assert_allclose(g, h, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name, kw, target_shape, target_grad", [
    ("kl_div", {"reduction": "batchmean"}, (4,), True),
    ("kl_div", {"reduction": "none", "log_target": True}, (3, 1), True),
    ("poisson_nll_loss", {"full": True}, (3, 1), True),
    ("soft_margin_loss", {"reduction": "sum"}, (4,), False),
    ("multilabel_soft_margin_loss", {"reduction": "none"}, (1, 4), True),
])
def test_losses_broadcast_a_target_to_the_input_as_pytorch(name, kw, target_shape, target_grad):
    # a target that broadcasts to the input's shape (a prior (C,) for (N, C) log-probabilities)
    # was refused; PyTorch's compositions broadcast it
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    target = rng.random(target_shape) * 2
    if name == "soft_margin_loss":
        target = np.sign(target - 1)
    elif name == "multilabel_soft_margin_loss":
        target = (target > 1) * 1.0
    arrays = [rng.standard_normal((3, 4)), target]
    got = []
    for lib in (cr, torch):
        xs = _pair(lib, arrays, (True, target_grad))
        out = getattr(lib.nn.functional, name)(*xs, **kw)
        (out * lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)))).sum() \
            .backward()
        got.append((tuple(out.shape), out.detach().numpy(),
                    [x.grad.numpy() for x in xs if x.requires_grad]))
    assert got[0][0] == got[1][0]
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-12)
    for g, h in zip(got[0][2], got[1][2]):
        assert g.shape == h.shape
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-12)


def test_kl_div_still_refuses_a_target_that_grows_the_loss():
    with pytest.raises(ValueError, match=r"input shape \(3, 1\) and target shape \(3, 4\)"):
        F.kl_div(cr.tensor(np.zeros((3, 1))), cr.tensor(np.ones((3, 4))), reduction="sum")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_of_a_small_probability_is_exact_as_pytorch(dtype):
    # log(1 - p) lost a small p (float32: 1 - 1e-8 == 1, a loss of 0; 1e-6 was 5% off);
    # PyTorch takes log1p(-p)
    torch = pytest.importorskip("torch")
    p = np.array([1e-8, 1e-6, 3e-5, 0.25, 1.0], dtype=dtype)
    t = np.array([0.0, 0.0, 0.1, 0.0, 0.5], dtype=dtype)
    got = F.binary_cross_entropy(cr.tensor(p), cr.tensor(t), reduction="none").numpy()
    want = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t),
                                                    reduction="none").numpy()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=2e-7 if dtype == "float32" else 1e-15)
    np.testing.assert_allclose(got[:2], p[:2].astype(np.float64), rtol=1e-6)


ZERO_D_OPTIONS = [
    ("huber_loss", "xy", {"delta": 0.5}), ("smooth_l1_loss", "xy", {"beta": 0.5}),
    ("cross_entropy", "xl", {"label_smoothing": 0.1, "ignore_index": 2}),
    ("nll_loss", "xl", {"ignore_index": 2}), ("multi_margin_loss", "xl", {"p": 2, "margin": 0.5}),
    ("triplet_margin_loss", "xyz", {"margin": 0.5, "p": 3.0, "eps": 1e-3}),
    ("margin_ranking_loss", "xys", {"margin": 0.2}), ("gaussian_nll_loss", "xyv", {"eps": 0.2}),
    ("pairwise_distance", "xy", {"p": 1.5}), ("poisson_nll_loss", "xv", {"eps": 1e-3}),
]


@pytest.mark.parametrize("name, args, options", ZERO_D_OPTIONS)
def test_loss_options_take_a_0d_tensor_as_pytorch(name, args, options):
    # PyTorch's argument parser takes a 0-d tensor (not requiring grad) for a float or int
    # option (margin=torch.tensor(0.2)); they were refused with "must be a real number"
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    arrays = {"x": rng.standard_normal((3, 4)), "y": rng.standard_normal((3, 4)),
              "z": rng.standard_normal((3, 4)), "v": rng.random((3, 4)) + 0.1,
              "l": np.array([0, 2, 3]), "s": np.sign(rng.standard_normal((3, 4)))}
    want = getattr(torch.nn.functional, name)(*[torch.tensor(arrays[k]) for k in args],
                                              **{k: torch.tensor(v) for k, v in options.items()})
    got = getattr(F, name)(*[cr.tensor(arrays[k]) for k in args],
                           **{k: cr.tensor(v) for k, v in options.items()})
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_float16_binary_cross_entropy_means_more_than_65504_losses(name):
    # the mean divided a float16 sum by the count in float16: past 65504 elements that count is
    # inf (a loss of 0 or NaN); PyTorch accumulates in float32
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = (rng.random((280, 250)) * 0.01).astype(np.float16)
    t = np.zeros((280, 250), dtype=np.float16)
    got = getattr(F, name)(cr.tensor(x), cr.tensor(t))
    want = getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(t))
    assert got.dtype == np.float16 and np.isfinite(got.item()) and got.item() > 0
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-3)


@pytest.mark.parametrize("pos_weight", [None, 2.0])
def test_binary_cross_entropy_with_logits_keeps_small_losses_in_float32(pos_weight):
    # z - z t lost a small 1 - t (a target of 0.999 at z = 10: 1e-4 off), and with pos_weight
    # (1 - t) z - z lost a small t (z = -40, t = 1e-8: a loss and a gradient of 0); the loss is
    # now (1 - t) softplus(z) + pos_weight t softplus(-z), two terms that do not cancel
    z = np.array([10.0, 20.0, -40.0, -25.0, 0.5])
    t = np.array([0.999, 0.9999, 1e-8, 1e-6, 0.3])
    pw = 1.0 if pos_weight is None else pos_weight
    sp = np.logaddexp(0, z)  # softplus(z), float64
    x = cr.tensor(z.astype(np.float32), requires_grad=True)
    pwt = None if pos_weight is None else cr.tensor(np.float32(pos_weight))
    loss = F.binary_cross_entropy_with_logits(x, cr.tensor(t.astype(np.float32)),
                                              pos_weight=pwt, reduction="none")
    loss.sum().backward()
    t32 = t.astype(np.float32).astype(np.float64)  # the targets as float32 holds them
    want = (1 - t32) * sp + pw * t32 * (sp - z)
    want_grad = (1 - t32) / (1 + np.exp(-z)) - pw * t32 / (1 + np.exp(z))
    np.testing.assert_allclose(loss.numpy(), want, rtol=2e-6)
    if pos_weight is not None:  # without it the gradient is PyTorch's sigmoid(z) - t
        np.testing.assert_allclose(x.grad.numpy(), want_grad, rtol=2e-6, atol=1e-30)


def test_binary_cross_entropy_with_logits_pos_weight_gradcheck():
    rng = np.random.default_rng(8)
    z = cr.tensor(rng.standard_normal((2, 3)) * 3, requires_grad=True)
    t = cr.tensor(rng.random((2, 3)), requires_grad=True)
    pw, w = cr.tensor(np.array([0.5, 2.0, 3.0])), cr.tensor(np.array([1.0, 0.2, 2.0]))
    assert gradcheck(lambda z, t: F.binary_cross_entropy_with_logits(z, t, w, pos_weight=pw),
                     (z, t))


@pytest.mark.parametrize("call, match", [
    (lambda: F.cross_entropy(cr.tensor(np.zeros((3, 0))), cr.tensor(np.zeros((3, 0)))),
     r"cross_entropy: input of shape \(3, 0\) has no classes"),
    (lambda: F.multilabel_margin_loss(cr.tensor(np.zeros((2, 0))),
                                      cr.tensor(np.zeros((2, 0), dtype=np.int64))),
     r"multilabel_margin_loss: input of shape \(2, 0\) has no classes"),
    (lambda: F.cosine_embedding_loss(cr.tensor(np.ones((1, 4))), cr.tensor(np.ones((3, 4))),
                                     cr.tensor(np.zeros(0, dtype=np.int64))),
     r"cosine_embedding_loss: target shape \(0,\), input shape \(3,\) do not broadcast"),
])
def test_degenerate_shapes_are_clear_errors(call, match):
    # NumPy's "zero-size array to reduction operation maximum", reshape's "cannot reshape" and
    # elementwise's "operands could not be broadcast" came from deep inside before
    with pytest.raises(ValueError, match=match):
        call()


def test_loss_base_class_keeps_a_subclass_reduction_as_pytorch():
    # _Loss refused any reduction but "mean", "sum" and "none" when made, so a custom loss naming
    # its own (a KL loss's "batchmean") could not be built; PyTorch's stores it as given, and its
    # KLDivLoss is a _Loss
    torch = pytest.importorskip("torch")
    from chainrule.nn.modules.loss import _Loss

    kinds = []
    for lib, base in ((torch, torch.nn.modules.loss._Loss), (cr, _Loss)):
        class BatchKL(base):
            def __init__(self):
                super().__init__(reduction="batchmean")

            def forward(self, log_p, q):
                return lib.nn.functional.kl_div(log_p, q, reduction=self.reduction)

        x = np.log(np.array([[0.2, 0.8], [0.5, 0.5]]))
        q = np.array([[0.4, 0.6], [0.9, 0.1]])
        kinds.append((BatchKL()(lib.tensor(x), lib.tensor(q)).item(),
                       isinstance(lib.nn.KLDivLoss(), base)))
    assert kinds[0][1] and kinds[1][1]
    np.testing.assert_allclose(kinds[1][0], kinds[0][0], rtol=1e-12)
    with pytest.raises(ValueError, match="mse_loss: reduction must be one of"):
        cr.nn.MSELoss(reduction="avg")(cr.tensor([1.0]), cr.tensor([2.0]))


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_differentiates_a_class_weight_with_probabilities(reduction):
    # a weight that requires grad was refused ("not differentiable with respect to weight");
    # with class probabilities PyTorch's composition differentiates it (labels: refused in both)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal((2, 4, 3)), rng.random((2, 4, 3)), rng.random(4) + 0.1]
    got = []
    for lib in (cr, torch):
        xs = _pair(lib, arrays, (True, True, True))
        out = lib.nn.functional.cross_entropy(xs[0], xs[1], xs[2], label_smoothing=0.2,
                                              reduction=reduction)
        (out * lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)))).sum() \
            .backward()
        got.append((out.detach().numpy(), [x.grad.numpy() for x in xs]))
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-12)
    for g, h in zip(got[0][1], got[1][1]):
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-14)
    xs = _pair(cr, arrays, (True, True, True))
    assert gradcheck(lambda z, q, w: F.cross_entropy(z, q, w, label_smoothing=0.2), xs)
    with pytest.raises(RuntimeError, match="not differentiable with respect to weight"):
        F.cross_entropy(xs[0], cr.tensor(np.zeros((2, 3), dtype=np.int64)), xs[2])


def test_ranking_losses_refuse_a_complex_operand():
    # the promotion of 294810db read a complex input2 or target through asarray(dtype=float),
    # dropping its imaginary part with NumPy's ComplexWarning
    a, b = cr.tensor([[1.0, 2.0]]), cr.tensor([[0.5, 1.0]])
    with pytest.raises(TypeError, match="margin_ranking_loss: target must be a real Tensor"):
        F.margin_ranking_loss(a, b, cr.tensor([[1 + 1j, 2j]]))
    with pytest.raises(TypeError, match="cosine_embedding_loss: input2 must be a real Tensor"):
        F.cosine_embedding_loss(a, cr.tensor([[1 + 1j, 2j]]), cr.tensor([1]))
