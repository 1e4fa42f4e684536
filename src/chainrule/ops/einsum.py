"""Einstein summation and the products built on it: einsum, outer, dot, inner, mv, tensordot;
cdist; diag and trace; triu_indices/tril_indices.

``einsum("ij,jk->ik", a, b)`` multiplies the operands' entries that share index letters and sums
over the letters missing from the output. Its gradient with respect to one operand is another
einsum: the output's gradient times the other operands, summed over what the operand does not
have, e.g. ``d/da = einsum("ik,jk->ij", g, b)``. A letter that only that operand has (summed away
inside it) gets the gradient broadcast along it. So einsum differentiates to any order.
"""

from __future__ import annotations

import numbers
import operator
import string

from ..autograd.function import Function
from ..autograd.promotion import promote_types
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy, quiet
from ._conj import cj
from ._layout import check_factory_options
from ._promotion import promoted, promoted_all
from ._same_dtype import same_dtype
from .creation import _dtype, _leaf
from .diagonal import diagonal
from .elementwise import abs as abs_
from .elementwise import fill_where
from .reduce import sum as _sum
from .shape import broadcast_to, reshape, squeeze, unsqueeze
from .stats import amax, norm

# ``trace`` (a matrix's) is a method only: ``chainrule.trace`` is the plan tracer (autograd).
__all__ = ["cdist", "diag", "dot", "einsum", "inner", "mv", "outer", "pdist", "tensordot",
           "tril_indices", "triu_indices"]


class Einsum(Function):
    complex_grad = True  # multilinear: each input's gradient contracts g with the others' conj
    reads_output = False

    def forward(self, *arrays):
        xp = get_array_module(*arrays)
        if arrays[0].dtype == xp.float16:  # NumPy sums float16 products in float16; PyTorch (and
            with quiet(xp):  # matmul) in float32, rounding once: inf beyond 65504, silently
                return xp.einsum(self.equation, *arrays, optimize=len(arrays) > 2,
                                 dtype=xp.float32).astype(xp.float16)
        return xp.einsum(self.equation, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        ins, out = self.subscripts
        grads = []
        for k, (x, sub) in enumerate(zip(self.inputs, ins)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(t, s) for j, (t, s) in enumerate(zip(self.inputs, ins)) if j != k]
            seen = out + "".join(s for _, s in others)
            kept = "".join(c for c in sub if c in seen)
            eq = ",".join([out] + [s for _, s in others]) + "->" + kept
            grad = Einsum.apply(g, *[cj(t) for t, _ in others], equation=eq,
                                subscripts=([out] + [s for _, s in others], kept))
            if kept != sub:  # letters summed inside this operand alone: broadcast back along them
                grad = broadcast_to(reshape(grad, tuple(n if c in kept else 1
                                                        for c, n in zip(sub, x.shape))), x.shape)
            grads.append(grad)
        return tuple(grads)


def _parse(equation, shapes):
    """The equation with '...' spelled out as letters: (input subscripts, output subscripts)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(ins)} operands, but "
                         f"{len(shapes)} tensors were given")
    spare = [c for c in string.ascii_letters if c not in eq]
    width = max([len(s) - (len(sub) - 3) for sub, s in zip(ins, shapes) if "..." in sub],
                default=0)
    dots = "".join(spare[:width])
    full = []
    for sub in ins + [rhs]:
        if "." in sub.replace("...", "", 1):
            raise ValueError(f"einsum: subscripts {sub!r} in {equation!r} hold a '.' outside "
                             "one ellipsis '...'")
    for sub, shape in zip(ins, shapes):
        if "..." in sub:
            n = len(shape) - (len(sub) - 3)
            sub = sub.replace("...", dots[width - n:] if n else "")
        if len(sub) != len(shape) or not all(c in string.ascii_letters for c in sub):
            raise ValueError(f"einsum: subscripts {sub!r} do not fit an operand of shape "
                             f"{tuple(shape)} in {equation!r}")
        full.append(sub)
    if arrow:
        out = rhs.replace("...", dots)
    else:  # implicit: the letters used once, in alphabetical order, after the ellipsis
        letters = "".join(full)
        out = dots + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                    and c not in dots))
    sizes = {}  # a letter's size; one of size 1 broadcasts against the others (PyTorch's)
    for k, (sub, shape) in enumerate(zip(full, shapes)):
        for c, n in zip(sub, shape):
            seen = [m for d, m in zip(sub, shape) if d == c]
            if len(set(seen)) > 1:  # a diagonal's sizes must agree: no broadcasting
                raise ValueError(f"einsum: index {c!r} has sizes {min(seen)} and {max(seen)} in "
                                 f"operand {k} of shape {tuple(shape)} in {equation!r}")
            if sizes.setdefault(c, n) != n and 1 not in (n, sizes[c]):
                raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {n} in "
                                 f"{equation!r} (shapes {[tuple(s) for s in shapes]}); only "
                                 "a size of 1 broadcasts")
            sizes[c] = sizes[c] if n == 1 else n
    if any(c not in sizes for c in out) or len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscripts {out!r} must be distinct input letters")
    return full, out, sizes


def _broadcast_ones(t, sub, sizes):
    """The axes of size 1 whose letter is larger elsewhere squeezed out (with the letter): the
    product broadcasts them, as PyTorch's."""
    ones = [p for p, c in enumerate(sub) if t.shape[p] == 1 and sizes[c] != 1]
    if not ones:
        return t, sub
    return squeeze(t, tuple(ones)), "".join(c for p, c in enumerate(sub) if p not in ones)


def _summed_in_int64(operands, ins, out):
    """PyTorch sums a letter that only one operand has (and the output lacks) inside that
    operand first, and its sum of integers or booleans is int64: such an operand is widened.
    Beside other operands, an axis of size 1 is squeezed there instead of summed."""
    wide = []
    for k, (t, sub) in enumerate(zip(operands, ins)):
        elsewhere = out + "".join(s for j, s in enumerate(ins) if j != k)
        if (isinstance(t, Tensor) and t.dtype.kind in "biu" and t.dtype != numpy.int64
                and any(c not in elsewhere and (len(ins) == 1 or n != 1)
                        for c, n in zip(sub, t.shape))):
            t = t.astype("int64")
        wide.append(t)
    return tuple(wide)


def _diagonals(t, sub):
    """A Tensor operand whose subscripts repeat a letter (``"ii"``, ``"bii"``) taken along its
    diagonals first, as ``diagonal`` does (the letter then appears once, as the last axis), so
    the gradient is ``diagonal``'s: einsum's own gradient rule wants distinct letters."""
    while isinstance(t, Tensor) and len(set(sub)) != len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        p = sub.index(c)
        q = sub.index(c, p + 1)
        t = diagonal(t, 0, p, q)
        sub = sub[:p] + sub[p + 1:q] + sub[q + 1:] + c
    return t, sub


def _from_sublists(args):
    """PyTorch's (and NumPy's) other spelling: operands each followed by a list of ints in
    [0, 52) (letters) and Ellipsis, then optionally the output's list."""
    def letters(sub):
        if not isinstance(sub, (list, tuple)):
            raise TypeError(f"einsum: expected a list of subscripts after each operand, got "
                            f"{type(sub).__name__}")
        for v in sub:
            if v is not Ellipsis and not (isinstance(v, int) and 0 <= v < 52):
                raise ValueError(f"einsum: a subscript must be an int in [0, 52) or Ellipsis, "
                                 f"got {v!r}")
        return "".join("..." if v is Ellipsis else string.ascii_letters[v] for v in sub)

    operands, subs = args[0:len(args) - len(args) % 2:2], args[1::2]
    eq = ",".join(letters(sub) for sub in subs[:len(operands)])
    if len(args) % 2:
        eq += "->" + letters(args[-1])
    return eq, operands


def einsum(equation, *operands):
    """Einstein summation over ``operands`` (PyTorch's and NumPy's notation, with '...')."""
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    if isinstance(equation, Tensor):  # the sublist form: einsum(a, [0, 1], b, [1, 2], [0, 2])
        equation, operands = _from_sublists((equation,) + operands)
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a string, got {type(equation).__name__}")
    ins, out, sizes = _parse(equation, [getattr(t, "shape", ()) for t in operands])
    operands, ins = zip(*(_broadcast_ones(*_diagonals(t, sub), sizes)
                          for t, sub in zip(operands, ins)))
    operands = _summed_in_int64(operands, ins, out)
    eq = ",".join(ins) + "->" + out
    dtypes = {numpy.dtype(t.dtype) for t in operands if hasattr(t, "dtype")}
    if len(dtypes) > 1:  # mixed dtypes (PyTorch raises): PyTorch's promote_types, not NumPy's
        common = dtypes.pop()
        for d in dtypes:
            common = promote_types(common, d)
        operands = promoted_all(*operands, dtype=common)
    return Einsum.apply(*operands, equation=eq, subscripts=(ins, out))


def outer(input, vec2):  # noqa: A002
    """The products of every pair of entries, in the dtype PyTorch's ``mul`` gives them."""
    return einsum("i,j->ij", *promoted(input, vec2))


def dot(input, tensor):  # noqa: A002
    if input.ndim != 1 or tensor.ndim != 1:
        raise ValueError(
            f"dot: expects two 1-D tensors, got shapes {input.shape} and {tensor.shape}")
    _same_size("dot", input, tensor)
    same_dtype("dot", input, tensor, ("input", "tensor"))
    return einsum("i,i->", input, tensor)


def inner(input, other):  # noqa: A002
    """The sum over the last axes of ``input`` and ``other`` (a product for a scalar)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    _same_size("inner", input, other)
    same_dtype("inner", input, other)
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


def mv(input, vec):  # noqa: A002
    if input.ndim != 2 or vec.ndim != 1:
        raise ValueError(
            f"mv: expects a 2-D matrix and a 1-D vector, got {input.shape}, {vec.shape}")
    _same_size("mv", input, vec)
    same_dtype("mv", input, vec, ("input", "vec"))
    return einsum("ij,j->i", input, vec)


def _same_size(op, a, b):
    """Where PyTorch's product is not einsum's, a last axis of size 1 does not broadcast."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{op}: the last dimensions must match, got shapes {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")


def tensordot(a, b, dims=2):
    """Sum over the last ``dims`` axes of a and the first of b, or over the axis lists
    ``dims = (axes_a, axes_b)`` (of one length, no axis twice; a tensor of them too)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    same_dtype("tensordot", a, b, ("a", "b"))
    if isinstance(dims, int):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims must be a count of axes in 0..{min(a.ndim, b.ndim)}"
                             f" for shapes {tuple(a.shape)} and {tuple(b.shape)}, got {dims}")
        axes_a, axes_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        axes_a, axes_b = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(axes_a) != len(axes_b):
            raise ValueError(f"tensordot: the two lists of dims must have one length, got "
                             f"{axes_a} and {axes_b}")
        axes_a, axes_b = _axes("a", axes_a, a.ndim), _axes("b", axes_b, b.ndim)
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in axes_a]
    out += [c for j, c in enumerate(sb) if j not in axes_b]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def _axes(name, dims, ndim):
    axes = []
    for d in dims:
        d = operator.index(d)
        if not -ndim <= d < ndim:
            raise IndexError(f"tensordot: dim {d} is out of range for {name} with {ndim} "
                             "dimensions")
        axes.append(d % ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"tensordot: the dims of {name} name an axis twice, got {dims}")
    return axes


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p: float = 2.0, compute_mode: str = _CDIST_MODES[0]):
    """The p-norm distance between each row of x1 (..., P, M) and each of x2 (..., R, M).

    ``compute_mode`` is PyTorch's choice of a faster, less exact matrix-product route for p = 2;
    chainrule always takes the exact one (PyTorch's "donot_use_mm_for_euclid_dist")."""
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"cdist: compute_mode must be one of {_CDIST_MODES}, got "
                         f"{compute_mode!r}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist: x1 {x1.shape} and x2 {x2.shape} must have the same last size")
    _real("cdist", ("x1", x1), ("x2", x2))
    same_dtype("cdist", x1, x2, ("x1", "x2"))
    if not p >= 0:
        raise ValueError(f"cdist: p must be a non-negative number, got {p}")
    return _distance(unsqueeze(x1, -2) - unsqueeze(x2, -3), p)


def pdist(input, p: float = 2.0):  # noqa: A002 - PyTorch's name
    """The p-norm distance between each pair of rows i < j of a 2-D ``input`` (N, M): a vector of
    N (N - 1) / 2 distances in row-major order of the pairs, as PyTorch's ``pdist``."""
    if input.ndim != 2:
        raise ValueError(f"pdist: input must be 2-D (N, M), got shape {tuple(input.shape)}")
    _real("pdist", ("input", input))
    if not p >= 0:
        raise ValueError(f"pdist: p must be a non-negative number, got {p}")
    rows, cols = get_array_module(input._data).triu_indices(input.shape[0], 1)
    return _distance(input[rows] - input[cols], p)


def _distance(diff, p):
    """The p-norm of ``diff`` over its last axis. For p = inf, PyTorch's cdist/pdist gradient:
    every coordinate at the largest distance gets the whole gradient (sign(diff) g), where the
    gradient of ``norm``/``amax`` splits it among tied coordinates."""
    if diff.shape[-1] == 0:  # points without coordinates: distance 0 for every p
        return _sum(abs_(diff), -1)
    if p != float("inf"):
        return norm(diff, p, dim=-1)
    a = abs_(diff)
    top = amax(a, -1, keepdim=True).detach()
    ties = a._data == top._data
    return squeeze(top, -1) + _sum(fill_where(~ties, 0, a - a.detach()), -1)


def _real(op, *named):
    for name, t in named:
        if t.dtype.kind == "c":
            raise TypeError(f"{op}: {name} must be real (PyTorch's supports only floating-point "
                            f"dtypes), got {t.dtype}")


class _DiagEmbed(Function):
    """A vector laid on diagonal ``k`` of a zero matrix of ``shape``."""

    complex_grad = True

    def forward(self, v):
        xp = get_array_module(v)
        m = xp.zeros(self.shape, v.dtype)
        rows = xp.arange(v.shape[0]) + max(-self.k, 0)
        m[rows, rows + self.k] = v
        return m

    def backward(self, g):
        return _DiagPart.apply(g, k=self.k)


class _DiagPart(Function):
    """Diagonal ``k`` of a matrix, as a vector."""

    complex_grad = True

    def forward(self, m):
        return get_array_module(m).diagonal(m, self.k).copy()

    def backward(self, g):
        return _DiagEmbed.apply(g, k=self.k, shape=self.inputs[0].shape)


def diag(input, diagonal: int = 0):  # noqa: A002
    """A 1-D ``input`` laid on a diagonal of a square matrix, or a 2-D one's diagonal as a
    vector."""
    k = int(diagonal)
    if input.ndim == 1:
        n = input.shape[0] + abs(k)
        return _DiagEmbed.apply(input, k=k, shape=(n, n))
    if input.ndim == 2:
        return _DiagPart.apply(input, k=k)
    raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {input.shape}")


def trace(x):
    if x.ndim != 2:
        raise ValueError(f"trace: expects a 2-D tensor, got shape {x.shape}")
    return _sum(diag(x))


def _tri_indices(name, rows, cols, offset, upper, dtype, device):
    if cols is None:
        cols = rows
    for arg, n in (("row", rows), ("col", cols)):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"{name}: {arg} must be a non-negative int, got {n!r}")
    r, c = (numpy.triu_indices if upper else numpy.tril_indices)(rows, offset, cols)
    dtype = _dtype(name, dtype, numpy.dtype("int64"))
    if dtype.kind not in "iu":
        raise TypeError(f"{name}: dtype must be an integer dtype, got {dtype}")
    return _leaf(name, numpy.stack([r, c]).astype(dtype), device, False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None,
                 pin_memory: bool = False):
    """The (2, N) row and column indices of the upper triangle (PyTorch's layout; int64 unless
    ``dtype`` names another integer dtype)."""
    check_factory_options("triu_indices", layout, pin_memory)
    return _tri_indices("triu_indices", row, col, offset, True, dtype, device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None,
                 pin_memory: bool = False):
    """The (2, N) row and column indices of the lower triangle (as ``triu_indices``)."""
    check_factory_options("tril_indices", layout, pin_memory)
    return _tri_indices("tril_indices", row, col, offset, False, dtype, device)


def _mm_method(self, mat2):
    return self @ mat2


for _name, _fn in {"outer": outer, "ger": outer, "dot": dot, "inner": inner, "mv": mv,
                   "diag": diag, "trace": trace, "mm": _mm_method, "bmm": _mm_method}.items():
    setattr(Tensor, _name, _fn)
