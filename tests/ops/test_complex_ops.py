"""Complex tensors through the ops that opted in after the first complex work: activations and
inverse hyperbolic functions, norms, variance, products and running sums/products, the
conjugating ``vdot``, statistics, and the ops that only move values (flip, diagonals,
triangles, gather/scatter, padding, clone, writes). Each is checked in complex128 against
PyTorch's values and gradients (its convention: z.grad = dL/dx + i dL/dy) and by gradcheck and
gradgradcheck (real and imaginary parts perturbed apart)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

from .._case_loop import each_case, grid
from ._kernel_cases import once_unless

torch = pytest.importorskip("torch")


def _c(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _c_far(rng, shape):  # away from the branch points of the inverse hyperbolic functions
    return 2.0 * _c(rng, shape)


def _idx(L, values):
    return L.tensor(values)


# name: (call on a library module `L` and its inputs, (maker, shape) per input)
CASES = {
    "tanh": (lambda L, a: L.tanh(a), [(_c, (3, 2))]),
    "tanh_method": (lambda L, a: a.tanh() * L.nn.functional.tanh(a), [(_c, (4,))]),
    "sigmoid": (lambda L, a: L.sigmoid(a) + L.nn.Sigmoid()(a), [(_c, (3, 2))]),
    "asinh": (lambda L, a: L.asinh(a), [(_c_far, (6,))]),
    "acosh": (lambda L, a: L.acosh(a), [(_c_far, (8,))]),
    "atanh": (lambda L, a: L.atanh(a), [(_c_far, (6,))]),
    "sinc": (lambda L, a: L.sinc(a), [(_c, (4,))]),
    "sgn": (lambda L, a: L.sgn(a) * a.sgn(), [(_c, (4,))]),
    "norm": (lambda L, a: a.norm() + a.norm(dim=1).sum(), [(_c, (3, 4))]),
    "vector_norm": (lambda L, a: L.linalg.vector_norm(a, dim=(0, 2)), [(_c, (2, 3, 4))]),
    "vector_norm_ords": (lambda L, a: L.linalg.vector_norm(a, 3, dim=1)
                         + L.linalg.vector_norm(a, 1, dim=1)
                         + L.linalg.vector_norm(a, 0.5, dim=1), [(_c, (3, 4))]),
    "linalg_norm_fro": (lambda L, a: L.linalg.norm(a) + L.linalg.norm(a, "fro"), [(_c, (3, 3))]),
    "dist": (lambda L, a, b: L.dist(a, b), [(_c, (3, 2)), (_c, (3, 2))]),
    "var": (lambda L, a: L.var(a) + L.var(a, dim=1, correction=0).sum(), [(_c, (3, 4))]),
    "std": (lambda L, a: L.std(a, dim=0) * 2, [(_c, (3, 4))]),
    "var_mean": (lambda L, a: L.var_mean(a, dim=1)[0] * L.std_mean(a, 1)[1], [(_c, (3, 4))]),
    "prod": (lambda L, a: L.prod(a) + L.prod(a, 1).sum(), [(_c, (3, 4))]),
    "cumsum": (lambda L, a: L.cumsum(a, 1) + a.cumsum(0), [(_c, (3, 4))]),
    "cumprod": (lambda L, a: L.cumprod(a, 1), [(_c, (3, 4))]),
    "vdot": (lambda L, a, b: L.vdot(a, b), [(_c, (5,)), (_c, (5,))]),
    "dot_inner_outer": (lambda L, a, b: L.dot(a, b) * L.inner(a, b) + L.outer(a, b).sum(),
                        [(_c, (5,)), (_c, (5,))]),
    "cov": (lambda L, a: L.cov(a), [(_c, (3, 5))]),
    "cov_weights": (lambda L, a: L.cov(a, fweights=L.tensor([1, 2, 1, 3, 1]),
                                       aweights=L.tensor([0.5, 1.0, 2.0, 1.0, 0.3],
                                                         dtype=L.float64)), [(_c, (3, 5))]),
    "corrcoef": (lambda L, a: L.corrcoef(a), [(_c, (3, 5))]),
    "trapezoid": (lambda L, a: L.trapezoid(a) * L.cumulative_trapezoid(a, dim=0).sum(),
                  [(_c, (3, 4))]),
    "flip_rot90": (lambda L, a: L.flip(a, [0]) * L.rot90(a), [(_c, (3, 3))]),
    "diag": (lambda L, a: L.diag(a, 1).sum() * L.diag(L.diag(a)), [(_c, (3, 3))]),
    "diagonal_embed": (lambda L, a: L.diag_embed(L.diagonal(a, 0, -2, -1)), [(_c, (2, 3, 3))]),
    "tril_triu": (lambda L, a: L.tril(a) + L.triu(a, 1) * 2, [(_c, (3, 3))]),
    "gather": (lambda L, a: L.gather(a, 1, _idx(L, [[0, 1], [2, 2], [1, 0]])), [(_c, (3, 3))]),
    "scatter": (lambda L, a, b: L.scatter(a, 0, _idx(L, [[1, 0, 2]]), b),
                [(_c, (3, 3)), (_c, (1, 3))]),
    "index_add": (lambda L, a, b: L.index_add(a, 0, _idx(L, [1, 1]), b),
                  [(_c, (3, 3)), (_c, (2, 3))]),
    "pad": (lambda L, a: L.nn.functional.pad(a, (1, 2, 0, 1)), [(_c, (2, 3))]),
    "block_diag": (lambda L, a, b: L.block_diag(a, b), [(_c, (2, 2)), (_c, (1, 3))]),
    "clone": (lambda L, a: a.clone() * a.t().contiguous(), [(_c, (3, 3))]),
    "index_put_fill": (lambda L, a, b: a.index_put((_idx(L, [0, 2]),), b).index_fill(
        1, _idx(L, [1]), 2.0), [(_c, (3, 3)), (_c, (2, 3))]),
    "diagonal_scatter": (lambda L, a, b: L.diagonal_scatter(a, b), [(_c, (3, 3)), (_c, (3,))]),
    "linear": (lambda L, x, w, b: L.nn.functional.linear(x, w, b),
               [(_c, (2, 3, 4)), (_c, (5, 4)), (_c, (5,))]),
    "linear_2d_no_bias": (lambda L, x, w: L.nn.functional.linear(x, w),
                          [(_c, (3, 4)), (_c, (2, 4))]),
    "conv1d": (lambda L, x, w, b: L.nn.functional.conv1d(x, w, b, stride=2, padding=1),
               [(_c, (2, 4, 7)), (_c, (3, 4, 3)), (_c, (3,))]),
    "conv1d_groups": (lambda L, x, w: L.nn.functional.conv1d(x, w, groups=2, dilation=2),
                      [(_c, (1, 4, 8)), (_c, (4, 2, 2))]),
    "conv2d": (lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding="same"),
               [(_c, (2, 2, 4, 5)), (_c, (3, 2, 3, 3)), (_c, (3,))]),
    "conv2d_unbatched": (lambda L, x, w: L.nn.functional.conv2d(x, w, stride=(1, 2)),
                         [(_c, (2, 4, 5)), (_c, (1, 2, 2, 2))]),
    "det": (lambda L, a: L.linalg.det(a) * L.det(a[0]), [(_c, (2, 3, 3))]),
    "slogdet": (lambda L, a: L.linalg.slogdet(a)[0] * L.linalg.slogdet(a)[1], [(_c, (2, 3, 3))]),
    "logdet": (lambda L, a: L.logdet(a), [(_c, (3, 3))]),
    "inv": (lambda L, a: L.linalg.inv(a) + L.inverse(a), [(_c, (2, 3, 3))]),
    "solve": (lambda L, a, b: L.linalg.solve(a, b), [(_c, (2, 3, 3)), (_c, (2, 3, 2))]),
    "solve_vector_right": (lambda L, a, b, c: L.linalg.solve(a, b).sum()
                           * L.linalg.solve(a, c, left=False),
                           [(_c, (3, 3)), (_c, (3,)), (_c, (2, 3))]),
    "matrix_power": (lambda L, a: L.linalg.matrix_power(a, 3) + L.linalg.matrix_power(a, -2),
                     [(_c, (3, 3))]),
    "logsumexp": (lambda L, a: L.logsumexp(a * 3, 1) + a.logsumexp(0).sum(), [(_c, (2, 3))]),
    "normalize": (lambda L, a: L.nn.functional.normalize(a, dim=1)
                  + L.nn.functional.normalize(a, p=3.0, dim=0), [(_c, (3, 4))]),
    "pairwise_distance": (lambda L, a, b: L.nn.functional.pairwise_distance(a, b)
                          + L.nn.functional.pairwise_distance(a, b, p=1.5),
                          [(_c, (3, 4)), (_c, (3, 4))]),
    "conv_transpose1d": (lambda L, x, w, b: L.nn.functional.conv_transpose1d(
        x, w, b, stride=2, padding=1, output_padding=1), [(_c, (2, 3, 4)), (_c, (3, 2, 3)),
                                                         (_c, (2,))]),
    "conv_transpose2d": (lambda L, x, w: L.nn.functional.conv_transpose2d(x, w, groups=2),
                         [(_c, (1, 4, 3, 2)), (_c, (4, 1, 2, 2))]),
    "mH_adjoint_H": (lambda L, a: a.mH @ a + L.adjoint(a) + a[0].H, [(_c, (2, 3, 3))]),
    "matrix_exp": (lambda L, a: L.linalg.matrix_exp(a) + a.matrix_exp() * 0.5, [(_c, (2, 3, 3))]),
    "cholesky": (lambda L, a: L.linalg.cholesky(a @ a.mH + L.eye(3, dtype=L.float64))
                 + L.linalg.cholesky(a @ a.mH + L.eye(3, dtype=L.float64), upper=True),
                 [(_c, (2, 3, 3))]),
    "l1_loss": (lambda L, a, b: L.nn.functional.l1_loss(a, b)
                + L.nn.functional.l1_loss(a, b, reduction="none")[1], [(_c, (3, 2)), (_c, (3, 2))]),
}


def _inputs(module, arrays):
    if module is cr:
        return [cr.tensor(a, requires_grad=True) for a in arrays]
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_VALUES = {
    "conv1d", "conv1d_groups", "conv2d", "conv2d_unbatched", "conv_transpose1d",
    "conv_transpose2d", "corrcoef", "cov", "cov_weights", "linear", "linear_2d_no_bias",
    "matrix_power", "solve_vector_right", "trapezoid",
}


@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(sorted(CASES), BOTH_MODES_VALUES),
                         indirect=["kernel_mode"])
def test_values_and_gradients_match_pytorch(name):
    fn, specs = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [make(rng, shape) for make, shape in specs]
    ours, theirs = _inputs(cr, arrays), _inputs(torch, arrays)
    y, t = fn(cr, *ours), fn(torch, *theirs)
    assert str(y.dtype) == _dtype_name(t)
    np.testing.assert_allclose(y.numpy(), t.detach().resolve_conj().numpy(), rtol=1e-10,
                               atol=1e-12)
    u = rng.standard_normal(t.shape)
    if t.is_complex():
        u = u + 1j * rng.standard_normal(t.shape)
    y.backward(cr.tensor(u))
    t.backward(torch.tensor(u))
    for a, b in zip(ours, theirs, strict=True):
        assert a.grad.dtype == a.dtype
        np.testing.assert_allclose(a.grad.numpy(), b.grad.resolve_conj().numpy(), rtol=1e-10,
                                   atol=1e-12)


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_GRADCHECK = {
    "conv1d", "conv1d_groups", "conv2d", "conv2d_unbatched", "conv_transpose1d",
    "conv_transpose2d", "corrcoef", "cov", "cov_weights", "det", "linear", "linear_2d_no_bias",
    "logdet", "matrix_power", "solve_vector_right", "trapezoid",
}


@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(sorted(CASES), BOTH_MODES_GRADCHECK),
                         indirect=["kernel_mode"])
def test_gradcheck_and_gradgradcheck(name):
    fn, specs = CASES[name]
    rng = np.random.default_rng(len(name) + 1)
    xs = _inputs(cr, [make(rng, shape) for make, shape in specs])
    assert gradcheck(lambda *a: fn(cr, *a), xs)
    assert gradgradcheck(lambda *a: fn(cr, *a), xs)


@pytest.mark.kernel_free
def test_sgn_and_norm_gradients_are_zero_at_zero_as_pytorch():
    def f(L, z):
        return (L.sgn(z) * (1 + 2j)).real.sum() + z.norm() + L.linalg.vector_norm(z[:1])

    z = cr.tensor(np.array([0j, 3 + 4j]), requires_grad=True)
    t = torch.tensor(np.array([0j, 3 + 4j]), requires_grad=True)
    f(cr, z).backward()
    f(torch, t).backward()
    np.testing.assert_allclose(z.grad.numpy(), t.grad.numpy(), atol=1e-15)
    assert z.grad.numpy()[0] == 0


@pytest.mark.kernel_free
def test_prod_and_cumprod_with_a_zero_entry_as_pytorch():
    a = np.array([[1 + 1j, 0j, 2 - 1j], [0.5j, 3.0 + 0j, -1 + 0j]])
    ours, theirs = _inputs(cr, [a, a]), _inputs(torch, [a, a])
    y = cr.prod(ours[0], 1).abs().sum() + cr.cumprod(ours[1], 1).abs().sum()
    t = torch.prod(theirs[0], 1).abs().sum() + torch.cumprod(theirs[1], 1).abs().sum()
    y.backward()
    t.backward()
    for x, r in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), r.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.kernel_free
def test_complex64_stays_single_precision():
    z = cr.tensor(np.array([1 + 2j, -0.5 + 1j], np.complex64), requires_grad=True)
    assert cr.tanh(z).dtype == cr.sigmoid(z).dtype == cr.cumprod(z, 0).dtype == cr.complex64
    assert z.norm().dtype == cr.var(z).dtype == cr.float32
    (cr.tanh(z).abs().sum() + cr.var(z)).backward()
    assert z.grad.dtype == cr.complex64


@pytest.mark.kernel_free
def test_refusals_name_the_dtypes():
    z = cr.tensor(np.ones((1, 2, 5), complex), requires_grad=True)
    with pytest.raises(TypeError, match=r"conv1d: input \(complex128\) and weight \(float64\)"):
        cr.nn.functional.conv1d(z, cr.tensor(np.ones((1, 2, 2))))
    with pytest.raises(TypeError, match="l1_loss: target must be a Tensor of input's dtype"):
        cr.nn.functional.l1_loss(z, cr.tensor(np.ones((1, 2, 5))))
    with pytest.raises(TypeError, match="mse_loss: input must have a floating-point dtype"):
        cr.nn.functional.mse_loss(z, z)  # PyTorch refuses it too (mse_cpu)
    with pytest.raises(TypeError, match="Conv3d: dtype must be floating-point"):
        cr.nn.Conv3d(1, 1, 1, dtype=cr.cfloat)


@pytest.mark.kernel_free
def test_complex_sigmoid_overflows_to_nan_quietly_as_pytorch():
    z = np.array([-800 + 1j, 1 + 1j])
    ours = cr.sigmoid(cr.tensor(z)).numpy()
    np.testing.assert_allclose(ours, torch.sigmoid(torch.tensor(z)).numpy())  # nan == nan here


def _sq(a):
    return a[..., :3]


SVD_CASES = {  # first order only: a second derivative needs the gradient through U and Vh (or
    # through the eigenvectors' phases)
    "svdvals": lambda L, a: L.linalg.svdvals(a),
    "svd_S": lambda L, a: L.linalg.svd(a, full_matrices=False).S * 2,
    "matrix_norms": lambda L, a: L.linalg.matrix_norm(a, "nuc") + L.linalg.matrix_norm(a, 2)
    + L.linalg.matrix_norm(a, -2) + L.linalg.norm(a[0], "nuc"),
    "eigvalsh": lambda L, a: L.linalg.eigvalsh(_sq(a) + _sq(a).mH)
    + L.linalg.eigh(_sq(a) + _sq(a).mH, UPLO="U")[0],
    "eigh_vectors": lambda L, a: L.linalg.eigh(_sq(a) + _sq(a).mH)[1].abs() ** 2,  # phase-free
}


@pytest.mark.parametrize("name", sorted(SVD_CASES))
def test_singular_values_and_hermitian_eigh_of_complex_matrices_as_pytorch(name):
    rng = np.random.default_rng(len(name))
    a = _c(rng, (2, 3, 4))
    ours, theirs = _inputs(cr, [a]), _inputs(torch, [a])
    y, t = SVD_CASES[name](cr, *ours), SVD_CASES[name](torch, *theirs)
    np.testing.assert_allclose(y.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    u = rng.standard_normal(t.shape)
    y.backward(cr.tensor(u))
    t.backward(torch.tensor(u))
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.resolve_conj().numpy(),
                               rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x: SVD_CASES[name](cr, x), _inputs(cr, [a]))


def test_complex_svd_refuses_a_loss_of_the_singular_vectors_phases_as_pytorch():
    a = _c(np.random.default_rng(0), (3, 3))
    t = torch.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="e\\^\\{i phi\\}"):
        torch.linalg.svd(t).U.real.sum().backward()
    z = cr.tensor(a, requires_grad=True)
    with pytest.raises(ValueError, match="phases of the complex singular vectors"):
        cr.linalg.svd(z).U.real.sum().backward()


def test_complex_eigh_refuses_a_loss_of_the_eigenvectors_phases_as_pytorch():
    a = _c(np.random.default_rng(1), (3, 3))
    t = torch.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="e\\^\\{i phi\\}"):
        torch.linalg.eigh(t + t.mH)[1].real.sum().backward()
    z = cr.tensor(a, requires_grad=True)
    with pytest.raises(ValueError, match="phases of the complex eigenvectors"):
        cr.linalg.eigh(z + z.mH)[1].real.sum().backward()


REAL_ONLY = {  # PyTorch refuses these on complex input ("not implemented for 'ComplexDouble'");
    # chainrule computed most of them on the real part (or, for erf, on a wrong branch) before
    "erf": lambda L, z: L.erf(z), "erfc": lambda L, z: L.special.erfc(z),
    "erfinv": lambda L, z: L.erfinv(z), "erfcx": lambda L, z: L.special.erfcx(z),
    "lgamma": lambda L, z: L.lgamma(z), "digamma": lambda L, z: L.special.psi(z),
    "polygamma": lambda L, z: L.polygamma(1, z), "mvlgamma": lambda L, z: L.mvlgamma(z, 1),
    "ndtr": lambda L, z: L.special.ndtr(z), "ndtri": lambda L, z: L.special.ndtri(z),
    "log_ndtr": lambda L, z: L.special.log_ndtr(z), "i0": lambda L, z: L.i0(z),
    "i0e": lambda L, z: L.special.i0e(z), "i1": lambda L, z: L.special.i1(z),
    "i1e": lambda L, z: L.special.i1e(z), "entr": lambda L, z: L.special.entr(z),
    "logit": lambda L, z: L.logit(z), "xlogy": lambda L, z: L.xlogy(z, z),
    "xlog1py": lambda L, z: L.special.xlog1py(z, z), "copysign": lambda L, z: L.copysign(z, z),
    "round": lambda L, z: L.round(z), "floor": lambda L, z: L.floor(z),
    "ceil": lambda L, z: L.ceil(z), "trunc": lambda L, z: L.trunc(z),
    "deg2rad": lambda L, z: L.deg2rad(z),
}


def _real_only_special_functions_refuse_complex_as_pytorch_case(name):
    z = np.array([0.5 + 0.3j, -1 + 2j])
    with pytest.raises(RuntimeError):
        REAL_ONLY[name](torch, torch.tensor(z))
    with pytest.raises(TypeError, match=f"{name}: complex input \\(dtype complex128\\) is not "
                                        "supported"):
        REAL_ONLY[name](cr, cr.tensor(z))


@pytest.mark.kernel_free
def test_real_only_special_functions_refuse_complex_as_pytorch():
    each_case(_real_only_special_functions_refuse_complex_as_pytorch_case, grid(
        ("name", sorted(REAL_ONLY)),
    ))
