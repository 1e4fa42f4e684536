"""Model averaging: a moving average of the weights (EMA) and equal-weight averages (SWA).

Averaged weights often generalize better than the last iterate: the noise of SGD's final steps
averages out. The helpers work on any Tensors with ``.data``; given an object with a
``parameters()`` method (a Module) they use its parameters. Buffers (such as batch-norm statistics)
are not averaged; recompute them on training data after copying averaged weights into a model.
"""

from __future__ import annotations

import copy

from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from .optimizer import check_number

__all__ = ["EMA", "AveragedModel", "swa_average"]


def _tensors(who: str, source) -> list[Tensor]:
    """The Tensors of a module (anything with ``parameters()``), a Tensor, or an iterable."""
    if callable(getattr(source, "parameters", None)):
        source = source.parameters()
    if isinstance(source, Tensor):
        source = [source]
    try:
        params = list(source)
    except TypeError:
        raise TypeError(
            f"{who}: expected a model (with parameters()), a Tensor or an iterable of Tensors, got "
            f"{type(source).__name__}"
        ) from None
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameter {i} must be a Tensor, got {type(p).__name__}")
    if not params:
        raise ValueError(f"{who}: got no parameters")
    return params


def _assign(p: Tensor, value) -> None:
    """Write ``value`` into ``p`` in place, as a counted change (see ``Tensor.copy_``)."""
    with no_grad():
        p.copy_(value)


def _check_like(who: str, arrays, params, what: str = "parameter") -> None:
    """Raise ValueError unless ``params`` match ``arrays`` one to one in shape."""
    if len(params) != len(arrays):
        raise ValueError(f"{who}: expected {len(arrays)} {what}s, got {len(params)}")
    for i, (a, p) in enumerate(zip(arrays, params, strict=True)):
        if tuple(p.shape) != tuple(a.shape):
            raise ValueError(
                f"{who}: {what} {i} has shape {tuple(p.shape)}, the average has {tuple(a.shape)}"
            )


class EMA:
    """Exponential moving average of parameters: ``s <- decay s + (1 - decay) p`` per update.

    Args:
        model_or_params: a model (anything with ``parameters()``) or an iterable of Tensors;
            the average starts from their current values.
        decay: weight of the old average, in [0, 1] (0.999 averages roughly the last 1000).

    Typical use: ``ema.update()`` after each ``optimizer.step()``; to evaluate with the averaged
    weights, ``ema.store(); ema.copy_to()``, evaluate, then ``ema.restore()``.

    >>> import chainrule as cr
    >>> p = cr.tensor([0.0])
    >>> ema = EMA([p], decay=0.5)
    >>> _ = p.fill_(4.0)
    >>> ema.update()
    >>> ema.shadow[0].tolist()
    [2.0]
    """

    def __init__(self, model_or_params, decay: float = 0.999):
        check_number("EMA", "decay", decay, high=1.0)
        self.params = _tensors("EMA", model_or_params)
        self.decay = decay
        self.shadow = [p._data.copy() for p in self.params]
        self.num_updates = 0
        self._backup = None

    def update(self) -> None:
        """Blend the parameters' current values into the average."""
        for s, p in zip(self.shadow, self.params, strict=True):
            tmp = get_array_module(s).subtract(s, p._data)
            tmp *= 1 - self.decay
            s -= tmp
        self.num_updates += 1

    def copy_to(self, model_or_params=None) -> None:
        """Write the average into the parameters (those tracked, or the ones given) in place."""
        params = self.params
        if model_or_params is not None:
            params = _tensors("EMA.copy_to", model_or_params)
        _check_like("EMA.copy_to", self.shadow, params)
        for s, p in zip(self.shadow, params, strict=True):
            _assign(p, s)

    def store(self) -> None:
        """Keep a copy of the tracked parameters' current values, for ``restore()``."""
        self._backup = [p._data.copy() for p in self.params]

    def restore(self) -> None:
        """Put back the values saved by ``store()`` (after evaluating with ``copy_to()``)."""
        if self._backup is None:
            raise RuntimeError("EMA.restore: nothing to restore; call store() before copy_to()")
        for b, p in zip(self._backup, self.params, strict=True):
            _assign(p, b)
        self._backup = None

    def state_dict(self) -> dict:
        """``{"decay", "num_updates", "shadow"}`` with copies of the averaged arrays."""
        return {"decay": self.decay, "num_updates": self.num_updates,
                "shadow": [s.copy() for s in self.shadow]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by ``state_dict()`` over parameters of the same shapes."""
        shadow = list(state_dict["shadow"])
        _check_like("EMA.load_state_dict", self.shadow, shadow, "saved array")
        check_number("EMA.load_state_dict", "decay", state_dict["decay"], high=1.0)
        for s, saved in zip(self.shadow, shadow, strict=True):
            s[...] = saved
        self.decay = state_dict["decay"]
        self.num_updates = int(state_dict["num_updates"])


class AveragedModel:
    """Stochastic weight averaging: the equal-weight running mean of the weights seen so far.

    ``avg <- avg + (p - avg) / (n + 1)`` at each ``update_parameters(model)``, ``n`` counting the
    snapshots averaged; the first update copies. Given a model, a deep copy of it holds the
    average, so ``averaged.module`` (or ``averaged(x)``) evaluates the averaged network.

    Args:
        model_or_params: a model (anything with ``parameters()``) or an iterable of Tensors.
    """

    def __init__(self, model_or_params):
        if callable(getattr(model_or_params, "parameters", None)):
            self.module = copy.deepcopy(model_or_params)
            self.params = _tensors("AveragedModel", self.module)
            for p in self.params:
                p.grad = None
        else:
            self.module = None
            source = _tensors("AveragedModel", model_or_params)
            self.params = [Tensor(p._data.copy()) for p in source]
        self.n_averaged = 0

    def parameters(self):
        """The averaged Tensors."""
        return iter(self.params)

    def update_parameters(self, model_or_params) -> None:
        """Add one snapshot of the parameters to the average."""
        params = _tensors("AveragedModel.update_parameters", model_or_params)
        _check_like("AveragedModel.update_parameters", [a._data for a in self.params], params)
        for a, p in zip(self.params, params, strict=True):
            if self.n_averaged == 0:
                _assign(a, p._data)
            else:
                tmp = get_array_module(a._data).subtract(p._data, a._data)
                tmp /= self.n_averaged + 1
                with no_grad():
                    a.add_(tmp)
        self.n_averaged += 1

    def copy_to(self, model_or_params) -> None:
        """Write the averaged values into the given parameters in place."""
        params = _tensors("AveragedModel.copy_to", model_or_params)
        _check_like("AveragedModel.copy_to", [a._data for a in self.params], params)
        for a, p in zip(self.params, params, strict=True):
            _assign(p, a._data)

    def __call__(self, *args, **kwargs):
        if self.module is None:
            raise TypeError("AveragedModel: built from Tensors, so there is no model to call")
        return self.module(*args, **kwargs)

    def state_dict(self) -> dict:
        """``{"n_averaged", "params"}`` with copies of the averaged arrays."""
        return {"n_averaged": self.n_averaged, "params": [a._data.copy() for a in self.params]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by ``state_dict()``."""
        saved = list(state_dict["params"])
        _check_like("AveragedModel.load_state_dict", [a._data for a in self.params], saved,
                    "saved array")
        for a, s in zip(self.params, saved, strict=True):
            _assign(a, s)
        self.n_averaged = int(state_dict["n_averaged"])


def swa_average(sources, into=None) -> list[Tensor]:
    """The equal-weight average of several models' parameters (e.g. a run's last checkpoints).

    Args:
        sources: models (with ``parameters()``) or lists of Tensors, all with the same shapes.
        into: optional model or Tensors to receive the average in place.

    Returns:
        The averaged parameters: new Tensors, or ``into``'s parameters when it is given.

    >>> import chainrule as cr
    >>> swa_average([[cr.tensor([1.0, 2.0])], [cr.tensor([3.0, 6.0])]])[0].tolist()
    [2.0, 4.0]
    """
    sources = list(sources)
    if not sources:
        raise ValueError("swa_average: got no models to average")
    lists = [_tensors(f"swa_average: sources[{i}]", s) for i, s in enumerate(sources)]
    acc = [p._data.copy() for p in lists[0]]
    for params in lists[1:]:
        _check_like("swa_average", acc, params)
        for a, p in zip(acc, params, strict=True):
            a += p._data
    for a in acc:
        a /= len(lists)
    if into is None:
        return [Tensor(a) for a in acc]
    targets = _tensors("swa_average: into", into)
    _check_like("swa_average: into", acc, targets)
    for a, p in zip(acc, targets, strict=True):
        _assign(p, a)
    return targets
