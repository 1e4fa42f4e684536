"""Bernoulli-Bernoulli restricted Boltzmann machines trained by contrastive divergence.

An RBM over binary visible units v (n_visible) and hidden units h (n_hidden) has the energy

    E(v, h) = -b.v - c.h - v^T W h          (W: (n_visible, n_hidden), b visible, c hidden bias)

and p(v, h) = exp(-E(v, h)) / Z. No two units of one layer are connected, so both conditionals
factorise into logistic units, p(h_j = 1 | v) = sigmoid(c_j + (v W)_j) and
p(v_i = 1 | h) = sigmoid(b_i + (W h)_i), and summing h out gives the free energy

    F(v) = -b.v - sum_j softplus(c_j + (v W)_j),      p(v) = exp(-F(v)) / Z.

The log-likelihood gradient is <v h^T>_data - <v h^T>_model; contrastive divergence (CD-k)
replaces the model expectation by the statistics after k steps of Gibbs sampling started at the
data, persistent CD (PCD, Tieleman 2008) by those of chains that carry over from one update to the
next. The update follows Hinton's "A Practical Guide to Training Restricted Boltzmann Machines"
(2010): hidden units driven by data are sampled (binary), the positive statistics use their
probabilities, visible units are reconstructed as probabilities (``sample_visible=True`` samples
them), the last hidden update of the chain uses probabilities; the step is
``velocity = momentum * velocity + lr * (gradient - weight_decay * W)`` (weight decay on W only),
``parameter += velocity``.

Random draws come from the ``rng`` Generator in a fixed order, so a seeded run repeats bit for bit:
per update, one uniform array (batch, n_hidden) for the data-driven hidden sample, then per Gibbs
step a (batch, n_visible) array if ``sample_visible`` and, except after the last step of CD, a
(batch, n_hidden) array for the next hidden sample. A unit is on where its uniform draw is below
its probability.
"""

from __future__ import annotations

import math

from .. import nn
from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from ..data import as_generator
from ..data.arguments import check_int, check_number
from ..nn._checks import float_dtype
from ..ops import softplus

__all__ = ["RBM", "cd_statistics", "free_energy"]

_PARAMETERS = ("weight", "visible_bias", "hidden_bias")


def _array(x):
    return x._data if isinstance(x, Tensor) else x


def _sigmoid(xp, a):
    e = xp.exp(-xp.abs(a))  # never overflows; small probabilities keep their relative precision
    return xp.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype)


def _check_k(who, k) -> int:
    return check_int(who, "k (Gibbs steps)", k, type_error=TypeError)  # not an int: TypeError


def _bernoulli(xp, p, rng):
    return (xp.asarray(rng.random(p.shape)) < p).astype(p.dtype)


def free_energy(v, weight, visible_bias, hidden_bias):
    """F(v) = -b.v - sum_j softplus(c_j + (v W)_j) per row of ``v``, differentiable in all four.

    Tensors (or arrays) v (batch, n_visible), weight W (n_visible, n_hidden), visible_bias b and
    hidden_bias c; ``RBM.free_energy`` checks its input and calls this.
    """
    v, w, b, c = (t if isinstance(t, Tensor) else Tensor(t)
                  for t in (v, weight, visible_bias, hidden_bias))
    return -(v * b).sum(1) - softplus(v @ w + c, threshold=math.inf).sum(1)


def cd_statistics(W, b, c, v0, k, rng, *, sample_visible=False, persistent=False, chain=None):
    """The CD-k (or, with ``chain``, PCD-k) gradient estimate of one batch, as arrays.

    Args:
        W, b, c: the RBM's weight (n_visible, n_hidden), visible and hidden bias arrays.
        v0: the data batch (batch, n_visible), values in [0, 1].
        k: Gibbs steps (>= 1).
        rng: the Generator (or int seed) the uniform draws come from (order: see the module
            docstring).
        sample_visible: sample the visible units in the chain instead of using probabilities.
        persistent: PCD: the negative phase continues ``chain`` instead of starting at the data.
        chain: the persistent chains' hidden states (n_chains, n_hidden); None with
            ``persistent`` starts them at this batch's hidden sample h0.

    Returns:
        ``(dW, db, dc, reconstruction, new_chain)``: the gradient estimates
        ``<v h>_data - <v h>_chain`` (means over the batch and over the chains), the first
        reconstruction p(v | h0) of the data, and the chains' new hidden states (binary samples
        of the last step; None for CD).
    """
    who = "cd_statistics"
    # k=0 failed with UnboundLocalError, seeds too
    k, rng = _check_k(who, k), as_generator(rng)
    nv, nh = W.shape if W.ndim == 2 else (-1, -1)
    if nv < 1 or b.shape != (nv,) or c.shape != (nh,) or v0.ndim != 2 or v0.shape[1] != nv or \
            (persistent and chain is not None and (chain.ndim != 2 or chain.shape[1] != nh)):
        raise ValueError(f"{who}: expected W (n_visible, n_hidden), b (n_visible,), c (n_hidden,),"
                         f" v0 (batch, n_visible) and chain (n_chains, n_hidden), got W "
                         f"{tuple(W.shape)}, b {tuple(b.shape)}, c {tuple(c.shape)}, v0 "
                         f"{tuple(v0.shape)}, chain "
                         f"{None if chain is None else tuple(chain.shape)}")
    xp = get_array_module(v0)
    ph0 = _sigmoid(xp, v0 @ W + c)
    h = _bernoulli(xp, ph0, rng)
    reconstruction = None
    if persistent:
        reconstruction = _sigmoid(xp, h @ W.T + b)
        h = h if chain is None else chain
    for step in range(k):
        pv = _sigmoid(xp, h @ W.T + b)
        if reconstruction is None:
            reconstruction = pv
        v = _bernoulli(xp, pv, rng) if sample_visible else pv
        ph = _sigmoid(xp, v @ W + c)
        if step < k - 1 or persistent:
            h = _bernoulli(xp, ph, rng)
    n, m = v0.shape[0], v.shape[0]
    dW = v0.T @ ph0 / n - v.T @ ph / m
    db = v0.mean(axis=0) - v.mean(axis=0)
    dc = ph0.mean(axis=0) - ph.mean(axis=0)
    return dW, db, dc, reconstruction, (h if persistent else None)


class RBM(nn.Module):
    """A Bernoulli-Bernoulli restricted Boltzmann machine.

    Args:
        n_visible, n_hidden: numbers of visible and hidden units.
        rng: Generator for the initial weights (N(0, 0.01^2), as Hinton's guide); biases start at 0
            (``init_visible_bias(x)`` sets b to the log-odds of the data's unit means).
        dtype: float32 (default) or float64.

    Attributes:
        weight (n_visible, n_hidden), visible_bias (n_visible,), hidden_bias (n_hidden,):
            ``Parameter``s W, b and c. A ``Linear(n_visible, n_hidden)`` computing p(h|v) through a
            sigmoid has weight W^T and bias c.
        weight_velocity, visible_bias_velocity, hidden_bias_velocity: the momentum's
            ``Buffer``s (zero until the first update).
        chain: PCD's persistent hidden states (n_chains, n_hidden), or None.

    ``state_dict()`` holds the parameters, the velocities and, under ``_extra_state``, the
    chains ((0, n_hidden) when there are none), so that training resumed from a saved state
    continues bit for bit as the run that was not interrupted (given the same ``rng`` state).

    ``forward(v)`` is p(h | v) as a Tensor.
    """

    def __init__(self, n_visible: int, n_hidden: int, *, rng=None, dtype=None):
        super().__init__()
        self.n_visible = check_int("RBM", "n_visible", n_visible)
        self.n_hidden = check_int("RBM", "n_hidden", n_hidden)
        xp = get_array_module()
        dt = float_dtype(dtype, "RBM")
        w = as_generator(rng).normal(0.0, 0.01, (self.n_visible, self.n_hidden))
        self.weight = nn.Parameter(xp.asarray(w, dtype=dt))
        self.visible_bias = nn.Parameter(xp.zeros(self.n_visible, dtype=dt))
        self.hidden_bias = nn.Parameter(xp.zeros(self.n_hidden, dtype=dt))
        for name in _PARAMETERS:  # the momentum's velocities, saved so that a run resumes exactly
            self.register_buffer(name + "_velocity", xp.zeros_like(getattr(self, name)._data))
        self.chain = None  # PCD's persistent hidden states, made by the first PCD update

    def extra_repr(self) -> str:
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}"

    def _data(self, who, v):
        """``v`` as a (batch, n_visible) array of the RBM's dtype, checked."""
        a = _array(v)
        xp = get_array_module(a)
        a = xp.asarray(a)
        if a.ndim < 2 and not (a.ndim == 1 and a.shape[0] == self.n_visible):
            raise ValueError(f"{who}: v must be (batch, {self.n_visible}) or (batch, ...) with "
                             f"{self.n_visible} values per sample, got shape {tuple(a.shape)}")
        a = a.reshape(1, -1) if a.ndim == 1 else a.reshape(a.shape[0], math.prod(a.shape[1:]))
        if a.shape[1] != self.n_visible or a.shape[0] == 0:
            raise ValueError(f"{who}: v must have {self.n_visible} values per sample (n_visible) "
                             f"and at least one sample, got shape {tuple(_array(v).shape)}")
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{who}: v must be real numbers in [0, 1], got dtype {a.dtype}")
        a = a.astype(self.weight._data.dtype)
        if not bool(xp.all((a >= 0) & (a <= 1))):
            bad = a[~((a >= 0) & (a <= 1))][0]
            raise ValueError(f"{who}: v must hold probabilities in [0, 1] (binary data or pixel "
                             f"intensities scaled to [0, 1]), got a value {float(bad)!r}")
        return a

    def forward(self, v):
        """p(h = 1 | v) = sigmoid(v W + c), differentiable."""
        v = v if isinstance(v, Tensor) else Tensor(self._data("RBM.forward", v))
        return (v @ self.weight + self.hidden_bias).sigmoid()

    def hidden_probabilities(self, v):
        """p(h = 1 | v) as an array (batch, n_hidden)."""
        a = self._data("RBM.hidden_probabilities", v)
        return _sigmoid(get_array_module(a), a @ self.weight._data + self.hidden_bias._data)

    def _hidden(self, who, h, rows=None):
        """``h`` as a (batch, n_hidden) array of the RBM's dtype with values in [0, 1], checked.

        Lists failed with AttributeError, and nan or values outside [0, 1] gave numbers silently.
        """
        a = _array(h)
        xp = get_array_module(a)
        a = xp.asarray(a)
        if a.ndim != 2 or a.shape[1] != self.n_hidden or rows not in (None, a.shape[0]):
            raise ValueError(f"{who}: h must be ({'batch' if rows is None else rows}, "
                             f"{self.n_hidden}), got shape {tuple(a.shape)}")
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{who}: h must be real numbers in [0, 1], got dtype {a.dtype}")
        a = a.astype(self.weight._data.dtype)
        if not bool(xp.all((a >= 0) & (a <= 1))):
            raise ValueError(f"{who}: h must hold hidden states or probabilities in [0, 1], got "
                             f"a value {float(a[~((a >= 0) & (a <= 1))][0])!r}")
        return a

    def visible_probabilities(self, h):
        """p(v = 1 | h) = sigmoid(h W^T + b) as an array (batch, n_visible)."""
        a = self._hidden("RBM.visible_probabilities", h)
        return _sigmoid(get_array_module(a), a @ self.weight._data.T + self.visible_bias._data)

    def energy(self, v, h):
        """E(v, h) = -b.v - c.h - v^T W h per sample, a Tensor (batch,)."""
        v = Tensor(self._data("RBM.energy", v))
        h = Tensor(self._hidden("RBM.energy", h, rows=v.shape[0]))
        return -(v * self.visible_bias).sum(1) - (h * self.hidden_bias).sum(1) \
            - ((v @ self.weight) * h).sum(1)

    def free_energy(self, v):
        """F(v) = -b.v - sum_j softplus(c_j + (v W)_j) per sample, a differentiable Tensor.

        Its gradient is minus the statistics CD uses: dF/dW = -v p(h|v)^T, dF/db = -v,
        dF/dc = -p(h|v).
        """
        return free_energy(self._data("RBM.free_energy", v), self.weight, self.visible_bias,
                           self.hidden_bias)

    def log_partition(self) -> float:
        """log Z, exactly, by summing exp(-F) over every state of the smaller layer (<= 20 units).

        Summing over the visible states uses F(v); over the hidden ones, the free energy of h,
        -c.h - sum_i softplus(b_i + (W h)_i), by the same algebra.
        """
        n = min(self.n_visible, self.n_hidden)
        if n > 20:
            raise ValueError(f"RBM.log_partition: exact only for a layer of at most 20 units, got "
                             f"n_visible={self.n_visible}, n_hidden={self.n_hidden}")
        xp = get_array_module(self.weight._data)
        W, b, c = (p._data.astype("float64") for p in (self.weight, self.visible_bias,
                                                        self.hidden_bias))
        if self.n_hidden < self.n_visible:
            W, b, c = W.T, c, b
        states = ((xp.arange(2 ** n)[:, None] >> xp.arange(n)) & 1).astype("float64")
        pre = states @ W + c
        neg_f = states @ b + (xp.maximum(pre, 0) + xp.log1p(xp.exp(-xp.abs(pre)))).sum(1)
        top = neg_f.max()
        return float(top + xp.log(xp.exp(neg_f - top).sum()))

    def log_likelihood(self, v) -> float:
        """Mean log p(v) = -F(v) - log Z over the batch (exact; small RBMs only).

        ``v`` must be binary: p is a distribution over binary states, and grey values in (0, 1)
        gave a number that is no log-likelihood, silently; they raise.
        """
        a = self._data("RBM.log_likelihood", v)
        if not bool(get_array_module(a).all((a == 0) | (a == 1))):
            raise ValueError("RBM.log_likelihood: v must be binary (0 or 1): p(v) is a "
                             "distribution over binary states (threshold grey values first)")
        with no_grad():
            f = self.free_energy(a)._data.astype("float64")
        return float(-f.mean() - self.log_partition())

    def reconstruction_error(self, v) -> float:
        """Mean squared error between v and p(v | p(h | v)) (mean-field, no sampling)."""
        a = self._data("RBM.reconstruction_error", v)
        recon = self.visible_probabilities(self.hidden_probabilities(a))
        return float(((a - recon) ** 2).mean())

    def init_visible_bias(self, v, eps: float = 1e-3) -> None:
        """Set b_i = log(p_i / (1 - p_i)), p_i unit i's mean in ``v`` clipped to [eps, 1-eps]."""
        # eps=0 gave -inf biases for units never on; eps >= 0.5 swapped the clip's bounds
        check_number("RBM.init_visible_bias", "eps", eps, above=0, below=0.5)
        a = self._data("RBM.init_visible_bias", v)
        p = get_array_module(a).clip(a.mean(axis=0), eps, 1 - eps)
        with no_grad():
            self.visible_bias.copy_(Tensor(get_array_module(p).log(p / (1 - p))))

    def contrastive_divergence(self, v, *, k: int = 1, lr: float = 0.1, momentum: float = 0.0,
                               weight_decay: float = 0.0, persistent: bool = False,
                               sample_visible: bool = False, rng=None) -> float:
        """One CD-k (or PCD-k, ``persistent=True``) update on the batch ``v``, in place.

        Args:
            v: data batch (batch, n_visible) (or (batch, ...)), values in [0, 1].
            k: Gibbs steps (>= 1).
            lr: learning rate; momentum: in [0, 1); weight_decay: L2 cost on W (not the biases).
            persistent: PCD: the negative phase continues ``self.chain`` (made from this batch's
                hidden sample on the first call; ``reset_chain()`` drops it).
            sample_visible: sample the chain's visible units instead of using probabilities.
            rng: Generator or int seed for the draws; None: the default generator.

        Returns:
            This batch's reconstruction error: mean squared error of v and p(v | h0).
        """
        who = "RBM.contrastive_divergence"
        k = _check_k(who, k)
        lr, weight_decay = (check_number(who, n, v, low=0) for n, v in
                            (("lr", lr), ("weight_decay", weight_decay)))
        momentum = check_number(who, "momentum", momentum, low=0, below=1)
        a = self._data(who, v)
        rng = as_generator(rng)
        W, b, c = self.weight._data, self.visible_bias._data, self.hidden_bias._data
        dW, db, dc, recon, chain = cd_statistics(W, b, c, a, k, rng, sample_visible=sample_visible,
                                                 persistent=persistent, chain=self.chain)
        if persistent:
            self.chain = chain
        for name, grad in zip(_PARAMETERS, (dW - weight_decay * W, db, dc)):
            velocity = getattr(self, name + "_velocity")
            step = (momentum * velocity._data + lr * grad).astype(W.dtype)
            with no_grad():
                velocity.copy_(Tensor(step))
                getattr(self, name).add_(Tensor(step))
        return float(((a - recon) ** 2).mean())

    def reset_chain(self) -> None:
        """Forget PCD's persistent chains and the momentum."""
        self.chain = None
        with no_grad():
            for name in _PARAMETERS:
                getattr(self, name + "_velocity").zero_()

    def get_extra_state(self):
        """PCD's chains for ``state_dict()``: a copy, (0, n_hidden) when there are none."""
        w = self.weight._data
        chain = get_array_module(w).zeros((0, self.n_hidden), w.dtype) if self.chain is None \
            else self.chain
        return Tensor(chain.astype(w.dtype))  # a copy, in the dtype of the weights after .to()

    def set_extra_state(self, state) -> None:
        """Take back the chains ``get_extra_state`` saved (binary, (n_chains, n_hidden))."""
        xp = get_array_module(self.weight._data)
        a = xp.asarray(_array(state))
        if a.ndim != 2 or a.shape[1] != self.n_hidden or not bool(xp.all((a == 0) | (a == 1))):
            raise ValueError(f"RBM.load_state_dict: _extra_state must be the persistent chains, "
                             f"binary (n_chains, {self.n_hidden}), got shape {tuple(a.shape)}")
        self.chain = a.astype(self.weight._data.dtype) if a.shape[0] else None
