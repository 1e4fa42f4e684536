"""Fuzz wave 15, state-dict hooks: the older ``_register_state_dict_hook`` (used by quantization
and parameter-efficient fine-tuning code) may return a new state dict, which the module's
``state_dict()`` then returns (a child's is not passed up, as in PyTorch), beside
``register_state_dict_post_hook``'s, which must return None; compared with PyTorch 2.13."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _run(lib, seed):
    rng = np.random.default_rng(seed)
    net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.Linear(2, 1)))
    mods = [net, net[0], net[1], net[1][0]]
    log = []
    for i in range(int(rng.integers(1, 5))):
        where, act = int(rng.integers(len(mods))), int(rng.integers(4))

        def hook(m, sd, prefix, meta, i=i, act=act):
            log.append((i, prefix, sorted(sd)))
            if act == 1:
                return {k: v for k, v in sd.items() if not k.endswith("bias")}
            if act == 2:
                sd[prefix + "extra"] = i
            return {"only": i} if act == 3 else None
        if rng.random() < 0.7:
            mods[where]._register_state_dict_hook(hook)
        else:
            mods[where].register_state_dict_post_hook(hook)
    try:
        keys = sorted(net.state_dict(prefix=str(rng.choice(["", "m."]))))
    except RuntimeError:
        keys = "RuntimeError"
    return keys, log


def test_older_state_dict_hooks_may_replace_the_state_as_pytorchs():
    for seed in range(150):
        assert _run(cr, seed) == _run(torch, seed), seed
