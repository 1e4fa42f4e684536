"""Seventeenth fuzz wave: ``nn.utils.prune`` and ``nn.utils.parametrize``/``parametrizations``
against ``torch.nn.utils`` (float64, the same weights), as random sequences of operations.

Each seed builds a Linear, Conv2d or ConvTranspose2d twin and applies a few steps in both
libraries: prune (l1_unstructured, ln_structured with n and dim, custom_from_mask, identity,
with and without importance_scores, composed into a PruningContainer), remove, SGD or Adam
steps, weight_norm/spectral_norm/orthogonal, remove_parametrizations (leave_parametrized both
ways), eval mode and ``cached()``. After each step the state dicts (keys, order, values), the
parameter and buffer names and the effective weight must agree, and a step that raises in one
library must raise in the other. What PyTorch leaves undefined is not drawn: ties among channel
norms (no ``-inf``/``0`` norms after a structured pruning), and the random basis completion of
a non-square orthogonal ``base`` (square matrices only with trivialization).
"""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.utils.parametrizations as CZ
import chainrule.nn.utils.parametrize as CP
import chainrule.nn.utils.prune as cp

torch = pytest.importorskip("torch")
TZ = pytest.importorskip("torch.nn.utils.parametrizations")
TP = pytest.importorskip("torch.nn.utils.parametrize")
tp = pytest.importorskip("torch.nn.utils.prune")

pytestmark = pytest.mark.torch

LAYERS = {"lin": (lambda L: L.nn.Linear(6, 5), (2, 6)),
          "lin_sq": (lambda L: L.nn.Linear(5, 5), (2, 5)),
          "conv": (lambda L: L.nn.Conv2d(3, 4, 3), (2, 3, 5, 5)),
          "convT": (lambda L: L.nn.ConvTranspose2d(3, 4, 3), (2, 3, 4, 4)),
          "conv1": (lambda L: L.nn.Conv1d(2, 3, 2), (2, 2, 5))}


def _twins(kind, rng):
    make = LAYERS[kind][0]
    ours, theirs = make(cr).double(), make(torch).double()
    state = {k: rng.standard_normal(tuple(v.shape)) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: cr.tensor(v) for k, v in state.items()})
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return ours, theirs


def _same(ours, theirs, what, tol=1e-10):
    mine, want = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(want), what
    for k in mine:
        assert str(mine[k].dtype) == str(want[k].dtype).replace("torch.", ""), (what, k)
        np.testing.assert_allclose(mine[k].numpy(), want[k].detach().numpy(), rtol=tol,
                                   atol=tol, err_msg=f"{what} {k}")
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=tol, atol=tol, err_msg=f"{what} weight")
    for names in ("named_parameters", "named_buffers"):
        assert ([n for n, _ in getattr(ours, names)()] ==
                [n for n, _ in getattr(theirs, names)()]), (what, names)


def _both(ours, theirs, what):
    """Run the two calls; both must raise or neither. True when both raised."""
    errors = []
    for call in (ours, theirs):
        try:
            call()
            errors.append(None)
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            errors.append(e)
    assert (errors[0] is None) == (errors[1] is None), (what, errors)
    return errors[0] is not None


def _train(ours, theirs, x, optimizer, what):
    opts = [optimizer(lib)(m.parameters(), lr=0.05) for lib, m in ((cr, ours), (torch, theirs))]
    for _ in range(2):
        losses = [(m(lib.tensor(x)) ** 2).sum() for lib, m in ((cr, ours), (torch, theirs))]
        np.testing.assert_allclose(losses[0].item(), losses[1].item(), rtol=1e-9, err_msg=what)
        for opt, loss in zip(opts, losses):
            opt.zero_grad()
            loss.backward()
            opt.step()


@pytest.mark.parametrize("seed", range(24))
def test_random_pruning_sequences_match_torch(seed):
    rng = np.random.default_rng(seed)
    kind = ("lin", "conv", "convT")[seed % 3]
    ours, theirs = _twins(kind, rng)
    steps, structured = [], False
    for _ in range(int(rng.integers(2, 6))):
        op = str(rng.choice(["l1", "ln", "custom", "identity", "remove", "train", "l1imp",
                             "lnimp"]))
        name = str(rng.choice(["weight", "bias"])) if op in ("l1", "custom", "identity",
                                                            "l1imp") else "weight"
        amount = (float(rng.choice([0.0, 0.2, 0.5, 0.33, 1.0])) if rng.random() < 0.5
                  else int(rng.integers(0, 3)))
        steps.append((op, name, amount))
        what = (seed, kind, steps)
        if op in ("l1", "l1imp"):
            s = rng.standard_normal(tuple(getattr(theirs, name).shape)) if op == "l1imp" else None
            if _both(lambda: cp.l1_unstructured(ours, name, amount, importance_scores=(
                         None if s is None else cr.tensor(s))),
                     lambda: tp.l1_unstructured(theirs, name, amount, importance_scores=(
                         None if s is None else torch.tensor(s))), what):
                return
        elif op in ("ln", "lnimp"):
            n = [1, 2, 0.5, 3, math.inf] + ([] if structured else [-math.inf, 0])
            n = n[int(rng.integers(len(n)))]
            dim = int(rng.integers(-2, 2))
            s = rng.standard_normal(tuple(theirs.weight.shape)) if op == "lnimp" else None
            steps[-1] += (n, dim)
            structured = True
            if _both(lambda: cp.ln_structured(ours, name, amount, n, dim, importance_scores=(
                         None if s is None else cr.tensor(s))),
                     lambda: tp.ln_structured(theirs, name, amount, n, dim, importance_scores=(
                         None if s is None else torch.tensor(s))), what):
                return
        elif op == "custom":
            m = rng.integers(0, 2, tuple(getattr(theirs, name).shape)).astype(float)
            cp.custom_from_mask(ours, name, cr.tensor(m))
            tp.custom_from_mask(theirs, name, torch.tensor(m))
        elif op == "identity":
            cp.identity(ours, name)
            tp.identity(theirs, name)
        elif op == "remove":
            _both(lambda: cp.remove(ours, name), lambda: tp.remove(theirs, name), what)
            structured = False
        else:
            _train(ours, theirs, rng.standard_normal(LAYERS[kind][1]),
                   lambda lib: lambda p, lr: lib.optim.SGD(p, lr=lr, momentum=0.9), what)
            ours(cr.tensor(np.zeros(LAYERS[kind][1])))
            theirs(torch.tensor(np.zeros(LAYERS[kind][1])))
        _same(ours, theirs, what)


@pytest.mark.parametrize("seed", range(30))
def test_random_parametrization_sequences_match_torch(seed):
    rng = np.random.default_rng(seed)
    kind = ("lin", "conv", "convT", "lin_sq", "conv1")[seed % 5]
    ours, theirs = _twins(kind, rng)
    x = rng.standard_normal(LAYERS[kind][1])
    steps, kinds = [], []  # kinds: the parametrizations registered on the weight
    for _ in range(int(rng.integers(2, 5))):
        op = str(rng.choice(["wn", "sn", "orth", "train", "remove", "eval", "cached"]))
        steps.append(op)
        what = (seed, kind, steps)
        if op in ("wn", "sn", "orth") and "wn" in kinds or op == "wn" and kinds:
            continue  # stacked on or under weight_norm: both libraries fail on the next read
        if op == "wn":
            dim = [0, 1, -1, None, 2][int(rng.integers(5))]
            steps.append(dim)
            if _both(lambda: CZ.weight_norm(ours, dim=dim),
                     lambda: TZ.weight_norm(theirs, dim=dim), what):
                return
        elif op == "sn":
            iters, dim = int(rng.integers(0, 3)), [None, 0, 1][int(rng.integers(3))]
            kw = {} if dim is None else {"dim": dim}
            steps.append((iters, dim))
            if _both(lambda: CZ.spectral_norm(ours, n_power_iterations=iters, **kw),
                     lambda: TZ.spectral_norm(theirs, n_power_iterations=iters, **kw), what):
                return
            ours.load_state_dict({k: cr.tensor(v.detach().numpy())  # PyTorch's random u, v
                                  for k, v in theirs.state_dict().items()})
        elif op == "orth":
            square = kind == "lin_sq"
            omap = [None, "matrix_exp", "cayley", "householder"][int(rng.integers(4))]
            trivial = bool(rng.integers(2)) and square
            steps.append((omap, trivial))
            if _both(lambda: CZ.orthogonal(ours, orthogonal_map=omap,
                                           use_trivialization=trivial),
                     lambda: TZ.orthogonal(theirs, orthogonal_map=omap,
                                           use_trivialization=trivial), what):
                return
        elif op == "train":
            _train(ours, theirs, x, lambda lib: lib.optim.Adam, what)
        elif op == "remove":
            leave = bool(rng.integers(2))
            steps.append(leave)
            if _both(lambda: CP.remove_parametrizations(ours, "weight", leave_parametrized=leave),
                     lambda: TP.remove_parametrizations(theirs, "weight",
                                                        leave_parametrized=leave), what):
                return
            kinds = []
        elif op == "eval":
            ours.eval()
            theirs.eval()
        else:
            with CP.cached():
                ours(cr.tensor(x))
                got = ours(cr.tensor(x))
            with TP.cached():
                theirs(torch.tensor(x))
                want = theirs(torch.tensor(x))
            np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-9,
                                       atol=1e-10, err_msg=str(what))
        if op in ("wn", "sn", "orth"):
            kinds.append(op)
        _same(ours, theirs, what)


@pytest.mark.parametrize("register", [
    lambda Z, m: Z.spectral_norm(m), lambda Z, m: Z.orthogonal(m),
    lambda Z, m: Z.weight_norm(m)])
def test_a_parametrization_starts_in_the_modules_mode(register):
    """Registered on a module in eval mode, ours stayed in training mode: spectral_norm then
    ran a power-iteration step at every read of the weight (moving ``_u``, ``_v`` and the
    weight) where PyTorch's, put in the module's mode, does not."""
    rng = np.random.default_rng(3)
    ours, theirs = _twins("lin_sq", rng)  # square: no random basis completion
    ours.eval()
    theirs.eval()
    register(CZ, ours)
    register(TZ, theirs)
    assert [(n, m.training) for n, m in ours.named_modules()] == [
        (n, m.training) for n, m in theirs.named_modules()]
    if hasattr(theirs.parametrizations.weight[0], "_u"):
        ours.load_state_dict({k: cr.tensor(v.detach().numpy())
                              for k, v in theirs.state_dict().items()})
    for _ in range(3):
        _same(ours, theirs, "eval reads")
    ours.train()
    theirs.train()
    assert ours.parametrizations.weight[0].training
    _same(ours, theirs, "train read")


def test_weight_norm_on_a_spectral_norm_leaves_its_vectors_alone():
    """weight_norm read the weight to check ``dim``, which ran the spectral norm's power step
    once more than PyTorch's registration (it reads nothing): ``_u``, ``_v`` and the weight
    moved."""
    rng = np.random.default_rng(5)
    ours, theirs = _twins("conv", rng)
    CZ.spectral_norm(ours)
    TZ.spectral_norm(theirs)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    CZ.weight_norm(ours, dim=None)
    TZ.weight_norm(theirs, dim=None)
    for k in ("parametrizations.weight.0._u", "parametrizations.weight.0._v"):
        np.testing.assert_array_equal(ours.state_dict()[k].numpy(),
                                      theirs.state_dict()[k].numpy())
    with pytest.raises(ValueError, match=r"dim must be None, -1 or a dimension of weight"):
        CZ.weight_norm(_twins("lin", rng)[0], dim=2)
