"""Differential checks of ``chainrule.nn.utils`` against PyTorch 2.13: the cases the other tests of
clipping, packing, parametrizations, pruning and fusion leave out."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import utils as cu

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")
torch_prune = pytest.importorskip("torch.nn.utils.prune")  # torch.nn.utils leaves it out


def _pair(grads, dtype="float64"):
    """The same parameters with the given gradients (None: no gradient) in both libraries."""
    theirs, ours = [], []
    for g in grads:
        shape = (2,) if g is None else np.shape(g)
        t = torch.zeros(shape, dtype=getattr(torch, dtype), requires_grad=True)
        c = cr.zeros(*shape, dtype=getattr(cr, dtype), requires_grad=True)
        if g is not None:
            t.grad = torch.tensor(np.asarray(g, dtype=dtype))
            c.grad = cr.tensor(np.asarray(g, dtype=dtype))
        theirs.append(t)
        ours.append(c)
    return theirs, ours


_GRADS = [
    [[3.0, 0.0, -4.0], [[1.0, 2.0], [0.5, -0.25]]],
    [[3.0, 0.0, -4.0], None],
    [[0.0, 0.0], [1.5, -2.0]],
]


@pytest.mark.parametrize("norm_type", [0, 0.5, -1.0, -2.5, -math.inf, "-inf", float("nan")])
@pytest.mark.parametrize("grads", _GRADS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_norm_of_zero_and_negative_orders(norm_type, grads, dtype):
    # PyTorch takes any order torch.linalg.vector_norm does (0 counts nonzeros, -inf is the
    # smallest magnitude); chainrule refused norm_type <= 0
    theirs, ours = _pair(grads, dtype)
    tn = float("-inf") if norm_type == "-inf" else norm_type
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type=tn)
    total = cu.clip_grad_norm_(ours, 0.7, norm_type=norm_type)
    assert str(total.dtype).endswith(str(expected.dtype).split(".")[-1])
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-6, equal_nan=True)
    for t, c in zip(theirs, ours):
        if t.grad is None:
            assert c.grad is None
            continue
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-6, equal_nan=True)
    got = cu.get_total_norm([c.grad for c in ours if c.grad is not None], norm_type)
    want = torch.nn.utils.get_total_norm([t.grad for t in theirs if t.grad is not None], tn)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("norm_type", [math.inf, -math.inf, -0.5])
def test_norms_without_identity_of_an_empty_gradient_are_refused(norm_type):
    theirs, ours = _pair([np.zeros(0), [1.0, 2.0]])
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    with pytest.raises(RuntimeError, match="empty"):
        cu.clip_grad_norm_(ours, 1.0, norm_type=norm_type)


@pytest.mark.parametrize("norm_type", [0, 0.5, 2.0])
def test_empty_gradient_has_norm_zero(norm_type):
    theirs, ours = _pair([np.zeros(0), [1.0, 2.0]])
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    np.testing.assert_allclose(cu.clip_grad_norm_(ours, 1.0, norm_type=norm_type).numpy(),
                               expected.numpy(), rtol=1e-12)


def _load(theirs, ours):
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize(("layer", "args", "name", "x"), [
    ("Embedding", (6, 3), "weight", np.array([[1, 4], [0, 5]])),
    ("GRUCell", (3, 4), "weight_ih", np.linspace(-1.0, 1.0, 6).reshape(2, 3)),
    ("RNNCell", (3, 4), "weight_ih", np.linspace(-1.0, 1.0, 6).reshape(2, 3)),
    ("LSTMCell", (3, 4), "weight_ih", np.linspace(-1.0, 1.0, 6).reshape(2, 3)),
])
@pytest.mark.parametrize("dim", [0, 1])
def test_spectral_norm_power_iteration_runs_once_per_forward(layer, args, name, x, dim):
    # Embedding read its weight twice per forward (and the cells their weight_ih, for the
    # dtype), so spectral_norm's power iteration ran twice in training, where PyTorch runs it once
    torch.manual_seed(0)
    theirs = getattr(torch.nn, layer)(*args).double()
    ours = getattr(cr.nn, layer)(*args, dtype=cr.float64)
    torch.nn.utils.parametrizations.spectral_norm(theirs, name, dim=dim)
    cu.parametrizations.spectral_norm(ours, name, dim=dim)
    _load(theirs, ours)
    for _ in range(2):
        out = theirs(torch.tensor(x))
        got = ours(cr.tensor(x))
        out = out[0] if isinstance(out, tuple) else out
        got = got[0] if isinstance(got, tuple) else got
        np.testing.assert_allclose(got.numpy(), out.detach().numpy(), rtol=1e-10, atol=1e-12)
        out.pow(2).sum().backward()
        (got ** 2).sum().backward()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), atol=1e-12)
    original = getattr(theirs.parametrizations, name).original
    np.testing.assert_allclose(getattr(ours.parametrizations, name).original.grad.numpy(),
                               original.grad.numpy(), rtol=1e-9, atol=1e-12)


_LENGTHS = [[3, 5, 1, 4], [2], [4, 4, 2], [1, 3]]


def _pad_sequence_sides_and_values_case(lengths, batch_first, side):
    rng = np.random.default_rng(len(lengths))
    seqs = [rng.normal(size=(n, 2)) for n in lengths]
    expected = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first,
                                               -1.5, side)
    got = cu.rnn.pad_sequence([cr.tensor(s) for s in seqs], batch_first=batch_first,
                              padding_value=-1.5, padding_side=side)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_pad_sequence_sides_and_values():
    each_case(_pad_sequence_sides_and_values_case, grid(
        ("side", ["right", "left"]),
        ("batch_first", [False, True]),
        ("lengths", _LENGTHS),
    ))


@pytest.mark.parametrize("lengths", _LENGTHS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("total_length", [None, 7])
def test_unsorted_packing_round_trips(lengths, batch_first, total_length):
    tr, cR = torch.nn.utils.rnn, cu.rnn
    rng = np.random.default_rng(sum(lengths))
    seqs = [rng.normal(size=(n, 3)) for n in lengths]
    tpad = tr.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first)
    cpad = cR.pad_sequence([cr.tensor(s) for s in seqs], batch_first=batch_first)
    theirs = tr.pack_padded_sequence(tpad, torch.tensor(lengths), batch_first, False)
    ours = cR.pack_padded_sequence(cpad, cr.tensor(lengths), batch_first, enforce_sorted=False)
    for field in ("data", "batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(getattr(ours, field).numpy(), getattr(theirs, field).numpy())
    t_out, t_len = tr.pad_packed_sequence(theirs, batch_first, 9.0, total_length)
    c_out, c_len = cR.pad_packed_sequence(ours, batch_first=batch_first, padding_value=9.0,
                                          total_length=total_length)
    np.testing.assert_array_equal(c_out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(c_len.numpy(), t_len.numpy())
    for a, b in zip(cR.unpack_sequence(ours), seqs):
        np.testing.assert_array_equal(a.numpy(), b)
    for a, b in zip(cR.unpad_sequence(c_out, c_len, batch_first=batch_first), seqs):
        np.testing.assert_array_equal(a.numpy(), b)
    packed = cR.pack_sequence([cr.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.numpy(), theirs.data.numpy())


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_unsorted_packed_sequence_through_recurrent_layers(kind, bidirectional):
    tr, cR = torch.nn.utils.rnn, cu.rnn
    torch.manual_seed(1)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=bidirectional).double()
    ours = getattr(cr.nn, kind)(3, 4, num_layers=2, bidirectional=bidirectional,
                                dtype=cr.float64)
    _load(theirs, ours)
    rng = np.random.default_rng(3)
    seqs = [rng.normal(size=(n, 3)) for n in (2, 5, 3)]
    t_in = [torch.tensor(s, requires_grad=True) for s in seqs]
    c_in = [cr.tensor(s, requires_grad=True) for s in seqs]
    t_out, t_state = theirs(tr.pack_sequence(t_in, enforce_sorted=False))
    c_out, c_state = ours(cR.pack_sequence(c_in, enforce_sorted=False))
    t_pad, _ = tr.pad_packed_sequence(t_out, batch_first=True)
    c_pad, _ = cR.pad_packed_sequence(c_out, batch_first=True)
    np.testing.assert_allclose(c_pad.numpy(), t_pad.detach().numpy(), rtol=1e-10, atol=1e-12)
    t_h = t_state[0] if kind == "LSTM" else t_state
    c_h = c_state[0] if kind == "LSTM" else c_state
    np.testing.assert_allclose(c_h.numpy(), t_h.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = rng.normal(size=t_pad.shape)
    ((t_pad * torch.tensor(weights)).sum() + t_h.sum()).backward()
    ((c_pad * cr.tensor(weights)).sum() + c_h.sum()).backward()
    for a, b in zip(c_in, t_in):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), (_, q) in zip(theirs.named_parameters(), ours.named_parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
def test_orthogonal_maps_values_and_gradients(orthogonal_map, shape):
    torch.manual_seed(2)
    theirs = torch.nn.Linear(shape[1], shape[0]).double()
    ours = cr.nn.Linear(shape[1], shape[0], dtype=cr.float64)
    _load(theirs, ours)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map)
    cu.parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _load(theirs, ours)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), atol=1e-10)
    x = np.linspace(-1.0, 2.0, 2 * shape[1]).reshape(2, shape[1])
    theirs(torch.tensor(x)).pow(2).sum().backward()
    (ours(cr.tensor(x)) ** 2).sum().backward()
    for (name, p), (_, q) in zip(theirs.named_parameters(), ours.named_parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), atol=1e-9, err_msg=name)


def _ln_structured_orders_and_dims_case(n, dim):
    values = np.random.default_rng(4).permutation(np.arange(1, 21)) * 0.1  # no ties
    w = (values * np.where(np.arange(20) % 3 == 0, -1, 1)).reshape(4, 5)
    theirs, ours = torch.nn.Linear(5, 4).double(), cr.nn.Linear(5, 4, dtype=cr.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    ours.load_state_dict({"weight": cr.tensor(w), "bias": cr.tensor(theirs.bias.detach().numpy())})
    torch_prune.ln_structured(theirs, "weight", 0.5, n, dim)
    cu.prune.ln_structured(ours, "weight", 0.5, n, dim)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())


def test_ln_structured_orders_and_dims():
    each_case(_ln_structured_orders_and_dims_case, grid(
        ("dim", [0, 1, -1]),
        ("n", [1, 2, math.inf, -math.inf, -1, 3]),
    ))


@pytest.mark.parametrize("limit", [0.5, 2, 10.0])
def test_clipping_bounds_given_as_tensors(limit):
    # PyTorch takes a 0-d Tensor for max_norm and clip_value; chainrule raised a TypeError
    grads = [[3.0, 0.0, -4.0], [[1.0, 2.0], [0.5, -0.25]]]
    theirs, ours = _pair(grads)
    expected = torch.nn.utils.clip_grad_norm_(theirs, torch.tensor(limit))
    total = cu.clip_grad_norm_(ours, cr.tensor(limit))
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-12)
    theirs, ours = _pair(grads)
    torch.nn.utils.clip_grads_with_norm_(theirs, torch.tensor(limit), torch.tensor(5.0))
    cu.clip_grads_with_norm_(ours, cr.tensor(limit), cr.tensor(5.0))
    torch.nn.utils.clip_grad_value_(theirs, torch.tensor(limit / 4))
    cu.clip_grad_value_(ours, cr.tensor(limit / 4))
    for t, c in zip(theirs, ours):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="max_norm must be a number >= 0"):
        cu.clip_grad_norm_(ours, cr.tensor(-1.0))
    with pytest.raises(TypeError, match="clip_value must be a number >= 0"):
        cu.clip_grad_value_(ours, cr.tensor([1.0, 2.0]))


def test_packed_sequence_conversions():
    # PyTorch's PackedSequence has double()/float()/half()/long()/cpu()/cuda()/pin_memory()/
    # is_cuda/is_pinned(); chainrule's had only to()
    x = np.arange(24.0).reshape(4, 3, 2)
    theirs = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), [4, 2, 1])
    ours = cu.rnn.pack_padded_sequence(cr.tensor(x), [4, 2, 1])
    for name in ("double", "float", "half", "long", "int", "short", "byte", "char", "cpu"):
        a, b = getattr(theirs, name)(), getattr(ours, name)()
        assert isinstance(b, cu.rnn.PackedSequence)
        assert str(b.data.dtype) == str(a.data.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(b.data.numpy(), a.data.numpy())
        np.testing.assert_array_equal(b.batch_sizes.numpy(), a.batch_sizes.numpy())
    assert ours.is_cuda is theirs.is_cuda is False
    assert ours.is_pinned() is theirs.is_pinned() is False


@pytest.mark.parametrize(("first", "second"), [
    ("float32", "float64"), ("float64", "float32"), ("int64", "float32"), ("float32", "int64")])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_of_mixed_dtypes_takes_the_first_dtype(first, second, side):
    # PyTorch copies every sequence into a tensor of the first one's dtype; chainrule promoted
    a, b = np.array([1.0, 2.0]), np.array([1.75])
    theirs = [torch.tensor(a, dtype=getattr(torch, first)),
              torch.tensor(b, dtype=getattr(torch, second))]
    expected = torch.nn.utils.rnn.pad_sequence(theirs, padding_side=side)
    got = cu.rnn.pad_sequence(
        [cr.tensor(a, dtype=getattr(cr, first)), cr.tensor(b, dtype=getattr(cr, second))],
        padding_side=side)
    assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    if "int" not in first + second:
        ta = torch.tensor(a, dtype=getattr(torch, first), requires_grad=True)
        tb = torch.tensor(b, dtype=getattr(torch, second), requires_grad=True)
        ca = cr.tensor(a, dtype=getattr(cr, first), requires_grad=True)
        cb = cr.tensor(b, dtype=getattr(cr, second), requires_grad=True)
        (torch.nn.utils.rnn.pad_sequence([ta, tb], padding_side=side) * 3).sum().backward()
        (cu.rnn.pad_sequence([ca, cb], padding_side=side) * 3).sum().backward()
        for t, c in ((ta, ca), (tb, cb)):
            assert str(c.grad.dtype) == str(t.grad.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
def test_orthogonal_without_trivialization(orthogonal_map, shape):
    # chainrule refused use_trivialization=False; PyTorch then maps the weight itself, keeps it
    # as the original where the map has no right inverse, and assigns through geqrf (householder)
    torch.manual_seed(5)
    theirs = torch.nn.Linear(shape[1], shape[0]).double()
    ours = cr.nn.Linear(shape[1], shape[0], dtype=cr.float64)
    _load(theirs, ours)
    kwargs = {"orthogonal_map": orthogonal_map, "use_trivialization": False}
    torch.nn.utils.parametrizations.orthogonal(theirs, **kwargs)
    cu.parametrizations.orthogonal(ours, **kwargs)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), atol=1e-10)
    x = np.linspace(-1.0, 2.0, 2 * shape[1]).reshape(2, shape[1])
    theirs(torch.tensor(x)).pow(2).sum().backward()
    (ours(cr.tensor(x)) ** 2).sum().backward()
    for (name, p), (_, q) in zip(theirs.named_parameters(), ours.named_parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), atol=1e-9, err_msg=name)
    q = np.linalg.qr(np.arange(1.0, 1.0 + shape[0] * shape[1]).reshape(max(shape), min(shape))
                     + np.eye(max(shape), min(shape)))[0]
    q = q if shape[0] >= shape[1] else q.T
    if orthogonal_map != "householder":
        with pytest.raises(NotImplementedError):
            theirs.weight = torch.tensor(q)
        with pytest.raises(NotImplementedError, match="use_trivialization=False"):
            ours.weight = cr.tensor(q)
        return
    theirs.weight = torch.tensor(q)
    ours.weight = cr.tensor(q)
    np.testing.assert_allclose(ours.parametrizations.weight.original.numpy(),
                               theirs.parametrizations.weight.original.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), atol=1e-10)


def test_functional_call_restores_a_module_shared_under_two_names():
    # PyTorch 2.13 leaves the given weight in a submodule registered under two names (found by
    # differential fuzzing); chainrule restores the module's own, as both libraries document
    def build(lib):
        class Tied(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.nn.Linear(3, 3)
                self.b = self.a

            def forward(self, x):
                return self.b(self.a(x))
        return Tied()

    theirs = build(torch)
    torch.func.functional_call(theirs, {"a.weight": torch.zeros(3, 3)}, (torch.ones(1, 3),))
    assert float(theirs.a.weight.abs().sum()) == 0.0  # the PyTorch behaviour chainrule avoids
    ours = build(cr)
    before = ours.a.weight.numpy().copy()
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
        out = cu.stateless.functional_call(ours, {"a.weight": cr.zeros(3, 3)}, (cr.ones(1, 3),))
    np.testing.assert_array_equal(out.numpy(), ours.a.bias.numpy()[None])  # zero weight: bias
    np.testing.assert_array_equal(ours.a.weight.numpy(), before)
    assert ours.b.weight is ours.a.weight


@pytest.mark.parametrize("norm_type", [0, 2.0, -1.0])
@pytest.mark.parametrize("grad", [[3 + 4j, 1 - 1j, 0j], []])
def test_norm_of_complex_gradients_is_real(norm_type, grad):
    # the count-of-nonzeros norm (and an empty gradient's 0) came out complex
    g = np.asarray(grad, dtype=np.complex128)
    theirs = torch.zeros(len(grad), dtype=torch.complex128, requires_grad=True)
    ours = cr.zeros(len(grad), dtype=cr.complex128, requires_grad=True)
    theirs.grad, ours.grad = torch.tensor(g), cr.tensor(g)
    if not grad and norm_type < 0:
        with pytest.raises(RuntimeError):
            torch.nn.utils.clip_grad_norm_([theirs], 1.0, norm_type)
        with pytest.raises(RuntimeError, match="empty"):
            cu.clip_grad_norm_([ours], 1.0, norm_type)
        return
    expected = torch.nn.utils.clip_grad_norm_([theirs], 1.0, norm_type)
    total = cu.clip_grad_norm_([ours], 1.0, norm_type)
    assert str(total.dtype) == "float64" == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
