"""Numerical gradient checking: compare backpropagation with central finite differences in float64.

The scalar that is differentiated is ``s = sum_k <u_k, f(x)_k>`` with seeded random weights ``u_k``,
so one backward pass checks every output at once. Small inputs are checked element by element; large
ones along seeded random directions (a directional derivative per direction).

Complex inputs and outputs follow PyTorch's convention: a complex output ``o`` enters ``s`` as
``Re(sum(conj(u) * o))`` (the scalar whose gradient with respect to ``o`` is ``u``), and the
gradient of ``s`` with respect to a complex input z = x + iy is ds/dx + i ds/dy, so the real and
imaginary parts of each element are perturbed separately and compared with the real and
imaginary parts of the backpropagated gradient.
"""

from __future__ import annotations

import warnings

from ..backend import asnumpy, get_array_module, numpy
from .grad import grad
from .mode import enable_grad, no_grad
from .tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """Backpropagated and numerical gradients disagree; the message names the worst element."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return Tensors, output {i} is {type(o).__name__}")
    return outs


def _weights(outs, rng):
    weights = []
    for o in outs:
        u = rng.standard_normal(o.shape)
        if o._data.dtype.kind == "c":
            u = u + 1j * rng.standard_normal(o.shape)
        weights.append(get_array_module(o._data).asarray(u).astype(o.dtype))
    return weights


def _scalar(fn, inputs, weights) -> float:
    with no_grad():
        outs = _outputs(fn, inputs)
    return float(sum(float((o._data * u.conj()).real.sum() if o._data.dtype.kind == "c"
                           else (o._data * u).sum()) for o, u in zip(outs, weights)))


def gradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, max_elements: int = 512, n_directions: int = 6,
              raise_exception: bool = True, nondet_tol: float = 0.0, fast_mode: bool = False,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              masked: bool | None = None) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    Args:
        fn: function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a sequence of Tensors (those with ``requires_grad`` are checked). Use
            float64: float32 rounding swamps finite differences, so float32 inputs trigger a
            warning.
        eps: finite-difference step.
        atol, rtol: an element passes when
            ``|analytical - numerical| <= atol + rtol * |numerical|``.
        seed: seeds the random output weights and directions.
        max_elements: inputs with at most this many elements are checked element by element; larger
            ones along ``n_directions`` random directions.
        raise_exception: raise ``GradcheckError`` on failure (else return False).
        nondet_tol: the backward pass runs twice; its two results may differ by this much.
        fast_mode: check every input along ``n_directions`` random directions (PyTorch's fast
            mode checks random projections too).
        check_undefined_grad, check_grad_dtypes, check_batched_grad, check_batched_forward_grad,
            check_forward_ad, check_backward_ad, masked: PyTorch's, accepted for its programs.
            Not checked separately here: gradients always have their input's dtype, there is no
            vmap, forward mode (``forward_ad``) is computed by reverse mode, which this checks,
            and a backward's handling of None gradients is not exercised.

    Returns:
        True when every checked gradient agrees.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass tensors with requires_grad=True")
    for i in checked:
        if inputs[i].dtype not in (numpy.float64, numpy.complex128):
            warnings.warn(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences need "
                "float64 (complex128) to be reliable",
                UserWarning,
                stacklevel=2,
            )
    if masked:
        raise NotImplementedError("gradcheck: masked=True (sparse masked semantics) is not "
                                  "supported")
    if fast_mode:
        max_elements = 0
    rng = numpy.random.default_rng(seed)
    analytical, weights = _analytical(fn, inputs, checked, rng)
    msg = _backward_problem(fn, inputs, checked, analytical, seed, nondet_tol)
    if msg is not None:
        if raise_exception:
            raise GradcheckError(msg)
        return False
    if not _agrees(fn, inputs, checked, analytical, weights, rng, eps, atol, rtol,
                   max_elements, n_directions, raise_exception):
        return False
    msg = _backward_problem(fn, inputs, checked, analytical, seed, None)
    if msg is not None:
        if raise_exception:
            raise GradcheckError(msg)
        return False
    return True


def _agrees(fn, inputs, checked, analytical, weights, rng, eps, atol, rtol, max_elements,
            n_directions, raise_exception):
    """Backpropagated and finite-difference gradients agree (else GradcheckError or False)."""
    worst = None
    for i, g in zip(checked, analytical):
        x = inputs[i]
        wide = numpy.complex128 if x.dtype.kind == "c" else numpy.float64
        if g is None:
            g = numpy.zeros(x.shape, wide)
        else:
            if not isinstance(g, Tensor):  # a sparse gradient (chainrule.sparse): its dense form
                g = g.to_dense()
            g = numpy.asarray(asnumpy(g._data), dtype=wide)
        for where, num, ana in _compare(fn, inputs, weights, x, g, eps, max_elements,
                                        n_directions, rng):
            excess = abs(ana - num) - (atol + rtol * abs(num))
            if excess > 0 and (worst is None or excess > worst[0]):
                worst = (excess, i, where, num, ana)
    if worst is None:
        return True
    _, i, where, num, ana = worst
    msg = (
        f"gradcheck failed for input {i} (shape {inputs[i].shape}) at {where}: "
        f"numerical {num:.6g}, analytical {ana:.6g}, |difference| {abs(num - ana):.3g} > "
        f"atol + rtol*|numerical| = {atol + rtol * abs(num):.3g} (derivatives of the checked "
        "scalar sum(u * fn(...)) with seeded random weights u, not of fn's outputs one by one)"
    )
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _analytical(fn, inputs, checked, rng, scale=1):
    """The backpropagated gradients of ``s`` (see the module docstring) for the checked inputs,
    the output weights multiplied by ``scale``, and the weights."""
    outs = _outputs(fn, inputs)
    weights = _weights(outs, rng)
    live = [(o, u * scale) for o, u in zip(outs, weights) if o.requires_grad]
    if not live:
        return [None] * len(checked), weights
    return grad([o for o, _ in live], [inputs[i] for i in checked], [Tensor(u) for _, u in live],
                allow_unused=True), weights


def _dense(g):
    if g is None:
        return None
    return numpy.asarray(asnumpy((g if isinstance(g, Tensor) else g.to_dense())._data))


def _backward_problem(fn, inputs, checked, analytical, seed, nondet_tol):
    """PyTorch's checks of the backward pass itself: run again it gives the same gradients
    (within ``nondet_tol``; checked first), and (``nondet_tol`` None, after the values) zero
    output gradients give zero (NaN aside: 0 * inf)."""
    scale = 0 if nondet_tol is None else 1
    again, _ = _analytical(fn, inputs, checked, numpy.random.default_rng(seed), scale)
    for i, g, h in zip(checked, analytical, again):
        a, z = _dense(g), _dense(h)
        if nondet_tol is not None and ((a is None) != (z is None) or a is not None and
                                       numpy.abs(a - z).max(initial=0) > nondet_tol):
            return (f"gradcheck: backward is not reentrant: two backward passes gave different "
                    f"gradients for input {i} (nondet_tol={nondet_tol})")
        if nondet_tol is None and z is not None and numpy.any((z != 0) & ~numpy.isnan(z)):
            return (f"gradcheck: backward not multiplied by grad_output: zero output gradients "
                    f"gave a nonzero gradient for input {i}")
    return None


def _compare(fn, inputs, weights, x, g, eps, max_elements, n_directions, rng):
    """Yield (where, numerical, analytical) for each element or random direction of input ``x``.

    ``x``'s values are perturbed in place and restored; no graph that reads them is alive then.
    """
    data = x._writable()  # a Parameter's data is a read-only view of this array
    original = data.copy()
    # A complex element is two real coordinates: its real part, then its imaginary part.
    parts = (("", 1),)
    if data.dtype.kind == "c":
        parts = ((" (real part)", 1), (" (imaginary part)", 1j))
    try:
        if data.size <= max_elements:
            for k in range(data.size):
                # Index by position, not through a flat view: x may be stored in any memory
                # order (a transposed array, a strided view), where reshape(-1) is a copy.
                i = tuple(int(c) for c in numpy.unravel_index(k, data.shape))
                for name, unit in parts:
                    data[i] = original[i] + eps * unit
                    plus = _scalar(fn, inputs, weights)
                    data[i] = original[i] - eps * unit
                    minus = _scalar(fn, inputs, weights)
                    data[i] = original[i]
                    ana = g[i].imag if unit == 1j else g[i].real
                    yield f"element {i}{name}", (plus - minus) / (2 * eps), float(ana)
        else:
            xp = get_array_module(data)
            for d in range(n_directions):
                v = rng.standard_normal(data.shape)
                if len(parts) == 2:
                    v = v + 1j * rng.standard_normal(data.shape)
                v /= numpy.linalg.norm(v)
                data[...] = original + xp.asarray(eps * v, dtype=data.dtype)
                plus = _scalar(fn, inputs, weights)
                data[...] = original - xp.asarray(eps * v, dtype=data.dtype)
                minus = _scalar(fn, inputs, weights)
                data[...] = original
                # ds along v = x-part + i y-part is Re(conj(g) v) = g.x v.x + g.y v.y
                yield (f"random direction {d}", (plus - minus) / (2 * eps),
                       float((g.conj() * v).real.sum()))
    finally:
        data[...] = original


def gradgradcheck(fn, inputs, grad_outputs=None, *, seed: int = 0,
                  gen_non_contig_grad_outputs: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, **kwargs) -> bool:
    """Check second derivatives: gradcheck of ``x -> d<u, fn(x)>/dx`` for ``u`` the
    ``grad_outputs`` (a Tensor or one per output, PyTorch's), or seeded random ones.

    The backward pass of ``fn`` is recorded with ``create_graph=True`` and differentiated again, so
    this verifies that every backward rule is itself differentiable and correct. Keyword arguments
    go to ``gradcheck``; PyTorch's ``gen_non_contig_grad_outputs`` and ``check_*_over_rev`` are
    accepted (memory layout does not change chainrule's values; forward-over-reverse is reverse
    over reverse here).
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        weights = _weights(outs, numpy.random.default_rng(seed + 1))
    else:
        given = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
        if len(given) != len(outs) or any(not isinstance(u, Tensor) or u.shape != o.shape
                                          for u, o in zip(given, outs)):
            raise ValueError(f"gradgradcheck: grad_outputs must be one Tensor per output, of "
                             f"shapes {[tuple(o.shape) for o in outs]}, got {grad_outputs!r}")
        weights = [u.detach()._data for u in given]

    def first_derivative(*xs):
        # gradcheck evaluates this under no_grad; the inner graph is still needed
        with enable_grad():
            outs = _outputs(fn, xs)
            pairs = [(o, Tensor(u)) for o, u in zip(outs, weights) if o.requires_grad]
            grads = grad([o for o, _ in pairs], [x for x in xs if x.requires_grad],
                         [u for _, u in pairs], create_graph=True, allow_unused=True)
        xs_checked = [x for x in xs if x.requires_grad]
        return tuple(
            Tensor(get_array_module(x._data).zeros_like(x._data)) if g is None else g
            for g, x in zip(grads, xs_checked)
        )

    if not checked:
        raise ValueError("gradgradcheck: no input requires grad")
    return gradcheck(first_derivative, inputs, seed=seed, **kwargs)
