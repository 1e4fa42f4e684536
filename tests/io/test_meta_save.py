"""Saving a meta tensor (a shape, no values) is refused naming the entry."""

import pytest

import chainrule as cr


def test_saving_a_meta_tensor_is_refused_naming_the_entry(tmp_path):
    # it failed inside NumPy with "Cannot copy out of meta tensor; no data!", naming no entry
    model = cr.nn.Linear(2, 3, device="meta")
    with pytest.raises(NotImplementedError, match=r"save: obj\['weight'\] is a meta tensor"):
        cr.save(model.state_dict(), tmp_path / "a.pt")
    with pytest.raises(NotImplementedError, match=r"save: obj\['w'\]\[0\] is a meta tensor"):
        cr.save({"w": [model.bias]}, tmp_path / "b.pt", format="torch")
    with pytest.raises(NotImplementedError, match="save_weights: the state dict's 'weight' is a"):
        cr.io.save_weights(model, tmp_path / "c.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written
