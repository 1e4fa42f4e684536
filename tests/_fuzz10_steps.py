"""The steps of the tenth fuzz wave (tests/test_fuzz10_complex.py): random ops on a (B, N) tensor,
complex or real, each drawn with its arguments from a seeded generator and written once against
a library module ``L`` (chainrule or torch), so both run the same chain.

A step is ``(label, fn, kind, shape)``: ``fn(L, t)`` maps a tensor of the current kind ("c"
complex, "r" real) and shape to one of ``kind`` and ``shape``. Its arguments are drawn when it
is made, so that the two libraries get the same ones.
"""

NORMS = (None, "backward", "ortho", "forward")


def _norm(rng):
    return NORMS[rng.integers(len(NORMS))]


def _n(rng, n):
    """A length for an fft's n: None (keep), shorter, longer, odd or even."""
    return [None, n, max(n - 1, 1), n + 1, n + 2, 2 * n][rng.integers(6)]


def _cmat(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _const(L, a, like):
    """``a`` as a tensor in the precision of ``like`` (complex64 beside complex64/float32)."""
    single = like.dtype in (L.float32, L.complex64)
    if a.dtype.kind == "c":
        return L.tensor(a.astype("complex64" if single else "complex128"))
    return L.tensor(a.astype("float32" if single else "float64"))


def c2c(rng, shape):
    b, n = shape
    norm = _norm(rng)
    k = int(rng.integers(25))
    if k == 0:
        m = _n(rng, n)
        return f"fft(n={m}, {norm})", lambda L, z: L.fft.fft(z, n=m, norm=norm), (b, m or n)
    if k == 1:
        m = _n(rng, n)
        return f"ifft(n={m}, {norm})", lambda L, z: L.fft.ifft(z, m, -1, norm), (b, m or n)
    if k == 2:
        m = _n(rng, b)
        return (f"fft(dim=0, n={m})", lambda L, z: L.fft.fft(z, n=m, dim=0, norm=norm),
                (m or b, n))
    if k == 3:
        s = [None, (b, n + 1), (max(b - 1, 1), n), (b + 1, max(n - 1, 1))][rng.integers(4)]
        name = ["fft2", "ifft2", "fftn", "ifftn"][rng.integers(4)]
        return (f"{name}(s={s}, {norm})",
                lambda L, z: getattr(L.fft, name)(z, s=s, norm=norm), s or (b, n))
    if k == 4:
        dim = [None, 0, -1, (0, 1)][rng.integers(4)]
        name = ["fftshift", "ifftshift"][rng.integers(2)]
        return f"{name}(dim={dim})", lambda L, z: getattr(L.fft, name)(z, dim=dim), (b, n)
    if k == 5:
        return "tanh", lambda L, z: L.tanh(z * 0.5), (b, n)
    if k == 6:
        return "sigmoid", lambda L, z: L.sigmoid(z * 0.5), (b, n)
    if k == 7:
        return "exp*sin*cos", lambda L, z: L.exp(z * 0.3) * L.sin(z * 0.5) + L.cos(z), (b, n)
    if k == 8:
        return "sqrt/log", lambda L, z: L.sqrt(z + 3) - L.log(z * z + 2), (b, n)
    if k == 9:
        axis = int(rng.integers(2))
        name = ["cumsum", "cumprod"][rng.integers(2)]
        return f"{name}({axis})", lambda L, z: getattr(L, name)(z, axis), (b, n)
    if k == 10:
        m = int(rng.integers(1, 6))
        w = _cmat(rng, (n, m))
        return f"matmul({m})", lambda L, z: z @ _const(L, w, z), (b, m)
    if k == 11:
        m = int(rng.integers(1, 6))
        w, bias = _cmat(rng, (m, n)), _cmat(rng, (m,))
        return (f"linear({m})",
                lambda L, z: L.nn.functional.linear(z, _const(L, w, z), _const(L, bias, z)), (b, m))
    if k == 12:
        return "conj*z", lambda L, z: z.conj() * (z + 1j) + L.conj(z), (b, n)
    if k == 13:
        return "sgn*abs", lambda L, z: L.sgn(z) * (z.abs() + 1), (b, n)
    if k == 14:
        return "prod", lambda L, z: z * L.prod(z, -1, keepdim=True), (b, n)
    if k == 15:
        p = (int(rng.integers(3)), int(rng.integers(3)))
        return f"pad{p}", lambda L, z: L.nn.functional.pad(z, p), (b, n + sum(p))
    if k == 16:
        return "cat(z, flip)", lambda L, z: L.cat([z, z.flip(-1) * 2j], -1), (b, 2 * n)
    if k == 17:
        return "where", lambda L, z: L.where(z.real > 0, z, z * 1j), (b, n)
    if k == 18:
        perm = rng.permutation(n)
        shift = int(rng.integers(-n, n + 1))
        return (f"index/roll({shift})",
                lambda L, z: L.roll(z[:, L.tensor(perm)], shift, -1), (b, n))
    if k == 19:
        return "1/(z+3)", lambda L, z: 1 / (z + 3) + z.mean(-1, keepdim=True), (b, n)
    if k == 20:
        kk = int(rng.integers(1, 4)) * 2 - 1
        w = _cmat(rng, (1, 1, kk))
        return (f"conv1d({kk})",
                lambda L, z: L.nn.functional.conv1d(z[:, None], _const(L, w, z),
                                                    padding="same")[:, 0], (b, n))
    if k == 22:
        return "solve(z^H z + 3, z^T)", lambda L, z: L.linalg.solve(_gram(L, z), z.mT).mT, (b, n)
    if k == 23:
        return ("inv/det/slogdet(z^H z + 3)",
                lambda L, z: (z @ L.linalg.inv(_gram(L, z))) * L.sgn(L.linalg.det(_gram(L, z)))
                * (1 + L.linalg.slogdet(_gram(L, z))[1] * L.linalg.slogdet(_gram(L, z))[0]),
                (b, n))
    if k == 24:  # eigenvalues and |eigenvectors|^2 of a Hermitian matrix (phase-free)
        return ("eigh(z^H z / (1 + |z|^2))",
                lambda L, z: z * L.linalg.eigvalsh(_herm(L, z)) @ (
                    L.linalg.eigh(_herm(L, z))[1].abs() ** 2).to(z.dtype), (b, n))
    m = int(rng.integers(1, 4))
    w = _cmat(rng, (n, m))
    return f"einsum({m})", lambda L, z: L.einsum("bn,nm->bm", z, _const(L, w, z)), (b, m)


def _gram(L, z):
    """w^T w + 3 I with w = z / (1 + ||z||): a well-conditioned complex (not Hermitian) matrix
    that depends on z."""
    w = z / (1 + L.linalg.vector_norm(z))
    return w.mT @ w + L.eye(z.shape[-1], dtype=z.real.dtype) * 3


def _herm(L, z):
    """A Hermitian matrix that depends on z, with distinct eigenvalues almost surely."""
    w = z / (1 + L.linalg.vector_norm(z))
    d = L.tensor(_SPREAD[:z.shape[-1]]).to(z.real.dtype)
    return w.mH @ w + L.diag(d)


_SPREAD = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0,
           15.0, 16.0, 17.0, 18.0, 19.0, 20.0]


def _complex_of(L, x):
    return L.complex64 if x.dtype == L.float32 else L.complex128


def _off(z):
    """z moved off the places where angle is ill-conditioned: 0, where values that are zero up
    to rounding take any angle, and the negative real axis, where angle jumps between pi and -pi
    with the sign of a zero imaginary part (the transforms' signed zeros differ from PyTorch's)."""
    return z * (1 + 0.1j) + (0.3 + 0.2j)


def c2r(rng, shape):
    b, n = shape
    norm = _norm(rng)
    k = int(rng.integers(11))
    if k == 0:
        return "abs", lambda L, z: z.abs(), (b, n)
    if k == 10:
        o = ["fro", "nuc", 2, -2, 1, float("inf")][rng.integers(6)]
        return (f"matrix_norm({o})", lambda L, z: L.linalg.matrix_norm(z, o) * z.real, (b, n))
    if k == 1:
        return "angle", lambda L, z: L.angle(_off(z)), (b, n)
    if k == 2:
        return "real+imag", lambda L, z: z.real * 2 + z.imag, (b, n)
    if k == 3:
        m = [None, 2 * n - 2, 2 * n - 1, n, n + 1][rng.integers(5)]
        m = m if m is None or m >= 1 else 1
        name = ["irfft", "hfft"][rng.integers(2)]
        return (f"{name}(n={m}, {norm})",
                lambda L, z: getattr(L.fft, name)(z, n=m, norm=norm),
                (b, m or 2 * (n - 1)))
    if k == 4:
        s = [None, (b, 2 * n - 1), (b + 1, n)][rng.integers(3)]
        name = ["irfft2", "irfftn", "hfft2", "hfftn"][rng.integers(4)]
        return (f"{name}(s={s}, {norm})", lambda L, z: getattr(L.fft, name)(z, s=s, norm=norm),
                s or (b, 2 * (n - 1)))
    if k == 5:
        return ("view_as_real",
                lambda L, z: L.view_as_real(z.resolve_conj()).reshape(b, 2 * n), (b, 2 * n))
    if k == 6:
        o = [2, 1, 3, float("inf"), 0.5][rng.integers(5)]
        return (f"vector_norm({o})",
                lambda L, z: L.linalg.vector_norm(z, o, dim=-1, keepdim=True) * z.real, (b, n))
    if k == 7 and max(b, n) > 1:  # (PyTorch's NaN for no degrees of freedom is chainrule's error)
        dim = 0 if b > 1 else 1
        return (f"var/std({dim})",
                lambda L, z: L.var(z, dim, keepdim=True) + L.std(z, dim, keepdim=True) * z.imag,
                (b, n))
    if k == 8:
        return "abs(vdot)", lambda L, z: L.vdot(z[0], z[-1]).abs() + z.real, (b, n)
    return "l1_loss(none)", lambda L, z: L.nn.functional.l1_loss(
        z, z.flip(-1) * 0.5, reduction="none"), (b, n)


def r2c(rng, shape):
    b, n = shape
    norm = _norm(rng)
    k = int(rng.integers(9))
    if k == 0:
        m = _n(rng, n)
        return (f"rfft(n={m}, {norm})", lambda L, x: L.fft.rfft(x, n=m, norm=norm),
                (b, (m or n) // 2 + 1))
    if k == 1:
        m = _n(rng, n)
        return (f"ihfft(n={m}, {norm})", lambda L, x: L.fft.ihfft(x, n=m, norm=norm),
                (b, (m or n) // 2 + 1))
    if k == 2:
        s = [None, (b, n + 1), (b + 1, max(n - 1, 1))][rng.integers(3)]
        name = ["rfft2", "rfftn", "ihfft2", "ihfftn"][rng.integers(4)]
        t = s or (b, n)
        return (f"{name}(s={s}, {norm})", lambda L, x: getattr(L.fft, name)(x, s=s, norm=norm),
                (t[0], t[1] // 2 + 1))
    if k == 3:
        return "complex(x, tanh x)", lambda L, x: L.complex(x, L.tanh(x)), (b, n)
    if k == 4:
        # the angle bounded: cos and sin of a large one lose the digits a chain compares
        return "polar", lambda L, x: L.polar(x.abs() + 0.5, L.tanh(x) * 3), (b, n)
    if k == 5:
        return "x*(1-2j)", lambda L, x: x * (1 - 2j) + 0.5j, (b, n)
    if k == 6:
        return ("view_as_complex",
                lambda L, x: L.view_as_complex(L.stack([x, x.flip(-1)], -1)), (b, n))
    if k == 7:
        return "to(complex)", lambda L, x: x.to(_complex_of(L, x)) * x, (b, n)
    return f"fft(real, {norm})", lambda L, x: L.fft.fft(x, norm=norm), (b, n)


def r2r(rng, shape):
    k = int(rng.integers(3))
    if k == 0:
        return "tanh", lambda L, x: L.tanh(x), shape
    if k == 1:
        return "x*x/(1+x*x)", lambda L, x: x * x / (1 + x * x) - x, shape
    return "cumsum", lambda L, x: L.cumsum(x, -1) * 0.5, shape


def step(rng, kind, shape):
    """One random step from a tensor of ``kind`` and ``shape``: (label, fn, new kind, new shape);
    it turns complex to real (or back) one time in three."""
    cross = rng.integers(3) == 0
    if kind == "c":
        label, fn, out = (c2r if cross else c2c)(rng, shape)
        return label, fn, ("r" if cross else "c"), out
    label, fn, out = (r2c if cross else r2r)(rng, shape)
    return label, fn, ("c" if cross else "r"), out


def loss(rng, kind, shape):
    """A random real loss of a tensor of ``kind`` and ``shape``: (label, fn(L, t))."""
    target = rng.standard_normal(shape)
    if kind == "c":
        target = target + 1j * rng.standard_normal(shape)
        w = _cmat(rng, shape)
        k = int(rng.integers(7))
        return [
            ("mean |z|^2", lambda L, z: (z.abs() ** 2).mean()),
            ("re + im^2", lambda L, z: z.real.sum() + 0.5 * (z.imag ** 2).sum()),
            ("view_as_real^2", lambda L, z: (L.view_as_real(z.resolve_conj()) ** 2).sum()),
            ("l1_loss", lambda L, z: L.nn.functional.l1_loss(z, _const(L, target, z))),
            ("|sum(w z)|", lambda L, z: (z * _const(L, w, z)).sum().abs()),
            ("norm", lambda L, z: L.linalg.vector_norm(z) + L.var(z)),
            ("angle", lambda L, z: (L.angle(_off(z)) * _const(L, w.real, z)).sum()),
        ][k]
    k = int(rng.integers(4))
    return [
        ("mean x^2", lambda L, x: (x ** 2).mean()),
        ("mse_loss", lambda L, x: L.nn.functional.mse_loss(x, _const(L, target, x))),
        ("l1_loss", lambda L, x: L.nn.functional.l1_loss(x, _const(L, target, x))),
        ("sum tanh", lambda L, x: L.tanh(x).sum()),
    ][k]
