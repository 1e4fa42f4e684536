"""Packed sequences (nn.utils.rnn) and recurrent layers over them: padding is inert, and the
values, final states and gradients are PyTorch's."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.recurrent import GRU, LSTM, RNN
from chainrule.nn.utils import rnn

SEQUENCES = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


def _final(h):
    return h[0] if isinstance(h, tuple) else h


@pytest.mark.kernel_free
def test_pack_and_pad_round_trip_in_the_original_order():
    x = cr.tensor(np.arange(24, dtype=np.float64).reshape(4, 3, 2))  # (T=4, N=3, 2)
    packed = rnn.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1]
    assert packed.sorted_indices.tolist() == [1, 0, 2]
    assert packed.unsorted_indices.tolist() == [1, 0, 2]
    # time 0 of sequences 1, 0, 2; time 1 of 1, 0; times 2 and 3 of sequence 1
    rows = [(0, 1), (0, 0), (0, 2), (1, 1), (1, 0), (2, 1), (3, 1)]
    np.testing.assert_array_equal(packed.data.numpy(), np.stack([x.numpy()[t, b] for t, b in rows]))
    padded, lengths = rnn.pad_packed_sequence(packed, padding_value=-1.0, total_length=5)
    assert lengths.tolist() == [2, 4, 1] and padded.shape == (5, 3, 2)
    want = np.full((5, 3, 2), -1.0)
    for b, n in enumerate([2, 4, 1]):
        want[:n, b] = x.numpy()[:n, b]
    np.testing.assert_array_equal(padded.numpy(), want)


@pytest.mark.kernel_free
def test_pad_sequence_and_pack_sequence():
    seqs = [cr.tensor(np.ones((3, 2))), cr.tensor(2 * np.ones((1, 2)))]
    out = rnn.pad_sequence(seqs, batch_first=True, padding_value=7.0)
    assert out.shape == (2, 3, 2) and out.numpy()[1, 1:].tolist() == [[7.0, 7.0]] * 2
    packed = rnn.pack_sequence(seqs)
    assert packed.batch_sizes.tolist() == [2, 1, 1] and packed.sorted_indices is None


@pytest.mark.kernel_free
def test_packing_refuses_bad_lengths():
    x = cr.tensor(np.zeros((3, 2, 1)))
    with pytest.raises(ValueError, match="decreasing order with enforce_sorted=True, got"):
        rnn.pack_padded_sequence(x, [1, 3])
    with pytest.raises(ValueError, match=r"from 1 to the padded length 3, got \[0, 3\]"):
        rnn.pack_padded_sequence(x, [0, 3], enforce_sorted=False)
    with pytest.raises(ValueError, match="expected 2 lengths"):
        rnn.pack_padded_sequence(x, [3])
    with pytest.raises(ValueError, match="total_length must be an int at least the longest"):
        rnn.pad_packed_sequence(rnn.pack_padded_sequence(x, [3, 1]), total_length=2)


@pytest.mark.parametrize("name", list(SEQUENCES))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_is_inert_and_each_sequence_runs_as_if_alone(rng, name, bidirectional):
    net = SEQUENCES[name](3, 4, num_layers=2, bidirectional=bidirectional, batch_first=True,
                          rng=rng, dtype="float64")
    lengths = [5, 2, 4]
    x = rng.normal(size=(3, 5, 3))

    def run(values):
        inp = cr.tensor(values, requires_grad=True)
        out, h = net(rnn.pack_padded_sequence(inp, lengths, batch_first=True,
                                              enforce_sorted=False))
        padded, _ = rnn.pad_packed_sequence(out, batch_first=True)
        net.zero_grad()
        ((padded * padded).sum() + _final(h).sum()).backward()
        return padded.numpy(), _final(h).numpy(), inp.grad.numpy(), [
            p.grad.numpy().copy() for p in net.parameters()]

    out, h, gx, gp = run(x)
    noisy = x.copy()
    for b, n in enumerate(lengths):
        noisy[b, n:] = rng.normal(size=noisy[b, n:].shape) * 100
    out2, h2, gx2, gp2 = run(noisy)
    np.testing.assert_array_equal(out, out2)
    np.testing.assert_array_equal(h, h2)
    np.testing.assert_array_equal(gx, gx2)
    for a, b in zip(gp, gp2, strict=True):
        np.testing.assert_array_equal(a, b)
    for b, n in enumerate(lengths):
        assert not gx[b, n:].any() and not out[b, n:].any()
        alone_out, alone_h = net(cr.tensor(x[b:b + 1, :n]))
        np.testing.assert_allclose(out[b, :n], alone_out.numpy()[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h[:, b], _final(alone_h).numpy()[:, 0], rtol=1e-12,
                                   atol=1e-12)


def test_packed_lstm_gradcheck(rng):
    net = LSTM(2, 3, bidirectional=True, rng=rng, dtype="float64")
    x = cr.tensor(rng.normal(size=(4, 3, 2)), requires_grad=True)

    def f(x):
        out, (h, c) = net(rnn.pack_padded_sequence(x, [4, 3, 1]))
        return rnn.pad_packed_sequence(out)[0], h, c

    assert cr.gradcheck(f, [x])


@pytest.mark.torch
@pytest.mark.parametrize("name", list(SEQUENCES))
@pytest.mark.parametrize("bidirectional, layers", [(False, 1), (True, 2)])
def test_packed_sequences_match_torch(rng, name, bidirectional, layers):
    torch = pytest.importorskip("torch")
    ours = SEQUENCES[name](3, 4, num_layers=layers, bidirectional=bidirectional,
                           batch_first=True, rng=rng, dtype="float64")
    theirs = getattr(torch.nn, name)(3, 4, num_layers=layers, bidirectional=bidirectional,
                                     batch_first=True, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng.normal(size=(4, 6, 3))
    lengths = [3, 6, 1, 4]
    h0 = rng.normal(size=(layers * (2 if bidirectional else 1), 4, 4))
    hx_ours = cr.tensor(h0)
    hx_theirs = torch.tensor(h0)
    if name == "LSTM":
        hx_ours, hx_theirs = (hx_ours, cr.tensor(-h0)), (hx_theirs, torch.tensor(-h0))
    xo, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    po = rnn.pack_padded_sequence(xo, lengths, batch_first=True, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                 enforce_sorted=False)
    np.testing.assert_array_equal(po.batch_sizes, pt.batch_sizes.numpy())
    np.testing.assert_array_equal(po.sorted_indices, pt.sorted_indices.numpy())
    np.testing.assert_allclose(po.data.numpy(), pt.data.detach().numpy())
    oo, ho = ours(po, hx_ours)
    ot, ht = theirs(pt, hx_theirs)
    np.testing.assert_allclose(oo.data.numpy(), ot.data.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ho if name == "LSTM" else (ho,), ht if name == "LSTM" else (ht,),
                    strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    pad_o, len_o = rnn.pad_packed_sequence(oo, batch_first=True)
    pad_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(ot, batch_first=True)
    np.testing.assert_array_equal(len_o, len_t.numpy())
    w, wh = rng.normal(size=pad_o.shape), rng.normal(size=_final(ho).shape)
    ((pad_o * cr.tensor(w)).sum() + (_final(ho) * cr.tensor(wh)).sum()).backward()
    ((pad_t * torch.tensor(w)).sum() + (_final(ht) * torch.tensor(wh)).sum()).backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=k)


@pytest.mark.kernel_free
def test_pad_packed_sequence_gives_lengths_as_a_tensor_as_pytorch():
    # PyTorch programs gather each sequence's last output with (lengths - 1).view(-1, 1, 1);
    # an array's view() takes a dtype, so the lengths must be an int64 Tensor.
    x = cr.tensor(np.arange(12.0).reshape(3, 2, 2))
    packed = rnn.pack_padded_sequence(x, [2, 3], enforce_sorted=False)
    padded, lengths = rnn.pad_packed_sequence(packed, batch_first=True)
    assert isinstance(lengths, cr.Tensor) and lengths.dtype == np.int64
    assert lengths.tolist() == [2, 3]
    index = (lengths - 1).view(-1, 1, 1).expand(2, 1, 2)
    last = padded.gather(1, index)[:, 0]
    np.testing.assert_array_equal(last.numpy(), x.numpy()[[1, 2], [0, 1]])


@pytest.mark.kernel_free
def test_packed_sequence_to_moves_its_data():
    packed = rnn.pack_padded_sequence(cr.tensor(np.ones((3, 2, 2))), [3, 1])
    moved = packed.to("cpu").to(dtype=cr.float32)
    assert moved.data.dtype == np.float32 and moved.batch_sizes.tolist() == [2, 1, 1]
    assert isinstance(moved, rnn.PackedSequence)


@pytest.mark.kernel_free
def test_a_packed_input_of_the_wrong_width_is_named_by_its_packed_shape():
    packed = rnn.pack_padded_sequence(cr.tensor(np.ones((3, 4, 2))), [3, 2, 1, 1])
    with pytest.raises(ValueError, match=r"LSTM: expected input of shape packed \(steps, H_in\) "
                                         r"with H_in=5, got shape \(7, 2\)"):
        cr.nn.LSTM(5, 3, dtype="float64")(packed)


@pytest.mark.kernel_free
def test_the_bookkeeping_is_int64_tensors_that_hand_written_rnns_can_use():
    """PyTorch's fields are Tensors: a custom RNN reads sorted_indices.to(data.device),
    batch_sizes.size(0) and index_select's its state; a PackedSequence rebuilt from them (or
    from arrays and lists, by hand) unpacks as before."""
    x = cr.tensor(np.arange(24.0).reshape(4, 3, 2))
    packed = rnn.pack_padded_sequence(x, [2, 3, 1, 3], batch_first=True, enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    for field in (batch_sizes, sorted_indices, unsorted_indices):
        assert isinstance(field, cr.Tensor) and field.dtype == cr.int64
    assert batch_sizes.size(0) == 3 and batch_sizes.tolist() == [4, 3, 2]
    state = cr.arange(4.0).index_select(0, sorted_indices.to(data.device))
    assert state.tolist() == [1.0, 3.0, 0.0, 2.0] == [float(i) for i in sorted_indices.tolist()]
    for rebuilt in (rnn.PackedSequence(data * 2, batch_sizes, sorted_indices, unsorted_indices),
                    rnn.PackedSequence(data * 2, batch_sizes.numpy(), sorted_indices.tolist(),
                                       unsorted_indices.numpy())):
        padded, lengths = rnn.pad_packed_sequence(rebuilt, batch_first=True)
        assert lengths.tolist() == [2, 3, 1, 3]
        np.testing.assert_array_equal(padded.numpy()[1], 2 * x.numpy()[1])
    assert rnn.pack_padded_sequence(x, [3, 3, 2, 1], batch_first=True).sorted_indices is None


def test_a_packed_sequence_built_with_sorted_indices_alone_inverts_them_as_pytorch():
    """PyTorch's PackedSequence(data, batch_sizes, sorted_indices) fills unsorted_indices with
    the inverse permutation; left None, the lengths came back in the sorted order and an RNN
    masked the wrong sequences (its final states were wrong, silently)."""
    x = cr.tensor(np.random.default_rng(3).standard_normal((4, 3, 2)))
    packed = rnn.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
    rebuilt = rnn.PackedSequence(packed.data, packed.batch_sizes, packed.sorted_indices)
    assert rebuilt.unsorted_indices.tolist() == [2, 0, 1]
    assert rnn.pad_packed_sequence(rebuilt)[1].tolist() == [2, 4, 3]
    gru = cr.nn.GRU(2, 3, rng=np.random.default_rng(0), dtype="float64")
    np.testing.assert_array_equal(gru(rebuilt)[1].numpy(), gru(packed)[1].numpy())
    pair = rnn.PackedSequence((packed.data, packed.batch_sizes))  # PyTorch's older form
    assert pair.batch_sizes.tolist() == [3, 3, 2, 1] and pair.unsorted_indices is None
    assert rebuilt._replace(data=packed.data * 2).unsorted_indices.tolist() == [2, 0, 1]
    with pytest.raises(TypeError, match="PackedSequence: batch_sizes is missing"):
        rnn.PackedSequence(packed.data)


@pytest.mark.torch
def test_a_packed_sequence_built_with_sorted_indices_alone_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((4, 3, 2))
    theirs = torch.nn.GRU(2, 3, dtype=torch.float64)
    ours = cr.nn.GRU(2, 3, dtype="float64")
    ours.load_state_dict(theirs.state_dict())
    results = []
    for lib, m in ((torch, theirs), (cr, ours)):
        packed = lib.nn.utils.rnn.pack_padded_sequence(lib.tensor(x), [2, 4, 3],
                                                       enforce_sorted=False)
        rebuilt = lib.nn.utils.rnn.PackedSequence(packed.data, packed.batch_sizes,
                                                  packed.sorted_indices)
        out, h = m(rebuilt)
        padded, lengths = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        results.append([padded.detach().numpy(), h.detach().numpy(), lengths.numpy()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("as_tensor", [False, True])
def test_float_lengths_are_truncated_as_pytorchs(as_tensor):
    """PyTorch packs with as_tensor(lengths, dtype=int64): the float lengths of a float mask's
    sum(1) are taken (truncated); chainrule refused them."""
    torch = pytest.importorskip("torch")
    x = np.arange(24.0).reshape(4, 3, 2)
    lengths = [4.0, 2.9, 1.0]
    got = []
    for lib in (torch, cr):
        n = lib.tensor(lengths) if as_tensor else lengths
        packed = lib.nn.utils.rnn.pack_padded_sequence(lib.tensor(x), n, enforce_sorted=False)
        got.append([packed.data.numpy(), packed.batch_sizes.numpy(),
                    lib.nn.utils.rnn.pad_packed_sequence(packed)[1].numpy()])
    for a, b in zip(*got, strict=True):
        np.testing.assert_array_equal(b, a)
    with pytest.raises(ValueError, match="lengths must be finite"):
        rnn.pack_padded_sequence(cr.tensor(x), [4.0, float("nan"), 1.0])
