"""A submodule whose class overrides ``state_dict`` is obeyed by its parent's ``state_dict()``,
as PyTorch's recursion calls ``child.state_dict(destination=, prefix=, keep_vars=)`` (wave 25,
modoptim). Before, the parent collected the child's entries itself: an entry the override adds
was silently missing from the checkpoint, one it drops was saved."""

import pytest

import chainrule as cr


def _model(lib):
    class Scaled(lib.nn.Linear):
        def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
            out = super().state_dict(*args, destination=destination, prefix=prefix,
                                     keep_vars=keep_vars)
            out.pop(prefix + "bias")  # a frozen part left out of checkpoints
            out[prefix + "scale"] = lib.tensor(2.0)
            return out

    class Fresh(lib.nn.Linear):
        def state_dict(self, *args, **kwargs):
            return {"ignored": lib.tensor(0.0)}  # a new dict: the parent does not use it

    return lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.Sequential(Scaled(1, 1)), Fresh(1, 1))


def test_parent_state_dict_goes_through_the_childs_override():
    torch = pytest.importorskip("torch")
    want = _model(torch).state_dict()
    got = _model(cr).state_dict()
    assert list(got) == list(want) == ["0.weight", "0.bias", "1.0.weight", "1.0.scale"]
    assert got["1.0.scale"].item() == 2.0
    assert list(got._metadata) == list(want._metadata) == ["", "0", "1", "1.0"]
