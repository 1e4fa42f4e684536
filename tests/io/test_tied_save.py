"""``save_weights`` writes tied weights once, as ``safetensors.torch.save_model`` does (the first
name in sorted order kept, the others in the metadata as ``{left out: kept}``), and
``load_weights`` and safetensors' ``load_model`` read the file back into the tied model."""

import json
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.io.tied import shared_names

torch = pytest.importorskip("torch")
st = pytest.importorskip("safetensors.torch")


def _model(lib):
    mod = nn if lib is cr else torch.nn

    class Tied(mod.Module):
        def __init__(self):
            super().__init__()
            self.emb = mod.Embedding(5, 3)
            self.mid = mod.Linear(3, 3)
            self.head = mod.Linear(3, 5)
            self.head.weight = self.emb.weight
            self.zhead = mod.Linear(3, 5, bias=False)
            self.zhead.weight = self.emb.weight

    return Tied()


def _header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def test_save_weights_writes_a_tied_tensor_once_as_save_model(tmp_path):
    theirs, ours = _model(torch), _model(cr)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    st.save_model(theirs, str(tmp_path / "theirs.safetensors"))
    cr.io.save_weights(ours, tmp_path / "ours.safetensors")
    a, b = _header(tmp_path / "theirs.safetensors"), _header(tmp_path / "ours.safetensors")
    assert set(a) == set(b) and "head.weight" not in b and "zhead.weight" not in b
    for left_out in ("head.weight", "zhead.weight"):
        assert a["__metadata__"][left_out] == b["__metadata__"][left_out] == "emb.weight"
    # each library reads the other's file into its tied model
    back = _model(torch)
    assert st.load_model(back, str(tmp_path / "ours.safetensors")) == (set(), [])
    assert back.head.weight is back.emb.weight is back.zhead.weight
    mine = _model(cr)
    assert cr.io.load_weights(mine, tmp_path / "ours.safetensors") == ([], [])
    assert mine.head.weight is mine.emb.weight is mine.zhead.weight
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key].numpy(), value.numpy())
        np.testing.assert_array_equal(mine.state_dict()[key].numpy(), value.numpy())


def test_only_one_tensor_is_shared_not_equal_or_overlapping_values():
    w = cr.zeros(4, 3)
    state = {"b": w, "a": w, "c": cr.zeros(4, 3), "d": w[1:], "e": cr.zeros(0), "f": cr.zeros(0)}
    assert shared_names(state) == {"b": "a"}
    assert shared_names({}) == {}


def test_an_untied_model_saves_every_name(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    path = cr.io.save_weights(model, tmp_path / "m.safetensors")
    assert set(cr.io.read_shapes(path)) == set(model.state_dict())
