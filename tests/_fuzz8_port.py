"""Shared check of the eighth fuzz wave: build a layer in PyTorch and in chainrule, port the
weights through ``load_state_dict`` as a user would, and compare outputs, gradients and buffers
(float64)."""

import warnings

import numpy as np


def _np(t):
    """A torch gradient as an array (PyTorch's efficient zero tensors included)."""
    if getattr(t, "_is_zerotensor", lambda: False)():
        return np.zeros(tuple(t.shape))
    return t.detach().numpy()


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def port(tmod, cmod):
    """Copy ``tmod``'s state_dict into ``cmod``; the keys and shapes must be the same."""
    tsd, csd = tmod.state_dict(), cmod.state_dict()
    lazy = {k for k, v in cmod.state_dict(keep_vars=True).items() if hasattr(v, "materialize")}
    tkeys = {k: tuple(v.shape) for k, v in tsd.items()}
    ckeys = {k: tkeys.get(k) if k in lazy else tuple(v.shape) for k, v in csd.items()}
    assert tkeys == ckeys, f"state_dict differs: torch {tkeys} chainrule {ckeys}"
    assert list(tsd) == list(csd), f"state_dict order differs: {list(tsd)} vs {list(csd)}"
    tnames = [n for n, _ in tmod.named_parameters()]
    cnames = [n for n, _ in cmod.named_parameters()]
    assert tnames == cnames, f"parameter order differs: {tnames} vs {cnames}"
    tb = [n for n, _ in tmod.named_buffers()]
    cb = [n for n, _ in cmod.named_buffers()]
    assert tb == cb, f"buffer order differs: {tb} vs {cb}"
    cmod.load_state_dict(tsd)


def compare_module(tmod, cmod, arrays, rng, *, train=True, steps=1, tol=1e-10, call=None,
                   grad=None):
    """Port ``tmod`` into ``cmod`` (both float64), run ``steps`` forward/backward passes on
    ``arrays`` (float ones in ``grad``, default all, require grad) and compare outputs, input and
    parameter gradients and the buffers afterwards. ``call(module, *inputs)`` runs the layer (or
    a pair: PyTorch's call, then chainrule's)."""
    import torch

    import chainrule as cr

    tmod.double()
    cmod.double()
    port(tmod, cmod)
    tmod.train(train)
    cmod.train(train)
    call = call or (lambda m, *xs: m(*xs))
    tcall, ccall = call if isinstance(call, tuple) else (call, call)
    for _ in range(steps):
        grad_ix = [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray)
                   and a.dtype.kind == "f" and (grad is None or i in grad)]
        ours = [cr.tensor(a, requires_grad=i in grad_ix) if isinstance(a, np.ndarray) else a
                for i, a in enumerate(arrays)]
        theirs = [torch.tensor(a, requires_grad=i in grad_ix) if isinstance(a, np.ndarray) else a
                  for i, a in enumerate(arrays)]
        for m in (tmod, cmod):
            m.zero_grad()
        y, t = _flat(ccall(cmod, *ours)), _flat(tcall(tmod, *theirs))
        assert len(y) == len(t), (len(y), len(t))
        loss_c, loss_t = 0, 0
        for k, (a, b) in enumerate(zip(y, t)):
            assert tuple(a.shape) == tuple(b.shape), f"output {k}: {a.shape} vs {tuple(b.shape)}"
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol,
                                       atol=tol, err_msg=f"output {k}")
            if b.requires_grad and b.dtype.is_floating_point:
                w = rng.standard_normal(tuple(b.shape))
                loss_c = loss_c + (a * cr.tensor(w)).sum()
                loss_t = loss_t + (b * torch.tensor(w)).sum()
        if isinstance(loss_t, int):
            continue
        loss_c.backward()
        loss_t.backward()
        for i in grad_ix:
            if theirs[i].grad is None:
                assert ours[i].grad is None or not ours[i].grad.numpy().any(), f"input {i}"
                continue
            np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), rtol=tol,
                                       atol=tol, err_msg=f"gradient of input {i}")
        cparams = dict(cmod.named_parameters())
        for name, p in tmod.named_parameters():
            g = cparams[name].grad
            if p.grad is None:
                assert g is None or not g.numpy().any(), f"gradient of {name}"
                continue
            assert g is not None, f"no gradient for {name}"
            np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=tol, atol=tol,
                                       err_msg=f"gradient of {name}")
    compare_state(tmod, cmod, tol)


def compare_state(tmod, cmod, tol=1e-10):
    csd = cmod.state_dict()
    for name, v in tmod.state_dict().items():
        np.testing.assert_allclose(np.asarray(csd[name].numpy(), dtype=float),
                                   v.detach().numpy().astype(float), rtol=tol, atol=tol,
                                   err_msg=f"state {name}")


def check(make, arrays, rng, *, differ=(), order=1, **kw):
    """Build the layer with ``make(lib) -> (module, call)`` in PyTorch; where PyTorch refuses the
    configuration or input, chainrule must refuse it too; else compare as ``compare_module``.

    Returns "compared", "raised" or, where PyTorch's error contains one of ``differ`` (a
    documented difference), "differs". ``order=2`` compares as ``compare_double``."""
    import torch

    import chainrule as cr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tm, tcall = make(torch)
            tm = tm.double()
            tcall(tm, *[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
        except Exception as e:  # noqa: BLE001 - any error of PyTorch's counts as a refusal
            if any(d in str(e) for d in differ):
                return "differs"
            try:
                cm, ccall = make(cr)
                out = ccall(cm, *[cr.tensor(a) if isinstance(a, np.ndarray) else a
                                  for a in arrays])
            except Exception:  # noqa: BLE001
                return "raised"
            raise AssertionError(f"PyTorch raises {e!r} but chainrule returned {out!r}") from e
        cm, ccall = make(cr)
        if order == 2:
            import torch.nn.attention

            kw.pop("steps", None)
            # PyTorch's flash attention kernel has no double backward; its math one has
            with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
                compare_double(tm, cm, arrays, rng, call=(tcall, ccall), **kw)
        else:
            compare_module(tm, cm, arrays, rng, call=(tcall, ccall), **kw)
    return "compared"


def compare_double(tmod, cmod, arrays, rng, *, train=True, tol=1e-9, call=None, grad=None):
    """Second order: port ``tmod`` into ``cmod``, take the gradient of a random weighting of the
    outputs with respect to the float inputs and parameters (``create_graph=True``), then
    compare the gradients of a random weighting of those gradients."""
    import torch

    import chainrule as cr

    tmod.double()
    cmod.double()
    port(tmod, cmod)
    tmod.train(train)
    cmod.train(train)
    tcall, ccall = call
    grad_ix = [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray)
               and a.dtype.kind == "f" and (grad is None or i in grad)]
    ours = [cr.tensor(a, requires_grad=i in grad_ix) if isinstance(a, np.ndarray) else a
            for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in grad_ix) if isinstance(a, np.ndarray) else a
              for i, a in enumerate(arrays)]
    names = [n for n, p in tmod.named_parameters() if p.requires_grad]
    cparams, tparams = dict(cmod.named_parameters()), dict(tmod.named_parameters())
    leaves_c = [ours[i] for i in grad_ix] + [cparams[n] for n in names]
    leaves_t = [theirs[i] for i in grad_ix] + [tparams[n] for n in names]
    loss_c = loss_t = 0
    for a, b in zip(_flat(ccall(cmod, *ours)), _flat(tcall(tmod, *theirs))):
        if b.requires_grad and b.dtype.is_floating_point:
            w = rng.standard_normal(tuple(b.shape))
            loss_c = loss_c + (a * cr.tensor(w)).sum()
            loss_t = loss_t + (b * torch.tensor(w)).sum()
    if isinstance(loss_t, int) or not leaves_t:
        return
    gc = cr.autograd.grad(loss_c, leaves_c, create_graph=True, allow_unused=True)
    gt = torch.autograd.grad(loss_t, leaves_t, create_graph=True, allow_unused=True)
    s_c = s_t = 0
    for a, b in zip(gc, gt):
        if b is None or not b.requires_grad:
            continue
        v = rng.standard_normal(tuple(b.shape))
        if a is not None and a.requires_grad:  # else a constant: its second order is 0
            s_c = s_c + (a * cr.tensor(v)).sum()
        s_t = s_t + (b * torch.tensor(v)).sum()
    if isinstance(s_t, int):
        return
    hc = ([None] * len(leaves_c) if isinstance(s_c, int)
          else cr.autograd.grad(s_c, leaves_c, allow_unused=True))
    ht = torch.autograd.grad(s_t, leaves_t, allow_unused=True)
    labels = [f"input {i}" for i in grad_ix] + names
    for label, a, b in zip(labels, hc, ht):
        if b is None or a is None:
            other = a if b is None else b
            assert other is None or not _np(other).any(), f"second order of {label}"
            continue
        np.testing.assert_allclose(a.numpy(), _np(b), rtol=tol, atol=tol,
                                   err_msg=f"second-order gradient of {label}")
