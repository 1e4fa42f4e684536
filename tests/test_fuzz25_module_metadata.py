"""State dicts carry PyTorch's ``_metadata`` (each module's ``_version``) and ``load_state_dict``
hands it to ``_load_from_state_dict`` and the hooks as ``local_metadata`` (wave 25, modoptim).

Before, a state dict had no ``_metadata`` and every module saw ``local_metadata == {}``, so a
class that converts older checkpoints by version (``version is None or version < 2``) converted
a current one too.
"""

from collections import OrderedDict

import pytest

import chainrule as cr


def _tree(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.BatchNorm1d(3), nn.ReLU()),
                         nn.InstanceNorm1d(3))


def _versioned(lib):
    """A layer whose version 2 renamed ``scale`` to ``weight`` and converts older checkpoints."""

    class Scaled(lib.nn.Module):
        _version = 2

        def __init__(self):
            super().__init__()
            self.weight = lib.nn.Parameter(lib.ones(2))

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing,
                                  unexpected, errors):
            self.seen = local_metadata.get("version")
            if self.seen is None or self.seen < 2:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "scale") * 10
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing,
                                          unexpected, errors)

    return lib.nn.Sequential(lib.nn.Identity(), Scaled())


def test_state_dict_metadata_as_torch():
    torch = pytest.importorskip("torch")
    want = {k: dict(v) for k, v in _tree(torch).state_dict()._metadata.items()}
    got = _tree(cr).state_dict()._metadata
    assert {k: dict(v) for k, v in got.items()} == want
    assert got["1.0"] == {"version": 2} and got[""] == {"version": 1}
    assert not hasattr(_tree(cr).state_dict(destination=OrderedDict()), "_metadata")


def test_load_passes_each_module_its_version():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, cr):
        m = _versioned(lib)
        saved = m.state_dict()
        with (torch.no_grad() if lib is torch else cr.no_grad()):
            saved["1.weight"].fill_(3.0)
        m.load_state_dict(saved)  # current: loaded as it is
        current = (m[1].seen, m[1].weight.tolist())
        old = OrderedDict({"1.scale": lib.full((2,), 0.5)})
        old._metadata = OrderedDict({"": {"version": 1}, "0": {"version": 1},
                                     "1": {"version": 1}})
        m.load_state_dict(old)  # version 1: converted
        results.append((current, m[1].seen, m[1].weight.tolist()))
    assert results[1] == results[0] == ((2, [3.0, 3.0]), 1, [5.0, 5.0])


def test_hooks_get_local_metadata():
    seen = []
    m = _tree(cr)
    m[1].register_state_dict_post_hook(lambda mod, sd, prefix, meta: seen.append(("s", meta)))
    m[1][0].register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, meta, *rest: seen.append(("l", prefix, meta)))
    m.load_state_dict(m.state_dict())
    assert seen == [("s", {"version": 1}), ("l", "1.0.", {"version": 2})]


def test_metadata_survives_chainrules_file_format():
    import io

    m = _versioned(cr)
    buffer = io.BytesIO()
    cr.save({"model": m.state_dict()}, buffer)
    buffer.seek(0)
    saved = cr.load(buffer)["model"]
    assert {k: dict(v) for k, v in saved._metadata.items()} == \
        {"": {"version": 1}, "0": {"version": 1}, "1": {"version": 2}}
    m.load_state_dict(saved)  # a current checkpoint: not converted
    assert m[1].seen == 2
