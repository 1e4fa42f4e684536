"""Wave 25, save/load: an object saved twice in one chainrule.save file (a Tensor in two places
of a checkpoint, a Parameter, a NumPy array) was written twice and came back as two objects;
torch.load gives one object back (pickle's memo), so an in-place change to one shows in the
other. It is now written once and loaded as one object, in chainrule's format as in PyTorch's."""

from __future__ import annotations

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule.io.safetensors_file import read_header


def _round_trip(obj, **load_args):
    buffer = io.BytesIO()
    cr.save(obj, buffer)
    buffer.seek(0)
    return cr.load(buffer, **load_args), buffer


def test_a_tensor_saved_twice_is_one_tensor_again(tmp_path):
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    p = cr.nn.Parameter(cr.tensor([3.0]))
    a = np.arange(3)
    other = cr.tensor([1.0, 2.0])  # equal values, another object: stays another object
    obj = {"x": [t, t, p, a, other], "y": (t, p, a)}
    loaded, _ = _round_trip(obj)
    x, y = loaded["x"], loaded["y"]
    assert x[0] is x[1] is y[0] and x[2] is y[1] and x[3] is y[2]
    assert x[4] is not x[0] and type(x[2]) is cr.nn.Parameter and x[0].requires_grad
    np.testing.assert_array_equal(x[0].numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(x[3], [0, 1, 2])
    path = tmp_path / "c.pt"
    cr.save(obj, path)
    assert len(read_header("test", path).tensors) == 4  # each object's values written once
    # the map_location function sees each saved tensor once, as PyTorch's sees each storage
    seen = []
    _round_trip([t, t, t], map_location=lambda s, loc: seen.append(loc) or s)
    assert seen == ["cpu"]


def test_as_torch_load_gives_them():
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    t = torch.tensor([1.0, 2.0])
    torch.save({"a": t, "b": [t]}, buffer)
    buffer.seek(0)
    want = torch.load(buffer, weights_only=True)
    c = cr.tensor([1.0, 2.0])
    got, _ = _round_trip({"a": c, "b": [c]})
    assert (got["a"] is got["b"][0]) == (want["a"] is want["b"][0]) is True


def test_sparse_tensors_keep_their_own_values():
    # the values of each sparse tensor are a temporary copy while saving: two of them never
    # share a name, even where Python reuses a freed object's id
    s1 = cr.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3,))
    s2 = cr.sparse_coo_tensor([[0, 2]], [5.0, 6.0], (3,))
    loaded, _ = _round_trip([s1, s2, s1])
    assert [x.to_dense().numpy().tolist() for x in loaded] == [
        [1.0, 2.0, 0.0], [5.0, 0.0, 6.0], [1.0, 2.0, 0.0]]


def test_a_warning_about_a_file_object_names_it_not_a_temporary_copy():
    # a save file without checksums (hand-made, or damaged where their key was) warns; read from
    # a buffer it named the temporary copy load made, a path that no longer exists
    safetensors = pytest.importorskip("safetensors.numpy")
    structure = '{"__array__": "t0", "kind": "tensor", "requires_grad": false}'
    data = safetensors.save({"t0": np.array([1.5, 2.5], np.float32)},
                            metadata={"chainrule.object": structure, "format": "chainrule.save"})
    with pytest.warns(UserWarning, match="checksums") as caught:
        loaded = cr.load(io.BytesIO(data))
    np.testing.assert_array_equal(loaded.numpy(), [1.5, 2.5])
    (message,) = [str(w.message) for w in caught]
    assert message.startswith("load: the BytesIO has no SHA-256 checksums"), message


@pytest.mark.parametrize("torch_file", [False, True])
def test_a_map_location_function_that_returns_none(torch_file):
    # PyTorch: "If this callable returns None, the storage is loaded to the default location";
    # chainrule refused it ('map_location returned NoneType ... expected a Tensor')
    buffer = io.BytesIO()
    if torch_file:
        torch = pytest.importorskip("torch")
        torch.save({"a": torch.tensor([1.0, 2.0]), "n": 3}, buffer)
    else:
        cr.save({"a": cr.tensor([1.0, 2.0]), "n": 3}, buffer)
    seen = []
    buffer.seek(0)
    loaded = cr.load(buffer, map_location=lambda storage, loc: seen.append(loc))
    assert seen == ["cpu"] and loaded["n"] == 3 and loaded["a"].device.type == "cpu"
    np.testing.assert_array_equal(loaded["a"].numpy(), [1.0, 2.0])
