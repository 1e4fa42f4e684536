"""Shared oracle for fuzz wave 12: run one call in chainrule and in PyTorch on the same arrays and
compare what comes back (values, dtypes, shapes, errors) and, in float64, the input gradients."""

import warnings

import numpy as np

import chainrule as cr

ERRORS = (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError)


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def _outcome(lib, fn, arrays, grad):
    ts = [lib.tensor(np.asarray(a), requires_grad=(i in grad))
          if isinstance(a, (np.ndarray, np.generic)) else a for i, a in enumerate(arrays)]
    try:
        out = fn(lib, *ts)
    except ERRORS as e:
        return e, ts
    return out, ts


def _value(v):
    if hasattr(v, "detach"):
        v = v.detach()
    if hasattr(v, "numpy") and hasattr(v, "dtype"):
        return str(v.dtype).replace("torch.", ""), tuple(v.shape), np.asarray(v.numpy())
    return type(v).__name__, (), np.asarray(v)


def _same_leaf(c, t, what, rtol, skip_values):
    cd, cs, cv = _value(c)
    td, ts, tv = _value(t)
    assert (cd, cs) == (td, ts), f"{what}: chainrule {cd}{cs}, torch {td}{ts}"
    if skip_values:
        return
    if cv.dtype.kind in "fc":
        # sums in another order round differently: a few units in the last place of the dtype
        tol = max(rtol, {"float32": 1e-6, "float16": 1e-3}.get(str(cv.dtype), 0))
        np.testing.assert_allclose(cv, tv, rtol=tol, atol=tol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(cv, tv, err_msg=what)


def check(torch, fn, *arrays, grad=(), skip=(), rtol=1e-12, label=""):
    """Run ``fn(lib, *tensors)`` in both libraries. ``grad`` names the argument positions that
    require a gradient; ``skip`` the output positions whose values are not defined by PyTorch
    (compared by dtype and shape only). Both must raise or both compute."""
    t_out, t_in = _outcome(torch, fn, arrays, grad)
    c_out, c_in = _outcome(cr, fn, arrays, grad)
    if isinstance(t_out, Exception):
        assert isinstance(c_out, Exception), f"{label}: torch raised {t_out!r}, chainrule computed"
        return None
    assert not isinstance(c_out, Exception), f"{label}: torch computed, chainrule raised {c_out!r}"
    t_leaves, c_leaves = _leaves(t_out), _leaves(c_out)
    assert len(t_leaves) == len(c_leaves), f"{label}: {len(c_leaves)} outputs, torch's " \
        f"{len(t_leaves)}"
    for k, (c, t) in enumerate(zip(c_leaves, t_leaves)):
        _same_leaf(c, t, f"{label} output {k}", rtol, k in skip)
    if grad:
        rng = np.random.default_rng(0)
        ws = [rng.standard_normal(tuple(t.shape)) if t.dtype.is_floating_point and t.requires_grad
              else None for t in t_leaves]
        if any(w is not None for w in ws):
            for lib, leaves in ((torch, t_leaves), (cr, c_leaves)):
                total = sum((leaf * lib.tensor(w)).sum() for leaf, w in zip(leaves, ws)
                            if w is not None)
                try:
                    total.backward()
                except (RuntimeError, IndexError):
                    if lib is cr:
                        raise
                    return c_out  # PyTorch's own backward fails (its formulas' checks)
            # a gradient that flowed through float32 outputs is rounded as they are
            tol = max([rtol] + [{"float32": 1e-6, "float16": 1e-3}.get(str(t.dtype)[6:], 0)
                                for t in t_leaves])
            for i in grad:
                tg, cg = t_in[i].grad, c_in[i].grad
                tg = np.zeros(arrays[i].shape) if tg is None else tg.resolve_conj().numpy()
                cg = np.zeros(arrays[i].shape) if cg is None else cg.numpy()
                np.testing.assert_allclose(cg, tg, rtol=tol, atol=tol,
                                           err_msg=f"{label} grad of argument {i}")
    return c_out


def outcome(lib, fn, arrays=(), errors=ERRORS):
    """``fn(lib, *arrays as lib's tensors)`` with warnings off, or the error (of ``errors``) it
    raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(lib, *[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
        except errors as e:
            return e


def same_outcome(torch, fn, arrays=(), *, label="", rtol=0.0, errors=ERRORS):
    """``fn(lib, *tensors)`` in both libraries: both raise, or the same result: a dtype, a tuple,
    or a tensor of equal dtype, shape and values (integers exactly; floats within ``rtol``, NaN
    where NaN)."""
    t, c = outcome(torch, fn, arrays, errors), outcome(cr, fn, arrays, errors)
    if isinstance(t, Exception) or isinstance(c, Exception):
        assert isinstance(t, Exception) and isinstance(c, Exception), f"{label}: torch {t!r}, " \
            f"chainrule {c!r}"
        return
    if isinstance(t, torch.dtype):
        assert str(c) == str(t).replace("torch.", ""), label
        return
    if not hasattr(t, "dtype"):
        assert tuple(t) == tuple(c), label
        return
    assert str(c.dtype) == str(t.dtype).replace("torch.", ""), f"{label}: {c.dtype}, {t.dtype}"
    assert tuple(c.shape) == tuple(t.shape), label
    cv, tv = np.asarray(c.numpy()), t.numpy()
    if tv.dtype.kind in "fc":
        np.testing.assert_allclose(cv, tv, rtol=rtol, atol=rtol, equal_nan=True, err_msg=label)
    else:
        np.testing.assert_array_equal(cv, tv, err_msg=label)
