"""Pruning: remove the links (or units) with the least effect, as masks that survive training.

A pruned weight is a zero held in place by a mask. ``apply_mask`` registers the mask as a
Buffer named ``weight_mask`` beside the weight (so ``state_dict``, checkpoints and resumed runs
carry it) and a forward pre-hook that zeroes the masked weights before every forward pass, so an
optimizer step that moved them (momentum, weight decay) never reaches the output. ``KeepPruned``,
a Trainer callback, also zeroes them after every step, so the weights themselves, and every
checkpoint written, hold exact zeros. ``restore_masks`` attaches the masks a saved file holds to
a freshly built model before its weights are loaded.

Criteria: magnitude ``|w|`` (``prune_magnitude``), the L2 norm of a unit's incoming weights
(``prune_units``), and Optimal Brain Damage's saliency ``h_ii w_i^2 / 2`` (LeCun, Denker & Solla
1990; ``obd_saliency`` then ``prune_by_saliency``), the loss increase that deleting ``w_i``
causes to second order, with the Hessian's diagonal computed exactly (one Hessian-vector
product per weight, for small models) or estimated by Hutchinson's method.
"""

from __future__ import annotations

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, numpy
from ..data.arguments import check_number
from ..io import read_shapes
from ..nn import Conv1d, Conv2d, Linear
from ..nn.modes import eval_mode
from ..nn.utils.prune import lowest_indices
from ..train import Callback
from ._common import batches, check_positive_int, generator

__all__ = ["KeepPruned", "apply_mask", "masks", "obd_saliency", "prunable", "prune_by_saliency",
           "prune_magnitude", "prune_units", "reapply_masks", "remove_masks", "restore_masks",
           "sparsity"]

PRUNABLE = (Linear, Conv1d, Conv2d)
MASK = "_mask"


def prunable(model, layers=None) -> dict:
    """``{dotted name: module}`` of the layers whose weights can be pruned (Linear, Conv).

    Args:
        layers: names to keep (None: all of them); an unknown name is a ValueError.
    """
    found = {name: m for name, m in model.named_modules() if isinstance(m, PRUNABLE)}
    if layers is None:
        return found
    layers = [layers] if isinstance(layers, str) else list(layers)
    unknown = [n for n in layers if n not in found]
    if unknown:
        raise ValueError(f"prune: layers {unknown} are not prunable layers of the model; "
                         f"expected some of {sorted(found)}")
    return {n: found[n] for n in layers}


def _zero_masked(module, inputs=None) -> None:
    """Forward pre-hook: zero the masked entries of every masked parameter, if any moved."""
    for pname, param in module._parameters.items():
        mask = module._buffers.get(pname + MASK)
        if param is None or mask is None:
            continue
        m = mask._data
        if (param._data * (1 - m)).any():
            with no_grad():
                param.mul_(m)


def apply_mask(module, mask, name: str = "weight") -> None:
    """Keep ``module.<name>`` zero where ``mask`` is 0, from now on (masks combine by AND).

    Args:
        module: the layer; name: its parameter ("weight" or "bias").
        mask: 0/1 array shaped like the parameter.
    """
    param = module._parameters.get(name)
    if param is None:
        raise ValueError(f"apply_mask: {type(module).__name__} has no parameter {name!r}")
    mask = numpy.asarray(asnumpy(mask._data) if isinstance(mask, Tensor) else mask)
    if mask.shape != param.shape:
        raise ValueError(f"apply_mask: the mask of {name!r} must have shape {param.shape}, got "
                         f"{mask.shape}")
    mask = (mask != 0).astype(param.dtype)
    old = module._buffers.get(name + MASK)
    if old is not None:
        mask = mask * old.numpy()
    if not getattr(module, "_prune_hooked", False):
        module.register_forward_pre_hook(_zero_masked)
        object.__setattr__(module, "_prune_hooked", True)
    module.register_buffer(name + MASK, Tensor(mask))
    _zero_masked(module)


def masks(model) -> dict:
    """``{"layer.weight": mask array}`` for every masked parameter of ``model``."""
    return {f"{n}.{b[:-len(MASK)]}" if n else b[:-len(MASK)]: buf.numpy()
            for n, m in model.named_modules() for b, buf in m._buffers.items()
            if b.endswith(MASK) and buf is not None}


def reapply_masks(model) -> None:
    """Zero every masked weight now (after an optimizer step, before saving)."""
    for m in model.modules():
        if getattr(m, "_prune_hooked", False):
            _zero_masked(m)


def remove_masks(model) -> None:
    """Make the pruning permanent: the weights stay zero, the masks and hooks go."""
    for m in model.modules():
        if getattr(m, "_prune_hooked", False):
            _zero_masked(m)
            for b in [b for b in m._buffers if b.endswith(MASK)]:
                delattr(m, b)
            m._forward_pre_hooks = {k: h for k, h in m._forward_pre_hooks.items()
                                    if h is not _zero_masked}
            object.__setattr__(m, "_prune_hooked", False)


def restore_masks(model, source) -> int:
    """Attach to ``model`` the masks that ``source`` holds, before loading its weights.

    Args:
        source: a state dict, a weights file (``io.save_weights``) or a training-state file.

    Returns:
        How many masks were attached (their values are all ones until the weights are loaded).
    """
    keys = source.keys() if hasattr(source, "keys") else read_shapes(source).keys()
    modules = dict(model.named_modules())
    count = 0
    for key in keys:
        path = key[len("model."):] if key.startswith("model.") and key not in modules else key
        owner, _, buffer = path.rpartition(".")
        if not buffer.endswith(MASK) or owner not in modules:
            continue
        module = modules[owner]
        name = buffer[:-len(MASK)]
        if buffer not in module._buffers and module._parameters.get(name) is not None:
            apply_mask(module, numpy.ones(module._parameters[name].shape), name)
            count += 1
    return count


def sparsity(model, layers=None) -> dict:
    """The share of zero weights: ``{"global": s, "layers": {name: s}}`` over prunable layers."""
    per, zeros, total = {}, 0, 0
    for name, m in prunable(model, layers).items():
        w = m.weight.numpy()
        z = int((w == 0).sum())
        per[name] = z / w.size
        zeros, total = zeros + z, total + w.size
    return {"global": zeros / max(total, 1), "layers": per}


class KeepPruned(Callback):
    """Trainer callback: zero the pruned weights after every optimizer step."""

    def on_train_begin(self, logs=None):
        reapply_masks(self.trainer.model)

    def on_batch_end(self, batch, logs=None):
        reapply_masks(self.trainer.model)


def _check_amount(who: str, amount) -> float:
    return check_number(who, "amount", amount, low=0, below=1,
                        what="the share of weights to prune")


def _lowest(scores: numpy.ndarray, alive: numpy.ndarray, n_prune: int) -> numpy.ndarray:
    """A mask that keeps ``alive`` except the ``n_prune`` lowest-scoring entries still alive."""
    keep = alive.copy()
    if n_prune <= 0:
        return keep
    candidates = numpy.flatnonzero(alive)
    # equal scores are pruned in index order (as nn.utils.prune's), so seeded runs repeat exactly
    keep.ravel()[candidates[lowest_indices(scores.ravel()[candidates], n_prune)]] = False
    return keep


def prune_by_saliency(model, scores: dict, amount: float, *, scope: str = "global") -> dict:
    """Prune the lowest-scoring weights until ``amount`` of them are pruned.

    Args:
        scores: ``{layer name: array shaped like its weight}``, higher = more important.
        amount: the share of weights pruned afterwards (those already pruned count), in [0, 1).
        scope: "global" (one ranking over all the layers) or "layer" (each layer to ``amount``).

    Returns:
        ``sparsity(model)`` afterwards.
    """
    amount = _check_amount("prune", amount)
    if scope not in ("global", "layer"):
        raise ValueError(f"prune: scope must be 'global' or 'layer', got {scope!r}")
    layers = prunable(model, list(scores))
    alive = {n: m.weight.numpy() != 0 for n, m in layers.items()}
    for n, m in layers.items():
        if numpy.shape(scores[n]) != m.weight.shape:
            raise ValueError(f"prune: the scores of {n!r} must have shape {m.weight.shape}, got "
                             f"{numpy.shape(scores[n])}")
    if scope == "layer":
        for n, m in layers.items():
            a = alive[n]
            keep = _lowest(numpy.asarray(scores[n], dtype=numpy.float64), a,
                           int(round(amount * a.size)) - int((~a).sum()))
            apply_mask(m, keep)
    else:
        flat_scores = numpy.concatenate([numpy.ravel(scores[n]) for n in layers])
        flat_alive = numpy.concatenate([alive[n].ravel() for n in layers])
        keep = _lowest(flat_scores.astype(numpy.float64), flat_alive,
                       int(round(amount * flat_alive.size)) - int((~flat_alive).sum()))
        start = 0
        for m in layers.values():
            size = m.weight.numel()
            apply_mask(m, keep[start:start + size].reshape(m.weight.shape))
            start += size
    return sparsity(model, list(layers))


def prune_magnitude(model, amount: float, *, scope: str = "global", layers=None) -> dict:
    """Prune the weights of smallest magnitude ``|w|`` until ``amount`` of them are pruned.

    Args:
        amount: the share of the layers' weights pruned afterwards, in [0, 1).
        scope: "global" (one threshold for all layers) or "layer" (each layer to ``amount``).
        layers: the layers to prune (None: every Linear and Conv layer).

    Returns:
        ``sparsity(model)`` afterwards.
    """
    scores = {n: numpy.abs(m.weight.numpy()) for n, m in prunable(model, layers).items()}
    return prune_by_saliency(model, scores, amount, scope=scope)


def prune_units(model, layer: str, amount: float) -> list[int]:
    """Remove whole output units (neurons, or channels of a convolution) of one layer.

    The units whose incoming weights have the smallest L2 norm go first; a removed unit's
    weights and bias are masked to zero, so it outputs ``activation(0)`` for every input.

    Returns:
        The indices of all the units now removed.
    """
    amount = _check_amount("prune_units", amount)
    module = prunable(model, [layer])[layer]
    w = module.weight.numpy().reshape(module.weight.shape[0], -1)
    alive = (w != 0).any(axis=1)
    keep = _lowest(numpy.sqrt((w.astype(numpy.float64) ** 2).sum(axis=1)), alive,
                   int(round(amount * len(alive))) - int((~alive).sum()))
    apply_mask(module, numpy.broadcast_to(
        keep.reshape((-1,) + (1,) * (module.weight.ndim - 1)), module.weight.shape))
    if module._parameters.get("bias") is not None:
        apply_mask(module, keep, "bias")
    return [int(i) for i in numpy.flatnonzero(~keep)]


def obd_saliency(model, loss_fn, x, y, *, method: str = "exact", n_samples: int = 32,
                 layers=None, include_gradient: bool = False, batch_size: int = 1024,
                 rng=None) -> dict:
    """Optimal Brain Damage saliency ``s_i = h_ii w_i^2 / 2`` of every prunable weight.

    ``s_i`` estimates the loss increase when ``w_i`` is set to zero, by a second-order Taylor
    expansion with the Hessian's off-diagonal terms dropped (at a minimum the first-order term
    vanishes; ``include_gradient=True`` adds it, ``- g_i w_i``, for a model not at a minimum).

    Args:
        loss_fn: ``loss_fn(model(x), y) -> scalar`` (a mean over the batch).
        x, y: the data the loss is measured on.
        method: "exact" (one Hessian-vector product per weight: small models only),
            "hutchinson" (``E[v * Hv]`` over ``n_samples`` random sign vectors ``v``: unbiased,
            but its noise grows with the off-diagonal terms, too large to rank the weights of a
            CNN with a few dozen vectors) or "fisher" (the mean of each sample's squared
            gradient, the empirical Fisher diagonal: never negative, and close to the Hessian's
            diagonal near a minimum of a log-likelihood loss, the positive approximation OBD
            itself used; one backward pass per sample).
        layers: the layers to score (None: every Linear and Conv layer).
        batch_size: samples per pass (the loss is the mean over all of ``x``).
        rng: Generator or seed for Hutchinson's vectors.

    Returns:
        ``{layer name: saliency array shaped like its weight}``.
    """
    if method not in ("exact", "hutchinson", "fisher"):
        raise ValueError(f"obd_saliency: method must be 'exact', 'hutchinson' or 'fisher', got "
                         f"{method!r}")
    n_samples = check_positive_int("obd_saliency", "n_samples", n_samples)
    mods = prunable(model, layers)
    params = [m.weight for m in mods.values()]
    rng = generator(rng)
    sizes = [p.numel() for p in params]
    total = sum(sizes)
    if method == "exact" and total > 5000:
        raise ValueError(f"obd_saliency: method='exact' needs one Hessian-vector product per "
                         f"weight and these layers have {total}; use method='hutchinson'")
    if method == "fisher":
        return _split(mods, sizes, *_fisher(model, loss_fn, x, y, params), include_gradient)
    signs = None if method == "exact" else rng.choice([-1.0, 1.0], size=(n_samples, total))
    vectors = range(total) if method == "exact" else range(n_samples)
    diag = numpy.zeros(total)
    first = numpy.zeros(total)
    with eval_mode(model):
        for sl in batches(len(x), batch_size):
            share = (sl.stop - sl.start) / len(x)
            loss = loss_fn(model(Tensor(x[sl])), Tensor(y[sl]) if hasattr(y, "shape") else y)
            gs = grad(loss, params, create_graph=True)
            first += share * numpy.concatenate([asnumpy(g._data).ravel() for g in gs])
            for k in vectors:
                v = signs[k] if signs is not None else numpy.eye(1, total, k)[0]
                parts = numpy.split(v, numpy.cumsum(sizes)[:-1])
                dot = sum((g * Tensor(p.reshape(g.shape).astype(g.dtype))).sum()
                          for g, p in zip(gs, parts))
                hv = grad(dot, params, retain_graph=True)
                hv = numpy.concatenate([asnumpy(h._data).ravel() for h in hv])
                diag += share * v * hv  # e_i * Hv = h_ii exactly; E[v * Hv] = diag(H)
    if signs is not None:
        diag /= n_samples
    return _split(mods, sizes, diag, first, include_gradient)


def _fisher(model, loss_fn, x, y, params):
    """The empirical Fisher diagonal, mean of squared per-sample gradients, and the gradient."""
    diag = numpy.zeros(sum(p.numel() for p in params))
    first = numpy.zeros_like(diag)
    with eval_mode(model):
        for i in range(len(x)):
            target = Tensor(y[i:i + 1]) if hasattr(y, "shape") else y
            gs = grad(loss_fn(model(Tensor(x[i:i + 1])), target), params)
            g = numpy.concatenate([asnumpy(t._data).ravel() for t in gs]).astype(numpy.float64)
            diag += g * g / len(x)
            first += g / len(x)
    return diag, first


def _split(mods, sizes, diag, first, include_gradient):
    """``s = h w^2 / 2 (- g w)`` per layer, from flat diagonals over all the layers."""
    w = numpy.concatenate([m.weight.numpy().ravel().astype(numpy.float64)
                           for m in mods.values()])
    s = 0.5 * diag * w ** 2 - (first * w if include_gradient else 0.0)
    out, start = {}, 0
    for (name, m), size in zip(mods.items(), sizes):
        out[name] = s[start:start + size].reshape(m.weight.shape)
        start += size
    return out


def sparsity_schedule(final: float, steps: int) -> list[float]:
    """Sparsities whose remaining shares fall geometrically from 1 to ``1 - final``.

    >>> [round(s, 3) for s in sparsity_schedule(0.9, 2)]
    [0.684, 0.9]
    """
    final = _check_amount("sparsity_schedule", final)
    steps = check_positive_int("sparsity_schedule", "steps", steps)
    return [1 - (1 - final) ** ((i + 1) / steps) for i in range(steps)]


def prune_iteratively(model, final: float, steps: int, fine_tune, *, scores=None,
                      scope: str = "global") -> list[dict]:
    """Prune to ``final`` in ``steps`` steps, calling ``fine_tune(model, step)`` after each.

    Args:
        final: the share of weights pruned at the end; the steps follow ``sparsity_schedule``.
        fine_tune: retrains the model for a while (e.g. ``trainer.fit`` with a ``KeepPruned``
            callback) and returns a dict to record (e.g. its validation accuracy), or None.
        scores: ``scores(model) -> {layer: saliency}`` recomputed at every step (default:
            magnitude, ``|w|``), e.g. ``lambda m: obd_saliency(m, loss, x, y, method="fisher")``.
        scope: "global" or "layer".

    Returns:
        One dict per step: "sparsity" reached and what ``fine_tune`` returned.
    """
    log = []
    for step, amount in enumerate(sparsity_schedule(final, steps)):
        if scores is None:
            reached = prune_magnitude(model, amount, scope=scope)
        else:
            reached = prune_by_saliency(model, scores(model), amount, scope=scope)
        record = fine_tune(model, step)
        reapply_masks(model)
        log.append({"sparsity": reached["global"], **(record or {})})
    return log
