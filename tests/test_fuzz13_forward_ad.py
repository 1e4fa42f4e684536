"""Fuzz wave 13: forward-mode and higher-order functional AD against PyTorch's (float64).

``func.jvp``, ``autograd.functional.jvp`` and ``autograd.forward_ad``'s dual tensors (new in
this wave; all computed by the double-backward trick) against PyTorch's true forward mode
(``torch.func.jvp``) over elementwise ops at their kinks, reductions, shape and indexing ops,
linalg and ``nn.functional``; where PyTorch has no forward
formula (``cdist``, ``grid_sample``, ``ctc_loss``...) or a wrong one (``det`` of a singular
matrix, ``scatter_reduce(prod)``), central finite differences of PyTorch's function; ``jacfwd``
against ``jacrev`` and PyTorch's; and ``autograd.functional``'s options (``strict``,
``create_graph``, ``vectorize``, ``strategy``) against PyTorch's errors and results.

Before this wave a write whose value was a view of its target (``z[0] = z[1]``,
``z[0].copy_(z[2])``) made backward (and so every jvp through it) fail with "modified by an
inplace operation": the write recorded the value's version after its own change. ``jacobian``
refused ``strategy="forward-mode"``; it accepted ``strict`` with ``vectorize`` and ``hessian``/
``vhp``/``hvp`` accepted a function returning a 1-tuple, which PyTorch's refuse; and ``strict``
with ``create_graph`` did not refuse a derivative that does not depend on the inputs.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning")

R = np.random.default_rng(13)


def N(*s):
    return R.normal(size=s)


def P(*s):
    return np.abs(R.normal(size=s)) + 0.5


def SPD(n):
    a = R.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


def F(L):
    return L.nn.functional


def _ix(L, *rows):
    return L.tensor(np.array(rows))


CASES = {
    # elementwise, at kinks as PyTorch defines them
    "tanh_sigmoid": (lambda L, x: x.tanh() * x.sigmoid() + x.erf(), N(3, 4)),
    "log_sqrt_rsqrt": (lambda L, x: x.log() + x.sqrt() * x.rsqrt() + x.log1p(), P(3, 4)),
    "asin_atanh": (lambda L, x: L.asin(x.tanh() * 0.9) + L.atanh(x.tanh() * 0.9), N(3, 4)),
    "lgamma_digamma": (lambda L, x: L.lgamma(x) + L.digamma(x) + L.polygamma(1, x), P(4)),
    "abs_kink": (lambda L, x: L.abs(x), np.array([0.0, -1.0, 2.0, 0.0])),
    "relu_kink": (lambda L, x: L.relu(x), np.array([0.0, -1.0, 2.0, 0.0])),
    "sign_floor_frac": (lambda L, x: x.sign() + x.floor() + x.frac(), N(5)),
    "clamp_at_bounds": (lambda L, x: L.clamp(x, -0.5, 0.5),
                        np.array([-0.5, 0.5, 0.2, -1.0, 1.0])),
    "clamp_tensor_bounds": (lambda L, x, lo, hi: L.clamp(x, lo, hi), np.array([0., 1, 2, 5]),
                            np.array([0., 1, 3, -1]), np.array([0., 1, 2, 4])),
    "clamp_crossed": (lambda L, x: L.clamp(x, 1.0, -1.0), N(4)),
    "where": (lambda L, x, y: L.where(x > 0, x, y), N(3, 4), N(3, 4)),
    "maximum_tie": (lambda L, x, y: L.maximum(x, y) + L.minimum(x, y) * 2,
                    np.array([1.0, 2, 3]), np.array([1.0, 1, 4])),
    "pow": (lambda L, x, y: L.pow(x, y), P(3), N(3)),
    "pow_zero_base": (lambda L, x, y: L.pow(x, y), np.array([0.0, 0.0, 2]),
                      np.array([0.0, 2.0, 0.0])),
    "atan2_hypot": (lambda L, x, y: L.atan2(x, y) + L.hypot(x, y), N(4), N(4)),
    "remainder_fmod": (lambda L, x, y: L.remainder(x, y) + L.fmod(x, y), N(4) * 3, P(4)),
    "lerp_addcdiv": (lambda L, x, y, w: L.lerp(x, y, w) + L.addcdiv(x, y, w.exp(), value=0.5),
                     N(4), N(4), N(4)),
    "xlogy": (lambda L, x, y: L.xlogy(x, y), np.array([0.0, 1, 2]), P(3)),
    "copysign_logaddexp": (lambda L, x, y: L.copysign(x, y) + L.logaddexp(x, y), N(4), N(4)),
    "activations": (lambda L, x: F(L).gelu(x) + F(L).gelu(x, approximate="tanh") + F(L).silu(x)
                    + F(L).mish(x) + F(L).elu(x, 0.7) + F(L).selu(x) + F(L).softplus(x, 2.0)
                    + F(L).logsigmoid(x) + F(L).softsign(x), N(6)),
    "piecewise_at_kinks": (lambda L, x: F(L).hardtanh(x) + F(L).relu6(x * 3)
                           + F(L).hardsigmoid(x * 3) + F(L).hardswish(x * 3)
                           + F(L).leaky_relu(x, 0.1) + F(L).softshrink(x, 0.5)
                           + F(L).hardshrink(x, 0.5), np.array([-1.0, 1.0, 0.5, 2, -2, 0])),
    "prelu_glu": (lambda L, x, w: F(L).prelu(x, w).sum(-1) + F(L).glu(x, 1).sum((1, 2))[:, None],
                  N(2, 4, 3), N(4)),
    "normalize": (lambda L, x: F(L).normalize(x, dim=1), N(3, 4)),
    "sinc_at_zero": (lambda L, x: L.sinc(x), np.array([0.0, 0.5, 1.2])),
    "logit_eps": (lambda L, x: L.logit(x, eps=0.1), np.array([0.05, 0.5, 0.95])),
    # reductions
    "sum_mean": (lambda L, x: x.sum(1) + x.mean(0, keepdim=True).sum(), N(3, 4)),
    "prod": (lambda L, x: x.prod(1), N(3, 4)),
    "prod_one_zero": (lambda L, x: x.prod(1), np.array([[0.0, 2, 3], [0, 0, 1], [1, 2, 3.]])),
    "prod_all_one_zero": (lambda L, x: x.prod(), np.array([[0.0, 2, 3], [4, 5, 1.]])),
    "cumprod_zeros": (lambda L, x: x.cumprod(1), np.array([[0.0, 2, 3], [2, 0, 1]])),
    "amax_amin_ties": (lambda L, x: x.amax(1) + x.amin(1), np.array([[1.0, 3, 3], [2, 2, 2.]])),
    "max_min_all_ties": (lambda L, x: x.max() * x.min(), np.array([[1.0, 3, 3], [1, 2, 2.]])),
    "max_dim_tie": (lambda L, x: x.max(1)[0] + x.min(0).values.sum(),
                    np.array([[1.0, 3, 3], [2, 2, 2.]])),
    "norm_at_zero": (lambda L, x: x.norm(dim=1), np.array([[0.0, 0], [1, 2]])),
    "norms": (lambda L, x: x.norm() + x.norm(p=1) + x.norm(p=3, dim=0).sum()
              + L.linalg.vector_norm(x, 0.5), N(3, 4)),
    "norm_inf_tie": (lambda L, x: x.norm(p=float("inf")), np.array([1.0, -3, 3])),
    "logsumexp_neg_inf": (lambda L, x: L.logsumexp(x, 1),
                          np.array([[-np.inf, 0.0], [1, 2]])),
    "var_std": (lambda L, x: x.var(1) + x.var(1, correction=0) + x.std(), N(3, 4)),
    "var_std_mean": (lambda L, x: L.var_mean(x, 1) + L.std_mean(x, 0), N(3, 4)),
    "std_of_constant": (lambda L, x: x.std(1), np.ones((2, 3))),
    "order_statistics": (lambda L, x: x.median() + L.kthvalue(x, 2, 1)[0].sum()
                         + L.topk(x, 2, 1)[0].sum() + L.sort(x, 1)[0][:, 0].sum(), N(3, 4)),
    "cumulative": (lambda L, x: L.cummax(x, 1)[0] + L.cummin(x, 1)[0] + L.logcumsumexp(x, 1)
                   + x.cumsum(0), N(3, 4)),
    "diff_renorm": (lambda L, x: L.diff(x, dim=1).sum() + L.renorm(x, 2, 0, 1.0), N(3, 4)),
    "dist_aminmax": (lambda L, x, y: L.dist(x, y) + L.aminmax(x, dim=1)[1].sum(),
                     N(3, 4), N(3, 4)),
    # shape and indexing
    "cat_stack_split": (lambda L, x, y: L.split(L.cat([x, y], 1), [1, 4], 1)[1]
                        + L.stack([x, x], 0)[1].sum(), N(2, 3), N(2, 2)),
    "chunk_unbind": (lambda L, x: x.chunk(3, 0)[1] * x.unbind(0)[0], N(5, 2)),
    "gather": (lambda L, x: L.gather(x, 1, _ix(L, [0, 2, 2], [1, 1, 0])), N(2, 3)),
    "scatter": (lambda L, x, s: L.scatter(x, 1, _ix(L, [0, 2], [1, 0]), s)
                + L.scatter_add(x, 1, _ix(L, [0, 0], [1, 1]), s), N(2, 3), N(2, 2)),
    "scatter_reduce": (lambda L, x, s: L.scatter_reduce(x, 1, _ix(L, [0, 0], [1, 1]), s, "sum")
                       + L.scatter_reduce(x, 1, _ix(L, [0, 0], [1, 1]), s, "mean",
                                          include_self=False)
                       + L.scatter_reduce(x, 1, _ix(L, [0, 0], [1, 1]), s, "amax"),
                       N(2, 3), N(2, 2)),
    "index_ops": (lambda L, x, s: L.index_select(x, 0, _ix(L, 2, 0, 2)).sum(0)
                  + L.index_add(x, 0, _ix(L, 2, 0, 2), s).sum(0)
                  + L.index_fill(x, 0, _ix(L, 2, 0), 1.5).sum(0), N(3, 2), N(3, 2)),
    "index_put_accumulate": (lambda L, x, v: L.index_put(x, (_ix(L, 0, 0),), v,
                                                         accumulate=True), N(3, 2), N(2, 2)),
    "masked": (lambda L, x, s: x.masked_fill(x > 0, 2.0) + x.masked_scatter(x > 0, s),
               N(3, 4), N(12)),
    "advanced_indexing": (lambda L, x: x[_ix(L, 0, 2, 0), 1:].sum()
                          + x[_ix(L, 0, 2), _ix(L, 1, 1)].sum() + x[x > 0].sum(), N(3, 4)),
    "take_along": (lambda L, x: L.take(x, _ix(L, 0, 5, 5)).sum()
                   + L.take_along_dim(x, _ix(L, [0], [2], [1]), 1), N(3, 4)),
    "views": (lambda L, x: L.flip(x, (0,)) + L.roll(x, 1, 1) + x.expand(2, 3, 4)[1]
              + L.rot90(x.reshape(4, 3), 1, (0, 1)) + x.unfold(1, 2, 2).reshape(3, 4), N(3, 4)),
    "triangles": (lambda L, x: L.tril(x) + L.triu(x, 1) + L.diag_embed(L.diagonal(x)[:3])[0],
                  N(3, 3)),
    "contractions": (lambda L, x, y: L.einsum("ij,jk->ik", x, y) + L.tensordot(x, y, 1)
                     + x @ y, N(3, 4), N(4, 2)),
    "batched_products": (lambda L, a, x, y: L.baddbmm(a, x, y, beta=0.5, alpha=2.0)
                         + L.bmm(x, y), N(2, 3, 2), N(2, 3, 4), N(2, 4, 2)),
    "kron_outer_cross": (lambda L, x, y: L.kron(x, y).sum() + L.outer(x[0], y[0]).sum()
                         + L.linalg.cross(x[:, :3], y[:2, :3]).sum(), N(2, 3), N(2, 3)),
    "complex_views": (lambda L, x: L.view_as_real(L.view_as_complex(x) ** 2)
                      + L.view_as_complex(x).abs()[:, None], N(3, 2)),
    # linalg
    "solve_inv": (lambda L, a, b: L.linalg.solve(a, b) + L.linalg.inv(a)[:, :2], SPD(3), N(3, 2)),
    "det_slogdet": (lambda L, a: L.linalg.det(a) + L.linalg.slogdet(a)[1] + L.logdet(a @ a.mT),
                    N(3, 3)),
    "qr": (lambda L, a: L.linalg.qr(a), N(4, 3)),
    "qr_wide_complete": (lambda L, a: L.linalg.qr(a, mode="complete")[1], N(3, 4)),
    "singular_values": (lambda L, a: L.linalg.svdvals(a) + L.linalg.svd(a)[1], N(4, 3)),
    "lstsq_pinv": (lambda L, a, b: L.linalg.lstsq(a, b).solution + L.linalg.pinv(a)[:, :2],
                   N(4, 3), N(4, 2)),
    "matrix_norms": (lambda L, a: L.linalg.matrix_norm(a) + L.linalg.matrix_norm(a, 1)
                     + L.linalg.matrix_norm(a, 2) + L.linalg.norm(a, ord="nuc"), N(3, 4)),
    "matrix_functions": (lambda L, a: L.linalg.matrix_exp(a * 0.5)
                         + L.linalg.matrix_power(a, 3), N(3, 3)),
    "triangular_solve": (lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True),
                         np.triu(SPD(3)), N(3, 2)),
    "lu": (lambda L, a: L.linalg.lu_factor(a)[0], N(3, 3)),
    "eigvals_multi_dot": (lambda L, a, b: L.view_as_real(L.linalg.eigvals(a)).sum()
                          + L.linalg.multi_dot([a, b, a]), N(3, 3), N(3, 3)),
    # nn.functional
    "conv1d": (lambda L, x, w, b: F(L).conv1d(x, w, b, stride=2, padding=1),
               N(2, 3, 7), N(4, 3, 3), N(4)),
    "conv2d": (lambda L, x, w, b: F(L).conv2d(x, w, b, padding=1, dilation=2),
               N(1, 2, 5, 5), N(3, 2, 3, 3), N(3)),
    "conv2d_groups": (lambda L, x, w: F(L).conv2d(x, w, groups=2, stride=(2, 1)),
                      N(1, 4, 5, 5), N(4, 2, 2, 2)),
    "conv_transpose2d": (lambda L, x, w: F(L).conv_transpose2d(x, w, stride=2,
                                                               output_padding=1),
                         N(1, 2, 3, 3), N(2, 3, 3, 3)),
    "max_pools": (lambda L, x: F(L).max_pool2d(x, 2).sum() + F(L).max_pool2d(x, 3, 2, 1).sum()
                  + F(L).adaptive_max_pool2d(x, 2).sum(), N(1, 2, 5, 5)),
    "max_pool_ties": (lambda L, x: F(L).max_pool2d(x, 2, 1), np.ones((1, 1, 3, 3))),
    "avg_pools": (lambda L, x: F(L).avg_pool2d(x, 3, 2, 1, count_include_pad=False).sum()
                  + F(L).adaptive_avg_pool2d(x, (2, 3)).sum() + F(L).lp_pool2d(x, 2, 2).sum(),
                  N(1, 2, 5, 5)),
    "softmaxes": (lambda L, x: F(L).softmax(x, 1) + F(L).log_softmax(x, 0)
                  + F(L).softmin(x, 1), N(3, 4)),
    "softmax_masked": (lambda L, x: F(L).softmax(x, 1), np.array([[-np.inf, 0.0, 1]])),
    "layer_rms_norm": (lambda L, x, w, b: F(L).layer_norm(x, (4,), w, b)
                       + F(L).rms_norm(x, (4,), w), N(3, 4), N(4), N(4)),
    "batch_norm_training": (lambda L, x, w, b: F(L).batch_norm(x, None, None, w, b,
                                                               training=True),
                            N(4, 3), N(3), N(3)),
    "batch_norm_eval_affine": (lambda L, x, w: F(L).batch_norm(
        x, L.tensor(np.zeros(3)), L.tensor(np.ones(3)), w, training=False), N(4, 3), N(3)),
    "group_instance_norm": (lambda L, x, w, b: F(L).group_norm(x, 2, w, b)
                            + F(L).instance_norm(x), N(2, 4, 3), N(4), N(4)),
    "regression_losses": (lambda L, x, y: F(L).mse_loss(x, y) + F(L).l1_loss(x, y)
                          + F(L).smooth_l1_loss(x, y, beta=0.5) + F(L).huber_loss(x, y, delta=.5),
                          N(3, 4), N(3, 4)),
    "l1_at_tie": (lambda L, x, y: F(L).l1_loss(x, y), np.array([1.0, 2]), np.array([1.0, 3])),
    "cross_entropy_smoothing": (lambda L, x: F(L).cross_entropy(
        x, _ix(L, 0, 2, 1), label_smoothing=0.2) + F(L).cross_entropy(
        x, _ix(L, 0, -100, 1), label_smoothing=0.1), N(3, 4)),
    "cross_entropy_probs": (lambda L, x, t: F(L).cross_entropy(x, t.softmax(1),
                                                               label_smoothing=0.3),
                            N(3, 4), N(3, 4)),
    "cross_entropy_2d": (lambda L, x: F(L).cross_entropy(x, _ix(L, [0, 2], [1, 1]),
                                                         reduction="none"), N(2, 3, 2)),
    "bce_kl": (lambda L, x, y: F(L).binary_cross_entropy(x.sigmoid(), y.sigmoid())
               + F(L).binary_cross_entropy_with_logits(x, y.sigmoid())
               + F(L).kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean"),
               N(3, 4), N(3, 4)),
    "other_losses": (lambda L, x, y, v: F(L).gaussian_nll_loss(x, y, v)
                     + F(L).poisson_nll_loss(x, y.abs())
                     + F(L).cosine_embedding_loss(x, y, L.tensor(np.array([1.0, -1, 1])))
                     + F(L).triplet_margin_loss(x, y, v), N(3, 4), N(3, 4), P(3, 4)),
    "embedding": (lambda L, w: F(L).embedding(_ix(L, [0, 2], [2, 1]), w), N(3, 4)),
    "embedding_max_norm": (lambda L, w: F(L).embedding(_ix(L, [0, 2]), w, max_norm=1.0),
                           N(3, 4) * 2),
    "dropout_off": (lambda L, x: F(L).dropout(x, 0.0) + F(L).dropout(x, 0.5, training=False),
                    N(3, 4)),
    "interpolate": (lambda L, x: F(L).interpolate(x, size=(5, 4), mode="bilinear")
                    + F(L).interpolate(x, size=(5, 4), mode="bicubic", align_corners=True)
                    + F(L).interpolate(x, size=(5, 4)), N(1, 2, 3, 3)),
    "interpolate_area": (lambda L, x: F(L).interpolate(x, size=(2, 2), mode="area"),
                         N(1, 2, 5, 5)),
    "pads": (lambda L, x: F(L).pad(x, (1, 2), mode="reflect") + F(L).pad(x, (1, 2), value=0.5)
             + F(L).pad(x, (1, 2), mode="replicate") + F(L).pad(x, (1, 2), mode="circular"),
             N(1, 2, 4)),
    "attention": (lambda L, q, k, v: F(L).scaled_dot_product_attention(q, k, v, is_causal=True),
                  N(1, 3, 4), N(1, 3, 4), N(1, 3, 2)),
    "fold_unfold": (lambda L, x: F(L).fold(F(L).unfold(x, 2, padding=1), (3, 3), 2, padding=1),
                    N(1, 2, 3, 3)),
    "affine_grid": (lambda L, t: F(L).affine_grid(t, (1, 1, 3, 4), align_corners=False),
                    N(1, 2, 3)),
    "fft": (lambda L, x: L.fft.irfft(L.fft.rfft(x) * 2) + L.view_as_real(L.fft.fft(x)).sum(-1),
            N(6)),
    "statistics": (lambda L, x: L.quantile(x, L.tensor(np.array([0.1, 0.5, 0.9])), dim=1).sum(0)
                   + L.nanmedian(x, 1)[0] + L.cov(x).sum(0) + L.corrcoef(x).sum(1), N(3, 5)),
    "pooling_3d": (lambda L, x: F(L).avg_pool3d(x, 2) + F(L).max_pool3d(x, 2)
                   + F(L).adaptive_avg_pool3d(x, 2), N(1, 1, 4, 4, 4)),
    "unpool_shuffle": (lambda L, x: F(L).max_unpool2d(*F(L).max_pool2d(x, 2, return_indices=True),
                                                      2) + F(L).pixel_unshuffle(x, 2).reshape(
        1, 1, 4, 4) + F(L).channel_shuffle(x.reshape(1, 4, 2, 2), 2).reshape(1, 1, 4, 4),
                       N(1, 1, 4, 4)),
    "stft": (lambda L, x: L.view_as_real(L.stft(x, 8, hop_length=2, return_complex=True,
                                                window=L.hann_window(8, dtype=L.float64))),
             N(32)),
    "tensor_solvers": (lambda L, a, b: L.linalg.tensorsolve(a, b).sum()
                       + L.linalg.tensorinv(a, 1).sum(), N(6, 2, 3)
                       + np.eye(6).reshape(6, 2, 3) * 3, N(6)),
    "more_linalg": (lambda L, a, b: L.linalg.lu_solve(*L.linalg.lu_factor(a), b)
                    + L.linalg.solve(a, b.mT, left=False).mT + L.linalg.pinv(
                        a @ a.mT, hermitian=True)[:, :2], N(3, 3) + 3 * np.eye(3), N(3, 2)),
    "scatters": (lambda L, x, s: L.diagonal_scatter(x, s) + L.select_scatter(x, s, 0, 1)
                 + L.slice_scatter(x, s[:, None].expand(3, 2), 1, 0, 2), N(3, 3), N(3)),
    "saturated": (lambda L, x: L.sigmoid(x) + F(L).logsigmoid(x) + F(L).gelu(x)
                  + F(L).softplus(x, 1, 2), np.array([-800.0, 800.0, 0.0, 2.0, 1.9, -40])),
}

SYMMETRIC = {  # the functions read one triangle: PyTorch's forward formulas take a symmetric dA
    "cholesky": (lambda L, a: L.linalg.cholesky(a) + L.linalg.cholesky(a, upper=True), SPD(3)),
    "eigh": (lambda L, a: L.linalg.eigh(a)[1].abs() + L.linalg.eigvalsh(a), SPD(3)),
}

# PyTorch has no forward formula (NotImplementedError) or a wrong one: finite differences
FINITE_DIFFERENCES = {
    "cdist": (lambda L, x, y: L.cdist(x, y), N(3, 4), N(2, 4)),
    "multi_margin": (lambda L, x: F(L).multi_margin_loss(x, _ix(L, 0, 2, 1)), N(3, 4)),
    "embedding_bag": (lambda L, w: F(L).embedding_bag(_ix(L, 0, 2, 2, 1), w, _ix(L, 0, 2),
                                                      mode="mean"), N(3, 4)),
    "grid_sample": (lambda L, x, g: F(L).grid_sample(x, g.tanh(), align_corners=True),
                    N(1, 2, 4, 4), N(1, 3, 3, 2)),
    "ctc_loss": (lambda L, x: F(L).ctc_loss(x.log_softmax(2), _ix(L, [1, 2]), _ix(L, 4),
                                            _ix(L, 2)), N(4, 1, 3)),
    "det_singular": (lambda L, a: L.linalg.det(a), np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])),
    "scatter_reduce_prod": (lambda L, x, s: L.scatter_reduce(x, 1, _ix(L, [0, 0], [1, 1]), s,
                                                             "prod"), N(2, 3), N(2, 2)),
    "cdist_p1": (lambda L, x, y: L.cdist(x, y, p=1), N(3, 4), N(2, 4)),
    "index_reduce_amax": (lambda L, x, s: x.index_reduce(0, _ix(L, 0, 2, 0), s, "amax"),
                          N(3, 2), N(3, 2)),
    "heaviside_product": (lambda L, x: x * L.heaviside(x, L.tensor(0.5, dtype=L.float64)),
                          N(5)),
    "multi_head_attention_forward": (lambda L, x, w, b, ow: F(L).multi_head_attention_forward(
        x, x, x, 4, 2, w, b, None, None, False, 0.0, ow, None, training=False,
        need_weights=False)[0], N(3, 1, 4), N(12, 4), N(12), N(4, 4)),
}


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def _same(ours, theirs, tol=1e-8, what=""):
    ours, theirs = _leaves(ours), _leaves(theirs)
    assert len(ours) == len(theirs), what
    for c, t in zip(ours, theirs):
        t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        assert tuple(c.shape) == t.shape, what
        assert str(c.dtype) == str(t.dtype), what
        rounding = {"float32": 1e-6, "float16": 1e-3}.get(str(t.dtype), 0)  # the dtype's ulp
        np.testing.assert_allclose(c.detach().numpy(), t, rtol=max(tol, rounding),
                                   atol=max(tol, rounding), equal_nan=True, err_msg=what)


def _jvps(fn, inputs, tangents):
    want = torch.func.jvp(lambda *a: fn(torch, *a), tuple(torch.tensor(x) for x in inputs),
                          tuple(torch.tensor(t) for t in tangents))
    xs, ts = tuple(cr.tensor(x) for x in inputs), tuple(cr.tensor(t) for t in tangents)
    got = cr.func.jvp(lambda *a: fn(cr, *a), xs, ts)

    def tupled(*a):
        out = fn(cr, *a)
        return tuple(out) if isinstance(out, (tuple, list)) else out

    return want, got, cr.autograd.functional.jvp(tupled, xs, ts), _dual_jvp(fn, xs, ts)


def _dual_jvp(fn, xs, ts):
    fw = cr.autograd.forward_ad
    with fw.dual_level():
        out = fn(cr, *[fw.make_dual(x, t) for x, t in zip(xs, ts)])
        unpacked = [fw.unpack_dual(o) for o in _leaves(out)]
    return [p for p, _ in unpacked], [cr.zeros_like(p) if t is None else t for p, t in unpacked]


@pytest.mark.parametrize("name", sorted(CASES) + sorted(SYMMETRIC))
def test_jvp_matches_pytorch_forward_mode(name):
    fn, *inputs = CASES[name] if name in CASES else SYMMETRIC[name]
    rng = np.random.default_rng(len(name))
    tangents = [rng.normal(size=np.shape(x)) for x in inputs]
    if name in SYMMETRIC:
        tangents = [t + t.T for t in tangents]
    want, got, functional, dual = _jvps(fn, inputs, tangents)
    _same(got[0], want[0], what=f"{name} value")
    _same(got[1], want[1], what=f"{name} func.jvp tangent")
    _same(functional[1], want[1], what=f"{name} autograd.functional.jvp tangent")
    _same(dual[0], want[0], what=f"{name} forward_ad primal")
    _same(dual[1], want[1], what=f"{name} forward_ad tangent")


def _jvp_where_pytorch_has_no_forward_formula_case(name):
    fn, *inputs = FINITE_DIFFERENCES[name]
    rng = np.random.default_rng(len(name))
    tangents = [rng.normal(size=np.shape(x)) for x in inputs]
    eps = 1e-6

    def at(s):
        with warnings.catch_warnings():  # index_reduce() is in beta
            warnings.simplefilter("ignore")
            out = fn(torch, *[torch.tensor(x + s * t) for x, t in zip(inputs, tangents)])
        return out.numpy()

    want = (at(eps) - at(-eps)) / (2 * eps)
    got = cr.func.jvp(lambda *a: fn(cr, *a), tuple(cr.tensor(x) for x in inputs),
                      tuple(cr.tensor(t) for t in tangents))[1]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-7)


def test_jvp_where_pytorch_has_no_forward_formula():
    each_case(_jvp_where_pytorch_has_no_forward_formula_case, grid(
        ("name", sorted(FINITE_DIFFERENCES)),
    ))


def _net(L, x, w):
    return (L.tanh(x @ w) * x.sum(1, keepdim=True)).log_softmax(1)


def _loss(L, x, w):
    return (_net(L, x, w) ** 2).sum() + (w ** 3).sum()


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacfwd_equals_jacrev_and_pytorch(argnums):
    x, w = N(2, 3), N(3, 4)
    for transform in ("jacfwd", "jacrev"):
        want = getattr(torch.func, transform)(lambda a, b: _net(torch, a, b), argnums)(
            torch.tensor(x), torch.tensor(w))
        got = getattr(cr.func, transform)(lambda a, b: _net(cr, a, b), argnums)(
            cr.tensor(x), cr.tensor(w))
        _same(got, want, tol=1e-10, what=transform)
    fwd_aux = cr.func.jacfwd(lambda a, b: (_net(cr, a, b), a.sum()), argnums, has_aux=True)(
        cr.tensor(x), cr.tensor(w))
    _same(fwd_aux[0], got, tol=1e-12)
    assert float(fwd_aux[1]) == pytest.approx(x.sum())


def test_hessians_forward_over_reverse_match_pytorch():
    x, w = N(2, 3), N(3, 4)
    want = torch.func.hessian(lambda a, b: _loss(torch, a, b), (0, 1))(torch.tensor(x),
                                                                         torch.tensor(w))
    ours = cr.func.hessian(lambda a, b: _loss(cr, a, b), (0, 1))(cr.tensor(x), cr.tensor(w))
    nested = cr.func.jacfwd(cr.func.jacrev(lambda a, b: _loss(cr, a, b), (0, 1)), (0, 1))(
        cr.tensor(x), cr.tensor(w))
    _same(ours, want, tol=1e-9)
    _same(nested, want, tol=1e-9)
    functional = cr.autograd.functional.hessian(
        lambda a, b: _loss(cr, a, b), (cr.tensor(x), cr.tensor(w)), vectorize=True,
        outer_jacobian_strategy="forward-mode")
    _same(functional, want, tol=1e-9)
    v = N(2, 3)
    hvp = cr.func.jvp(cr.func.grad(lambda a: _loss(cr, a, cr.tensor(w))), (cr.tensor(x),),
                      (cr.tensor(v),))[1]
    want_hvp = torch.autograd.functional.hvp(lambda a: _loss(torch, a, torch.tensor(w)),
                                             torch.tensor(x), torch.tensor(v))[1]
    _same(hvp, want_hvp, tol=1e-9)


def _write(kind, z, a):
    if kind == 0:
        z[0] = z[1]
    elif kind == 1:
        z[0, :1] = z[1, 1:]
    elif kind == 2:
        z[1] = a[0]
        z[0] = z[1]
    elif kind == 3:
        z[0].copy_(z[2])
    else:
        z[:, 0] = z[:, 1] * 2
    return z


@pytest.mark.parametrize("kind", range(5))
def test_writing_a_view_of_the_target_into_it(kind):
    """``z[0] = z[1]``: backward and jvp raised "modified by an inplace operation"."""
    a0, t0 = N(3, 2), N(3, 2)
    for_torch = torch.tensor(a0, requires_grad=True)
    (_write(kind, for_torch.clone(), for_torch) ** 2).sum().backward()
    ours = cr.tensor(a0, requires_grad=True)
    (_write(kind, ours.clone(), ours) ** 2).sum().backward()
    _same(ours.grad, for_torch.grad, tol=1e-12)
    want = torch.func.jvp(lambda a: _write(kind, a.clone(), a) ** 2, (torch.tensor(a0),),
                          (torch.tensor(t0),))
    got = cr.func.jvp(lambda a: _write(kind, a.clone(), a) ** 2, (cr.tensor(a0),),
                      (cr.tensor(t0),))
    _same(got, want, tol=1e-12)


def _api_functions(L):
    x, y = L.tensor(np.linspace(-1, 1, 3)), L.tensor(np.arange(6.0).reshape(2, 3) / 5)
    return {
        "vector": (lambda a: a.sin() * a.sum(), (x,)),
        "two_inputs": (lambda a, b: (a * b).sum(0).exp(), (x, y)),
        "tuple_output": (lambda a, b: (a.cos(), (b @ a).tanh()), (x, y)),
        "independent": (lambda a, b: a ** 2, (x, y)),
        "constant": (lambda a: L.ones(3, dtype=L.float64), (x,)),
        "scalar": (lambda a, b: (a ** 3).sum() * b.sum(), (x, y)),
        "linear": (lambda a, b: (a * 2).sum() + b.sum() * 0, (x, y)),
        "one_tuple": (lambda a: ((a ** 3).sum(),), (x,)),
        "one_by_one": (lambda a: (a ** 3).sum().reshape(1, 1), (x,)),
        "integer": (lambda a: (a > 0).long(), (x,)),
    }


def _api_call(L, api, name, kw):
    fn, inputs = _api_functions(L)[name]
    try:
        if api in ("jacobian", "hessian"):
            return getattr(L.autograd.functional, api)(fn, inputs, **kw)
        ones = tuple(L.ones_like(t) for t in inputs)
        if api == "vjp":
            out = fn(*inputs)
            ones = tuple(L.ones_like(o) for o in _leaves(out))
            ones = ones if isinstance(out, tuple) else ones[0]
        return getattr(L.autograd.functional, api)(fn, inputs, ones, **kw)
    except (RuntimeError, ValueError, TypeError, NotImplementedError, AssertionError) as e:
        return e


def _api_options(api):
    base = [dict(create_graph=c, strict=s) for c in (False, True) for s in (False, True)]
    if api not in ("jacobian", "hessian"):
        return base
    key = "strategy" if api == "jacobian" else "outer_jacobian_strategy"
    return [dict(o, vectorize=v, **{key: m}) for o in base for v in (False, True)
            for m in ("reverse-mode", "forward-mode")]


@pytest.mark.parametrize("api", ["jacobian", "hessian", "jvp", "vjp", "vhp", "hvp"])
def test_functional_options_raise_and_compute_as_pytorch(api):
    """strategy="forward-mode" was refused; strict with vectorize, a 1-tuple given to hessian,
    vhp or hvp, and (with strict and create_graph) a derivative independent of the inputs were
    accepted, where PyTorch's raise."""
    for name in _api_functions(cr):
        for kw in _api_options(api):
            want, got = _api_call(torch, api, name, kw), _api_call(cr, api, name, kw)
            what = f"{api} {name} {kw}"
            if isinstance(want, Exception) or isinstance(got, Exception):
                assert isinstance(want, Exception) and isinstance(got, Exception), \
                    f"{what}: torch {want!r}, chainrule {got!r}"
                continue
            _same(got, want, tol=1e-10, what=what)


def test_forward_mode_jacobian_dtype_and_graph_are_pytorchs():
    """Forward mode's Jacobian has the output's dtype, and stays in the graph of an input that
    requires grad (create_graph=False notwithstanding), as PyTorch's."""
    x0 = np.array([0.3, -1.2, 2.0])
    for f in (lambda a: (a > 0).long(), lambda a: a.double() * 2, lambda a: a.half()):
        want = torch.autograd.functional.jacobian(f, torch.tensor(x0, dtype=torch.float32),
                                                  vectorize=True, strategy="forward-mode")
        got = cr.autograd.functional.jacobian(f, cr.tensor(x0, dtype=cr.float32),
                                              vectorize=True, strategy="forward-mode")
        _same(got, want, tol=1e-3)
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(x0, requires_grad=True)
        j = lib.autograd.functional.jacobian(lambda a: a.sin() * a, x, vectorize=True,
                                             strategy="forward-mode")
        assert j.requires_grad
        j.sum().backward()
        grads.append(x.grad)
    _same(grads[1], grads[0], tol=1e-12)


def _dual_outcome(lib, scenario):
    fw = lib.autograd.forward_ad
    x, t = lib.tensor(np.arange(3.0)), lib.tensor(np.ones(3))
    try:
        if scenario == "outside_a_level":
            return fw.make_dual(x, t)
        if scenario == "exit_without_a_level":
            return fw.exit_dual_level()
        with fw.dual_level():
            if scenario == "nested":
                with fw.dual_level():
                    pass
            if scenario == "integer_primal":
                fw.make_dual(lib.tensor(np.arange(3)), t)
            if scenario == "integer_tangent":
                fw.make_dual(x, lib.tensor(np.arange(3)))
            if scenario == "other_shape":
                fw.make_dual(x, lib.ones(4, dtype=lib.float64))
            if scenario == "dual_of_a_dual":
                fw.make_dual(fw.make_dual(x, t), t)
            if scenario == "float32_tangent":
                d = fw.make_dual(x, lib.ones(3))
                return d.dtype, fw.unpack_dual(d * 2).tangent
            if scenario == "not_a_tensor":
                return fw.unpack_dual(3.0)
        return "computed"
    except (RuntimeError, ValueError, TypeError) as e:
        return e


@pytest.mark.parametrize("scenario", ["outside_a_level", "exit_without_a_level", "nested",
                                      "integer_primal", "integer_tangent", "other_shape",
                                      "dual_of_a_dual", "float32_tangent", "not_a_tensor"])
def test_forward_ad_refuses_what_pytorch_refuses(scenario):
    want, got = _dual_outcome(torch, scenario), _dual_outcome(cr, scenario)
    assert isinstance(got, Exception) == isinstance(want, Exception), f"{want!r} {got!r}"
    if scenario == "float32_tangent":
        assert str(got[0]) == str(want[0])[6:]
        _same(got[1], want[1], tol=1e-12)
    if scenario == "not_a_tensor":  # outside a level it is given back
        assert tuple(cr.autograd.forward_ad.unpack_dual(3.0)) == (3.0, None)


def _forward_ad_run(lib, x, w, t, tw, rg, outer_grad=True):
    fw = lib.autograd.forward_ad
    xs = [lib.tensor(x, requires_grad=0 in rg), lib.tensor(w, requires_grad=1 in rg)]
    with lib.set_grad_enabled(outer_grad), fw.dual_level():
        a, b = fw.make_dual(xs[0], lib.tensor(t)), fw.make_dual(xs[1], lib.tensor(tw))
        h = (a @ b).tanh() * a.sum(1, keepdim=True)
        outs = [fw.unpack_dual(h), fw.unpack_dual((a ** 2).sum()), fw.unpack_dual(xs[0] * 2),
                fw.unpack_dual(b)]
    assert fw.unpack_dual(h).tangent is None  # the tangents are gone with the level
    flags = [(p.requires_grad, None if d is None else d.requires_grad) for p, d in outs]
    if outs[0].primal.requires_grad:
        (outs[0].tangent.sum() + outs[0].primal.sum()).backward()
    return outs, flags, [None if v.grad is None else v.grad for v in xs]


@pytest.mark.parametrize("rg", [(), (1,), (0, 1)])
@pytest.mark.parametrize("outer_grad", [True, False])
def test_forward_ad_values_graphs_and_reverse_over_forward(rg, outer_grad):
    """Tangents, which results require grad (an input that requires grad keeps its graph, under
    an outer no_grad nothing does), tangent None for what depends on no dual input, and the
    gradient of a tangent (reverse over forward), as PyTorch's."""
    x, w, t, tw = N(3, 4), N(4, 2), N(3, 4), N(4, 2)
    want = _forward_ad_run(torch, x, w, t, tw, rg, outer_grad)
    got = _forward_ad_run(cr, x, w, t, tw, rg, outer_grad)
    assert got[1] == want[1]
    for (gp, gt), (wp, wt) in zip(got[0], want[0]):
        _same(gp, wp, tol=1e-12)
        assert (gt is None) == (wt is None)
        if wt is not None:
            _same(gt, wt, tol=1e-10)
    for g, gw in zip(got[2], want[2]):
        assert (g is None) == (gw is None)
        if gw is not None:
            _same(g, gw, tol=1e-10)
    assert cr.is_grad_enabled()


def test_forward_ad_through_a_model_by_functional_call():
    """The tangent of a model's output along a direction in its weights (make_dual of each
    parameter, functional_call), as PyTorch's forward-AD tutorial computes it."""
    x, v = N(5, 4), {"0.weight": N(3, 4), "0.bias": N(3), "2.weight": N(2, 3), "2.bias": N(2)}
    results = []
    for lib in (torch, cr):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.GELU(), lib.nn.Linear(3, 2))
        model = model.double()
        with lib.no_grad():
            for k, p in model.named_parameters():
                p.copy_(lib.tensor(np.cos(np.arange(p.numel()) + len(k)).reshape(tuple(p.shape))))
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            params = {k: fw.make_dual(p, lib.tensor(v[k])) for k, p in model.named_parameters()}
            out = lib.func.functional_call(model, params, (lib.tensor(x),))
            loss = lib.nn.functional.cross_entropy(out, lib.tensor(np.array([0, 1, 1, 0, 1])))
            results.append((fw.unpack_dual(out), fw.unpack_dual(loss)))
    for (got, want) in zip(results[1], results[0]):
        _same(got.primal, want.primal, tol=1e-12)
        _same(got.tangent, want.tangent, tol=1e-10)


def test_forward_ad_tangent_that_requires_grad_and_unpack_under_no_grad():
    results = []
    for lib in (torch, cr):
        fw = lib.autograd.forward_ad
        v = lib.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(np.arange(3.0)), v * 2)
            y = (d ** 2).sin().sum()
            with lib.no_grad():  # unpacking records what it needs anyway
                inner = fw.unpack_dual(y).tangent
            primal, tangent = fw.unpack_dual(y)
            assert not primal.requires_grad and tangent.requires_grad
            tangent.backward()
        results.append((inner, tangent, v.grad))
    for got, want in zip(results[1], results[0]):
        _same(got, want, tol=1e-12)


def _transform_scenarios():
    x, y, t, s = N(2, 3), N(3), N(2, 3), N(3)

    def T(L, a, dtype="float64"):
        return L.tensor(a, dtype=getattr(L, dtype))

    def under_no_grad(L):
        with L.no_grad():
            return L.func.jvp(lambda a: a.sin(), (T(L, y),), (T(L, s),))

    jvp = {
        "two_primals": lambda L: L.func.jvp(lambda a, b: a * b, (T(L, x), T(L, y)),
                                            (T(L, t), T(L, s))),
        "dict_primal": lambda L: L.func.jvp(lambda d: d["a"].sin() + d["b"],
                                            ({"a": T(L, x), "b": T(L, y)},),
                                            ({"a": T(L, t), "b": T(L, s)},)),
        "has_aux": lambda L: L.func.jvp(lambda a: (a.exp(), a.sum()), (T(L, x),), (T(L, t),),
                                        has_aux=True),
        "nested_outputs": lambda L: L.func.jvp(lambda a: (a.exp(), [a.sum(), a * 2]),
                                               (T(L, x),), (T(L, t),)),
        "float32": lambda L: L.func.jvp(lambda a: a.exp(), (T(L, x, "float32"),),
                                        (T(L, t, "float32"),)),
        "to_float32": lambda L: L.func.jvp(lambda a: a.float() * 2, (T(L, x),), (T(L, t),)),
        "constant_output": lambda L: L.func.jvp(lambda a: L.ones(3, dtype=L.float64),
                                                (T(L, x),), (T(L, t),)),
        "integer_output": lambda L: L.func.jvp(lambda a: ((a > 0).long(), a.sin()), (T(L, x),),
                                               (T(L, t),)),
        "strict": lambda L: L.func.jvp(lambda a: a * 0 + 1, (T(L, x),), (T(L, t),), strict=True),
        "strict_constant": lambda L: L.func.jvp(lambda a: (a.sin(), L.ones(2)), (T(L, x),),
                                                (T(L, t),), strict=True),
        "strict_integer": lambda L: L.func.jvp(lambda a: (a > 0).long(), (T(L, x),), (T(L, t),),
                                               strict=True),
        "tangent_shape": lambda L: L.func.jvp(lambda a: a.exp(), (T(L, x),), (T(L, s),)),
        "integer_primal": lambda L: L.func.jvp(lambda a: a * 2, (L.tensor(np.arange(3)),),
                                               (L.tensor(np.arange(3)),)),
        "missing_tangent": lambda L: L.func.jvp(lambda a, b: a * b, (T(L, x), T(L, y)),
                                                (T(L, t),)),
        "float_output": lambda L: L.func.jvp(lambda a: 3.0, (T(L, x),), (T(L, t),)),
        "aux_missing": lambda L: L.func.jvp(lambda a: a.exp(), (T(L, x),), (T(L, t),),
                                            has_aux=True),
        "jvp_of_jvp": lambda L: L.func.jvp(lambda a: L.func.jvp(
            lambda b: b.sin() * b, (a,), (T(L, t),))[1], (T(L, x),), (T(L, t),)),
        "vmap_of_jvp": lambda L: L.func.vmap(lambda a, ta: L.func.jvp(
            lambda b: b.sin().sum(), (a,), (ta,)))(T(L, x), T(L, t)),
        "jvp_of_vmap": lambda L: L.func.jvp(L.func.vmap(lambda b: b.sin() @ b), (T(L, x),),
                                            (T(L, t),)),
        "jvp_of_grad": lambda L: L.func.jvp(L.func.grad(lambda d: (d["a"] ** 3).sum()),
                                            ({"a": T(L, y)},), ({"a": T(L, s)},)),
        "requires_grad_primal": lambda L: L.func.jvp(
            lambda a: a.sin(), (L.tensor(y, requires_grad=True),), (T(L, s),)),
        "under_no_grad": under_no_grad,
        "empty": lambda L: L.func.jvp(lambda a: a.sin(), (L.zeros(0, dtype=L.float64),),
                                      (L.zeros(0, dtype=L.float64),)),
        "in_place_inside": lambda L: L.func.jvp(lambda a: a.clone().mul_(2).add_(a),
                                                (T(L, y),), (T(L, s),)),
        "linearize": lambda L: L.func.linearize(lambda a: a.sin() * a, T(L, y))[1](T(L, s)),
    }
    jac = {
        "jacfwd_jacfwd": lambda L: L.func.jacfwd(L.func.jacfwd(lambda a: (a ** 3).prod()))(
            T(L, y)),
        "jacfwd_aux": lambda L: L.func.jacfwd(lambda a: (a.sin(), a.sum()), has_aux=True)(
            T(L, y)),
        "jacfwd_argnums": lambda L: L.func.jacfwd(lambda a, b: a @ b, argnums=(0, 1))(
            T(L, x), T(L, y)),
        "jacfwd_dict": lambda L: L.func.jacfwd(lambda d: d["a"] * d["b"].sum())(
            {"a": T(L, y), "b": T(L, x)}),
        "jacfwd_to_float32": lambda L: L.func.jacfwd(lambda a: (a.float(), a.sin()))(T(L, y)),
        "jacrev_to_float32": lambda L: L.func.jacrev(lambda a: (a.float(), a.sin()))(T(L, y)),
        "jacfwd_integer_output": lambda L: L.func.jacfwd(lambda a: (a.sin(), (a > 0).long()))(
            T(L, y)),
        "jacrev_integer_output": lambda L: L.func.jacrev(lambda a: (a.sin(), (a > 0).long()))(
            T(L, y)),
        "vjp_integer_output": lambda L: L.func.vjp(lambda a: (a > 0).long(), T(L, y))[0],
        "jacfwd_integer_input": lambda L: L.func.jacfwd(lambda a: a * 2)(L.tensor(np.arange(3))),
        "jacfwd_0d_input": lambda L: L.func.jacfwd(lambda a: L.stack([a, a ** 2]))(
            L.tensor(2.0, dtype=L.float64)),
        "jacfwd_empty": lambda L: L.func.jacfwd(lambda a: a.float() * 2)(
            L.zeros(0, dtype=L.float64)),
        "jacfwd_randomness": lambda L: L.func.jacfwd(lambda a: a * 2, randomness="bad")(T(L, y)),
        "hessian_argnums": lambda L: L.func.hessian(lambda a, b: (a.sin() * b).sum(), 1)(
            T(L, y), T(L, y)),
    }
    return {**jvp, **jac}


@pytest.mark.parametrize("name", sorted(_transform_scenarios()))
def test_func_transforms_raise_and_compute_as_pytorch(name):
    """func.jvp of a function with an integer output raised a TypeError (PyTorch's tangent is
    zeros of the output's dtype); strict=True was refused (PyTorch's raises only for an output
    that does not depend on the primals); jacfwd had the input's dtype (forward mode's has the
    output's, an integer output's is zeros) and jacrev/vjp accepted integer outputs, which
    PyTorch's refuse."""
    scenario = _transform_scenarios()[name]
    errors = (RuntimeError, ValueError, TypeError)
    try:
        with warnings.catch_warnings():  # torch.func.linearize's tracer warns
            warnings.simplefilter("ignore")
            want = scenario(torch)
    except errors as e:
        want = e
    try:
        got = scenario(cr)
    except errors as e:
        got = e
    if isinstance(want, Exception) or isinstance(got, Exception):
        assert isinstance(want, Exception) and isinstance(got, Exception), f"{want!r} {got!r}"
        return
    flat_got, flat_want = _flat(got), _flat(want)
    assert len(flat_got) == len(flat_want)
    for g, w in zip(flat_got, flat_want):
        assert g.requires_grad == w.requires_grad, name
    _same(flat_got, flat_want, tol=1e-10, what=name)


def _flat(tree):
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _flat(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _flat(item)]
    return [tree]


@pytest.mark.parametrize("name", ["norm", "vector_norm", "linalg_norm", "norm_all"])
def test_second_order_of_the_euclidean_norm_at_zero(name):
    """The gradient x / ||x|| is 0 at a zero vector, and PyTorch's derivative of it there is 0
    too; chainrule's was the identity (x over a stand-in norm of 1), so Hessians and
    forward-over-reverse products through a norm of a zero row differed."""
    f = {"norm": lambda L, a: a.norm(dim=1),
         "vector_norm": lambda L, a: L.linalg.vector_norm(a, dim=1),
         "linalg_norm": lambda L, a: L.linalg.norm(a, dim=1),
         "norm_all": lambda L, a: a[0].norm().reshape(1)}[name]
    x, w = np.array([[0.0, 0, 0], [1, 2, -1]]), np.array([0.7, -1.3])
    results = []
    for lib in (torch, cr):
        def loss(a, lib=lib):
            out = f(lib, a)
            return (out * lib.tensor(w[:out.shape[0]])).sum()
        results.append(lib.func.jacfwd(lib.func.grad(loss))(lib.tensor(x)))
    _same(results[1], results[0], tol=1e-12)
    t = cr.tensor(x + 0.5, requires_grad=True)
    assert cr.gradgradcheck(lambda a: f(cr, a), [t])


WEIGHTED_LOSSES = {
    "cross_entropy": lambda L, x, w: F(L).cross_entropy(x, _ix(L, 0, 2, 1), weight=w),
    "cross_entropy_smoothing": lambda L, x, w: F(L).cross_entropy(x, _ix(L, 0, 2, 1), weight=w,
                                                                  label_smoothing=0.1),
    "nll_loss": lambda L, x, w: F(L).nll_loss(x, _ix(L, 0, 2, 1), weight=w),
    "binary_cross_entropy": lambda L, x, w: F(L).binary_cross_entropy(
        x.sigmoid(), L.tensor(np.full((3, 4), 0.3)), weight=w),
    "bce_with_logits_weight": lambda L, x, w: F(L).binary_cross_entropy_with_logits(
        x, L.tensor(np.full((3, 4), 0.3)), weight=w),
    "bce_with_logits_pos_weight": lambda L, x, w: F(L).binary_cross_entropy_with_logits(
        x, L.tensor(np.full((3, 4), 0.3)), pos_weight=w),
    "multi_margin_loss": lambda L, x, w: F(L).multi_margin_loss(x, _ix(L, 0, 2, 1), weight=w),
    "batch_norm_running_mean": lambda L, x, w: F(L).batch_norm(x, w, w.detach() + 1),
    "batch_norm_running_var": lambda L, x, w: F(L).batch_norm(x, w.detach(), w, training=True),
}


@pytest.mark.parametrize("name", sorted(WEIGHTED_LOSSES))
def test_a_class_weight_that_requires_grad_is_refused(name):
    """These losses are not differentiated with respect to their weights, nor batch_norm with
    respect to its running statistics: PyTorch raises where one requires grad; chainrule
    computed and silently gave it no gradient (and jvp no term for its tangent). Under no_grad
    both compute."""
    x, w = N(3, 4), P(4)
    loss = WEIGHTED_LOSSES[name]
    values = []
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="differentiable with respect to"):
            loss(lib, lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True))
        with lib.no_grad():
            values.append(loss(lib, lib.tensor(x), lib.tensor(w, requires_grad=True)))
    _same(values[1], values[0], tol=1e-12)
    with pytest.raises(RuntimeError, match="differentiable with respect to"):
        cr.func.jvp(lambda a: loss(cr, cr.tensor(x), a), (cr.tensor(w),), (cr.tensor(w),))


def _higher_order(L):
    x0, v0, w0 = np.linspace(-1, 1, 3), np.array([0.3, -0.7, 1.1]), np.cos(np.arange(9.0))
    w, fun = L.tensor(w0.reshape(3, 3)), L.autograd.functional

    def f(x):
        return (w @ x).tanh() * x.sin()

    def s(x):
        return ((w @ x).tanh() ** 2).sum() * x.exp().sum()

    calls = {
        "jvp": lambda x, v: fun.jvp(f, x, v, create_graph=True)[1],
        "vjp": lambda x, v: fun.vjp(f, x, v, create_graph=True)[1],
        "hvp": lambda x, v: fun.hvp(s, x, v, create_graph=True)[1],
        "vhp": lambda x, v: fun.vhp(s, x, v, create_graph=True)[1],
        "jacobian": lambda x, v: fun.jacobian(f, x, create_graph=True) * v,
        "hessian": lambda x, v: fun.hessian(s, x, create_graph=True) * v,
        "func_jvp": lambda x, v: L.func.jvp(f, (x,), (v,))[1],
        "jacfwd": lambda x, v: L.func.jacfwd(f)(x) * v,
    }
    grads = []
    for call in calls.values():
        x, v = L.tensor(x0, requires_grad=True), L.tensor(v0, requires_grad=True)
        (call(x, v) ** 2).sum().backward()
        grads += [x.grad, v.grad]
    return grads


def test_reverse_over_forward_and_create_graph_match_pytorch():
    """The backward of what autograd.functional returns with create_graph, and of func.jvp's and
    jacfwd's results, reaches the inputs and the tangents as PyTorch's."""
    _same(_higher_order(cr), _higher_order(torch), tol=1e-10)
