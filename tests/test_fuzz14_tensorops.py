"""Fuzz wave 14: the rarer tensor functions against PyTorch (values, dtypes of integer and bool
inputs, shapes, float64 gradients and error versus no error, through ``_fuzz12_check.check``):
flip/fliplr/flipud, rot90, roll, vander, block_diag, cartesian_prod, combinations, kron,
diag_embed/diagonal and the scatter-into-a-view family (diagonal_scatter, select_scatter,
slice_scatter), einsum (repeated letters, ellipses, broadcasting, integer sums), tensordot's
forms of ``dims``, cross, lerp and clamp with tensor bounds. Earlier waves' functions (diff,
histograms, searchsorted, unique, scatter/index families, cumulative ops, distances, renorm) are
in tests/test_fuzz12_*.py and tests/test_fuzz13_*.py and not repeated here.

Before this wave:

* ``roll(x, (1,))`` (one shift in a tuple, no dims) raised int()'s TypeError and
  ``roll(x, 1, ())`` (no dims) refused the shift; PyTorch rolls the flattened tensor in both.
  ``roll(x, 1.5)`` and ``roll(x, True)`` were taken as ``int(shift)``, and an empty ``shifts``
  rolled nothing; PyTorch refuses all three.
* ``vander`` and ``linalg.vander`` of integer or bool tensors kept their dtype (an int8 or uint8
  matrix of powers wrapped around: ``vander(int8 [5], 5)`` held 5 ** 4 as 113, silently);
  PyTorch's powers are int64. ``linalg.vander`` took N = 1 (PyTorch: "N must be greater than
  1"), and bool and float16 inputs, which PyTorch refuses.
* ``einsum`` refused a letter (or an ellipsis dimension) of size 1 in one operand and n in
  another ("index 'a' has sizes 2 and 1"), where PyTorch broadcasts it: batched products
  ``"...ij,...jk->...ik"`` of a (2, 1, m, n) and a (5, n, p) stack, ``"bij,bjk"`` with a
  batch of 1, and tensordot over such an axis failed. ``dot``, ``mv`` and ``inner`` still
  refuse it, as PyTorch's.
* ``einsum`` of integer or bool tensors summed in their own dtype: ``einsum("ij->i", int8)``
  wrapped around past 127 and ``einsum("ii", bool)`` (a trace) was a bool, where PyTorch sums a
  letter that one operand alone has in int64 (as ``sum``); its dtype is now PyTorch's.
* ``tensordot`` with two lists of dims of different lengths (``([0, 1], [0])``) contracted the
  pairs ``zip`` kept and dropped the rest silently, and an axis named twice (``([0, 0], [0,
  1])``) gave an arbitrary product; PyTorch refuses both, as it refuses a count larger than
  either tensor's dimensions.
* ``block_diag`` of blocks of different dtypes took NumPy's promotion: int32 beside float32 was
  float64, and a 0-d float64 block lifted 1-D float32 ones to float64; PyTorch's is its
  ``result_type`` (float32 for both).
* ``diagonal_scatter``/``select_scatter``/``slice_scatter`` refused a ``src`` of another dtype;
  PyTorch copies it in, cast to the input's dtype (float32 into float64, -1.7 into int32 as -1,
  a complex one into a real input losing its imaginary part with a warning), the gradient
  coming back in ``src``'s dtype.
* ``einsum``'s sublist form, ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (PyTorch's and NumPy's,
  with ``Ellipsis``), raised "equation must be a string"; an operand's subscripts with a stray
  '.' or two ellipses failed with a message listing spare letters.
* ``trapezoid``/``trapz`` of integer samples with none along ``dim`` gave float32 zeros (PyTorch:
  zeros of y's dtype), of bool samples (or bool ``x``) and ``cumulative_trapezoid`` of bool
  samples computed where PyTorch refuses them, and a 0-d tensor ``dx`` was taken as a tensor
  (PyTorch reads it as a number); with a constant ``dx`` the float16 sums were the sum of the
  pieces, a few ulps off PyTorch's ``(sum(y) - (y_first + y_last) / 2) dx``.
* ``index_add(alpha=)`` of an integer or bool tensor with an alpha of another kind promoted:
  ``index_add(int32, ..., alpha=0.5)`` was float32 (and ``index_add_`` wrote the sum with 0.5
  times the source, truncated), of bool with ``alpha=2`` int64; PyTorch casts alpha to the
  input's dtype (0.5 adds nothing to integers, -1 in uint8 is 255, any nonzero alpha is True
  for bool) and refuses one it cannot hold (-1.5 in uint8, 2**33 in int32, 1j for a real
  tensor); a 0-d tensor alpha was taken as a tensor (PyTorch reads it as a number).
* ``nextafter`` of a float tensor beside an integer or bool one refused both ("must be floating
  point"); PyTorch promotes them first (float32 beside int8 is float32's next value), refusing
  only when the promoted dtype is not floating point.
* ``cdist(x1, x2, p=inf)`` and ``pdist(x, p=inf)`` of points with no coordinates (M = 0)
  raised "max: cannot reduce over an axis of size 0"; PyTorch's distances are 0.
* ``index_put``/``index_put_`` cast values of another dtype into the input's (an inf float64
  value into int32 wrote -2147483648); PyTorch refuses them ("Index put requires the source
  and destination dtypes match"), as chainrule's scatter and index_add do.
* ``histogram``/``histogramdd`` cast a tensor of edges or a weight of another dtype to the
  input's (a float64 edge 0.1 moved to float32's 0.1 silently); PyTorch refuses both ("input
  tensor and bins tensors should have the same dtype").
* ``meshgrid`` and ``cartesian_prod`` of tensors of different dtypes computed (cartesian_prod
  promoting them into one); PyTorch refuses them ("meshgrid expects all tensors to have the
  same dtype").
* ``lerp`` of float16 tensors rounded each step in float16 (a few ulps off: -0.9004 for
  PyTorch's -0.8979); PyTorch computes it in float32 and rounds once, as chainrule now does.

Checked and found equal (seeded cases below): flip/fliplr/flipud, rot90 (every k and plane),
roll, block_diag, cartesian_prod, combinations (with_replacement), kron, diag_embed, diagonal,
diagonal_scatter/select_scatter/slice_scatter (with gradients to the source), tensordot (a
count, lists, negative dims, a tensor), cross, lerp (tensor and number weights), clamp with
tensor bounds. Left as they are: two dtypes in cross/lerp/einsum/tensordot are promoted here
where PyTorch raises (docs/pytorch.md's policy); PyTorch 2.13's block_diag gradient is wrong for
the blocks after an empty 1-D block (chainrule's is right); ``clamp(uint8, -1, 2)`` is 2
everywhere in PyTorch (-1 wraps to 255 in uint8), here the values clamped to [0, 2].
"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check, same_outcome

torch = pytest.importorskip("torch")

DTYPES = ["float64", "float32", "int64", "int32", "uint8", "bool", "float16", "int8", "int16"]


def _array(rng, shape, dtype):
    x = rng.standard_normal(shape) * 3
    if dtype == "bool":
        return x > 0
    return (np.abs(x) if dtype == "uint8" else x).astype(dtype)


def _shape(rng, lo, hi, nmin, nmax):
    return tuple(int(v) for v in rng.integers(lo, hi, int(rng.integers(nmin, nmax))))


def _grad(dtype, *positions):
    return positions if dtype == "float64" else ()


@pytest.mark.parametrize("seed", range(45))
def test_flips_rotations_and_rolls(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    x = _array(rng, _shape(rng, 0, 4, 1, 4), dtype)
    nd, g = x.ndim, _grad(dtype, 0)
    dims = tuple(int(d) for d in rng.choice(np.arange(-nd, nd), int(rng.integers(1, nd + 1)),
                                            replace=False))
    k = int(rng.integers(-5, 6))
    plane = tuple(int(d) for d in rng.choice(np.arange(-nd, nd), 2, replace=nd < 2))
    shifts = tuple(int(v) for v in rng.integers(-7, 8, len(dims)))
    label = f"{seed} {dtype} {x.shape} dims={dims} k={k} plane={plane} shifts={shifts}"
    for name, fn in [("flip", lambda L, t: L.flip(t, dims)),
                     ("fliplr", lambda L, t: L.fliplr(t)), ("flipud", lambda L, t: t.flipud()),
                     ("rot90", lambda L, t: L.rot90(t, k, plane)),
                     ("rot90 method", lambda L, t: t.rot90(k)),
                     ("roll", lambda L, t: L.roll(t, shifts, dims)),
                     ("roll flat", lambda L, t: L.roll(t, shifts[0])),
                     ("roll one dim", lambda L, t: t.roll(shifts[0], dims[0]))]:
        check(torch, fn, x, grad=g, label=f"{name} {label}")


def _roll_arguments_as_pytorch_case(args):
    """One shift without dims rolls the flattened tensor; no shift, a float or a bool shift is
    refused."""
    x = np.arange(6.0).reshape(2, 3)
    same_outcome(torch, lambda L, t: L.roll(t, *args), [x], label=str(args))
    same_outcome(torch, lambda L, t: t.roll(*args), [x], label=f"method {args}")


def test_roll_arguments_as_pytorch():
    each_case(_roll_arguments_as_pytorch_case, grid(
        ("args", [((1,),), ((-2,), None), (1, ()), (3, []), ((), ()), ([], 0),
                  ((1, 2),), ((1, 2), ()), (1.5,), (True,), ((1, 2), (0, 0)),
                  (1, 2), ((1,), (0, 1))]),
    ))


def _vander_case(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    x = _array(rng, (int(rng.integers(0, 5)),), dtype)
    n, increasing = [None, 0, 1, 2, 3, 5][seed % 6], bool(seed % 2)
    label = f"{seed} {dtype} {x.shape} N={n} increasing={increasing}"
    check(torch, lambda L, t: L.vander(t, n, increasing), x, grad=_grad(dtype, 0), label=label)
    batch = _array(rng, (2,) + x.shape, dtype)
    for v in (x, batch):
        check(torch, lambda L, t: L.linalg.vander(t, N=n), v, grad=_grad(dtype, 0),
              label=f"linalg {label} {v.shape}")


def test_vander():
    each_case(_vander_case, grid(("seed", range(27))))


def test_vander_of_small_integers_is_int64():
    x = np.array([5, -3, 2], "int8")
    for fn in (lambda L, t: L.vander(t, 5), lambda L, t: L.linalg.vander(t, N=5)):
        same_outcome(torch, fn, [x], label="int8")
        same_outcome(torch, fn, [x.astype("uint8")], label="uint8")


@pytest.mark.parametrize("equation, shapes", [
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (5, 3, 4)]), ("...,...->...", [(2, 1), (3,)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]), ("...i,...i", [(1, 3), (4, 3)]),
    ("i...,i...->i", [(2, 1), (2, 3)]), ("b...,b...->b...", [(2, 3, 1), (2, 1, 4)]),
    ("i,i->i", [(1,), (3,)]), ("ij,jk->ik", [(2, 1), (3, 4)]), ("bij,bjk", [(1, 2, 3), (4, 3, 2)]),
    ("ij,ij->ij", [(1, 0), (3, 1)]), ("i,i->", [(0,), (1,)]), ("iij,j->ij", [(2, 2, 1), (3,)]),
    ("...ii->...i", [(1, 2, 2)]), ("...,...", [(2,), (3,)]), ("ii->i", [(1, 3)]),
    ("ij,jk,kl->il", [(2, 1), (3, 1), (1, 2)])])
def test_einsum_broadcasts_letters_of_size_one(equation, shapes):
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s) for s in shapes]
    check(torch, lambda L, *ts: L.einsum(equation, *ts), *arrays, grad=tuple(range(len(shapes))),
          label=f"{equation} {shapes}")


@pytest.mark.parametrize("name, shapes", [
    ("dot", [(1,), (3,)]), ("mv", [(2, 1), (3,)]), ("inner", [(2, 1), (3,)]),
    ("tensordot", [(2, 1), (3, 4)]), ("outer", [(1,), (3,)])])
def test_products_beside_einsum_broadcast_only_where_pytorch_does(name, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    fn = (lambda L, a, b: L.tensordot(a, b, 1)) if name == "tensordot" else \
        (lambda L, a, b: getattr(L, name)(a, b))
    check(torch, fn, *arrays, grad=(0, 1), label=name)


def _where_torch_computes(fn, *arrays, grad=(), label=""):
    """``check`` where PyTorch computes: its einsum and tensordot of bool tensors, and some of
    integers (a bmm of an int64 sum with an int32 operand), fail inside PyTorch."""
    try:
        fn(torch, *[torch.tensor(a) for a in arrays])
    except (RuntimeError, NotImplementedError):
        return
    check(torch, fn, *arrays, grad=grad, label=label)


def _random_einsums_case(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    # (with an empty integer operand PyTorch's dtype depends on which axis is empty: not drawn)
    empty = rng.random() < 0.1 and dtype.startswith("float")
    sizes = {c: int(rng.integers(0 if empty else 1, 4)) for c in "abcd"}
    subs = ["".join(rng.choice(list("abcd"), int(rng.integers(0, 4)))) for _ in range(2)]
    shapes = [tuple(sizes[c] for c in s) for s in subs]
    if rng.random() < 0.4:  # an ellipsis, broadcast between the operands
        batch = _shape(rng, 1, 3, 0, 3)
        shapes = [batch + shapes[0], tuple(1 if rng.random() < 0.3 else n for n in batch)
                  + shapes[1]]
        subs = ["..." + s for s in subs]
    letters = sorted(set("".join(subs).replace(".", "")))
    out = "".join(c for c in letters if rng.random() < 0.5)
    out = ("..." + out if "..." in subs[0] and rng.random() < 0.7 else out)
    eq = ",".join(subs) + ("->" + out if rng.random() < 0.6 else "")
    arrays = [_array(rng, s, dtype) for s in shapes]
    label = f"{seed} {eq} {shapes} {dtype}"
    _where_torch_computes(lambda L, a, b: L.einsum(eq, a, b), *arrays, grad=_grad(dtype, 0, 1),
                          label=label)
    one = subs[0] + ("->" + "".join(sorted(set(subs[0]) - {"."})) if rng.random() < 0.5 else "")
    _where_torch_computes(lambda L, a: L.einsum(one, [a]), arrays[0], grad=_grad(dtype, 0),
                          label=f"{label} {one}")


def test_random_einsums():
    each_case(_random_einsums_case, grid(("seed", range(60))))


def _einsum_sums_integers_in_int64_case(equation, shape, dtype):
    shapes = shape if isinstance(shape, list) else [shape]
    arrays = [np.full(s, 5).astype(dtype) for s in shapes]
    _where_torch_computes(lambda L, *ts: L.einsum(equation, *ts), *arrays, label=equation)


def test_einsum_sums_integers_in_int64():
    each_case(_einsum_sums_integers_in_int64_case, grid(
        ("dtype", ["int8", "uint8", "bool", "int32"]),
        ("equation, shape", [("ij->i", (2, 40)), ("ii", (3, 3)), ("ij->", (2, 2)),
                             ("...->", (2, 1)), ("ij,k->ik", [(2, 1), (3,)]),
                             ("ij,jk->ik", [(2, 30), (30, 2)])]),
    ))


@pytest.mark.parametrize("args", [
    ((2, 3), [0, 1], (3, 4), [1, 2], [0, 2]), ((2, 3), [0, 1], (3, 4), [1, 2]),
    ((2, 2, 3), [Ellipsis, 1], (3, 4), [1, 2], [Ellipsis, 2]),
    ((2, 3), (51, 26), (3, 4), (26, 2), (51, 2)), ((3, 3), [4, 4], []), ((2, 3), [0, 1], [1]),
    ((2, 3), [52, 1], (3, 4), [1, 2]), ((2, 3), [-1, 1], (3, 4), [1, 2]),
    ((2, 3), [0, True], (3, 4), [1, 2])])
def test_einsum_sublist_form(args):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(args[k]) for k in range(0, len(args) - len(args) % 2, 2)]
    subs = [args[k] for k in range(1, len(args), 2)] + ([args[-1]] if len(args) % 2 else [])

    def call(L, *ts):
        flat = [v for t, s in zip(ts, subs) for v in (t, s)] + subs[len(ts):]
        return L.einsum(*flat)

    check(torch, call, *arrays, grad=tuple(range(len(arrays))), label=str(args))


@pytest.mark.parametrize("equation", ["...a...->a", "a.b->a", "ab->a..", "a..,b"])
def test_einsum_stray_dots_refused(equation):
    x = np.ones((2, 3))
    same_outcome(torch, lambda L, t: L.einsum(equation, t, t) if "," in equation
                 else L.einsum(equation, t), [x], label=equation)


def _tensordot_dims_checked_as_pytorch_case(dims):
    a = np.arange(24.0).reshape(2, 3, 4)
    cube = np.random.default_rng(0).standard_normal((3, 3, 3))
    for x, y in [(a, a.transpose(2, 1, 0).copy()), (cube, cube * 0.5 + 1)]:
        check(torch, lambda L, p, q: L.tensordot(p, q, dims), x, y, grad=(0, 1),
              label=f"{dims} {x.shape}")


def test_tensordot_dims_checked_as_pytorch():
    each_case(_tensordot_dims_checked_as_pytorch_case, grid(
        ("dims", [([0, 1], [0]), ([0, 0], [0, 1]), ([0, -3], [0, 1]), ([3], [0]),
                  ([0], [1]), 4, -1, 3, ([], []), ([2, 1], [0, 1]),
                  ([-1, 1], [0, -2])]),
    ))


@pytest.mark.parametrize("seed", range(36))
def test_cross_lerp_and_clamp(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    shape = list(_shape(rng, 1, 3, 1, 3))
    dim = int(rng.integers(0, len(shape)))
    shape[dim] = 3
    a = _array(rng, tuple(shape), dtype)
    # two dtypes are promoted here where PyTorch raises (docs/pytorch.md): one dtype compared
    for b in (_array(rng, tuple(shape), dtype), _array(rng, tuple(shape[dim:]), dtype)):
        g = _grad(dtype, 0, 1)
        label = f"{seed} {a.dtype} {b.dtype} {a.shape} {b.shape} dim={dim}"
        check(torch, lambda L, p, q: L.cross(p, q, dim=dim), a, b, grad=g, label=label)
        check(torch, lambda L, p, q: L.linalg.cross(p, q, dim=dim - len(shape)), a, b, grad=g,
              label=f"linalg {label}")
    fdt = ["float64", "float32", "float16"][seed % 3]
    x, end = _array(rng, tuple(shape), fdt), _array(rng, tuple(shape[-1:]), fdt)
    w = (rng.random(_shape(rng, 1, 3, 0, 2)) * 2 - 0.5).astype(fdt)
    g = _grad(fdt, 0, 1, 2)
    label = f"{seed} {fdt} {x.shape} {w.shape}"
    check(torch, lambda L, p, q, r: L.lerp(p, q, r), x, end, w, grad=g, label=f"lerp {label}")
    scalar = float(w.flat[0]) if w.size else 0.75
    check(torch, lambda L, p, q: p.lerp(q, scalar), x, end, grad=g[:2], label=f"lerp {scalar}")
    lo, hi = _array(rng, tuple(shape[-1:]), dtype), _array(rng, (), dtype)
    label = f"{seed} {dtype} {a.shape}"
    if dtype != "bool":  # PyTorch has no bool kernel for two tensor bounds (one it takes)
        check(torch, lambda L, t, p, q: L.clamp(t, p, q), a, lo, hi,
              grad=_grad(dtype, 0, 1, 2), label=f"clamp {label}")
    check(torch, lambda L, t, p: t.clamp_min(p), a, lo, label=f"clamp_min {label}")
    check(torch, lambda L, t, q: L.clamp_max(t, q), a, hi, label=f"clamp_max {label}")
    check(torch, lambda L, t: L.clamp(t, -1.5, 2.5), a, label=f"clamp numbers {label}")


@pytest.mark.parametrize("seed", range(36))
def test_block_diag_cartesian_prod_combinations_and_kron(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    # PyTorch 2.13's block_diag backward loses its place after an empty 1-D block (its gradient
    # for the blocks below is read from the wrong rows): 1-D blocks are drawn non-empty
    mats = [_array(rng, _shape(rng, 1 if k % 2 else 0, 3, 0, 3), dtype) for k in range(3)]
    mats = [m if m.ndim != 1 or m.size else m.reshape(0, 0) for m in mats]
    label = f"{seed} {dtype} {[m.shape for m in mats]}"
    check(torch, lambda L, *ms: L.block_diag(*ms), *mats, grad=_grad(dtype, 0, 1, 2),
          label=f"block_diag {label}")
    a, b = _array(rng, (int(rng.integers(0, 4)),), dtype), _array(rng, (2,), dtype)
    check(torch, lambda L, p, q: L.cartesian_prod(p, q), a, b, grad=_grad(dtype, 0, 1),
          label=f"cartesian_prod {label} {a.shape}")
    check(torch, lambda L, p: L.cartesian_prod(p), a, grad=_grad(dtype, 0), label="one")
    r, repl = int(rng.integers(0, 4)), bool(rng.random() < 0.5)
    check(torch, lambda L, p: L.combinations(p, r, repl), a, grad=_grad(dtype, 0),
          label=f"combinations {a.shape} r={r} with_replacement={repl}")
    ka = _array(rng, _shape(rng, 0, 3, 0, 3), dtype)
    kb = _array(rng, _shape(rng, 1, 3, 0, 4), dtype)
    check(torch, lambda L, p, q: L.kron(p, q), ka, kb, grad=_grad(dtype, 0, 1),
          label=f"kron {ka.shape} {kb.shape} {dtype}")


def _diag_embed_and_scatters_into_views_case(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    shape = _shape(rng, 0, 4, 1, 4)
    x, nd = _array(rng, shape, dtype), len(shape)
    k = int(rng.integers(-3, 4))
    d1, d2 = (int(v) for v in rng.choice(np.arange(-nd - 1, nd + 1), 2, replace=False))
    check(torch, lambda L, t: L.diag_embed(t, k, d1, d2), x, grad=_grad(dtype, 0),
          label=f"diag_embed {seed} {dtype} {shape} {k} {d1} {d2}")
    if nd >= 2:
        a1, a2 = (int(v) for v in rng.choice(np.arange(nd), 2, replace=False))
        a1 -= nd * (seed % 2)
        src = _array(rng, np.diagonal(np.empty(shape), k, a1 % nd, a2).shape, dtype)
        check(torch, lambda L, t, s: L.diagonal_scatter(t, s, k, a1, a2), x, src,
              grad=_grad(dtype, 0, 1), label=f"diagonal_scatter {seed} {shape} {k} {a1} {a2}")
    dim = int(rng.integers(-nd, nd))
    n = shape[dim]
    index = int(rng.integers(-n - 1, n + 1)) if n else 0
    src = _array(rng, shape[:dim % nd] + shape[dim % nd + 1:], dtype)
    check(torch, lambda L, t, s: L.select_scatter(t, s, dim, index), x, src,
          grad=_grad(dtype, 0, 1), label=f"select_scatter {seed} {shape} {dim} {index}")
    start, end = int(rng.integers(-4, 4)), [None, int(rng.integers(-4, 5))][seed % 2]
    step = int(rng.integers(1, 3))
    part = np.empty(shape)[(slice(None),) * (dim % nd) + (slice(start, end, step),)].shape
    check(torch, lambda L, t, s: L.slice_scatter(t, s, dim, start, end, step), x,
          _array(rng, part, dtype), grad=_grad(dtype, 0, 1),
          label=f"slice_scatter {seed} {shape} {dim} {start}:{end}:{step}")


def test_diag_embed_and_scatters_into_views():
    each_case(_diag_embed_and_scatters_into_views_case, grid(("seed", range(45))))


@pytest.mark.parametrize("seed", range(36))
def test_tensordot_forms_of_dims(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    k = int(rng.integers(0, 3))
    inner = _shape(rng, 1, 4, k, k + 1)
    a = _array(rng, _shape(rng, 1, 3, 0, 2) + inner, dtype)
    b = _array(rng, inner + _shape(rng, 1, 3, 0, 2), dtype)
    perm = rng.permutation(k)
    da = [a.ndim - k + int(i) for i in perm]
    db = [int(i) for i in perm]
    label = f"{seed} {dtype} {a.shape} {b.shape}"
    for name, dims in [("count", k), ("lists", (da, db)),
                       ("negative", ([d - a.ndim for d in da], db)),
                       ("tensor", torch.tensor([da, db]) if k else None)]:
        if dims is None:
            continue
        _where_torch_computes(
            lambda L, p, q: L.tensordot(p, q, dims=L.tensor(dims.tolist())
                                        if name == "tensor" else dims),
            a, b, grad=_grad(dtype, 0, 1), label=f"tensordot {name} {label} {dims}")


def _block_diag_promotes_as_pytorch_case(dtypes, shapes):
    blocks = [np.ones(s, d) for s, d in zip(shapes, dtypes)]
    check(torch, lambda L, *ts: L.block_diag(*ts), *blocks, label=f"{dtypes} {shapes}")


def test_block_diag_promotes_as_pytorch():
    each_case(_block_diag_promotes_as_pytorch_case, grid(
        ("shapes", [((2,), (1, 1)), ((), (2,)), ((), ()), ((2, 2), ())]),
        ("dtypes", [("int32", "float32"), ("float64", "float32"),
                    ("int8", "uint8"), ("bool", "int16"), ("int64", "float16"),
                    ("complex64", "float64"), ("uint8", "bool")]),
    ))


@pytest.mark.parametrize("dtypes", [("float64", "float32"), ("float64", "float16"),
                                    ("float32", "float64"), ("int32", "float32"),
                                    ("float64", "int64"), ("int16", "bool"), ("float16", "int8"),
                                    ("bool", "float32")])
def test_scatters_into_views_cast_the_source_as_pytorch(dtypes):
    rng = np.random.default_rng(1)
    x, src = _array(rng, (2, 3), dtypes[0]), _array(rng, (3,), dtypes[1])
    g = (0, 1) if set(dtypes) <= {"float64", "float32", "float16"} and "float64" in dtypes \
        else ()
    for name, fn in [("select", lambda L, t, s: L.select_scatter(t, s, 0, 1)),
                     ("slice", lambda L, t, s: L.slice_scatter(t, s.expand(2, 3))),
                     ("diagonal", lambda L, t, s: L.diagonal_scatter(t, s[:2], 1))]:
        check(torch, fn, x, src, grad=g, label=f"{name} {dtypes}")


def test_scatter_of_a_complex_source_into_a_real_input_warns():
    x, z = cr.zeros(2, 2), cr.tensor([1 + 2j, 3 - 1j])
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        y = cr.select_scatter(x, z, 0, 0)
    assert y.dtype == cr.float32 and y.tolist() == [[1.0, 3.0], [0.0, 0.0]]


@pytest.mark.parametrize("seed", range(45))
def test_trapezoid_and_cumulative_trapezoid(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    shape = _shape(rng, 0, 4, 1, 4)
    y, nd = _array(rng, shape, dtype), len(shape)
    dim = int(rng.integers(-nd, nd))
    dx = float(rng.random() + 0.5)
    x = np.sort(rng.standard_normal(shape[dim]))
    xs = np.sort(rng.standard_normal(shape), axis=dim).astype(
        "float64" if dtype == "float64" else "float32")
    label = f"{seed} {dtype} {shape} dim={dim}"
    for name in ("trapezoid", "trapz", "cumulative_trapezoid"):
        check(torch, lambda L, t: getattr(L, name)(t, dim=dim), y, grad=_grad(dtype, 0),
              label=f"{name} {label}")
        check(torch, lambda L, t: getattr(L, name)(t, dx=dx, dim=dim), y, grad=_grad(dtype, 0),
              label=f"{name} dx={dx} {label}")
        for points in (x, xs):
            check(torch, lambda L, t, p: getattr(L, name)(t, p, dim=dim), y, points,
                  grad=_grad(dtype, 0, 1), label=f"{name} x{points.shape} {label}")


def test_trapezoid_edges_as_pytorch():
    ints, flags = np.zeros((2, 0), "int16"), np.array([True, False, True])
    half = np.array([1.1, 2.3, 3.7, 4.1, 7.9], "float16")
    for fn, arrays in [(lambda L, t: L.trapezoid(t), [ints]),
                       (lambda L, t: L.trapz(t, dx=2.0), [ints]),
                       (lambda L, t: L.trapezoid(t), [flags]),
                       (lambda L, t: L.cumulative_trapezoid(t), [flags]),
                       (lambda L, t, p: L.trapezoid(t, p), [half.astype("float64")[:3], flags]),
                       (lambda L, t: L.trapezoid(t, dx=L.tensor(2.5)), [half]),
                       (lambda L, t: L.cumulative_trapezoid(t, dx=L.tensor(2)), [half]),
                       (lambda L, t: L.trapezoid(t, dx=1.3), [half]),
                       (lambda L, t: L.trapezoid(t, dx=True), [half])]:
        same_outcome(torch, fn, arrays, label=str(arrays))


@pytest.mark.parametrize("seed", range(36))
def test_index_add_casts_alpha_to_the_input_dtype(seed):
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    shape = _shape(rng, 1, 4, 1, 3)
    x, dim = _array(rng, shape, dtype), int(rng.integers(-len(shape), len(shape)))
    n = shape[dim]
    index = rng.permutation(n)[:int(rng.integers(0, n + 1))] if dtype == "float16" else \
        rng.integers(0, n, int(rng.integers(0, 5)))  # float16: no repeats (summing order)
    part = list(shape)
    part[dim] = len(index)
    src = _array(rng, tuple(part), dtype)
    alpha = [1, 2, -1, 0.5, 1.5, -1.5, True, 0, 2 ** 33, 1j, 1 + 0j][seed % 11]
    label = f"{seed} {dtype} {shape} dim={dim} alpha={alpha}"
    check(torch, lambda L, t, i, s: L.index_add(t, dim, i, s, alpha=alpha), x, index, src,
          grad=_grad(dtype, 0, 2), label=label)
    check(torch, lambda L, t, i, s: t.clone().index_add_(dim, i, s, alpha=alpha), x, index,
          src, label=f"in place {label}")


def test_index_add_alpha_as_a_zero_d_tensor():
    x, index = np.arange(3.0), np.array([0, 0, 2])
    check(torch, lambda L, t, i, s: L.index_add(t, 0, i, s, alpha=L.tensor(2.0)), x, index, x,
          grad=(0, 2), label="0-d alpha")


@pytest.mark.parametrize("dtypes", [("float32", "int8"), ("uint8", "float32"), ("int64", "int64"),
                                    ("float64", "float32"), ("float16", "float32"),
                                    ("bool", "float64"), ("float32", "bool"),
                                    ("float16", "float16")])
def test_nextafter_promotes_first(dtypes):
    a, b = np.array([1, 2, 0]).astype(dtypes[0]), np.array([3, 0, 0]).astype(dtypes[1])
    same_outcome(torch, lambda L, p, q: L.nextafter(p, q), [a, b], label=str(dtypes))


@pytest.mark.parametrize("p", [0, 0.5, 1, 2, 3, float("inf")])
def test_distances_of_points_without_coordinates(p):
    rng = np.random.default_rng(0)
    for s1, s2 in [((3, 0), (2, 0)), ((2, 3, 0), (1, 2, 0)), ((0, 0), (2, 0))]:
        check(torch, lambda L, x, y: L.cdist(x, y, p), rng.standard_normal(s1),
              rng.standard_normal(s2), grad=(0, 1), label=f"cdist {p} {s1} {s2}")
    check(torch, lambda L, x: L.pdist(x, p), rng.standard_normal((3, 0)), grad=(0,),
          label=f"pdist {p}")


def _index_put_values_of_another_dtype_refused_as_pytorch_case(dtypes, accumulate):
    x, v = np.zeros((2, 3), dtypes[0]), np.array(np.inf).astype(dtypes[1]) \
        if dtypes[1].startswith("float") else np.ones((), dtypes[1])
    index = np.array([0, 1])
    same_outcome(torch, lambda L, t, i, u: L.index_put(t, (i,), u, accumulate), [x, index, v],
                 label=f"{dtypes} {accumulate}")
    same_outcome(torch, lambda L, t, i, u: t.index_put_((i,), u, accumulate=accumulate),
                 [x, index, v], label=f"in place {dtypes} {accumulate}")


def test_index_put_values_of_another_dtype_refused_as_pytorch():
    each_case(_index_put_values_of_another_dtype_refused_as_pytorch_case, grid(
        ("accumulate", [False, True]),
        ("dtypes", [("int32", "float64"), ("float32", "float64"),
                    ("float32", "int64"), ("float32", "bool"), ("int64", "int64"),
                    ("uint8", "int64")]),
    ))


@pytest.mark.parametrize("dtypes", [("float32", "float64", None), ("float64", "float32", None),
                                    ("float32", "float32", "float64"),
                                    ("float64", "float64", "float32"),
                                    ("float32", "float32", "float32"), ("float64", None, "int64"),
                                    ("float32", None, "float16")])
def test_histogram_edges_and_weights_of_another_dtype_refused(dtypes):
    x = np.array([0.1, 0.5, 1.5, 0.7]).astype(dtypes[0])
    edges = None if dtypes[1] is None else np.array([0.0, 0.1, 1.0, 2.0]).astype(dtypes[1])
    w = None if dtypes[2] is None else np.array([1, 2, 3, 4]).astype(dtypes[2])

    def hist(L, t):
        bins = 3 if edges is None else L.tensor(edges)
        weight = None if w is None else L.tensor(w)
        return L.histogram(t, bins, weight=weight)

    def histdd(L, t):
        bins = [3] if edges is None else [L.tensor(edges)]
        weight = None if w is None else L.tensor(w)
        return L.histogramdd(t[:, None], bins, weight=weight)

    for fn in (hist, histdd):
        check(torch, lambda L, t: tuple(fn(L, t)), x, label=f"{fn.__name__} {dtypes}")


@pytest.mark.parametrize("dtypes", [("float32", "int64"), ("float32", "float64"),
                                    ("int32", "int32"), ("bool", "uint8")])
def test_meshgrid_and_cartesian_prod_want_one_dtype(dtypes):
    a, b = np.array([1, 0]).astype(dtypes[0]), np.array([1, 2, 0]).astype(dtypes[1])
    check(torch, lambda L, p, q: L.cartesian_prod(p, q), a, b, label=f"cartesian {dtypes}")
    check(torch, lambda L, p, q: L.meshgrid(p, q, indexing="xy"), a, b, label=f"mesh {dtypes}")


@pytest.mark.parametrize("seed", range(6))
def test_float16_lerp_rounds_once_as_pytorch(seed):
    rng = np.random.default_rng(seed)
    a, b = ((rng.standard_normal(200) * 3).astype("float16") for _ in range(2))
    w = (rng.random(200) * 2 - 0.5).astype("float16")
    for weight in (w, w[:1].reshape(()), float(w[0])):
        arrays = [a, b] + ([weight] if isinstance(weight, np.ndarray) else [])
        same_outcome(torch, lambda L, p, q, *r: L.lerp(p, q, *(r or [weight])), arrays,
                     label=f"{seed} {np.shape(weight)}")
