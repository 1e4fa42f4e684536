"""Seventeenth fuzz wave, explain: ``feature_permutation``, new in this wave, against Captum 0.9's
``FeaturePermutation`` on the same float64 weights. Captum shuffles with ``torch.randperm``; the
test gives Captum a ``perm_func`` that applies, group after group, the shuffles it gives ours."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.explain import feature_ablation, feature_permutation

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]


def _twins(kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        ours = nn.Sequential(nn.Linear(5, 7, rng=rng), nn.Tanh(), nn.Linear(7, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                                     torch.nn.Linear(7, 3))
        shape = (5, 5)
    else:
        ours = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(12, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                                     torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                     torch.nn.Linear(12, 3))
        shape = (4, 2, 4, 4)
    ours = ours.to(dtype="float64")
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs.eval(), rng.standard_normal(shape), rng.integers(0, 3, shape[0]), rng


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("mask", ["none", "shared", "leading_one"])
@pytest.mark.parametrize("seed", range(3))
def test_feature_permutation_with_the_same_shuffles_matches_captum(kind, mask, seed):
    ours, theirs, x, target, rng = _twins(kind, seed)
    n_groups = {"none": int(np.prod(x.shape[1:])), "shared": 4, "leading_one": 3}[mask]
    groups = None if mask == "none" else rng.permutation(
        np.arange(np.prod(x.shape[1:])) % n_groups).reshape(x.shape[1:])
    perms = [rng.permutation(len(x)) for _ in range(n_groups)]
    for p in perms:
        if (p == np.arange(len(x))).all():
            p[[0, 1]] = p[[1, 0]]
    queue = list(perms)

    def perm_func(batch, where):
        p = torch.tensor(queue.pop(0))
        return batch[p] * where.to(batch.dtype) + batch * (~where).to(batch.dtype)

    kw = {} if groups is None else {"feature_mask": torch.tensor(
        groups[None] if mask == "leading_one" else groups)}
    want = captum_attr.FeaturePermutation(theirs, perm_func=perm_func).attribute(
        torch.tensor(x), target=torch.tensor(target), **kw).detach().numpy()
    mine = None if groups is None else (groups[None] if mask == "leading_one" else groups)
    got = feature_permutation(ours, x, target, feature_mask=mine, permutations=perms,
                              batch_size=7)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    assert not queue  # one shuffle per group, all used


def test_a_seeded_run_repeats_and_a_linear_model_is_ablation_by_the_shuffled_values():
    ours, _, x, target, _ = _twins("mlp", 4)
    a = feature_permutation(ours, x, target, rng=3)
    np.testing.assert_array_equal(a, feature_permutation(ours, x, target, rng=3))
    rng = np.random.default_rng(1)
    lin = nn.Linear(5, 3, rng=rng).to(dtype="float64")
    perms = [rng.permutation(5) for _ in range(5)]
    got = feature_permutation(lin, x, 1, permutations=perms)
    shuffled = np.stack([x[p, j] for j, p in enumerate(perms)], axis=1)
    np.testing.assert_allclose(got, (x - shuffled) * lin.weight.numpy()[1], rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(got[:, 2], feature_ablation(lin, x, 1, baseline=shuffled)[:, 2],
                               rtol=1e-12, atol=1e-14)


def test_feature_permutation_refuses_what_it_cannot_shuffle():
    ours, _, x, target, _ = _twins("mlp", 2)
    with pytest.raises(ValueError, match="at least 2 samples to shuffle among, got 1"):
        feature_permutation(ours, x[:1], target[:1])
    with pytest.raises(ValueError, match=r"feature_mask must be shaped like one sample \(5,\)"):
        feature_permutation(ours, x, target, feature_mask=np.zeros((5, 5), dtype=int))
    with pytest.raises(ValueError, match="permutations must be 5 permutations of the 5 samples"):
        feature_permutation(ours, x, target, permutations=[np.arange(5)] * 4)
    with pytest.raises(ValueError, match="permutations must be 1 permutations"):
        feature_permutation(ours, x, target, feature_mask=np.zeros(5, dtype=int),
                            permutations=[[0, 0, 1, 2, 3]])
