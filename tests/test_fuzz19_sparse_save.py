"""Fuzz wave 19: chainrule.save/load of sparse tensors (COO, CSR, CSC), as torch.save/torch.load
keep them: the indices, values, size and coalesced flag come back (requires_grad does not, as in
PyTorch); an optimizer's sparse state (SGD's momentum buffer over an Embedding(sparse=True))
round-trips and training goes on as without the checkpoint; a damaged entry is refused. And a
torch.save file's COO, CSR and CSC tensors load as torch.load gives them. Before, save refused
sparse tensors, and load refused PyTorch's."""

import io
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

from chainrule.io.structure import decode  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's sparse-invariant note
        yield


def _roundtrip(lib, obj):
    f = io.BytesIO()
    lib.save(obj, f)
    f.seek(0)
    return lib.load(f)


def _facts(x):
    """What a sparse tensor is: layout, dtype, size, flag, requires_grad, index arrays, values."""
    name = str(x.layout).rsplit(".", 1)[-1]
    if name == "sparse_coo":
        idx = [x._indices()]
    elif name == "sparse_csr":
        idx = [x.crow_indices(), x.col_indices()]
    else:
        idx = [x.ccol_indices(), x.row_indices()]
    vals = x._values() if name == "sparse_coo" else x.values()
    flag = x.is_coalesced() if name == "sparse_coo" else None
    return (
        name,
        str(x.dtype).replace("torch.", ""),
        tuple(x.shape),
        flag,
        x.requires_grad,
        [np.asarray(i.numpy()) for i in idx],
        vals.detach().numpy(),
    )


def _make(lib, kind):
    idx = lib.tensor([[0, 2, 2, 1], [1, 0, 0, 3]])
    vals = lib.tensor([1.5, -2.0, 3.0, 4.0], dtype=lib.float64)
    if kind == "uncoalesced":
        return lib.sparse_coo_tensor(idx, vals, (3, 4))
    if kind == "coalesced":
        return lib.sparse_coo_tensor(idx, vals, (3, 4)).coalesce()
    if kind == "leaf":
        return lib.sparse_coo_tensor(idx, vals, (3, 4), requires_grad=True)
    if kind == "hybrid_int":
        return lib.sparse_coo_tensor(idx[:1], lib.tensor([[1, 2], [3, 4], [5, 6], [7, 8]]), (3, 2))
    if kind == "empty":
        return lib.sparse_coo_tensor(lib.tensor(np.zeros((2, 0), np.int64)), vals[:0], (2, 5))
    return getattr(lib.sparse_coo_tensor(idx, vals, (3, 4)), f"to_sparse_{kind}")()


@pytest.mark.parametrize(
    "kind", ["uncoalesced", "coalesced", "leaf", "hybrid_int", "empty", "csr", "csc"]
)
def test_a_sparse_tensor_round_trips_as_pytorchs(kind):
    ours, theirs = (
        _roundtrip(cr, {"s": _make(cr, kind)})["s"],
        _roundtrip(torch, {"s": _make(torch, kind)})["s"],
    )
    (c_name, *c_rest), (t_name, *t_rest) = _facts(ours), _facts(theirs)
    assert c_name == t_name and c_rest[:4] == t_rest[:4]
    for a, b in zip(c_rest[4] + [c_rest[5]], t_rest[4] + [t_rest[5]]):
        np.testing.assert_array_equal(a, b)


def test_sgd_momentum_over_a_sparse_embedding_resumes_from_a_saved_state():
    # the oracle: the same steps without the checkpoint (SGD's sparse momentum against
    # PyTorch's: tests/sparse/test_sparse_training.py)
    rng = np.random.default_rng(0)
    table, batches = rng.standard_normal((6, 3)), [rng.integers(0, 6, (2, 3)) for _ in range(4)]
    weights = []
    for resume in (True, False):
        emb = cr.nn.Embedding(6, 3, sparse=True).double()
        with cr.no_grad():
            emb.weight.copy_(cr.tensor(table))
        opt = cr.optim.SGD(emb.parameters(), lr=0.1, momentum=0.9)
        for k, ids in enumerate(batches):
            if k == 2 and resume:  # a checkpoint: the momentum buffer is a sparse tensor
                state = _roundtrip(cr, {"model": emb.state_dict(), "opt": opt.state_dict()})
                assert state["opt"]["state"][0]["momentum_buffer"].is_sparse
                emb.load_state_dict(state["model"])
                opt = cr.optim.SGD(emb.parameters(), lr=0.1, momentum=0.9)
                opt.load_state_dict(state["opt"])
            opt.zero_grad()
            (emb(cr.tensor(ids)) ** 2).sum().backward()
            opt.step()
        weights.append(emb.weight.detach().numpy())
    np.testing.assert_array_equal(weights[0], weights[1])


def _entry(idx, vals, size, coalesced=False, layout="sparse_coo"):
    arrays = {"i": np.asarray(idx, np.int64), "v": np.asarray(vals, np.float64)}
    return {
        "__sparse__": layout,
        "parts": [{"__array__": "i", "kind": "ndarray"}, {"__array__": "v", "kind": "tensor"}],
        "size": size,
        "coalesced": coalesced,
    }, arrays


@pytest.mark.parametrize(
    "entry, match",
    [
        (_entry([[0, 3]], [1.0, 2.0], [3]), "out of range"),
        (_entry([[1, 0]], [1.0, 2.0], [3], coalesced=True), "not sorted and unique"),
        (_entry([[1, 1]], [1.0, 2.0], [3], coalesced=True), "not sorted and unique"),
        (_entry([[0, 1]], [1.0, 2.0], [-3]), "a size of dimensions >= 0"),
        (_entry([[0, 1]], [1.0, 2.0], [3], layout="sparse_bsr"), "a layout of sparse_coo"),
        (_entry([[0, 1]], [1.0], [3]), "values must have shape"),
    ],
)
def test_a_damaged_sparse_entry_is_refused_naming_it(entry, match):
    with pytest.raises(ValueError, match=f"load: 'f' holds a structure .*{match}"):
        decode(*entry, None, "'f'")


@pytest.mark.parametrize(
    "kind", ["uncoalesced", "coalesced", "leaf", "hybrid_int", "empty", "csr", "csc"]
)
def test_a_sparse_tensor_torch_saved_loads_as_torch_loads_it(kind):
    # was: refused ("the file holds a kind of tensor chainrule does not read")
    f = io.BytesIO()
    torch.save({"s": _make(torch, kind)}, f)
    f.seek(0)
    ours = cr.load(f)["s"]
    f.seek(0)
    theirs = torch.load(f)["s"]
    (c_name, *c_rest), (t_name, *t_rest) = _facts(ours), _facts(theirs)
    assert c_name == t_name and c_rest[:4] == t_rest[:4]
    for a, b in zip(c_rest[4] + [c_rest[5]], t_rest[4] + [t_rest[5]]):
        np.testing.assert_array_equal(a, b)


def test_a_torch_saved_sparse_tensor_chainrule_cannot_hold_is_refused():
    f = io.BytesIO()
    torch.save(torch.eye(4).to_sparse_bsr(2), f)
    f.seek(0)
    with pytest.raises(ValueError, match="layout 'torch.sparse_bsr', which chainrule does not"):
        cr.load(f)
    flagged = torch.sparse_coo_tensor(  # PyTorch trusts the flag; a wrong one is refused here
        torch.tensor([[1, 0, 0]]), torch.tensor([1.0, 2.0, 3.0]), (2,), is_coalesced=True
    )
    f = io.BytesIO()
    torch.save(flagged, f)
    f.seek(0)
    with pytest.raises(ValueError, match="flagged coalesced whose positions are not sorted"):
        cr.load(f)
