"""The optimizer base: parameter groups, per-parameter state, ``step()`` and state dicts.

A subclass states its hyperparameters (``defaults``), checks them in ``_check_hyperparameters``
and writes its update rule in ``_update(param, grad, group, state)`` on raw arrays, as the paper
writes it: ``param`` is updated in place, ``grad`` is read only (gradient arrays may be shared
between tensors). ``param`` is the parameter's writable array (the array the ops read is a
read-only view of it), and ``step`` counts the change in each parameter's ``_version``.
``_update_group`` may update a whole group at once instead; the built-in optimizers use it to
try a fused kernel (``fused.py``) per parameter before their ``_update``. ``state`` holds
Tensors, as PyTorch's (``_state.py``: the moments, a 0-d ``step``); a rule works on the arrays
they hold, in place, so that what a user sees in ``optimizer.state`` is the state.

A complex parameter is updated as PyTorch updates it: as its real view (``view_as_real``, the
real and imaginary parts as separate coordinates). ``step`` hands ``_update`` the real views of
the parameter, its gradient and its state (Tensors of the real views of its complex Tensors),
and keeps the state complex (as PyTorch's has it); the fused kernels are not used for it. A
rule that PyTorch refuses for complex parameters sets ``_complex_ok = False`` and is refused
when given one.
"""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from collections.abc import Iterable

from ..autograd import Tensor, enable_grad
from ..autograd.mode import _grad_enabled
from ..autograd.zero_grad import zero_grad_in_place
from ..backend import asnumpy, device_of, numpy, to_device
from . import _state
from ._param_checks import check_param
from ._required import fill_defaults, required  # noqa: F401 - torch.optim.optimizer.required
from ._saved_groups import fill_later, saved_hyperparameters
from ._state import as_array, as_complex, as_real, copy_entry, scalar, split_names
from .hooks import (
    OptimizerHooks,
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)
from .sparse_steps import refuse_sparse

__all__ = ["Optimizer", "register_optimizer_step_post_hook", "register_optimizer_step_pre_hook"]


class Optimizer(OptimizerHooks):
    """Base class of the optimizers: holds parameter groups and the state of each parameter.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups) each with a ``"params"``
            entry and optional hyperparameters that override ``defaults`` for that group, e.g.
            ``[{"params": body.parameters()}, {"params": head.parameters(), "lr": 1e-3}]``.
        defaults: the hyperparameters of groups that do not set their own.

    Attributes:
        param_groups: list of dicts: ``"params"`` (a list of Tensors) and the hyperparameters.
        state: dict Tensor -> dict of that parameter's state, PyTorch's keys and types: Tensors
            of the parameter's shape (``exp_avg``, ``momentum_buffer``...) and 0-d float Tensors
            (``step``); a defaultdict, empty for a parameter that has not been updated yet.
            Tensors put there (a wrapper's buffers) are kept, and state dicts carry them.
    """

    # False: the rule refuses complex parameters (as PyTorch's Adafactor, Muon do).
    _complex_ok = True
    # The state entries that are 0-d host Tensors whatever the parameter (_state.scalar).
    _scalar_state = frozenset({"step"})

    _sparse_update = refuse_sparse  # SGD, Adagrad and SparseAdam take one (sparse_steps.py)

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict] = []
        # Work buffers of the fused updates without numba (fused.py), one per dtype; not state.
        self._work: dict = {}
        self._track_for_global_hooks()
        self._check_hyperparameters(self.defaults, "")
        name = type(self).__name__
        if isinstance(params, Tensor):
            params = [params]
        if isinstance(params, (set, frozenset, dict)) or not isinstance(params, Iterable):
            why = " (a set has no fixed order)" if isinstance(params, (set, frozenset)) else ""
            raise TypeError(
                f"{name}: params must be an iterable (list, generator) of Tensors or of dicts, got "
                f"{type(params).__name__}{why}"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        n_dicts = sum(isinstance(p, dict) for p in params)
        if n_dicts == 0:
            self._add_group({"params": params}, "")
        elif n_dicts == len(params):
            for group in params:
                self.add_param_group(group)
        else:
            raise TypeError(
                f"{name}: params mixes Tensors and dicts (parameter groups); use one kind"
            )

    def _check_hyperparameters(self, hyper: dict, where: str) -> None:
        """Raise ValueError naming the optimizer, the hyperparameter and its bad value."""

    def _update(self, param, grad, group: dict, state: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}._update is not implemented")

    def _update_group(self, group: dict, params: list) -> None:
        """Update ``params``, the parameters of ``group`` that have a gradient of their shape.

        A rule overrides this to read its hyperparameters once per group rather than once per
        parameter (a step of a small model is mostly such per-parameter overhead).
        """
        for p in params:
            self._update(p._writable(), p.grad._data, group, self.state[p])

    def _update_complex(self, group: dict, p: Tensor) -> None:
        """``_update`` on the real views of a complex parameter, its gradient and its state (of
        a float16 one: in float32, ``_state.update_in_float32``)."""
        state, param = self.state[p], p._writable()
        if p._data.dtype == numpy.float16:
            return _state.update_in_float32(self._update, param, p.grad._data, group, state,
                                            self._scalar_state)
        view = {k: Tensor(as_real(v._data)) if isinstance(v, Tensor) and v.dtype.kind == "c"
                and v.shape == param.shape else v for k, v in state.items()}
        shared = {k: v for k, v in view.items() if v is not state.get(k)}  # views of state[k]
        real = as_real(param)
        self._update(real, as_real(p.grad._data), group, view)
        for key, value in view.items():
            if shared.get(key) is value:
                continue  # the rule wrote into the view: state[key] has the new values
            is_state = (isinstance(value, Tensor) and value.shape == real.shape
                        and value.dtype.kind == "f")
            state[key] = Tensor(as_complex(value._data)) if is_state else value

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (the rest from ``defaults``).

        Typical use: unfreeze a part of a model during fine-tuning and train it with a smaller lr.
        """
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{type(self).__name__}.add_param_group: expected a dict with a 'params' entry, "
                f"got {type(param_group).__name__}"
            )
        self._add_group(param_group, f" (param group {len(self.param_groups)})")

    def _add_group(self, param_group: dict, where: str) -> None:
        name = type(self).__name__
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry{where}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{name}: 'params' must be a Tensor or an ordered iterable of Tensors, got "
                f"{type(params).__name__}{where}"
            )
        params, names = split_names(name, list(params), where)  # (name, Tensor) pairs too
        if self.param_groups and (names is None) == ("param_names" in self.param_groups[0]):
            raise ValueError(f"{name}: the parameter groups must all name their parameters (as "
                             f"(name, Tensor) pairs) or none{where}")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        mine: set[int] = set()
        for i, p in enumerate(params):
            check_param(name, p, f"params[{i}]{where}", self._complex_ok)
            if id(p) in mine:
                raise ValueError(f"{name}: params[{i}]{where} appears twice in the same group")
            if id(p) in seen:
                raise ValueError(
                    f"{name}: params[{i}]{where} is already in another parameter group; "
                    "a parameter can belong to one group only"
                )
            mine.add(id(p))
        group = dict(param_group)
        group["params"] = params
        if names is not None:  # PyTorch's group entry (state dicts carry it)
            group["param_names"] = names
        fill_defaults(name, group, self.defaults, where)  # a `required` one must be there
        self._check_hyperparameters(group, where)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: every ``p.grad`` becomes None (zeroed in place if not
        set_to_none)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p._grad = None  # no check to run (autograd/grad_attribute.py)
                else:  # in place, as PyTorch: a held reference sees the zeros
                    zero_grad_in_place(p)

    def step(self, closure=None):
        """Update every parameter that has a gradient (those whose ``.grad`` is None are skipped).

        Args:
            closure: optional function that recomputes the loss (zero_grad, forward, backward)
                and returns it; it runs with gradient recording on.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        mode = _grad_enabled.set(False)  # as ``with no_grad():``, without its object per step
        (errors := numpy.errstate(all="ignore")).__enter__()  # inf, nan silent as PyTorch's
        try:
            for group in self.param_groups:
                params, complex_params = [], []
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if not isinstance(p.grad, Tensor):  # sparse (Embedding(sparse=True)'s)
                        self._sparse_update(group, p, self.state[p])
                        p._counter[0] += 1
                        continue
                    if p.grad._data.shape != p._data.shape:
                        raise RuntimeError(
                            f"{type(self).__name__}.step: a parameter of shape {p._data.shape} "
                            f"has a gradient of shape {p.grad._data.shape}"
                        )
                    is_complex = p._data.dtype.kind == "c"
                    if is_complex != (p.grad._data.dtype.kind == "c"):
                        raise TypeError(
                            f"{type(self).__name__}.step: a parameter of dtype {p._data.dtype} "
                            f"has a gradient of dtype {p.grad._data.dtype}; a complex parameter "
                            "needs a complex gradient and a real one a real gradient"
                        )
                    half = p._data.dtype == numpy.float16 and type(self)._update is not \
                        Optimizer._update  # a rule of its own: computed in float32
                    (complex_params if is_complex or half else params).append(p)
                self._update_group(group, params)
                for p in complex_params:
                    self._update_complex(group, p)
                params += complex_params
                # Each parameter changed in place: a graph recorded before this step can no
                # longer give a right gradient, and backward through it refuses (graph.py).
                for p in params:  # p._mark_changed(), inline: a step of a small model is
                    p._counter[0] += 1  # mostly such per-parameter overhead
        finally:
            errors.__exit__(None, None, None)
            _grad_enabled.reset(mode)
        return loss

    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout; Tensors are copied (later steps leave it be,
        where PyTorch's shares them with the optimizer).

        Returns:
            ``{"state": {index: {name: Tensor or number}}, "param_groups": [{hyperparameters...,
            "params": [index, ...]}]}`` where parameters are numbered in group order from 0.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy_entry(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index and s:  # as PyTorch's: no entry for a parameter without state
                state[index[id(p)]] = {k: copy_entry(v) for k, v in s.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state saved by ``state_dict()`` into an optimizer over the same parameters.

        Tensors (chainrule's, PyTorch's) and arrays are copied onto each parameter's device and
        cast to its float dtype, as PyTorch's; the 0-d scalars (``step``, and ASGD's ``eta``,
        ``mu``, NAdam's ``mu_product``) stay host Tensors of their saved float dtype (numbers
        become PyTorch's scalar dtype), so a resumed run continues exactly as the original would
        have.
        """
        name = f"{type(self).__name__}.load_state_dict"
        # other keys (a state-dict post-hook's additions) are left alone, as PyTorch's
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(
                f"{name}: expected a dict with keys 'param_groups' and 'state', got {keys}"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state has {len(saved_groups)} parameter groups, the optimizer "
                f"{len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}: parameter group {i} has {len(group['params'])} parameters, the saved "
                    f"group {len(saved['params'])}"
                )
            for k, p in zip(saved["params"], group["params"], strict=True):
                by_index[int(k)] = p
            merged = {k: v for k, v in group.items() if k in ("params", "param_names")}
            merged.update(saved_hyperparameters(self, name, i, saved))  # checked
            self._check_hyperparameters({**self.defaults, **merged}, f" (saved param group {i})")
            new_groups.append(merged)
        state: defaultdict[Tensor, dict] = defaultdict(dict)
        for k, saved in state_dict["state"].items():
            p = by_index.get(int(k))
            if p is None:
                raise ValueError(f"{name}: the state names parameter {k}, which no group holds")
            state[p] = {key: self._restore_entry(name, key, v, p) for key, v in saved.items()}
        self.__setstate__({"state": state, "param_groups": new_groups})  # a subclass's runs too
        fill_later(self)  # what an older checkpoint lacks, as PyTorch's setdefault

    def _restore_entry(self, name: str, key: str, value, p: Tensor):
        """A saved state entry of ``p`` made ready for it (a rule with other state overrides)."""
        if key in self._scalar_state:
            return _restore_scalar(name, key, value)
        return _restore(name, key, value, p)

    def _expected_state_shape(self, key: str, shape: tuple):
        """The shape a saved state entry ``key`` of a parameter of ``shape`` must have (None:
        any), asked by the training-state checks (io/state_checks.py) before a resume."""
        return None if key in self._scalar_state else shape

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines += [""] * (i > 0) + [f"Parameter Group {i}"]  # PyTorch's blank line between
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _restore_scalar(name: str, key: str, value) -> Tensor:
    """A saved 0-d state entry (``step``...) as a 0-d host Tensor: a float Tensor or array keeps
    its dtype, a number or an integer array becomes PyTorch's scalar dtype."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numpy.generic)):
        return scalar(float(value))
    if value is None or isinstance(value, (bool, str, bytes, dict, list, tuple)):
        raise ValueError(f"{name}: state '{key}' must be a number or a 0-d tensor, got {value!r}")
    arr = asnumpy(as_array(value))
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: state '{key}' must be a number or a 0-d tensor, got an array "
                         f"of shape {tuple(arr.shape)} and dtype {arr.dtype}")
    arr = arr.reshape(())
    return Tensor(arr.copy()) if arr.dtype.kind == "f" else scalar(float(arr.item()))


def _restore(name: str, key: str, value, p: Tensor):
    """A saved state entry made ready for ``p``: Tensors on its device, float ones in its dtype;
    other values (numbers, strings) as they are."""
    if isinstance(value, (numbers.Number, str, bytes, type(None), list, tuple, dict)):
        return value
    arr = to_device(as_array(value), device_of(p._data))
    if arr.shape != p._data.shape:
        raise ValueError(
            f"{name}: state '{key}' has shape {tuple(arr.shape)} but its parameter has shape "
            f"{p._data.shape}"
        )
    dtype = p._data.dtype if arr.dtype.kind == "f" else arr.dtype
    return Tensor(arr.astype(dtype, copy=True))


def check_number(opt: str, name: str, value, where: str = "", *, low: float = 0.0,
                 high: float = math.inf, high_open: bool = False) -> None:
    """Raise unless ``value`` is a finite real number in ``[low, high]`` (or ``[low, high)``)."""
    want = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}{'])'[high_open]}"
    if name in ("lr", "weight_decay") and isinstance(value, Tensor):  # as PyTorch: a 0-d float
        value = _state.tensor_lr(opt, value, where, name)
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{opt}: {name} must be a number {want}, got {value!r}{where}")
    ok = math.isfinite(value) and low <= value and (value < high if high_open else value <= high)
    if not ok:
        raise ValueError(f"{opt}: {name} must be a number {want}, got {value!r}{where}")


def check_bool(opt: str, name: str, value, where: str = "") -> None:
    """Raise TypeError unless ``value`` is a bool."""
    if not isinstance(value, bool):
        raise TypeError(f"{opt}: {name} must be True or False, got {value!r}{where}")


def check_implementation_flags(opt: str, foreach=None, capturable=False, differentiable=False,
                               fused=None) -> None:
    """PyTorch's implementation choices (``fused``, ``foreach``, ``capturable``) give the same
    updates: accepted when valid (each optimizer keeps PyTorch's in its param groups, for their
    repr and state dicts); ``differentiable=True`` refused."""
    for name, value in (("foreach", foreach), ("fused", fused), ("capturable", capturable),
                        ("differentiable", differentiable)):
        if value is not None or name in ("capturable", "differentiable"):
            check_bool(opt, name, value)
    if fused and foreach:  # as PyTorch's: they name two different implementations
        raise RuntimeError(f"{opt}: fused=True and foreach=True cannot be given together")
    if differentiable:
        raise NotImplementedError(f"{opt}: differentiable=True (recording the step for autograd) "
                                  "is not supported")


def check_betas(opt: str, betas, where: str = "", name: str = "betas") -> None:
    """Raise unless ``betas`` is a pair of numbers, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{opt}: {name} must be a pair (beta1, beta2), got {betas!r}{where}")
    for i, beta in enumerate(betas):
        check_number(opt, f"{name}[{i}]", beta, where, high=1.0, high_open=True)
