"""Array-level kernels: each one's plain NumPy reference beside its fast versions.

An op in ``chainrule.ops`` reads as the mathematics and calls these for array-level work. Every
kernel here is a pair (or more) of functions:

- ``<name>_reference``: the plain NumPy (or CuPy) formula, written to be read and trusted;
- ``<name>``: the fast version, which takes faster routes where they pay (a memory order BLAS
  prefers, a compiled numba sweep, a fused CuPy kernel) and otherwise calls the reference.

The ops call a kernel by name through the table ``K`` (``K.affine(x, w, b)``): it holds the fast
versions, or the references while reference mode is on (``chainrule.reference_mode()``), so that
stepping into a kernel in reference mode lands directly on its plain formula. Both of a pair take
the same arguments; a reference ignores those that only steer the fast routes. The tests hold
each fast route equal to its reference (tests/kernels). ``fast()`` says whether fast routes are
allowed now, for code outside the table.
"""

from __future__ import annotations

from ..backend.settings import config
from . import bayes, convolution, cross_entropy, gemm, gru, lstm, pooling, relu, scatter
from .half import sums_in_float32

__all__ = ["K", "PAIRS", "fast"]


def fast() -> bool:
    """Whether kernels may take their fast routes (False in ``chainrule.reference_mode()``)."""
    return not config.reference_mode


# name -> (fast version, plain reference), the kernels the ops call through ``K``.
PAIRS = {
    "affine": (gemm.affine, gemm.affine_reference),
    "matmul": (gemm.matmul, gemm.matmul_reference),
    "matmul_batch_last": (gemm.matmul_batch_last, gemm.matmul_reference),
    "column_sums": (gemm.column_sums, gemm.column_sums_reference),
    "relu": (relu.relu, relu.relu_reference),
    "affine_relu": (relu.affine_relu, relu.affine_relu_reference),
    "relu_grad": (relu.relu_grad, relu.relu_grad_reference),
    # float16 sums in float32 (``half``); the fast forward's GEMM is that accurate already
    "convolve": (convolution.convolve, sums_in_float32(convolution.convolve_reference)),
    "convolve_transpose": (sums_in_float32(convolution.convolve_transpose),
                           sums_in_float32(convolution.convolve_transpose_reference)),
    "filter_gradient": (sums_in_float32(convolution.filter_gradient),
                        sums_in_float32(convolution.filter_gradient_reference)),
    "channel_sums": (convolution.channel_sums, convolution.channel_sums_reference),
    "columns_of": (convolution.columns_of, convolution.columns_of_reference),
    "extremum_pool": (pooling.extremum_pool, pooling.extremum_pool_reference),
    "route_to_winners": (pooling.route_to_winners, pooling.route_to_winners_reference),
    "gather_at_winners": (pooling.gather_at_winners, pooling.gather_at_winners),
    "average_pool": (sums_in_float32(pooling.average_pool),
                     sums_in_float32(pooling.average_pool_reference)),
    "spread_over_windows": (sums_in_float32(pooling.spread_over_windows),
                            sums_in_float32(pooling.spread_over_windows_reference)),
    "scatter_add": (scatter.scatter_add, scatter.scatter_add_reference),
    "softmax_cross_entropy": (cross_entropy.softmax_cross_entropy,
                              cross_entropy.softmax_cross_entropy_reference),
    # A sequence's backward reads what its forward saved, whichever version ran: ops call
    # ``lstm.lstm_backward`` / ``gru.gru_backward``, which take the matching route.
    "lstm_forward": (lstm.lstm_forward, lstm.lstm_forward_reference),
    "gru_forward": (gru.gru_forward, gru.gru_forward_reference),
    "softplus_and_slope": (bayes.softplus_and_slope, bayes.softplus_and_slope_reference),
    "gaussian_draw": (bayes.gaussian_draw, bayes.gaussian_draw_reference),
    "gaussian_kl": (bayes.gaussian_kl, bayes.gaussian_kl_reference),
    "gaussian_kl_grads": (bayes.gaussian_kl_grads, bayes.gaussian_kl_grads_reference),
    "standard_normal": (bayes.standard_normal, bayes.standard_normal_reference),
}


class KernelTable:
    """The kernels the ops call, by name: the fast versions, or the references in reference mode.

    Chosen again whenever ``config.reference_mode`` is assigned (``chainrule.reference_mode()``,
    ``set_reference_mode``), so a call costs one attribute lookup and no test of the mode.
    """

    reference: bool

    def choose(self, reference: bool) -> None:
        for name, (fast_version, reference_version) in PAIRS.items():
            setattr(self, name, reference_version if reference else fast_version)
        self.reference = bool(reference)

    def __repr__(self) -> str:
        return f"<kernel table: {'references' if self.reference else 'fast versions'}>"


K = KernelTable()
K.choose(config.reference_mode)
config._on_change("reference_mode", K.choose)
