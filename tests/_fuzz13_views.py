"""Scenario builder for tests/test_fuzz13_views.py: a base tensor of some layout, a chain of view
ops, one in-place change through the base or a view, run in chainrule and in PyTorch alike."""


LAYOUTS = ["row", "transposed", "stepped", "conv", "pool", "complex"]
VIEWS = ["index", "slice", "select", "narrow", "diagonal", "expand", "movedim", "permute",
         "squeeze", "unsqueeze", "transpose", "swapaxes", "t", "mT", "mH", "adjoint", "real",
         "imag", "view_as_real", "view_as_complex", "unflatten", "unfold", "view", "unbind",
         "split", "tensor_split", "chunk", "hsplit", "vsplit", "reshape", "flatten", "detach",
         "ellipsis", "none_index", "expand_as", "moveaxis", "swapdims", "split_with_sizes",
         "dsplit", "view_as", "T", "H", "reshape_as"]
WRITES = ["zero_", "add_", "mul_", "setitem", "copy_", "fill_", "clamp_", "relu_",
          "masked_fill_", "iadd", "sub_", "div_", "index_fill_", "slice_set", "addcmul_",
          "lerp_"]
# PyTorch leaves view or copy open for these: compared within groups
NEW_GROUP = {"reshape", "flatten", "reshape_as"}


def _shape(rng, ndim):
    return tuple(int(s) for s in rng.integers(1, 5, ndim))


def make_base(lib, rng, layout, grad):
    f64 = lib.float64
    if layout in ("conv", "pool"):
        n, c = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        x = lib.tensor(rng.standard_normal((n, c, 5, 5)), dtype=f64, requires_grad=grad)
        if layout == "conv":
            w = lib.tensor(rng.standard_normal((int(rng.integers(1, 4)), c, 3, 3)), dtype=f64)
            return x, lib.nn.functional.conv2d(x, w)
        return x, lib.nn.functional.max_pool2d(x, 2)
    ndim = int(rng.integers(1, 5))
    if layout == "complex":
        s = _shape(rng, ndim)
        a = rng.standard_normal(s) + 1j * rng.standard_normal(s)
        x = lib.tensor(a, dtype=lib.complex128, requires_grad=grad)
        return x, x * 1
    if layout == "stepped":
        s = tuple(2 * k + 1 for k in _shape(rng, ndim))
        x = lib.tensor(rng.standard_normal(s), dtype=f64, requires_grad=grad)
        return x, (x * 1)[tuple(slice(int(rng.integers(0, 2)), None, 2) for _ in s)]
    x = lib.tensor(rng.standard_normal(_shape(rng, ndim)), dtype=f64, requires_grad=grad)
    if layout == "transposed" and ndim >= 2:
        return x, (x * 1).transpose(0, ndim - 1)
    return x, x * 1


def _dim(rng, t):
    return int(rng.integers(-t.ndim, t.ndim)) if t.ndim else 0


def apply_view(lib, rng, op, t):
    """One view op on ``t``: a list of new tensors (several for the splitting ops)."""
    s, nd = tuple(t.shape), t.ndim
    d = _dim(rng, t)
    if op == "index":
        return [t[int(rng.integers(0, s[0]))]]
    if op == "slice":
        return [t[tuple(slice(int(rng.integers(0, 2)), None, int(rng.integers(1, 3)))
                        for _ in range(int(rng.integers(1, nd + 1))))]]
    if op == "ellipsis":
        return [t[..., int(rng.integers(0, s[-1]))]]
    if op == "none_index":
        return [t[None, ..., None]]
    if op == "select":
        return [t.select(d, int(rng.integers(0, s[d])))]
    if op == "narrow":
        start = int(rng.integers(0, s[d]))
        return [t.narrow(d, start, int(rng.integers(1, s[d] - start + 1)))]
    if op == "diagonal":
        return [t.diagonal(int(rng.integers(-1, 2)), 0, -1)]
    if op == "expand":
        return [t.unsqueeze(0).expand(2, *s)]
    if op == "expand_as":
        return [t.unsqueeze(-1).expand_as(lib.zeros((*s, 3)))]
    if op == "moveaxis":
        return [t.moveaxis(d, _dim(rng, t))]
    if op == "swapdims":
        return [t.swapdims(d, _dim(rng, t))]
    if op == "split_with_sizes":
        cut = int(rng.integers(0, s[d] + 1))
        return list(t.split_with_sizes([cut, s[d] - cut], d))
    if op == "dsplit":
        return list(t.dsplit(int(rng.integers(1, 3))))
    if op == "view_as":
        return [t.view_as(lib.zeros(s[::-1]))]
    if op == "reshape_as":
        return [t.reshape_as(lib.zeros(s[::-1]))]
    if op in ("T", "H"):
        return [getattr(t, op) if nd == 2 else t.t() if nd < 2 else t.mT]
    if op == "movedim":
        return [t.movedim(d, _dim(rng, t))]
    if op == "permute":
        return [t.permute(tuple(int(i) for i in rng.permutation(nd)))]
    if op == "squeeze":
        return [t.squeeze() if rng.random() < 0.5 else t.squeeze(d)]
    if op == "unsqueeze":
        return [t.unsqueeze(int(rng.integers(-nd - 1, nd + 1)))]
    if op in ("transpose", "swapaxes"):
        return [getattr(t, op)(d, _dim(rng, t))]
    if op in ("mT", "mH", "adjoint") and nd < 2:  # PyTorch: a deprecated identity
        op = "t"
    if op in ("t", "mT", "mH"):
        return [t.t() if op == "t" else getattr(t, op)]
    if op == "adjoint":
        return [t.adjoint()]
    if op in ("real", "imag"):
        return [getattr(t, op)]
    if op == "view_as_real":
        return [lib.view_as_real(t)]
    if op == "view_as_complex":
        return [lib.view_as_complex(t)]
    if op == "unflatten":
        return [t.unflatten(d, (1, s[d]) if rng.random() < 0.5 else (s[d], 1, 1))]
    if op == "unfold":
        size = int(rng.integers(1, s[d] + 1))
        return [t.unfold(d, size, int(rng.integers(1, 3)))]
    if op == "view":
        kind = rng.integers(0, 3)
        if kind == 0:
            return [t.view(-1)]
        if kind == 1 and nd >= 2:
            return [t.view(*s[:-2], s[-2] * s[-1])]
        return [t.view(*s, 1)]
    if op == "reshape":
        return [t.reshape(-1) if rng.random() < 0.5 else t.reshape(*s[::-1])]
    if op == "flatten":
        return [t.flatten(int(rng.integers(0, nd)) if nd else 0)]
    if op == "detach":
        return [t.detach()]
    if op == "unbind":
        return list(t.unbind(d))
    if op == "split":
        return list(t.split(int(rng.integers(1, s[d] + 1)), d))
    if op == "tensor_split":
        return list(t.tensor_split(int(rng.integers(1, 4)), d))
    if op == "chunk":
        return list(t.chunk(int(rng.integers(1, 4)), d))
    if op in ("hsplit", "vsplit"):
        return list(getattr(t, op)(int(rng.integers(1, 3))))
    raise AssertionError(op)


def apply_write(lib, rng, op, t, w=None):
    """One in-place change of ``t``; ``w`` (a scalar tensor) is the value where one is used."""
    s = tuple(t.shape)
    cplx = t.is_complex()
    raw = rng.standard_normal(s) + (1j * rng.standard_normal(s) if cplx else 0)
    other = lib.tensor(raw, dtype=t.dtype)
    scalar = float(rng.standard_normal())
    value = w if w is not None else scalar
    if op == "zero_":
        t.zero_()
    elif op == "add_":
        t.add_(other if rng.random() < 0.5 else value)
    elif op == "sub_":
        t.sub_(value)
    elif op == "div_":
        t.div_(2.0 if w is None else w)
    elif op == "mul_":
        t.mul_(value)
    elif op == "iadd":
        t += value
    elif op == "setitem":
        kind = rng.integers(0, 4)
        if kind == 0 and t.ndim:
            t[int(rng.integers(0, s[0]))] = value
        elif kind == 1:
            t[...] = other if w is None else other * w
        elif kind == 2:
            t[lib.tensor(raw.real > 0)] = value
        elif t.ndim:
            t[lib.tensor([0, s[0] - 1])] = value
        else:
            t[...] = value
    elif op == "copy_":
        t.copy_(other if w is None else other * w)
    elif op == "fill_":
        t.fill_(value)
    elif op == "clamp_":
        t.clamp_(-0.5, 0.7)
    elif op == "relu_":
        t.relu_()
    elif op == "index_fill_":
        t.index_fill_(0 if t.ndim else 0, lib.tensor([0]), value)
    elif op == "slice_set":
        t[..., 1:] = value
    elif op == "addcmul_":
        t.addcmul_(other, other, value=0.5)
    elif op == "lerp_":
        t.lerp_(other, 0.25)
    elif op == "masked_fill_":
        t.masked_fill_(lib.tensor(raw.real > 0), value)
    else:
        raise AssertionError(op)
