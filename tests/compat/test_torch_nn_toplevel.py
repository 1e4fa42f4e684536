"""PyTorch's NN functions at the top level (torch.conv2d, torch.batch_norm, torch.lstm_cell...) and
F's ``*_with_indices`` pools, against PyTorch in float64: the same call, positional arguments and
all, gives the same values and gradients."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.nn import _toplevel as nn_toplevel
from chainrule.nn import _toplevel_more as nn_toplevel_more

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


class Buf:
    """An input that takes no gradient (running statistics, targets)."""

    def __init__(self, a):
        self.a = np.asarray(a)


def _to(m, a):
    if isinstance(a, Buf):
        return m.tensor(a.a)
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return m.tensor(a, requires_grad=True)
    if isinstance(a, np.ndarray):
        return m.tensor(a)
    if isinstance(a, tuple):
        return tuple(_to(m, b) for b in a)
    return a


def _leaves(args):
    for a in args:
        if isinstance(a, tuple):
            yield from _leaves(a)
        elif getattr(a, "requires_grad", False):
            yield a


def _compare(call, args, *, inputs_too=()):
    """Run ``call(module, *args)`` under chainrule and torch; compare outputs and gradients."""
    ours_in, theirs_in = [_to(cr, a) for a in args], [_to(torch, a) for a in args]
    ours, theirs = call(cr, *ours_in), call(torch, *theirs_in)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    loss_o, loss_t = 0.0, 0.0
    for o, t in zip(ours, theirs, strict=True):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
        if t.dtype.is_floating_point and t.requires_grad:
            g = np.cos(np.arange(t.numel()) + 0.5).reshape(tuple(t.shape))
            loss_o, loss_t = loss_o + (o * cr.tensor(g)).sum(), loss_t + (t * torch.tensor(g)).sum()
    if isinstance(loss_t, float):
        return
    loss_o.backward()
    loss_t.backward()
    for a, b in zip(_leaves(ours_in), _leaves(theirs_in), strict=True):
        expected = np.zeros(tuple(b.shape)) if b.grad is None else b.grad.to_dense().numpy()
        got = np.zeros(expected.shape) if a.grad is None else a.grad.to_dense().numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)
    for i in inputs_too:  # running statistics updated in place
        np.testing.assert_allclose(ours_in[i].numpy(), theirs_in[i].numpy(), rtol=1e-12)


R = np.random.default_rng(7)


def n(*shape):
    return R.standard_normal(shape)


def _signs(*shape):
    return Buf(np.where(R.random(shape) < 0.5, -1.0, 1.0))


# PyTorch's CTC gradient is right for log_probs made by log_softmax (as they should be): so are ours
_CTC = (n(6, 2, 4), Buf(np.array([[1, 2, 3], [2, 1, 1]])), Buf(np.array([6, 5])),
        Buf(np.array([3, 2])))

CASES = {
    "conv1d": (lambda m, *a: m.conv1d(*a, 2, 1), (n(2, 3, 7), n(4, 3, 3), n(4))),
    "conv1d-defaults": (lambda m, *a: m.conv1d(*a), (n(2, 3, 7), n(4, 3, 3))),
    "conv2d": (lambda m, *a: m.conv2d(*a, 1, 1, 1, 2), (n(2, 4, 6, 5), n(6, 2, 3, 3), n(6))),
    "conv3d": (lambda m,
               *a: m.conv3d(*a, None, 1, (1, 0, 1)), (n(1, 2, 4, 5, 4), n(3, 2, 2, 3, 2))),
    "conv_transpose1d": (lambda m, *a: m.conv_transpose1d(*a, 2, 1, 1),
                         (n(2, 3, 5), n(3, 2, 3), n(2))),
    "conv_transpose2d": (lambda m, *a: m.conv_transpose2d(*a, 2, 1, 1, 1, 1),
                         (n(1, 2, 4, 4), n(2, 3, 3, 3), n(3))),
    "conv_transpose3d": (lambda m, *a: m.conv_transpose3d(*a, None, 2),
                         (n(1, 2, 3, 3, 3), n(2, 2, 2, 2, 2))),
    "convolution": (lambda m, *a: m.convolution(*a, [1, 2], [1, 0], [1, 1], False, [0, 0], 1),
                    (n(2, 3, 6, 5), n(4, 3, 3, 2), n(4))),
    "convolution-transposed": (lambda m, *a: m.convolution(*a, [2], [1], [1], True, [1], 1),
                               (n(2, 3, 5), n(3, 2, 3), n(2))),
    "constant_pad_nd": (lambda m, x: m.constant_pad_nd(x, [1, 2, 0, 1], 1.5), (n(2, 3, 4),)),
    "avg_pool1d": (lambda m, x: m.avg_pool1d(x, 3, 2, 1, True, False), (n(2, 3, 9),)),
    "avg_pool1d-defaults": (lambda m, x: m.avg_pool1d(x, 3), (n(2, 3, 9),)),
    "max_pool1d": (lambda m, x: m.max_pool1d(x, 3, 2, 1), (n(2, 3, 9),)),
    "max_pool2d": (lambda m, x: m.max_pool2d(x, 3, 2, 1, 1, True), (n(2, 3, 7, 6),)),
    "max_pool3d": (lambda m, x: m.max_pool3d(x, 2), (n(1, 2, 5, 6, 5),)),
    "max_pool1d_with_indices": (lambda m, x: m.max_pool1d_with_indices(x, 3, 2), (n(2, 3, 9),)),
    "adaptive_avg_pool1d": (lambda m, x: m.adaptive_avg_pool1d(x, 4), (n(2, 3, 9),)),
    "adaptive_max_pool1d": (lambda m, x: m.adaptive_max_pool1d(x, 4), (n(2, 3, 9),)),
    "F.max_pool1d_with_indices": (lambda m, x: _f(m).max_pool1d_with_indices(x, 3, 2, 1),
                                  (n(2, 3, 9),)),
    "F.max_pool2d_with_indices": (lambda m, x: _f(m).max_pool2d_with_indices(x, (3, 2), None, 1),
                                  (n(2, 3, 7, 6),)),
    "F.max_pool3d_with_indices": (lambda m, x: _f(m).max_pool3d_with_indices(x, 2, 1, 0, 1, True),
                                  (n(1, 2, 4, 5, 4),)),
    "F.adaptive_max_pool1d_with_indices": (
        lambda m, x: _f(m).adaptive_max_pool1d_with_indices(x, 4, False), (n(2, 3, 9),)),
    "F.adaptive_max_pool2d_with_indices": (
        lambda m, x: _f(m).adaptive_max_pool2d_with_indices(x, (3, 2)), (n(2, 3, 7, 6),)),
    "F.adaptive_max_pool3d_with_indices": (
        lambda m, x: _f(m).adaptive_max_pool3d_with_indices(x, 2), (n(1, 2, 5, 4, 5),)),
    "batch_norm-eval": (lambda m, *a: m.batch_norm(*a, False, 0.1, 1e-5, True),
                        (n(4, 3, 5), n(3), n(3), Buf(n(3)), Buf(R.uniform(0.5, 2, 3)))),
    "layer_norm": (lambda m,
                   *a: m.layer_norm(*a, 1e-5, True), (n(2, 3, 4), [3, 4], n(3, 4), n(3, 4))),
    "layer_norm-defaults": (lambda m, x: m.layer_norm(x, [4]), (n(2, 3, 4),)),
    "group_norm": (lambda m, *a: m.group_norm(*a, 1e-5, False), (n(2, 4, 3), 2, n(4), n(4))),
    "instance_norm": (lambda m, *a: m.instance_norm(*a, None, None, True, 0.1, 1e-5, False),
                      (n(2, 3, 5), n(3), n(3))),
    "rms_norm": (lambda m, *a: m.rms_norm(*a, 1e-6), (n(2, 3, 4), [4], n(4))),
    "dropout-eval": (lambda m, x: m.dropout(x, 0.3, False), (n(2, 3),)),
    "alpha_dropout-eval": (lambda m, x: m.alpha_dropout(x, 0.3, False), (n(2, 3),)),
    "feature_dropout-eval": (lambda m, x: m.feature_dropout(x, 0.3, False), (n(2, 3, 4),)),
    "feature_alpha_dropout-eval": (lambda m, x: m.feature_alpha_dropout(x, 0.3, False),
                                   (n(2, 3, 4),)),
    "embedding": (lambda m, w, i: m.embedding(w, i), (n(6, 3), np.array([[0, 5, 2], [2, 2, 1]]))),
    "embedding-padding_idx": (lambda m, w, i: m.embedding(w, i, 2, False, True),
                              (n(6, 3), np.array([[0, 5, 2], [2, 2, 1]]))),
    "embedding-negative-padding_idx": (lambda m, w, i: m.embedding(w, i, -3),
                                       (n(6, 3), np.array([[0, 5, 3], [3, 2, 1]]))),
    "cosine_similarity": (lambda m, *a: m.cosine_similarity(*a, 0, 1e-8), (n(4, 5), n(4, 5))),
    "pairwise_distance": (lambda m,
                          *a: m.pairwise_distance(*a, 3.0, 1e-6, True), (n(4, 5), n(4, 5))),
    "pixel_shuffle": (lambda m, x: m.pixel_shuffle(x, 2), (n(1, 8, 2, 3),)),
    "pixel_unshuffle": (lambda m, x: m.pixel_unshuffle(x, 2), (n(1, 2, 4, 6),)),
    "channel_shuffle": (lambda m, x: m.channel_shuffle(x, 3), (n(2, 6, 3, 2),)),
    # PyTorch has no gradient for native_channel_shuffle: values only
    "native_channel_shuffle": (lambda m, x: m.native_channel_shuffle(x, 2), (Buf(n(2, 6, 3, 2)),)),
    "prelu": (lambda m, *a: m.prelu(*a), (n(2, 3, 4), n(3))),
    "selu": (lambda m, x: m.selu(x), (n(3, 4),)),
    # alpha exact in float32: PyTorch's gradient rounds alpha to float32 (0.7: 1e-8 off)
    "celu": (lambda m, x: m.celu(x, 0.5), (n(3, 4),)),
    "rrelu-eval": (lambda m, x: m.rrelu(x, 0.1, 0.3, False), (n(3, 4),)),
    "threshold": (lambda m, x: m.threshold(x, 0.1, -2.0), (n(3, 4),)),
    "hardshrink": (lambda m, x: m.hardshrink(x, 0.3), (n(3, 4),)),
    "kl_div-defaults": (lambda m, *a: m.kl_div(*a), (n(3, 4), Buf(R.uniform(0.1, 1, (3, 4))))),
    "kl_div-mean": (lambda m, *a: m.kl_div(*a, 1), (n(3, 4), Buf(R.uniform(0.1, 1, (3, 4))))),
    "kl_div-none-log_target": (lambda m, *a: m.kl_div(*a, 0, log_target=True), (n(3, 4), n(3, 4))),
    "kl_div-sum": (lambda m, *a: m.kl_div(*a, 2), (n(3, 4), Buf(R.uniform(0.1, 1, (3, 4))))),
    "ctc_loss": (lambda m, z, *a: m.ctc_loss(m.log_softmax(z, 2), *a), _CTC),
    "ctc_loss-mean": (lambda m, z, *a: m.ctc_loss(m.log_softmax(z, 2), *a, 0, 1), _CTC),
    "ctc_loss-sum": (lambda m, z, *a: m.ctc_loss(m.log_softmax(z, 2), *a, 0, 2, True), _CTC),
    "triplet_margin_loss": (lambda m, *a: m.triplet_margin_loss(*a, 0.5, 2.0, 1e-6, True, 2),
                            (n(4, 5), n(4, 5), n(4, 5))),
    "margin_ranking_loss": (lambda m,
                            *a: m.margin_ranking_loss(*a, 0.2, 1), (n(6), n(6), _signs(6))),
    "hinge_embedding_loss": (lambda m, *a: m.hinge_embedding_loss(*a, 1.0, 2), (n(6), _signs(6))),
    "hinge_embedding_loss-defaults": (lambda m, *a: m.hinge_embedding_loss(*a), (n(6), _signs(6))),
    "cosine_embedding_loss": (lambda m, *a: m.cosine_embedding_loss(*a, 0.1, 1),
                              (n(4, 5), n(4, 5), _signs(4))),
    "poisson_nll_loss-log": (lambda m, *a: m.poisson_nll_loss(*a, True, True, 1e-8, 1),
                             (n(3, 4), Buf(R.poisson(2.0, (3, 4)).astype(float)))),
    "poisson_nll_loss": (lambda m, *a: m.poisson_nll_loss(*a, False, False, 1e-8, 2),
                         (R.uniform(0.5, 2, (3, 4)), Buf(R.poisson(2.0, (3, 4)).astype(float)))),
    "binary_cross_entropy_with_logits": (
        lambda m, *a: m.binary_cross_entropy_with_logits(*a, 1),
        (n(3, 4), Buf(R.random((3, 4))), Buf(R.uniform(0.5, 2, 4)), Buf(R.uniform(0.5, 2, 4)))),
    "binary_cross_entropy_with_logits-defaults": (
        lambda m, *a: m.binary_cross_entropy_with_logits(*a), (n(3, 4), Buf(R.random((3, 4))))),
    "bilinear": (lambda m, *a: m.bilinear(*a), (n(3, 4), n(3, 5), n(2, 4, 5), n(2))),
    "grid_sampler": (lambda m, *a: m.grid_sampler(*a, 0, 0, False),
                     (n(1, 2, 4, 5), R.uniform(-1.1, 1.1, (1, 3, 3, 2)))),
    "grid_sampler-border": (lambda m, *a: m.grid_sampler(*a, 0, 1, True),
                            (n(1, 2, 4, 5), R.uniform(-1.1, 1.1, (1, 3, 3, 2)))),
    "affine_grid_generator": (lambda m, t: m.affine_grid_generator(t, [2, 3, 4, 5], False),
                              (n(2, 2, 3),)),
    "lstm_cell": (lambda m, x, h, *w: m.lstm_cell(x, h, *w),
                  (n(3, 4), (n(3, 5), n(3, 5)), n(20, 4), n(20, 5), n(20), n(20))),
    "lstm_cell-no-bias": (lambda m, x, h, *w: m.lstm_cell(x, h, *w),
                          (n(3, 4), (n(3, 5), n(3, 5)), n(20, 4), n(20, 5))),
    "gru_cell": (lambda m,
                 *a: m.gru_cell(*a), (n(3, 4), n(3, 5), n(15, 4), n(15, 5), n(15), n(15))),
    "gru_cell-b_hh-only": (lambda m, *a: m.gru_cell(*a[:4], None, a[4]),
                           (n(3, 4), n(3, 5), n(15, 4), n(15, 5), n(15))),
    "rnn_tanh_cell": (lambda m,
                      *a: m.rnn_tanh_cell(*a), (n(3, 4), n(3, 5), n(5, 4), n(5, 5), n(5))),
    "rnn_relu_cell": (lambda m, *a: m.rnn_relu_cell(*a),
                      (n(3, 4), n(3, 5), n(5, 4), n(5, 5), n(5), n(5))),
}


def _f(m):
    return F if m is cr else torch.nn.functional


def _matches_pytorch_case(name):
    call, args = CASES[name]
    _compare(call, args)


def test_matches_pytorch():
    each_case(_matches_pytorch_case, grid(("name", list(CASES))))


_POOLS = [k for k in CASES if "pool" in k]


@pytest.mark.parametrize("name", _POOLS)
def test_pools_match_pytorch_in_reference_mode(name):
    call, args = CASES[name]
    with cr.reference_mode():
        _compare(call, args)


@pytest.mark.parametrize("fn", ["batch_norm", "instance_norm"])
def test_training_norms_update_the_running_statistics_as_pytorch(fn):
    x = n(4, 3, 5)
    args = (x, n(3), n(3), Buf(n(3)), Buf(R.uniform(0.5, 2, 3)))
    _compare(lambda m, *a: getattr(m, fn)(*a, True, 0.2, 1e-5, False), args, inputs_too=(3, 4))


def _schema(name):
    """PyTorch's first overload of ``aten::name`` (not an ``.out`` one): [(name, has_default,
    keyword_only)], with ``self`` called ``input`` as its Python binding does."""
    schemas = [s for s in torch._C._jit_get_schemas_for_operator(f"aten::{name}")
               if s.overload_name != "out"]
    return [("input" if a.name == "self" else a.name, a.has_default_value(), a.kwarg_only)
            for a in schemas[0].arguments]


def _signature_is_pytorchs_case(name):
    ours = [(p.name, p.default is not inspect.Parameter.empty, p.kind is p.KEYWORD_ONLY)
            for p in inspect.signature(getattr(cr, name)).parameters.values()]
    assert ours == _schema(name)


def test_signature_is_pytorchs():
    each_case(_signature_is_pytorchs_case, grid(
        ("name", sorted(set(nn_toplevel.__all__) | set(nn_toplevel_more.__all__))),
    ))


def test_the_new_names_are_exported_at_the_top_level():
    for name in nn_toplevel.__all__ + nn_toplevel_more.__all__:
        assert name in cr.__all__ and getattr(cr, name).__module__.startswith("chainrule.nn._top")
    for name in ("max_pool2d_with_indices", "adaptive_max_pool3d_with_indices"):
        assert name in F.__all__


def test_random_functions_draw_from_chainrules_generator():
    x = cr.ones(3, 4, 5)
    outs = []
    for _ in range(2):
        cr.manual_seed(3)
        outs.append([f(x, 0.5, True).numpy() for f in (cr.dropout, cr.feature_dropout,
                                                        cr.alpha_dropout,
                                                        cr.feature_alpha_dropout)])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)
    drop, feature = outs[0][:2]
    assert set(np.unique(drop)) == {0.0, 2.0} and set(np.unique(feature)) == {0.0, 2.0}
    assert (feature == feature[:, :, :1]).all()  # one draw per (sample, channel)
    slopes = [cr.rrelu(-x, 0.1, 0.3, True, cr.Generator().manual_seed(5)).numpy()
              for _ in range(2)]
    np.testing.assert_array_equal(*slopes)
    assert ((-slopes[0] >= 0.1) & (-slopes[0] <= 0.3)).all() and np.unique(slopes[0]).size > 1
    assert cr.feature_dropout(x, 0.5, False) is x and cr.feature_dropout(x, 0.0, True) is x


def test_gradchecks_of_the_composed_functions(rng):
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    h, c = (cr.tensor(rng.standard_normal((3, 5)), requires_grad=True) for _ in range(2))
    w4, w5 = cr.tensor(rng.standard_normal((20, 4))), cr.tensor(rng.standard_normal((20, 5)))
    b = cr.tensor(rng.standard_normal(20), requires_grad=True)
    assert cr.gradcheck(lambda x, h, c, b: cr.lstm_cell(x, (h, c), w4, w5, b, b), (x, h, c, b))
    assert cr.gradgradcheck(lambda x, h: cr.lstm_cell(x, (h, h), w4, w5)[1], (x, h))
    assert cr.gradcheck(lambda x, h: cr.gru_cell(x, h, w4[:15], w5[:15], None, b[:15]), (x, h))
    assert cr.gradgradcheck(lambda x, h: cr.rnn_tanh_cell(x, h, w4[:5], w5[:5]), (x, h))

    def fd(x):
        cr.manual_seed(0)
        return cr.feature_dropout(x, 0.4, True)

    assert cr.gradcheck(fd, cr.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True))


def _bad(call, kind, match):
    with pytest.raises(kind, match=match):
        call()


def test_bad_input_is_a_clear_error(rng):
    x = cr.tensor(rng.standard_normal((3, 4)))
    _bad(lambda: cr.kl_div(x, x, 3), ValueError, r"kl_div: reduction must be one of the ints "
         r"0 \(none\), 1 \(mean\), 2 \(sum\), got 3")
    _bad(lambda: cr.binary_cross_entropy_with_logits(x, x, None, None, "mean"), ValueError,
         "reduction must be one of the ints .* got 'mean'")
    _bad(lambda: cr.grid_sampler(x, x, 5, 0, False), ValueError,
         "grid_sampler: interpolation_mode must be one of the ints 0 \\(bilinear\\)")
    _bad(lambda: cr.convolution(x, x, None, [1], [0], [1], False, [0], 1), ValueError,
         r"convolution: weight must be 3-D, 4-D or 5-D .*got \(3, 4\)")
    _bad(lambda: cr.embedding(x, cr.tensor([0]), None), TypeError,
         "embedding: padding_idx must be an int")
    _bad(lambda: cr.dropout(x, 0.5, "yes"), TypeError, "dropout: train must be True or False")
    _bad(lambda: cr.feature_dropout(cr.ones(4), 0.5, True), ValueError,
         r"feature_dropout: input must be a Tensor \(N, C, \*\) .* got \(4,\)")
    w, x3 = cr.tensor(rng.standard_normal((2, 3, 3))), cr.ones(1, 3, 5, requires_grad=True)
    _bad(lambda: cr.convolution(x3, w, None, [1], [0], [1], False, [1], 1), ValueError,
         r"convolution: output_padding is for transposed=True only, got \[1\]")
    with pytest.raises(RuntimeError, match="output_padding is not supported for non-transposed"):
        torch.convolution(torch.ones(1, 3, 5), torch.ones(2, 3, 3, requires_grad=True), None,
                          [1], [0], [1], False, [1], 1).sum().backward()  # PyTorch: at backward
    h = cr.zeros(3, 5)
    _bad(lambda: cr.lstm_cell(x, (h, h), cr.zeros(20, 5), cr.zeros(20, 5)), ValueError,
         r"lstm_cell: with input \(3, 4\) and hidden size 5, w_ih must be \(20, 4\)")
    _bad(lambda: cr.gru_cell(x, cr.zeros(2, 5), cr.zeros(15, 4), cr.zeros(15, 5)), ValueError,
         r"gru_cell: h must be \(3, 5\), got \(2, 5\)")
    _bad(lambda: cr.rnn_tanh_cell(x[0], h, cr.zeros(5, 4), cr.zeros(5, 5)), ValueError,
         r"rnn_tanh_cell: input must be a 2-D Tensor, got \(4,\)")
    _bad(lambda: cr.lstm_cell(x, (h,), cr.zeros(20, 4), cr.zeros(20, 5)), ValueError,
         "lstm_cell: hx must be the pair")
    _bad(lambda: cr.rnn_relu_cell(x, h, cr.zeros(5, 4), cr.zeros(5, 5), cr.zeros(4)), ValueError,
         r"rnn_relu_cell: b_ih must be \(5,\), got \(4,\)")
