"""Dirichlet (and Beta) draws whose gradient is PyTorch's: the implicit reparameterisation of
each coordinate's Beta marginal (Jankowiak and Obermeyer's pathwise derivative), a function of
the draw alone, rather than the gradient through the gamma variables it was made from (also
unbiased, but with more variance, and another number for the same draw).

For x ~ Beta(a, b) drawn at fixed noise u = I_x(a, b) (the regularised incomplete beta
function), dx/da = -(dI_x/da) / density(x). Below x = (a + 1) / (a + b + 2),
I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) h with h the continued fraction of Numerical Recipes'
``betacf``; above it, I_x(a, b) = 1 - I_(1-x)(b, a). The prefactor over the density is
x (1 - x) / a (or / b), so only h and its derivatives in the two parameters are needed; they
are carried through the modified Lentz recurrence alongside h (forward-mode differentiation).
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import asnumpy, get_array_module
from ..ops._gamma import digamma as _digamma_array

__all__ = ["beta_grad_a_array", "dirichlet_rsample"]

_TINY = 1e-300


def _betacf(y, p, q, wrt_q, xp):
    """h(y; p, q) with I_y(p, q) = y^p (1 - y)^q / (p B(p, q)) h, and dh/dp, dh/dq (each entry
    iterated until h and the one derivative it needs, dh/dq where ``wrt_q``, have converged)."""
    def step(alpha, da_p, da_q, state):
        d, dd_p, dd_q, c, dc_p, dc_q, h, dh_p, dh_q = state
        den = 1.0 + alpha * d
        den = xp.where(abs(den) < _TINY, _TINY, den)
        d_new = 1.0 / den
        dd_p, dd_q = (-d_new * d_new * (ga * d + alpha * gd)
                      for ga, gd in ((da_p, dd_p), (da_q, dd_q)))
        c_safe = xp.where(abs(c) < _TINY, _TINY, c)
        c_new = 1.0 + alpha / c_safe
        dc_p, dc_q = (ga / c_safe - alpha * gc / (c_safe * c_safe)
                      for ga, gc in ((da_p, dc_p), (da_q, dc_q)))
        c_new = xp.where(abs(c_new) < _TINY, _TINY, c_new)
        delta = d_new * c_new
        dh_p = dh_p * delta + h * (dd_p * c_new + d_new * dc_p)
        dh_q = dh_q * delta + h * (dd_q * c_new + d_new * dc_q)
        return (d_new, dd_p, dd_q, c_new, dc_p, dc_q, h * delta, dh_p, dh_q), delta

    zero = xp.zeros_like(y)
    # h = 1 / (1 + alpha_1 / (1 + alpha_2 / ...)), alpha_1 = -(p + q) y / (p + 1)
    alpha = -(p + q) * y / (p + 1)
    da_p = alpha * (1 / (p + q) - 1 / (p + 1))
    da_q = alpha / (p + q)
    d = 1.0 / (1.0 + alpha)
    state = (d, -d * d * da_p, -d * d * da_q, zero + 1.0, zero, zero, d, -d * d * da_p,
             -d * d * da_q)
    done = xp.zeros(y.shape, dtype=bool)
    for m in range(1, 100000):
        # even term: m (q - m) y / ((p + 2m - 1)(p + 2m))
        den = (p + 2 * m - 1) * (p + 2 * m)
        alpha = m * (q - m) * y / den
        da_p = alpha * (-1 / (p + 2 * m - 1) - 1 / (p + 2 * m))
        new, delta_even = step(alpha, da_p, m * y / den, state)
        # odd term: -(p + m)(p + q + m) y / ((p + 2m)(p + 2m + 1))
        alpha = -(p + m) * (p + q + m) * y / ((p + 2 * m) * (p + 2 * m + 1))
        da_p = alpha * (1 / (p + m) + 1 / (p + q + m) - 1 / (p + 2 * m) - 1 / (p + 2 * m + 1))
        new, delta_odd = step(alpha, da_p, alpha / (p + q + m), new)
        # an entry stops where it converged, the derivatives too (its fraction may end at a
        # zero term, after which the recurrence would go on with a tail that is not part of it)
        moved = abs(xp.where(wrt_q, new[8] - state[8], new[7] - state[7])) > 1e-15 * abs(
            xp.where(wrt_q, new[8], new[7]))
        state = tuple(xp.where(done, old, fresh) for old, fresh in zip(state, new))
        done = done | ~((abs(delta_even * delta_odd - 1.0) > 1e-15) | moved)
        if bool(done.all()):
            break
    return state[6], state[7], state[8]


def beta_grad_a_array(x, a, b):
    """dx/da of a Beta(a, b) draw ``x`` at fixed noise (arrays, float64)."""
    xp = get_array_module(x)
    x, a, b = xp.broadcast_arrays(*(xp.asarray(v, dtype=xp.float64) for v in (x, a, b)))
    inside = (x > 0) & (x < 1)
    x = xp.where(inside, x, 0.5)
    flip = x > (a + 1) / (a + b + 2)
    y = xp.where(flip, 1 - x, x)
    h, dh_p, dh_q = _betacf(y, xp.where(flip, b, a), xp.where(flip, a, b), flip, xp)
    psi = _digamma_array(a) - _digamma_array(a + b)
    log_x = xp.log(x)
    direct = -x * (1 - x) / a * (h * (log_x - 1 / a - psi) + dh_p)
    mirrored = x * (1 - x) / b * (h * (log_x - psi) + dh_q)
    return xp.where(inside, xp.where(flip, mirrored, direct), 0.0)


class _DirichletGrad(Function):
    """G_j = (dx_j/dalpha_j of the Beta(alpha_j, total - alpha_j) marginal) / (1 - x_j)."""

    def forward(self, x, concentration):
        xp = get_array_module(x)
        x64 = x.astype(xp.float64)
        c64 = concentration.astype(xp.float64)
        rest = c64.sum(-1, keepdims=True) - c64
        grad = beta_grad_a_array(x64, c64, rest) / xp.where(x64 < 1, 1 - x64, 1.0)
        return grad.astype(x.dtype, copy=False)

    def backward(self, g):
        raise NotImplementedError("the second derivative of a Dirichlet or Beta draw with respect "
                                  "to its concentration is not implemented (nor is it in PyTorch)")


class _DirichletDraw(Function):
    """Dirichlet draws (normalised gamma variables) of ``concentration``'s shape; the gradient
    of coordinate i in concentration j is G_j (delta_ij - x_i), as PyTorch's."""

    def forward(self, concentration):
        xp = get_array_module(concentration)
        z = xp.asarray(self.rng.standard_gamma(asnumpy(concentration).astype("float64")))
        total = z.sum(-1, keepdims=True)
        x = z / xp.where(total > 0, total, 1.0)
        return x.astype(concentration.dtype, copy=False)

    def backward(self, g):
        x, concentration = self.output, self.inputs[0]
        grad = _DirichletGrad.apply(x, concentration)
        return grad * (g - (x * g).sum(-1, keepdim=True))


def dirichlet_rsample(concentration, rng):
    """Dirichlet draws of the Tensor ``concentration`` (its last dimension the categories) from
    the numpy Generator ``rng``, with PyTorch's gradient."""
    return _DirichletDraw.apply(concentration, rng=rng)
