"""Seventeenth fuzz wave, explain: ``deeplift_shap`` and ``layer_integrated_gradients``, new in
this wave, against Captum 0.9's ``DeepLiftShap`` and ``LayerIntegratedGradients`` on the same
float64 weights (MLPs with each nonlinearity DeepLIFT's rule covers, a CNN, an embedding bag of
token indices), and their finite-difference and completeness checks. Captum rounds integrated
gradients' step sizes in float32: compared at 1e-6, the rest at 1e-10.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import (
    deeplift,
    deeplift_shap,
    integrated_gradients,
    layer_integrated_gradients,
)

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]


def _twins(kind, seed, act="Tanh"):
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        ours = nn.Sequential(nn.Linear(5, 6, rng=rng), getattr(nn, act)(),
                             nn.Linear(6, 4, rng=rng), getattr(nn, act)(),
                             nn.Linear(4, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Linear(5, 6), getattr(torch.nn, act)(),
                                     torch.nn.Linear(6, 4), getattr(torch.nn, act)(),
                                     torch.nn.Linear(4, 3))
        shape = (4, 5)
    else:
        ours = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(48, 4, rng=rng), nn.ReLU(),
                             nn.Linear(4, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                                     torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                     torch.nn.Linear(48, 4), torch.nn.ReLU(),
                                     torch.nn.Linear(4, 3))
        shape = (3, 2, 8, 8)
    ours = ours.to(dtype="float64")
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs.eval(), rng.standard_normal(shape), rng.integers(0, 3, shape[0]), rng


@pytest.mark.parametrize("act", ["ReLU", "Tanh", "Sigmoid", "ELU", "Softplus"])
@pytest.mark.parametrize("multiply", [True, False])
@pytest.mark.parametrize("n_base", [1, 2, 5])
def test_deeplift_shap_matches_captum(act, multiply, n_base):
    ours, theirs, x, target, rng = _twins("mlp", 3, act)
    pool = rng.standard_normal((n_base, 5))
    got, delta = deeplift_shap(ours, x, target, baselines=pool, multiply_by_inputs=multiply,
                               batch_size=3, return_convergence_delta=True)
    if n_base == 1:  # Captum refuses one baseline and points to DeepLift, which it equals
        want = captum_attr.DeepLift(theirs, multiply_by_inputs=multiply).attribute(
            torch.tensor(x), target=torch.tensor(target), baselines=torch.tensor(pool))
        want_delta = None
    else:
        want, want_delta = captum_attr.DeepLiftShap(theirs, multiply_by_inputs=multiply).attribute(
            torch.tensor(x), target=torch.tensor(target), baselines=torch.tensor(pool),
            return_convergence_delta=True)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-13)
    if want_delta is not None and multiply:
        np.testing.assert_allclose(delta, want_delta.detach().numpy(), atol=1e-12)
    if multiply:  # complete: sums to f(x) minus the mean of f over the background
        with cr.no_grad():
            f = ours(cr.tensor(x)).numpy()[np.arange(4), target]
            fb = ours(cr.tensor(pool)).numpy()[:, target].mean(axis=0)
        np.testing.assert_allclose(got.sum(axis=1), f - fb, rtol=1e-10, atol=1e-12)


def test_deeplift_shap_of_a_cnn_is_the_mean_of_deeplift_and_its_errors():
    ours, theirs, x, target, rng = _twins("cnn", 5)
    pool = rng.standard_normal((3, 2, 8, 8))
    got = deeplift_shap(ours, x, target, baselines=pool)
    want = np.mean([deeplift(ours, x, target, baseline=b) for b in pool], axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"baselines must be background samples .* shape \(2, 8"):
        deeplift_shap(ours, x, target, baselines=pool[0])
    with pytest.raises(ValueError, match=r"with B >= 1, got shape \(0, 2, 8, 8\)"):
        deeplift_shap(ours, x, target, baselines=pool[:0])


METHODS = [("gausslegendre", "gausslegendre"), ("midpoint", "riemann_middle"),
           ("left", "riemann_left"), ("riemann_right", "riemann_right")]


@pytest.mark.parametrize("kind, layer", [("mlp", 0), ("mlp", 2), ("mlp", 3), ("cnn", 0),
                                         ("cnn", 2), ("cnn", 4)])
@pytest.mark.parametrize("to_input", [False, True])
def test_layer_integrated_gradients_matches_captum(kind, layer, to_input):
    method, captum_method = METHODS[(layer + 2 * to_input + (kind == "cnn")) % 4]
    ours, theirs, x, target, rng = _twins(kind, 17 + layer)
    sample = rng.standard_normal(x.shape[1:])
    for steps, mine, theirs_base, chunk, multiply in (
            (3, 0.0, 0.0, 2, True), (7, sample, torch.tensor(sample[None]), 5, False),
            (12, 0.4, 0.4, 1000, True)):
        got, delta = layer_integrated_gradients(
            ours, str(layer), x, target, baseline=mine, steps=steps, method=method,
            batch_size=chunk, multiply_by_inputs=multiply, attribute_to_layer_input=to_input,
            return_convergence_delta=True)
        lig = captum_attr.LayerIntegratedGradients(theirs, theirs[layer],
                                                   multiply_by_inputs=multiply)
        want, want_delta = lig.attribute(
            torch.tensor(x), baselines=theirs_base, target=torch.tensor(target), n_steps=steps,
            method=captum_method, internal_batch_size=max(chunk, len(x)),
            attribute_to_layer_input=to_input, return_convergence_delta=True)
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-6, atol=1e-7)
        if multiply:
            np.testing.assert_allclose(delta, want_delta.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_layer_integrated_gradients_of_the_first_layer_input_is_integrated_gradients():
    ours, _, x, target, rng = _twins("cnn", 2)
    base = rng.standard_normal(x.shape[1:])
    got = layer_integrated_gradients(ours, "0", x, target, baseline=base, steps=9,
                                     attribute_to_layer_input=True)
    want = integrated_gradients(ours, x, target, baseline=base, steps=9).attributions
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # complete up to the quadrature when everything goes through the layer (a tanh MLP)
    ours, _, x, target, _ = _twins("mlp", 6)
    _, delta = layer_integrated_gradients(ours, "2", x, target, steps=20,
                                          return_convergence_delta=True)
    assert np.abs(delta).max() < 1e-9


def test_layer_integrated_gradients_of_token_embeddings_matches_captum():
    """Token indices cannot be interpolated: the embedding's output is, with a padding-token
    baseline (the models agree on the weights; Captum is given the indices as they are)."""
    rng = np.random.default_rng(4)

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4, rng=rng)
            self.out = nn.Linear(4, 3, rng=rng)

        def forward(self, tokens):
            return self.out(self.emb(tokens).tanh().mean(axis=1))

    class TorchBag(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.out = torch.nn.Embedding(10, 4), torch.nn.Linear(4, 3)

        def forward(self, tokens):
            return self.out(self.emb(tokens).tanh().mean(dim=1))

    ours, theirs = Bag().to(dtype="float64"), TorchBag().double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    tokens, target = rng.integers(1, 10, (3, 6)), np.array([0, 2, 1])
    got, delta = layer_integrated_gradients(ours, "emb", tokens, target, baseline=0, steps=20,
                                            return_convergence_delta=True)
    want, want_delta = captum_attr.LayerIntegratedGradients(theirs, theirs.emb).attribute(
        torch.tensor(tokens), baselines=torch.zeros_like(torch.tensor(tokens)),
        target=torch.tensor(target), n_steps=20, return_convergence_delta=True)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(delta, want_delta.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert got.shape == (3, 6, 4) and np.abs(delta).max() < 1e-3  # complete up to the quadrature
    with pytest.raises(ValueError, match="x holds integers .* baseline must too, got 0.5"):
        layer_integrated_gradients(ours, "emb", tokens, target, baseline=0.5)


def test_layer_integrated_gradients_refuses_bad_arguments():
    ours, _, x, target, _ = _twins("mlp", 1)
    with pytest.raises(ValueError, match="method must be one of .* got 'riemann_trapezoid'"):
        layer_integrated_gradients(ours, "0", x, target, method="riemann_trapezoid")
    with pytest.raises(ValueError, match=r"baseline must be a number or an array shaped like"):
        layer_integrated_gradients(ours, "0", x, target, baseline=np.zeros(3))
    with pytest.raises(ValueError, match="model has no layer '9'"):
        layer_integrated_gradients(ours, "9", x, target)
