"""Fuzz wave 14, the data pipeline against PyTorch's ``torch.utils.data``: the DataLoader's
options, attributes and errors, the samplers, the datasets' arithmetic (ConcatDataset, Subset,
random_split, TensorDataset, StackDataset) and streams. The same program runs on both libraries
(``lib`` is ``torch`` or ``chainrule``); what a random generator decides is compared only where
PyTorch defines it (the multiset of indices, lengths, batch sizes), and chainrule's seeded runs
must repeat bit for bit. Earlier waves: tests/test_fuzz6_data.py, tests/test_fuzz11_collate.py.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

ERRORS = (RuntimeError, TypeError, ValueError, IndexError, KeyError, AssertionError)


def _norm(b):
    """A batch or sample as plain data: Tensors by dtype, shape and values."""
    if isinstance(b, (torch.Tensor, cr.Tensor)):
        values = b.detach().numpy().tolist()
        return ("T", str(b.dtype).replace("torch.", ""), tuple(b.shape), values)
    if isinstance(b, dict):
        return {k: _norm(v) for k, v in b.items()}
    if isinstance(b, tuple) and hasattr(b, "_fields"):
        return ("NT", type(b).__name__, [_norm(v) for v in b])
    if isinstance(b, (list, tuple)):
        return (type(b).__name__, [_norm(v) for v in b])
    if isinstance(b, np.ndarray):
        return ("A", str(b.dtype), b.tolist())
    return ("V", type(b).__name__, b)


def _run(lib, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", fn(lib))
        except ERRORS as e:
            return ("raised", type(e).__name__ if not isinstance(e, AssertionError) else "any")


def _both(fn, errors_alike=False):
    """``fn(lib)`` gives the same plain result in both libraries, or both raise (the same
    exception type with ``errors_alike``)."""
    theirs, ours = _run(torch, fn), _run(cr, fn)
    if theirs[0] == "raised" or ours[0] == "raised":
        assert theirs[0] == ours[0], f"torch {theirs}, chainrule {ours}"
        if errors_alike and "any" not in (theirs[1], ours[1]):
            assert theirs[1] == ours[1], f"torch {theirs}, chainrule {ours}"
        return None
    assert ours[1] == theirs[1]
    return ours[1]


def _tensor(lib, values, dtype=None):
    return lib.tensor(np.asarray(values, dtype=dtype))


# --- TensorDataset -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_tensor_dataset_samples_are_tensors(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    arrays = [rng.standard_normal((n, 2)).astype("float32"), rng.integers(0, 5, n),
              rng.standard_normal(n)]
    index = [int(rng.integers(-n, n)), slice(0, int(rng.integers(0, n + 1))), n, -n - 1][seed % 4]

    def sample(lib):
        ds = lib.utils.data.TensorDataset(*[_tensor(lib, a) for a in arrays])
        # numpy rows before: x.unsqueeze(0) of a sample failed and ds.tensors was missing
        return _norm(ds[index]), len(ds), _norm(list(ds.tensors))

    _both(sample, errors_alike=True)


def test_tensor_dataset_keeps_the_given_tensors():
    x = cr.arange(6.0).reshape(3, 2)
    ds = cr.utils.data.TensorDataset(x, np.arange(3))
    assert ds.tensors[0] is x and isinstance(ds.tensors[1], cr.Tensor)
    first, label = ds[0]
    assert tuple(first.unsqueeze(0).shape) == (1, 2) and label.dtype == cr.int64


def test_a_subclass_that_changes_each_sample_is_read_sample_by_sample():
    # the loader gathered a TensorDataset's batches from its arrays, also for a subclass with its
    # own __getitem__: its change of each sample (an augmentation, a scaled input) was skipped
    def batches(lib):
        class Doubled(lib.utils.data.TensorDataset):
            def __getitem__(self, i):
                x, y = super().__getitem__(i)
                return x * 2, y + 1

        ds = Doubled(_tensor(lib, np.arange(5.0)), _tensor(lib, np.arange(5)))
        return [_norm(b) for b in lib.utils.data.DataLoader(ds, batch_size=2)]

    assert _both(batches)[0][1][0][3] == [0.0, 2.0]
