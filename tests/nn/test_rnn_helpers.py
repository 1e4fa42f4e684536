"""RNNBase's checking helpers (check_input, get_expected_hidden_size, check_hidden_size,
check_forward_args, permute_hidden; the LSTM's get_expected_cell_size), against torch 2.13's:
the same values, and the same error classes and messages."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

MODULES = [("RNN", {}), ("GRU", {}), ("LSTM", {}), ("LSTM", {"proj_size": 2}),
           ("GRU", {"bidirectional": True, "num_layers": 2, "batch_first": True})]


def _pair(kind, kw):
    ours = getattr(cr.nn, kind)(4, 3, dtype=cr.float64, **kw)
    theirs = getattr(torch.nn, kind)(4, 3, dtype=torch.float64, **kw)
    return ours, theirs


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - the error is what is compared
        return type(e).__name__, str(e)


def _arrays(value):
    if isinstance(value, tuple) and value and not isinstance(value[0], int):
        return tuple(v.detach().numpy() for v in value)
    return value.detach().numpy() if hasattr(value, "detach") else value


@pytest.mark.parametrize("kind, kw", MODULES)
def test_the_helpers_are_torchs(kind, kw):
    ours, theirs = _pair(kind, kw)
    lstm = kind == "LSTM"
    rng = np.random.default_rng(0)
    d = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1) * d
    cases = [((5, 2, 4), None), ((5, 2, 3), None), ((5, 4), None), ((7, 4), [2, 2, 2, 1])]
    for shape, batch_sizes in cases:
        x = rng.standard_normal(shape)
        for h_batch in (2, 3):
            h = rng.standard_normal((layers, h_batch, kw.get("proj_size") or 3))
            c = rng.standard_normal((layers, h_batch, 3))
            res = []
            for mod, lib in ((ours, cr), (theirs, torch)):
                xs = lib.tensor(x)
                bs = None if batch_sizes is None else lib.tensor(batch_sizes)
                hidden = (lib.tensor(h), lib.tensor(c)) if lstm else lib.tensor(h)
                res.append([
                    _outcome(lambda: mod.check_input(xs, bs)),  # noqa: B023
                    _outcome(lambda: tuple(mod.get_expected_hidden_size(xs, bs))),  # noqa: B023
                    _outcome(lambda: mod.check_forward_args(xs, hidden, bs)),  # noqa: B023
                ])
                if lstm:
                    res[-1].append(_outcome(lambda: mod.get_expected_cell_size(xs, bs)))  # noqa: B023
            assert res[0] == res[1]
    x32 = [lib.tensor(np.zeros((5, 2, 4), np.float32)) for lib in (cr, torch)]
    kind_, message = _outcome(lambda: theirs.check_input(x32[1], None))
    assert _outcome(lambda: ours.check_input(x32[0], None)) == (  # chainrule's dtypes print
        kind_, message.replace("torch.", ""))                     # without the "torch."


@pytest.mark.parametrize("kind, kw", MODULES)
def test_permute_hidden_and_check_hidden_size_are_torchs(kind, kw):
    ours, theirs = _pair(kind, kw)
    h = np.random.default_rng(1).standard_normal((2, 3, 3))
    perm = [2, 0, 1]
    got, want = [], []
    for mod, lib, out in ((ours, cr, got), (theirs, torch, want)):
        hx = (lib.tensor(h), lib.tensor(h + 1)) if kind == "LSTM" else lib.tensor(h)
        out.append(_arrays(mod.permute_hidden(hx, lib.tensor(perm))))
        out.append(mod.permute_hidden(hx, None) is hx)
        out.append(_outcome(lambda: mod.check_hidden_size(lib.tensor(h), (2, 3, 3))))  # noqa: B023
        out.append(_outcome(lambda: mod.check_hidden_size(lib.tensor(h), (1, 3, 3), "{} vs {}")))  # noqa: B023
    for a, b in zip(got, want, strict=True):
        if isinstance(a, tuple) and a and isinstance(a[0], np.ndarray):
            for u, v in zip(a, b, strict=True):
                np.testing.assert_array_equal(u, v)
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b
