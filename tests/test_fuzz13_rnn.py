"""Thirteenth fuzz wave: recurrent nets against PyTorch 2.13 over the whole option matrix.

RNN/LSTM/GRU (1-3 layers, bidirectional, batch_first, bias, relu/tanh, LSTM ``proj_size``,
dropout under ``eval()``, unbatched inputs, hx given or not, wrong shapes) with the weights ported
from PyTorch and compared in float64 (outputs, states and the gradients of the input, hx and every
weight); state dicts loaded the other way (chainrule into PyTorch) in float32 and float64; packed
batches through every layer; the ``nn.utils.rnn`` helpers (values, dtypes, gradients, errors);
and whether both libraries accept or refuse the same shapes of input and state.

Where PyTorch is undefined it is left out: lengths beyond the padded length (PyTorch packs past
the end), an unbatched cell input with a batched state (PyTorch crashes) and a state of the wrong
batch beside a packed batch (PyTorch 2.13 checks no state of a packed batch: its LSTM runs with
any, its RNN and GRU permute the rows of an unsorted one first; chainrule refuses, tested below).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import check as port_check
from ._fuzz12_check import check, outcome

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _call(kind):
    def call(m, x, *h):
        if not h:
            return m(x)
        return m(x, (h[0], h[1]) if "LSTM" in kind else h[0])
    return call


def _draw_layer(rng):
    kind = str(rng.choice(["RNN", "LSTM", "GRU"]))
    I, H, T, B = (int(v) for v in rng.integers(1, 5, 4))
    L, bi, bf = int(rng.integers(1, 4)), bool(rng.random() < .5), bool(rng.random() < .5)
    kw = dict(num_layers=L, bias=bool(rng.random() < .7), batch_first=bf, bidirectional=bi)
    if kind == "RNN":
        kw["nonlinearity"] = str(rng.choice(["tanh", "relu"]))
    P = int(rng.integers(1, H)) if kind == "LSTM" and H > 1 and rng.random() < .6 else 0
    if P:
        kw["proj_size"] = P
    if rng.random() < .4:
        kw["dropout"] = float(rng.choice([0.3, 0.5, 1.0]))
    unbatched = rng.random() < .25
    x = rng.standard_normal((T, I) if unbatched else (B, T, I) if bf else (T, B, I))
    lead = (L * (1 + bi),) if unbatched else (L * (1 + bi), B)
    hs, cs = lead + (P or H,), lead + (H,)
    arrays = [x]
    if rng.random() < .5:
        arrays.append(rng.standard_normal(hs) * .5)
        if kind == "LSTM":
            arrays.append(rng.standard_normal(cs) * .5)
    if rng.random() < .2:  # one wrong shape: both refuse
        which = int(rng.integers(0, 4))
        if which == 0:
            arrays[0] = rng.standard_normal(x.shape[:-1] + (I + 1,))
        elif which == 1 and len(arrays) > 1:
            arrays[1] = rng.standard_normal(hs[:-1] + (hs[-1] + 1,))
        elif which == 2 and len(arrays) > 2:
            arrays[2] = rng.standard_normal(cs[:-1] + (cs[-1] + 1,))
        elif len(arrays) > 1:
            arrays[1] = rng.standard_normal((hs[0] + 1,) + hs[1:])

    def make(lib):
        return getattr(lib.nn, kind)(I, H, **kw), _call(kind)

    return f"{kind}({I}, {H}, {kw}) {[a.shape for a in arrays]}", make, arrays


@pytest.mark.parametrize("seed", range(3))
def test_layers_over_the_option_matrix_ported_from_pytorch(seed):
    """Outputs, final states and the float64 gradients of x, hx and every weight, in eval mode
    (dropout between layers then does nothing, as PyTorch's)."""
    rng = np.random.default_rng(1300 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(30):
        desc, make, arrays = _draw_layer(rng)
        try:
            counts[port_check(make, arrays, rng, train=False)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 18, counts


@pytest.mark.parametrize("seed", range(2))
def test_state_dicts_load_into_pytorch(seed):
    """chainrule's state dict loads into PyTorch's layer (the other way than the port above) and
    both compute the same, in float32 and float64; in training both give the same shapes."""
    rng = np.random.default_rng(1310 + seed)
    for _ in range(25):
        kind = str(rng.choice(["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]))
        I, H, B, T = (int(v) for v in rng.integers(1, 5, 4))
        cell = kind.endswith("Cell")
        kw = dict(bias=bool(rng.random() < .7))
        if kind.startswith("RNN"):
            kw["nonlinearity"] = str(rng.choice(["tanh", "relu"]))
        if not cell:
            kw.update(num_layers=int(rng.integers(1, 4)), bidirectional=bool(rng.random() < .5),
                      batch_first=bool(rng.random() < .5))
            if kind == "LSTM" and H > 1 and rng.random() < .5:
                kw["proj_size"] = int(rng.integers(1, H))
            if rng.random() < .3:
                kw["dropout"] = 0.5
        dt = str(rng.choice(["float32", "float64"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = getattr(cr.nn, kind)(I, H, **kw).to(getattr(cr, dt))
            theirs = getattr(torch.nn, kind)(I, H, **kw).to(getattr(torch, dt))
        state = {k: torch.tensor(np.asarray(v.numpy())) for k, v in ours.state_dict().items()}
        assert list(state) == list(theirs.state_dict()), kind
        theirs.load_state_dict(state)
        unbatched = rng.random() < .3
        shape = (((I,) if unbatched else (B, I)) if cell else
                 (T, I) if unbatched else (B, T, I) if kw["batch_first"] else (T, B, I))
        x = rng.standard_normal(shape).astype(dt)
        tol = 1e-5 if dt == "float32" else 1e-12
        for train in (False, True):
            ours.train(train)
            theirs.train(train)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got, want = _leaves(ours(cr.tensor(x))), _leaves(theirs(torch.tensor(x)))
            assert [(tuple(a.shape), str(a.dtype)) for a in got] == [
                (tuple(b.shape), str(b.dtype)[6:]) for b in want], f"{kind} {kw}"
            if not train or not kw.get("dropout"):
                for a, b in zip(got, want, strict=True):
                    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol,
                                               err_msg=f"{kind} {kw} {dt} train={train}")


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def _draw_packed(rng):
    kind = str(rng.choice(["RNN", "LSTM", "GRU"]))
    I, H = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    T, B, L = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
    bi, bf = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    kw = dict(num_layers=L, bias=bool(rng.random() < 0.8), batch_first=bf, bidirectional=bi)
    if kind == "RNN":
        kw["nonlinearity"] = str(rng.choice(["tanh", "relu"]))
    P = int(rng.integers(1, H)) if kind == "LSTM" and H > 1 and rng.random() < .6 else 0
    if P:
        kw["proj_size"] = P
    if rng.random() < .3:
        kw["dropout"] = 0.4
    lengths = rng.integers(1, T + 1, B)
    lengths[int(rng.integers(0, B))] = T
    sort = bool(rng.random() < 0.4)
    if sort:
        lengths = np.sort(lengths)[::-1].copy()
    x = rng.standard_normal((B, T, I) if bf else (T, B, I))
    arrays = [x]
    D = 1 + bi
    if rng.random() < 0.5:
        arrays.append(rng.standard_normal((L * D, B, P or H)))
        if kind == "LSTM":
            arrays.append(rng.standard_normal((L * D, B, H)))
    how = str(rng.choice(["padded", "packed", "sequences", "rebuilt"]))
    total = T + int(rng.integers(0, 2)) if rng.random() < 0.5 else None
    pad, as_tensor = float(rng.choice([0.0, -3.0])), bool(rng.random() < .5)

    def make(lib):
        U = lib.nn.utils.rnn

        def call(m, x, *h):
            if how == "sequences":
                p = U.pack_sequence([x[b, :n] if bf else x[:n, b] for b, n in enumerate(lengths)],
                                    enforce_sorted=sort)
            else:
                n = lib.tensor(lengths.tolist()) if as_tensor else lengths.tolist()
                p = U.pack_padded_sequence(x, n, batch_first=bf, enforce_sorted=sort)
            if how == "rebuilt":  # by hand, from sorted_indices alone
                p = U.PackedSequence(p.data, p.batch_sizes, p.sorted_indices)
            out, hn = _call(kind)(m, p, *h)
            if how == "packed":
                return out.data, out.batch_sizes, hn
            y, n_out = U.pad_packed_sequence(out, batch_first=bf, total_length=total,
                                             padding_value=pad)
            return y, n_out, hn
        return getattr(lib.nn, kind)(I, H, **kw), call

    desc = f"packed {kind}({I}, {H}, {kw}) lengths={lengths.tolist()} {how} sorted={sort}"
    return desc, make, arrays


@pytest.mark.parametrize("seed", range(3))
def test_packed_batches_through_every_layer(seed):
    """Packed outputs (or padded back with a padding value and total length), lengths, final
    states and the float64 gradients of x, hx and every weight."""
    rng = np.random.default_rng(1320 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(25):
        desc, make, arrays = _draw_packed(rng)
        try:
            counts[port_check(make, arrays, rng, train=False)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 20, counts


def test_second_order_through_layers_and_packed_batches():
    """A gradient penalty through the layers (create_graph=True), plain and packed: the
    gradients of a weighting of the first gradients equal PyTorch's."""
    rng = np.random.default_rng(1325)
    counts = {"compared": 0, "raised": 0}
    for i in range(16):
        desc, make, arrays = (_draw_packed if i % 2 else _draw_layer)(rng)
        try:
            counts[port_check(make, arrays, rng, train=False, order=2)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 10, counts


def _same(t, c, label):
    """Both raise, or the same nested result: None, lists, dtypes and tensors (exactly)."""
    if isinstance(t, Exception) or isinstance(c, Exception):
        assert isinstance(t, Exception) and isinstance(c, Exception), f"{label}: torch {t!r}, " \
            f"chainrule {c!r}"
        return
    if t is None or c is None:
        assert t is None and c is None, f"{label}: torch {t!r}, chainrule {c!r}"
        return
    if isinstance(t, (list, tuple)):
        assert isinstance(c, (list, tuple)) and len(t) == len(c), f"{label}: {t!r}, {c!r}"
        for a, b in zip(t, c, strict=True):
            _same(a, b, label)
        return
    assert str(c.dtype) == str(t.dtype).replace("torch.", ""), f"{label}: {c.dtype}, {t.dtype}"
    assert tuple(c.shape) == tuple(t.shape), f"{label}: {c.shape}, {tuple(t.shape)}"
    np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy(), err_msg=label)


def _both(label, fn, arrays=(), errors=(RuntimeError, TypeError, ValueError, IndexError)):
    _same(outcome(torch, fn, arrays, errors), outcome(cr, fn, arrays, errors), label)


@pytest.mark.parametrize("seed", range(3))
def test_packing_helpers(seed):
    """pack_padded_sequence (lengths as a list, tuple, array or Tensor, sorted or not, a zero
    length), its four fields, pad_packed_sequence (batch_first, padding_value, total_length),
    pad_sequence (padding_side), pack_sequence, unpack_sequence and unpad_sequence: values and
    dtypes exactly, errors alike, and float64 gradients through them."""
    rng = np.random.default_rng(1330 + seed)
    for _ in range(30):
        B, T = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        F = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(0, 3))))
        lengths = rng.integers(1, T + 1, B)
        lengths[int(rng.integers(0, B))] = T
        if rng.random() < .1:
            lengths[0] = 0
        sort = bool(rng.random() < .5)
        if sort and rng.random() < .7:
            lengths = np.sort(lengths)[::-1].copy()
        bf, out_bf = bool(rng.random() < .5), bool(rng.random() < .5)
        dt = str(rng.choice(["float64", "float32", "int64"]))
        x = (rng.standard_normal((B, T) + F if bf else (T, B) + F) * 3).astype(dt)
        form = str(rng.choice(["list", "tensor", "tuple", "array", "floats"]))
        pad = float(rng.choice([0.0, -1.0, 2.5]))
        total = None if rng.random() < .5 else int(T + rng.integers(-1, 3))
        side = str(rng.choice(["right", "left"]))
        desc = f"B{B} T{T} F{F} lengths {lengths.tolist()} ({form}) sorted={sort} " \
               f"batch_first={bf}/{out_bf} {dt} pad={pad} total={total} {side}"

        def n_of(lib, form=form, lengths=lengths):
            return {"list": lengths.tolist(), "tuple": tuple(lengths.tolist()),
                    "array": lengths.copy(), "tensor": lib.tensor(lengths.tolist()),
                    "floats": lib.tensor(lengths.astype(float).tolist())}[form]

        def pack(lib, x, bf=bf, sort=sort, n_of=n_of):
            return lib.nn.utils.rnn.pack_padded_sequence(x, n_of(lib), batch_first=bf,
                                                         enforce_sorted=sort)

        def unpack(lib, x, pack=pack, out_bf=out_bf, pad=pad, total=total):
            return lib.nn.utils.rnn.pad_packed_sequence(pack(lib, x), batch_first=out_bf,
                                                        padding_value=pad, total_length=total)

        _both("pack " + desc, lambda lib, x, pack=pack: list(pack(lib, x)), [x])
        _both("unpack " + desc, unpack, [x])
        _both("unpad " + desc, lambda lib, x, bf=bf, lengths=lengths: lib.nn.utils.rnn
              .unpad_sequence(x, lib.tensor(lengths.tolist()), batch_first=bf), [x])
        seqs = [(rng.standard_normal((int(n),) + F) * 3).astype(dt) for n in lengths]

        def pad_seqs(lib, *s, out_bf=out_bf, pad=pad, side=side):
            return lib.nn.utils.rnn.pad_sequence(list(s), batch_first=out_bf, padding_value=pad,
                                                 padding_side=side)

        def round_trip(lib, *s, sort=sort):
            U = lib.nn.utils.rnn
            packed = U.pack_sequence(list(s), enforce_sorted=sort)
            return [list(packed), U.unpack_sequence(packed)]

        _both("pad_sequence " + desc, pad_seqs, seqs)
        _both("pack_sequence " + desc, round_trip, seqs)
        if dt == "float64" and lengths.min() > 0:
            check(torch, unpack, x, grad=(0,), label="unpack grad " + desc)
            check(torch, pad_seqs, *seqs, grad=tuple(range(B)), label="pad_sequence grad " + desc)
            check(torch, lambda lib, *s: round_trip(lib, *s)[1], *seqs, grad=tuple(range(B)),
                  label="pack_sequence grad " + desc)


def _mutate(rng, shape):
    shape, r = list(shape), rng.random()
    if r < .3 and shape:
        shape[int(rng.integers(0, len(shape)))] += 1
    elif r < .45:
        shape = [1] + shape
    elif r < .6 and len(shape) > 1:
        shape = shape[1:]
    elif r < .65:
        shape = shape + [1]
    return tuple(shape)


@pytest.mark.parametrize("seed", range(2))
def test_shapes_and_dtypes_of_input_and_state_accepted_or_refused_alike(seed):
    """Inputs and states of random (often wrong) ranks, sizes and dtypes, float32 or float64
    layers: both libraries refuse, or both compute results of the same shapes and dtypes."""
    rng = np.random.default_rng(1340 + seed)
    for _ in range(60):
        kind = str(rng.choice(["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]))
        I, H, B, T = (int(v) for v in rng.integers(1, 4, 4))
        cell = kind.endswith("Cell")
        L, bi, bf = int(rng.integers(1, 3)), bool(rng.random() < .5), bool(rng.random() < .5)
        P = int(rng.integers(1, H)) if kind == "LSTM" and H > 1 and rng.random() < .5 else 0
        dt = str(rng.choice(["float32", "float64"]))
        layer_dt = str(rng.choice(["float32", "float64"])) if rng.random() < .3 else dt
        unbatched = rng.random() < .3
        if cell:
            xs = (I,) if unbatched else (B, I)
            hs = cs = (H,) if unbatched else (B, H)
        else:
            xs = (T, I) if unbatched else (B, T, I) if bf else (T, B, I)
            lead = (L * (1 + bi),) if unbatched else (L * (1 + bi), B)
            hs, cs = lead + (P or H,), lead + (H,)
        if rng.random() < .5:
            xs = _mutate(rng, xs)
        given = rng.random() < .7
        if given and rng.random() < .5:
            hs = _mutate(rng, hs)
        if given and rng.random() < .3:
            cs = _mutate(rng, cs)
        arrays = [rng.standard_normal(xs).astype(dt)]
        if given:
            arrays += [rng.standard_normal(s).astype(dt) for s in (hs, cs)[:1 + ("LSTM" in kind)]]
        if cell and len(xs) == 1 and any(a.ndim != 1 for a in arrays[1:]):
            continue  # PyTorch crashes (see the module's description)
        kw = {} if cell else dict(num_layers=L, bidirectional=bi, batch_first=bf)
        if P:
            kw["proj_size"] = P

        def run(lib, x, *h, kind=kind, kw=kw, layer_dt=layer_dt):
            m = getattr(lib.nn, kind)(I, H, **kw).to(getattr(lib, layer_dt))
            return _call(kind)(m, x, *h)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, c = outcome(torch, run, arrays), outcome(cr, run, arrays)
        label = f"{kind}({I}, {H}, {kw}) {layer_dt} {[(a.shape, str(a.dtype)) for a in arrays]}"
        if isinstance(t, Exception) or isinstance(c, Exception):
            assert isinstance(t, Exception) and isinstance(c, Exception), f"{label}: torch " \
                f"{t!r}, chainrule {c!r}"
            continue
        assert [(tuple(a.shape), str(a.dtype)) for a in _leaves(c)] == [
            (tuple(b.shape), str(b.dtype)[6:]) for b in _leaves(t)], label


def test_packed_sequence_fields_and_conversions():
    """The fields' dtypes, a PackedSequence built by hand (sorted_indices alone, the older pair
    form), conversions and descriptions, as PyTorch's."""
    x = np.random.default_rng(1350).standard_normal((4, 3, 2))

    def packed(lib, x):
        return lib.nn.utils.rnn.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)

    def rebuilt(lib, x):
        p = packed(lib, x)
        return lib.nn.utils.rnn.PackedSequence(p.data, p.batch_sizes, p.sorted_indices)

    cases = {
        "fields": lambda lib, x: list(packed(lib, x)),
        "rebuilt": lambda lib, x: list(rebuilt(lib, x)),
        "rebuilt lengths": lambda lib, x: lib.nn.utils.rnn.pad_packed_sequence(rebuilt(lib, x)),
        "pair": lambda lib, x: list(lib.nn.utils.rnn.PackedSequence(
            (packed(lib, x).data, packed(lib, x).batch_sizes))),
        "to dtype": lambda lib, x: list(packed(lib, x).to(lib.float32)),
        "to dtype=": lambda lib, x: packed(lib, x).to(dtype=lib.float32).data,
        "to cpu": lambda lib, x: list(packed(lib, x).to("cpu")),
        "float": lambda lib, x: packed(lib, x).float().data,
        "long": lambda lib, x: packed(lib, x).long().data,
        "double": lambda lib, x: list(packed(lib, x).float().double()),
        "half": lambda lib, x: packed(lib, x).half().data,
        "cpu": lambda lib, x: list(packed(lib, x).cpu()),
        "is_cuda": lambda lib, x: lib.tensor(packed(lib, x).is_cuda),
        "is_pinned": lambda lib, x: lib.tensor(packed(lib, x).is_pinned()),
        "replace": lambda lib, x: list(packed(lib, x)._replace(data=x[:9, 0])),
        "invert_permutation": lambda lib, x: lib.nn.utils.rnn.invert_permutation(
            packed(lib, x).sorted_indices),
        "no permutation": lambda lib, x: lib.nn.utils.rnn.invert_permutation(None),
        "fields names": lambda lib, x: [lib.tensor(len(f)) for f in packed(lib, x)._fields],
    }
    for label, fn in cases.items():
        _both(label, fn, [x])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_a_state_of_the_wrong_batch_beside_a_packed_batch_is_refused(kind, enforce_sorted):
    """PyTorch leaves it unchecked (see the module's description); chainrule names the shape."""
    x = cr.tensor(np.zeros((3, 2, 2)))
    packed = cr.nn.utils.rnn.pack_padded_sequence(x, [3, 1], enforce_sorted=enforce_sorted)
    layer = getattr(cr.nn, kind)(2, 4, num_layers=2, dtype="float64")
    h = cr.tensor(np.zeros((2, 3, 4)))
    name = "h_0" if kind == "LSTM" else "hx"
    with pytest.raises(ValueError, match=rf"{kind}: expected {name} of shape \(2, 2, 4\), got "
                                         r"shape \(2, 3, 4\)"):
        layer(packed, (h, cr.tensor(np.zeros((2, 2, 4)))) if kind == "LSTM" else h)
