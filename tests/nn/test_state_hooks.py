"""State-dict hooks and extra state, as PyTorch's: the same hooks on the same model give the same
calls, keys and values in both libraries."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

pytestmark = pytest.mark.kernel_free


def _pair(lib):
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(3, 2)
            self.steps = 0

        def forward(self, x):
            return self.fc(x)

        def get_extra_state(self):
            return {"steps": self.steps}

        def set_extra_state(self, state):
            self.steps = state["steps"]

    return lib.nn.Sequential(lib.nn.Linear(2, 3), Block())


def test_extra_state_is_saved_and_loaded():
    a, b = _pair(cr), _pair(cr)
    a[1].steps = 7
    sd = a.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1._extra_state", "1.fc.weight", "1.fc.bias"]
    assert sd["1._extra_state"] == {"steps": 7}
    b.load_state_dict(sd)
    assert b[1].steps == 7
    del sd["1._extra_state"]
    with pytest.raises(ValueError, match=r"missing keys.*1\._extra_state"):
        b.load_state_dict(sd)
    assert b.load_state_dict(sd, strict=False).missing_keys == ["1._extra_state"]
    with pytest.raises(ValueError, match=r"unexpected keys.*0\._extra_state"):
        b.load_state_dict({**a.state_dict(), "0._extra_state": 1})


def test_extra_state_keys_match_pytorch():
    torch = pytest.importorskip("torch")
    assert list(_pair(torch).state_dict()) == list(_pair(cr).state_dict())


def test_default_extra_state_methods_raise():
    with pytest.raises(RuntimeError, match="get_extra_state"):
        nn.Linear(2, 2).get_extra_state()
    with pytest.raises(RuntimeError, match="set_extra_state"):
        nn.Linear(2, 2).set_extra_state(1)


def _record(lib):
    net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.Linear(3, 1)))
    calls = []
    for name, m in net.named_modules():
        m.register_state_dict_pre_hook(
            lambda mod, prefix, keep, name=name: calls.append(("pre", name, prefix, keep)))
        m.register_state_dict_post_hook(
            lambda mod, sd, prefix, meta, name=name: calls.append(("post", name, prefix, len(sd))))
    return net, calls


def test_state_dict_hook_order_and_arguments_match_pytorch():
    torch = pytest.importorskip("torch")
    (tnet, tcalls), (cnet, ccalls) = _record(torch), _record(cr)
    tnet.state_dict(prefix="m.", keep_vars=True)
    cnet.state_dict(prefix="m.", keep_vars=True)
    assert tcalls == ccalls
    assert ccalls[0] == ("pre", "", "m.", True) and ccalls[-1] == ("post", "", "m.", 4)


def test_state_dict_post_hook_edits_in_place_and_must_return_none():
    net = nn.Linear(2, 2)
    net.register_state_dict_post_hook(lambda m, sd, prefix, meta: sd.pop(prefix + "bias"))
    with pytest.raises(RuntimeError, match="must edit the state dict in place and return None"):
        net.state_dict()
    net2 = nn.Linear(2, 2)

    def drop_bias(m, sd, prefix, meta):
        del sd[prefix + "bias"]

    h = net2.register_state_dict_post_hook(drop_bias)
    assert list(net2.state_dict()) == ["weight"]
    h.remove()
    assert list(net2.state_dict()) == ["weight", "bias"]


def test_destination_and_positional_forms():
    net = nn.Linear(2, 2)
    dest = OrderedDict(x=1)
    assert net.state_dict(destination=dest, prefix="p.") is dest
    assert list(dest) == ["x", "p.weight", "p.bias"]
    assert list(net.state_dict(None, "q.")) == ["q.weight", "q.bias"]


def _renamer(lib):
    net = lib.nn.Sequential(lib.nn.Linear(2, 2))

    def rename(module, sd, prefix, meta, strict, missing, unexpected, errors):
        for old in [k for k in sd if k.startswith(prefix + "old_")]:
            sd[prefix + old[len(prefix) + 4:]] = sd.pop(old)

    net[0].register_load_state_dict_pre_hook(rename)
    return net


def test_load_pre_hook_renames_keys_as_pytorch():
    torch = pytest.importorskip("torch")
    w, b = np.arange(4.0).reshape(2, 2), np.array([1.0, -1.0])
    old = {"0.old_weight": w, "0.old_bias": b}
    tnet, cnet = _renamer(torch), _renamer(cr)
    tnet.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in old.items()})
    given = {k: cr.tensor(v, dtype="float32") for k, v in old.items()}
    cnet.load_state_dict(given)
    assert list(given) == ["0.old_weight", "0.old_bias"]  # the caller's dict is left alone
    np.testing.assert_array_equal(cnet[0].weight.numpy(), tnet[0].weight.detach().numpy())
    np.testing.assert_array_equal(cnet[0].bias.numpy(), b)


def test_load_pre_hook_error_messages_stop_the_load():
    net = nn.Linear(2, 2)
    before = net.weight.numpy().copy()
    net.register_load_state_dict_pre_hook(
        lambda m, sd, p, meta, strict, mk, uk, errors: errors.append("old checkpoint format"))
    with pytest.raises(ValueError, match="old checkpoint format"):
        net.load_state_dict({"weight": np.zeros((2, 2)), "bias": np.zeros(2)})
    np.testing.assert_array_equal(net.weight.numpy(), before)


def _forgiving(lib):
    net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 1))
    seen = []

    def forgive(module, keys):
        seen.append((sorted(keys.missing_keys), sorted(keys.unexpected_keys)))
        keys.missing_keys[:] = [k for k in keys.missing_keys if not k.startswith("1.")]
        keys.unexpected_keys[:] = [k for k in keys.unexpected_keys if k != "extra"]

    net.register_load_state_dict_post_hook(forgive)
    return net, seen


def test_load_post_hook_forgives_keys_as_pytorch():
    torch = pytest.importorskip("torch")
    (tnet, tseen), (cnet, cseen) = _forgiving(torch), _forgiving(cr)
    sd = {"0.weight": np.eye(2), "0.bias": np.ones(2), "extra": np.zeros(1)}
    tres = tnet.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in sd.items()})
    cres = cnet.load_state_dict(sd)
    assert tseen == cseen == [(["1.bias", "1.weight"], ["extra"])]
    assert list(tres.missing_keys) == cres.missing_keys == []
    assert list(tres.unexpected_keys) == cres.unexpected_keys == []
    np.testing.assert_array_equal(cnet[0].weight.numpy(), np.eye(2))
    sd["other"] = np.zeros(1)
    with pytest.raises(ValueError, match="unexpected keys: other"):
        cnet.load_state_dict(sd)
    with pytest.raises(RuntimeError):
        tnet.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in sd.items()})


def test_load_post_hooks_run_children_first():
    net = nn.Sequential(nn.Sequential(nn.Linear(1, 1)))
    order = []
    for name, m in net.named_modules():
        m.register_load_state_dict_post_hook(lambda mod, keys, name=name: order.append(name))
    net.load_state_dict(net.state_dict())
    assert order == ["0.0", "0", ""]


def test_hooks_must_be_callable():
    with pytest.raises(TypeError, match="a hook must be callable, got int"):
        nn.Linear(1, 1).register_load_state_dict_pre_hook(3)
