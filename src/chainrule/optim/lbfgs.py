"""L-BFGS (Liu & Nocedal, 1989), a quasi-Newton method, with PyTorch's interface and iterates."""

from __future__ import annotations

from ..autograd import Tensor, enable_grad
from ..backend import device_of, get_array_module, numpy, quiet, to_device
from ._line_search import strong_wolfe
from ._state import as_array, as_real
from .optimizer import Optimizer, check_number

__all__ = ["LBFGS"]

_STATE_KEYS = ("func_evals", "n_iter", "al", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
               "prev_flat_grad", "prev_loss")
_NUMBERS = ("func_evals", "n_iter", "t", "prev_loss")


class LBFGS(Optimizer):
    r"""Limited-memory BFGS: Newton-like steps from the last ``history_size`` gradient changes.

    With ``s_k = x_{k+1} - x_k`` and ``y_k = g_{k+1} - g_k`` (kept when ``y.s > 1e-10``, which
    keeps the implied inverse Hessian positive definite), the direction ``d = -H g`` comes from
    the two-loop recursion (Nocedal & Wright, Algorithm 7.4), ``rho_i = 1 / (y_i.s_i)``::

        q = -g
        for i = k-1 .. k-m:  a_i = rho_i s_i.q;   q = q - a_i y_i
        r = gamma q,         gamma = s_{k-1}.y_{k-1} / y_{k-1}.y_{k-1}   (H_diag; 1 at first)
        for i = k-m .. k-1:  b_i = rho_i y_i.r;   r = r + (a_i - b_i) s_i
        d = r;   x = x + t d

    The step ``t`` is ``lr`` (the first iteration ``min(1, 1/|g|_1) lr``), or the strong-Wolfe
    line search's (``_line_search.py``) with ``line_search_fn="strong_wolfe"``. One ``step``
    runs up to ``max_iter`` such iterations and evaluates ``closure`` (which must clear the
    gradients, compute the loss, call backward and return the loss) up to ``max_eval`` times; it
    stops early when the gradient's largest entry is at most ``tolerance_grad`` or the step or
    the loss changes by less than ``tolerance_change``. The state (in ``state[params[0]]``, keys
    and types as PyTorch's: Tensors ``d``, ``prev_flat_grad``, ``H_diag`` (1 until the first
    curvature pair), lists of Tensors ``old_dirs``, ``old_stps``, ``ro`` and the work list ``al``;
    numbers ``func_evals``, ``n_iter``, ``t``, ``prev_loss``) carries the history across calls of
    ``step``. In float64 the iterates are PyTorch's to rounding.

    Args:
        params: the Tensors to optimize (one parameter group; all are viewed as one flat vector).
        lr: learning rate (the step along ``d``, or the line search's first trial).
        max_iter: the most iterations per ``step``.
        max_eval: the most closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when ``max |g| <= tolerance_grad``.
        tolerance_change: stop when the step or the change of the loss is smaller.
        history_size: how many pairs ``(s, y)`` to keep.
        line_search_fn: None (fixed step) or ``"strong_wolfe"``.

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.5, 2.0], dtype=cr.float64, requires_grad=True)
    >>> opt = LBFGS([x], max_iter=100, tolerance_change=1e-14, line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2   # Rosenbrock
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> [round(v, 6) for v in x.tolist()]
    [1.0, 1.0]
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if max_eval is None and isinstance(max_iter, int) and not isinstance(max_iter, bool):
            max_eval = max_iter * 5 // 4
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                f"LBFGS: supports one parameter group (the parameters form one vector), got "
                f"{len(self.param_groups)}"
            )
        self._params = self.param_groups[0]["params"]

    def _check_hyperparameters(self, h: dict, where: str) -> None:
        check_number("LBFGS", "lr", h["lr"], where)
        for key in ("max_iter", "max_eval", "history_size"):
            value = h[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"LBFGS: {key} must be an integer >= 1, got {value!r}{where}")
        check_number("LBFGS", "tolerance_grad", h["tolerance_grad"], where)
        check_number("LBFGS", "tolerance_change", h["tolerance_change"], where)
        if h["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                "LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                f"{h['line_search_fn']!r}{where}"
            )

    def _flat_grad(self):
        """The parameters' gradients as one vector (zeros for a parameter without one)."""
        xp = get_array_module(self._params[0]._data)
        return xp.concatenate([
            xp.zeros(_real(p._data).size, p._data.real.dtype) if p.grad is None
            else _real(p.grad._data).ravel() for p in self._params
        ])

    def _add(self, t, d) -> None:
        """``x = x + t d`` on the parameters, in place (a change backward can see)."""
        offset = 0
        for p in self._params:
            x = _real(p._writable())
            n = x.size
            x[...] += t * d[offset:offset + n].reshape(x.shape)
            p._mark_changed()
            offset += n

    def _set(self, values) -> None:
        for p, v in zip(self._params, values, strict=True):
            p._writable()[...] = v
            p._mark_changed()

    def _evaluate(self, closure) -> float:
        return float(self._call(closure))

    def _call(self, closure):
        """``closure()`` with gradient recording on and NumPy's warnings as the caller had them
        (the step's own arithmetic runs without them, as every optimizer's step)."""
        with numpy.errstate(**self._caller_errors), enable_grad():
            return closure()

    def step(self, closure=None):
        """Run up to ``max_iter`` iterations; ``closure`` (required) recomputes loss and gradients.

        Returns:
            The loss the first evaluation of ``closure`` returned (before any update).
        """
        if closure is None:
            raise TypeError("LBFGS.step: needs a closure that clears the gradients, computes "
                            "the loss, calls backward and returns the loss")
        if len(self.param_groups) != 1:  # add_param_group after construction: PyTorch's refusal
            raise ValueError(f"LBFGS.step: expected exactly one param_group, but got "
                             f"{len(self.param_groups)} (LBFGS optimizes one vector of parameters)")
        self._caller_errors = numpy.geterr()
        with quiet(numpy):  # no NumPy warnings: inf, nan silent as PyTorch's (Optimizer.step)
            return self._iterate(closure)

    def _iterate(self, closure):
        """``step``'s iterations."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._call(closure)
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if abs(flat_grad).max() <= tol_grad:
            return orig_loss

        # the arrays of the state's Tensors (new lists: the state's are replaced at the end)
        d, t = _arrays(state.get("d")), state.get("t")
        old_dirs, old_stps = _arrays(state.get("old_dirs")), _arrays(state.get("old_stps"))
        ro, h_diag = _arrays(state.get("ro")), _arrays(state.get("H_diag"))
        prev_flat_grad, prev_loss = _arrays(state.get("prev_flat_grad")), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, h_diag = -flat_grad, [], [], [], 1
            else:
                y, s = flat_grad - prev_flat_grad, d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                d, alpha = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag)
                al = state.setdefault("al", [None] * history_size)  # PyTorch's work list
                al.extend([None] * (len(alpha) - len(al)))
                al[:len(alpha)] = _tensors(alpha)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tol_change:  # not a descent direction: nothing more to gain
                break
            ls_evals = 0
            opt_cond = False
            if line_search is not None:
                x0 = [p._data.copy() for p in self._params]

                def evaluate(step, x0=x0, d=d):
                    self._add(step, d)
                    f = self._evaluate(closure)
                    g = self._flat_grad()
                    self._set(x0)
                    return f, g

                # the search may spend what is left of max_eval, as PyTorch's
                loss, flat_grad, t, ls_evals = strong_wolfe(evaluate, t, d, loss, flat_grad,
                                                            float(gtd), max_ls=max_eval - evals)
                self._add(t, d)
                opt_cond = abs(flat_grad).max() <= tol_grad
            else:
                self._add(t, d)
                if n_iter != max_iter:  # the last iteration's loss is left to the next call
                    loss = self._evaluate(closure)
                    flat_grad = self._flat_grad()
                    opt_cond = abs(flat_grad).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if (n_iter == max_iter or evals >= max_eval or opt_cond
                    or abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change):
                break

        state.update({"d": Tensor(d), "t": float(t), "old_dirs": _tensors(old_dirs),
                      "old_stps": _tensors(old_stps), "ro": _tensors(ro),
                      "H_diag": _tensors(h_diag), "prev_flat_grad": Tensor(prev_flat_grad),
                      "prev_loss": prev_loss})
        return orig_loss

    def _expected_state_shape(self, key: str, shape: tuple):
        """Flat vectors of all the parameters, not of ``params[0]``'s shape."""
        return None

    def _restore_entry(self, name: str, key: str, value, p: Tensor):
        """LBFGS's state holds flat vectors and lists of them, not Tensors of ``p``'s shape;
        its counts, step and loss are numbers (a 0-d tensor given for one is read as one)."""
        if key not in _STATE_KEYS:
            raise ValueError(f"{name}: unknown LBFGS state entry {key!r}; expected some of "
                             f"{', '.join(_STATE_KEYS)}")
        if isinstance(value, list):
            return [self._restore_entry(name, key, v, p) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        arr = as_array(value)
        if key in _NUMBERS:
            return arr.item()
        arr = to_device(arr, device_of(p._data))
        dtype = p._data.real.dtype if arr.dtype.kind == "f" else arr.dtype
        return Tensor(arr.astype(dtype, copy=True))


def _real(a):
    """A complex array's real view (the real and imaginary parts are separate coordinates, as
    PyTorch's LBFGS takes them); a real array itself."""
    return as_real(a) if a.dtype.kind == "c" else a


def _arrays(value):
    """The array of a state Tensor, the arrays of a list of them; anything else as it is."""
    if isinstance(value, list):
        return [_arrays(v) for v in value]
    return value._data if isinstance(value, Tensor) else value


def _tensors(value):
    """Arrays (and the NumPy scalars of dot products) as Tensors, lists of them as lists of
    Tensors; a Python int or float (``H_diag``'s first 1) as it is."""
    if isinstance(value, list):
        return [_tensors(v) for v in value]
    if value is None or type(value) in (int, float):
        return value
    return Tensor(get_array_module(value).asarray(value))


def _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag):
    """``d = -H g`` by the two-loop recursion of the class docstring, and the ``a_i``."""
    alpha = [0.0] * len(old_dirs)
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        alpha[i] = old_stps[i].dot(q) * ro[i]
        q -= alpha[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        beta = old_dirs[i].dot(r) * ro[i]
        r += (alpha[i] - beta) * old_stps[i]
    return r, alpha
