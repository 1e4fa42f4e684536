"""Ninth fuzz wave, the Module API: random module trees (Sequential, ModuleList, ModuleDict,
leaves with persistent and non-persistent buffers and extra state) on both libraries;
get_submodule/get_parameter/get_buffer/set_submodule over valid and invalid paths, state_dict
with prefix/keep_vars and random pre/post hooks (that add or drop keys), load_state_dict of
edited states (a key dropped, added, reshaped or renamed for a pre-hook to rename back) with
strict True/False and random load pre/post hooks (that forgive missing keys), and forward
(pre-)hooks with with_kwargs/prepend/always_call over a forward that may raise. Results, errors,
loaded values and the hooks' calls (arguments and order) must be PyTorch's, up to the documented
differences (docs/pytorch.md): load errors are ValueError, and a load that fails copies nothing."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]


def _classes(lib):
    nn = lib.nn

    class Leaf(nn.Module):
        def __init__(self, k, n_buffers, persistent):
            super().__init__()
            self.w = nn.Parameter(lib.tensor(np.arange(k, dtype=np.float64) + 1.0))
            for i in range(n_buffers):
                self.register_buffer(f"b{i}", lib.tensor(np.full(2, float(i))),
                                     persistent=persistent)
            self.ex, self.boom = {"v": k}, False

        def forward(self, x, scale=1.0):
            if self.boom:
                raise ValueError("boom")
            return x * self.w.sum() * scale

    class WithExtra(Leaf):
        def get_extra_state(self):
            return dict(self.ex)

        def set_extra_state(self, state):
            self.ex = dict(state)

    return Leaf, WithExtra


def _tree(lib, rng):
    Leaf, WithExtra = _classes(lib)

    def node(depth):
        r = rng.random()
        if depth >= 2 or r < 0.4:
            cls = WithExtra if rng.random() < 0.3 else Leaf
            return cls(int(rng.integers(1, 4)), int(rng.integers(0, 3)), bool(rng.random() < 0.7))
        kids = [node(depth + 1) for _ in range(int(rng.integers(1, 4)))]
        if r < 0.7:
            return lib.nn.Sequential(*kids)
        if r < 0.85:
            return lib.nn.ModuleList(kids)
        return lib.nn.ModuleDict({f"m{i}": m for i, m in enumerate(kids)})

    return node(0)


def _numbers(v):
    return v.detach().numpy().tolist() if hasattr(v, "detach") else v


def _state_hooks(rng, mods, names, log):
    for _ in range(int(rng.integers(0, 5))):
        n = names[rng.integers(len(names))]
        kind, act = int(rng.integers(0, 4)), int(rng.integers(0, 3))
        if kind == 0:
            mods[n].register_state_dict_pre_hook(
                lambda m, prefix, kv, n=n: log.append(("sd pre", n, prefix, kv)))
        elif kind == 1:
            def post(m, sd, prefix, meta, n=n, act=act):
                log.append(("sd post", n, prefix, len(sd)))
                if act == 1:
                    sd[prefix + "added"] = 1
                elif act == 2 and sd:
                    sd.pop(next(reversed(sd)))
            mods[n].register_state_dict_post_hook(post)
        elif kind == 2:
            def pre(m, sd, prefix, meta, strict, missing, unexpected, errors, n=n, act=act):
                log.append(("load pre", n, prefix, strict, sorted(sd)))
                for k in list(sd) if act == 1 else ():
                    if k.startswith(prefix + "old_"):
                        sd[prefix + k[len(prefix) + 4:]] = sd.pop(k)
            mods[n].register_load_state_dict_pre_hook(pre)
        else:
            def lpost(m, keys, n=n, act=act):
                log.append(("load post", n, list(keys.missing_keys), list(keys.unexpected_keys)))
                if act:
                    keys.missing_keys.clear()
            mods[n].register_load_state_dict_post_hook(lpost)


def _edited_state(lib, rng, root):
    sd = {k: lib.tensor(v.detach().numpy() * 2) if hasattr(v, "detach") else v
          for k, v in root.state_dict().items()}
    keys, edit = list(sd), int(rng.integers(0, 5))
    if keys and edit == 1:
        sd.pop(keys[rng.integers(len(keys))])
    elif edit == 2:
        sd["unexpected.key"] = lib.tensor([1.0])
    elif keys and edit == 3:
        k = keys[rng.integers(len(keys))]
        if hasattr(sd[k], "shape"):
            sd[k] = lib.tensor(np.zeros(7))
    elif keys and edit == 4:
        head, _, tail = keys[rng.integers(len(keys))].rpartition(".")
        sd[(head + "." if head else "") + "old_" + tail] = sd.pop(
            (head + "." if head else "") + tail)
    return sd


def _forward_hooks(rng, mods, names, log):
    for i in range(int(rng.integers(0, 5))):
        n = names[rng.integers(len(names))]
        kw, prepend, always = (bool(rng.random() < p) for p in (0.5, 0.3, 0.3))
        if rng.random() < 0.4:
            def fpre(m, *a, n=n, kw=kw, i=i):
                log.append(("fwd pre", n, i, len(a[0]), sorted(a[1]) if kw else None))
            mods[n].register_forward_pre_hook(fpre, prepend=prepend, with_kwargs=kw)
        else:
            ret = bool(rng.random() < 0.3)

            def fh(m, *a, n=n, kw=kw, i=i, ret=ret):
                log.append(("fwd", n, i, a[-1] is None, sorted(a[1]) if kw else None))
                return a[-1] * 2 if ret and a[-1] is not None else None
            mods[n].register_forward_hook(fh, prepend=prepend, with_kwargs=kw,
                                          always_call=always)


def _run(lib, seed):
    rng = np.random.default_rng(seed)
    root, log, out = _tree(lib, rng), [], {}
    mods = dict(root.named_modules())
    names = list(mods)

    def record(key, fn):
        try:
            out[key] = fn()
        except (AttributeError, TypeError, ValueError, RuntimeError, KeyError) as e:
            out[key] = type(e).__name__

    candidates = (names + [n for n, _ in root.named_parameters()]
                  + [n for n, _ in root.named_buffers()] + ["nope", "0.nope", "w", "0.w.x", ""])
    for _ in range(6):
        t = str(candidates[rng.integers(len(candidates))])
        record(f"sub {t}", lambda: [n for n, m in mods.items() if m is root.get_submodule(t)][0])
        record(f"param {t}", lambda: _numbers(root.get_parameter(t)))
        record(f"buffer {t}", lambda: _numbers(root.get_buffer(t)))
    _state_hooks(rng, mods, names, log)
    prefix, keep = str(rng.choice(["", "p.", "x_"])), bool(rng.random() < 0.5)
    record("state", lambda: [(k, _numbers(v)) for k, v in
                             root.state_dict(prefix=prefix, keep_vars=keep).items()])
    record("kept", lambda: [type(v).__name__ == "Parameter"
                            for v in root.state_dict(keep_vars=keep).values()])
    state, strict = _edited_state(lib, rng, root), bool(rng.random() < 0.5)
    record("load", lambda: [list(k) for k in root.load_state_dict(state, strict=strict)])
    failed = isinstance(out["load"], str)
    out["load pre"] = [e for e in log if e[0] == "load pre"]
    if not failed:  # documented: a failing load stops before the post-hooks, copying nothing
        out["load post"] = [e for e in log if e[0] == "load post"]
        record("loaded", lambda: [(k, _numbers(v)) for k, v in root.state_dict().items()])
    log[:] = [e for e in log if not e[0].startswith("load")]
    _forward_hooks(rng, mods, names, log)
    leaves = [n for n in names if hasattr(mods[n], "boom")]
    if leaves and rng.random() < 0.3:
        mods[leaves[rng.integers(len(leaves))]].boom = True
    x = lib.tensor(np.ones(1))
    for n in leaves:
        kwargs = {"scale": 3.0} if rng.random() < 0.5 else {}
        record(f"forward {n}", lambda: [_numbers(mods[n](x, **kwargs))][0] if not failed
               else mods[n](x, **kwargs) is None)  # failed: the values differ (documented)
    t, strict = str(candidates[rng.integers(len(candidates))]), bool(rng.random() < 0.5)
    record("set", lambda: (root.set_submodule(t, lib.nn.Identity(), strict=strict),
                           [n for n, _ in root.named_modules()])[1])
    out["log"] = log
    return out


@pytest.mark.parametrize("block", range(4))
def test_random_module_trees_behave_as_pytorchs(block):
    for seed in range(block * 75, block * 75 + 75):
        want, got = _run(torch, seed), _run(cr, seed)
        if want["load"] == "RuntimeError":  # docs/pytorch.md: chainrule's is a ValueError
            assert got["load"] == "ValueError", seed
            got["load"] = "RuntimeError"
            want.pop("load post", None), want.pop("loaded", None)
        assert got == want, seed


def test_load_hooks_see_their_own_keys_and_run_children_first_as_pytorchs():
    for lib in (torch, cr):
        log = []
        root = lib.nn.Sequential(lib.nn.Sequential(lib.nn.Linear(1, 1)), lib.nn.Linear(1, 1))
        for name, m in root.named_modules():
            m.register_load_state_dict_pre_hook(
                lambda m, sd, prefix, *a, n=name: log.append(("pre", n, sorted(sd), a[1])))
            m.register_load_state_dict_post_hook(
                lambda m, keys, n=name: log.append(("post", n, list(keys.missing_keys))))
        state = root.state_dict()
        state.pop("1.bias")
        state.pop("0.0.bias")
        root.load_state_dict(state, strict=False)
        assert [e for e in log if e[0] == "pre"] == [
            ("pre", "", ["0.0.weight", "1.weight"], True),
            ("pre", "0", ["0.0.weight"], True),
            ("pre", "0.0", ["0.0.weight"], True),
            ("pre", "1", ["1.weight"], True)]
        assert [e for e in log if e[0] == "post"] == [
            ("post", "0.0", ["0.0.bias"]), ("post", "0", ["0.0.bias"]),
            ("post", "1", ["0.0.bias", "1.bias"]), ("post", "", ["0.0.bias", "1.bias"])]
