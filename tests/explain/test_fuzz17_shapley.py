"""Seventeenth fuzz wave, explain: ``shapley_values`` and ``shapley_value_sampling``, new in this
wave, against Captum 0.9's ``ShapleyValues`` and ``ShapleyValueSampling`` on the same float64
weights. Captum's sampling draws its orderings with ``torch.randperm``: the test gives Captum's
``permutation_generator`` and ours the same orderings. Captum sums the attributions in float32:
compared at 1e-6.
"""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import feature_ablation, shapley_value_sampling, shapley_values

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]


def _twins(kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        ours = nn.Sequential(nn.Linear(5, 7, rng=rng), nn.Tanh(), nn.Linear(7, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                                     torch.nn.Linear(7, 3))
        shape = (4, 5)
    else:
        ours = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(12, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                                     torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                     torch.nn.Linear(12, 3))
        shape = (3, 2, 4, 4)
    ours = ours.to(dtype="float64")
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs.eval(), rng.standard_normal(shape), rng.integers(0, 3, shape[0]), rng


def _cases(kind, rng, x):
    sample = x.shape[1:]
    return {"none": None,
            "shared": rng.integers(0, 4, sample), "per_sample": rng.integers(0, 3, x.shape),
            "one_group": np.zeros(sample, dtype=np.int64)}


def _mask_args(groups, x):
    if groups is None:
        return None, {}
    return groups, {"feature_mask": torch.tensor(groups if groups.ndim == x.ndim
                                                 else groups[None])}


@pytest.mark.parametrize("kind, mask", [  # the CNN's 32 inputs alone: 32! orderings
    (kind, mask) for kind in ("mlp", "cnn")
    for mask in ("none", "shared", "per_sample", "one_group") if (kind, mask) != ("cnn", "none")])
@pytest.mark.parametrize("baseline", ["number", "sample", "batch"])
def test_exact_shapley_values_match_captum(kind, mask, baseline):
    ours, theirs, x, target, rng = _twins(kind, 7)
    groups = _cases(kind, rng, x)[mask]
    mine = {"number": 0.3, "sample": rng.standard_normal(x.shape[1:]),
            "batch": rng.standard_normal(x.shape)}[baseline]
    theirs_base = mine if baseline == "number" else torch.tensor(
        mine if baseline == "batch" else mine[None])
    groups, kw = _mask_args(groups, x)
    got = shapley_values(ours, x, target, feature_mask=groups, baseline=mine, batch_size=9)
    want = captum_attr.ShapleyValues(theirs).attribute(
        torch.tensor(x), target=torch.tensor(target), baselines=theirs_base,
        perturbations_per_eval=2, **kw).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    # complete: one input of each group, summed, is f(x) - f(baseline)
    with cr.no_grad():
        gap = (ours(cr.tensor(x)).numpy() - ours(cr.tensor(np.broadcast_to(mine, x.shape)))
               .numpy())[np.arange(len(x)), target]
    g = np.broadcast_to(np.arange(np.prod(x.shape[1:])).reshape(x.shape[1:]) if groups is None
                        else groups, x.shape)
    for i in range(len(x)):
        ids, first = np.unique(g[i], return_index=True)
        np.testing.assert_allclose(got[i].reshape(-1)[first].sum(), gap[i], rtol=1e-10,
                                   atol=1e-12)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("seed", range(3))
def test_shapley_value_sampling_with_the_same_orderings_matches_captum(kind, seed):
    ours, theirs, x, target, rng = _twins(kind, 20 + seed)
    n_groups = 4 if kind == "mlp" else 6
    groups = rng.integers(0, n_groups, x.shape[1:])
    groups[np.unravel_index(np.arange(n_groups), groups.shape)] = np.arange(n_groups)  # all ids
    orders = [rng.permutation(n_groups).tolist() for _ in range(int(rng.integers(1, 6)))]
    svs = captum_attr.ShapleyValueSampling(theirs)
    svs.permutation_generator = lambda n, _samples: iter([list(o) for o in orders])
    want = svs.attribute(torch.tensor(x), target=torch.tensor(target), baselines=-0.5,
                         feature_mask=torch.tensor(groups[None])).detach().numpy()
    got = shapley_value_sampling(ours, x, target, feature_mask=groups, baseline=-0.5,
                                 permutations=orders)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    a = shapley_value_sampling(ours, x, target, feature_mask=groups, n_samples=4, rng=seed)
    b = shapley_value_sampling(ours, x, target, feature_mask=groups, n_samples=4, rng=seed)
    np.testing.assert_array_equal(a, b)  # seeded: bit for bit


def test_all_orderings_sampled_are_the_exact_values_and_a_linear_model_is_ablation():
    ours, _, x, target, _ = _twins("mlp", 3)
    groups = np.array([0, 1, 1, 2, 0])
    every = [list(p) for p in itertools.permutations(range(3))]
    np.testing.assert_allclose(
        shapley_value_sampling(ours, x, target, feature_mask=groups, permutations=every),
        shapley_values(ours, x, target, feature_mask=groups), rtol=1e-12, atol=1e-14)
    rng = np.random.default_rng(0)
    lin = nn.Linear(6, 3, rng=rng).to(dtype="float64")
    xs = rng.standard_normal((4, 6))
    np.testing.assert_allclose(shapley_values(lin, xs, 1, baseline=0.2),
                               feature_ablation(lin, xs, 1, baseline=0.2), rtol=1e-12,
                               atol=1e-14)


def test_shapley_refuses_bad_arguments():
    ours, _, x, target, _ = _twins("mlp", 1)
    with pytest.raises(ValueError, match="each permutation must order the 5 groups"):
        shapley_value_sampling(ours, x, target, permutations=[[0, 1, 2]])
    with pytest.raises(ValueError, match="permutations is empty"):
        shapley_value_sampling(ours, x, target, permutations=[])
    with pytest.raises(ValueError, match="n_samples must be an int >= 1, got 0"):
        shapley_value_sampling(ours, x, target, n_samples=0)
    with pytest.raises(ValueError, match="feature_mask must hold integers"):
        shapley_values(ours, x, target, feature_mask=np.zeros(5))
    rng = np.random.default_rng(0)
    wide = nn.Linear(10, 2, rng=rng)
    with pytest.raises(ValueError, match="10 groups have 3,628,800 orderings"):
        shapley_values(wide, rng.standard_normal((1, 10)), 0)
