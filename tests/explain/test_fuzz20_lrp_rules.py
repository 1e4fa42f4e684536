"""Twentieth fuzz wave, explain: ``lrp``'s rules beyond epsilon (``explain.lrp_rules``) and their
assignment to layers (``rules=``, ``composite_rules``). Against Captum 0.9's ``LRP`` with the
same rules set per layer (``layer.rule``) on float64 twins, where the two define the rule alike;
against the rules written out in NumPy where Captum's differ (its gamma rule leaves the bias
as it is, its alpha1-beta0 rule clips the weights, which is z+ only for inputs >= 0); and
conservation of bias-free networks."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

import chainrule as cr  # noqa: E402
from chainrule import explain, nn  # noqa: E402
from chainrule.explain import (  # noqa: E402
    AlphaBetaRule,
    EpsilonRule,
    FlatRule,
    GammaRule,
    IdentityRule,
    WSquareRule,
    ZBRule,
    ZeroRule,
    composite_rules,
    lrp,
)

C = pytest.importorskip("captum.attr._utils.lrp_rules")

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]


class _TorchNet(torch.nn.Module):
    def __init__(self, features, head):
        super().__init__()
        self.features, self.head = features, head

    def forward(self, x):
        return self.head(self.features(x).reshape(len(x), -1))


def _twins(kind, seed, bias_sign=0):
    """Ours (``features``, ``head`` with a Flatten first) and PyTorch's, one float64 weights;
    ``bias_sign`` +-1 makes every bias >= 0 or <= 0."""
    rng = np.random.default_rng(seed)
    T = torch.nn
    if kind == "mlp":
        feats = [nn.Linear(6, 8, rng=rng), nn.ReLU()]
        tfeats = [T.Linear(6, 8), T.ReLU()]
        shape, width = (4, 6), 8
    else:
        pool, tpool = [(nn.MaxPool2d(2), T.MaxPool2d(2)), (nn.AvgPool2d(2), T.AvgPool2d(2))][
            seed % 2
        ]
        feats = [nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), pool]
        tfeats = [T.Conv2d(2, 3, 3, padding=1), T.ReLU(), tpool]
        shape, width = (3, 2, 6, 6), 27
    ours = nn.Sequential(
        nn.Sequential(*feats),
        nn.Sequential(
            nn.Flatten(), nn.Linear(width, 5, rng=rng), nn.ReLU(), nn.Linear(5, 3, rng=rng)
        ),
    )
    theirs = _TorchNet(
        T.Sequential(*tfeats), T.Sequential(T.Linear(width, 5), T.ReLU(), T.Linear(5, 3))
    )
    ours = ours.to(dtype="float64")
    state = {k: v.numpy() for k, v in ours.state_dict().items()}
    if bias_sign:
        state = {k: bias_sign * np.abs(v) if k.endswith("bias") else v for k, v in state.items()}
    ours.load_state_dict({k: cr.tensor(v) for k, v in state.items()})

    def torch_key(k):
        part, i, name = k.split(".", 2)
        return f"features.{i}.{name}" if part == "0" else f"head.{int(i) - 1}.{name}"

    theirs = theirs.double()
    theirs.load_state_dict({torch_key(k): torch.tensor(v) for k, v in state.items()})
    return ours, theirs.eval(), rng.standard_normal(shape), rng.integers(0, 3, shape[0])


def _captum(theirs, x, target, rule_of):
    for layer in theirs.modules():
        if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
            layer.rule = rule_of(layer)
    got, delta = captum_attr.LRP(theirs).attribute(
        torch.tensor(x), target=torch.tensor(target), return_convergence_delta=True
    )
    return got.detach().numpy(), delta.detach().numpy()


CASES = {  # ours, Captum's, bias sign, inputs >= 0
    "gamma": (GammaRule(0.3), lambda: C.GammaRule(0.3), -1, False),
    "gamma-no-bias": (
        GammaRule(0.5, bias=False),
        lambda: C.GammaRule(0.5, set_bias_to_zero=True),
        0,
        False,
    ),
    "alpha1beta0": ("alpha1beta0", C.Alpha1_Beta0_Rule, 1, True),
    "z+-no-bias": (
        AlphaBetaRule(bias=False),
        lambda: C.Alpha1_Beta0_Rule(set_bias_to_zero=True),
        0,
        True,
    ),
    "zero": ("zero", lambda: C.EpsilonRule(1e-9), 0, False),
}


@pytest.mark.parametrize("kind,seed", [("mlp", 0), ("cnn", 0), ("cnn", 1)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_matches_captum(kind, seed, case):
    ours_rule, theirs_rule, sign, nonneg = CASES[case]
    ours, theirs, x, target = _twins(kind, seed, sign)
    x = np.abs(x) if nonneg else x
    got, delta = lrp(ours, x, target, rules=ours_rule, return_convergence_delta=True)
    want, want_delta = _captum(theirs, x, target, lambda layer: theirs_rule())
    assert np.abs(want).max() > 1e-6  # not a network of dead units
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())
    np.testing.assert_allclose(delta, want_delta, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_overview_composite_matches_captum_layer_by_layer(seed):
    ours, theirs, x, target = _twins("cnn", seed, -1)  # Captum's gamma leaves b > 0 unboosted
    rules = composite_rules(ours)
    assert [(n, type(r).__name__) for n, r in rules.items()] == [
        ("0.0", "GammaRule"),
        ("1.1", "EpsilonRule"),
        ("1.3", "ZeroRule"),
    ]
    got = lrp(ours, x, target, rules="composite")
    np.testing.assert_array_equal(got, lrp(ours, x, target, rules=rules))
    captum_rule = {torch.nn.Conv2d: lambda: C.GammaRule(0.25), torch.nn.Linear: None}
    want, _ = _captum(
        theirs,
        x,
        target,
        lambda layer: (
            captum_rule[type(layer)]()
            if captum_rule[type(layer)]
            else C.EpsilonRule(1e-9 if layer is theirs.head[2] else 0.25)
        ),
    )
    assert np.abs(want).max() > 1e-6
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def _stab(z):
    return z + 1e-9 * np.where(z >= 0, 1, -1)


def _alpha_beta(alpha, beta):
    def rule(a, w, b, r):
        c = a[:, None, :] * w[None]  # (N, out, in)
        cp, cn = np.maximum(c, 0), np.minimum(c, 0)
        zp = _stab(cp.sum(-1) + np.maximum(b, 0))
        zn = _stab(cn.sum(-1) + np.minimum(b, 0))
        return (alpha * cp * (r / zp)[..., None] - beta * cn * (r / zn)[..., None]).sum(1)

    return rule


def _zb(low, high):
    def rule(a, w, b, r):
        c = a[:, None, :] * w - low * np.maximum(w, 0) - high * np.minimum(w, 0)
        return (c * (r / _stab(c.sum(-1)))[..., None]).sum(1)

    return rule


def _flat(a, w, b, r):
    c = np.broadcast_to(np.ones_like(w), (len(a), *w.shape))
    return (c * (r / _stab(c.sum(-1)))[..., None]).sum(1)


@pytest.mark.parametrize("first", ["alpha2beta1", "zb", "flat"])
def test_rules_captum_lacks_equal_the_overview_written_out(first):
    """alpha2-beta1 and z+ on inputs and biases of both signs, z^B and flat on the first layer,
    on a three-layer MLP with a rule of its own per layer, against NumPy."""
    rng = np.random.default_rng(3)
    model = nn.Sequential(
        nn.Linear(5, 7, rng=rng),
        nn.ReLU(),
        nn.Linear(7, 4, rng=rng),
        nn.ReLU(),
        nn.Linear(4, 3, rng=rng),
    ).to(dtype="float64")
    x = rng.uniform(-1, 2, (6, 5))
    target = rng.integers(0, 3, 6)
    layers = [(model[i].weight.numpy(), model[i].bias.numpy()) for i in (0, 2, 4)]
    ours_first, theirs_first = {
        "alpha2beta1": ("alpha2beta1", _alpha_beta(2.0, 1.0)),
        "zb": (ZBRule(-1, 2), _zb(-1.0, 2.0)),
        "flat": (FlatRule(), _flat),
    }[first]
    got = lrp(
        model,
        x,
        target,
        rules={"0": ours_first, model[2]: AlphaBetaRule(), nn.Linear: EpsilonRule(0.1)},
    )
    acts = [x]
    for i, (w, b) in enumerate(layers):
        z = acts[-1] @ w.T + b
        acts.append(np.maximum(z, 0) if i < 2 else z)
    score = acts[-1][np.arange(6), target]
    r = np.zeros((6, 3))
    r[np.arange(6), target] = 1.0
    w, b = layers[2]
    z = acts[2] @ w.T + b
    r = acts[2] * ((r / (z + 0.1 * np.where(z >= 0, 1, -1))) @ w)
    r = _alpha_beta(1.0, 0.0)(acts[1], *layers[1], r)
    r = theirs_first(acts[0], *layers[0], r)
    np.testing.assert_allclose(got, r * score[:, None], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "rule",
    [ZeroRule(), GammaRule(1.0), AlphaBetaRule(), ZBRule(-3, 3), FlatRule(), WSquareRule()],
    ids=repr,
)
def test_bias_free_relevance_is_conserved(rule):
    """Without biases each of these rules hands on exactly the relevance it gets (z^B, flat and
    w^2 at the first layer, LRP-0 above), a CNN with pooling included."""
    rng = np.random.default_rng(5)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, bias=False, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(12, 4, bias=False, rng=rng),
        nn.ReLU(),
        nn.Linear(4, 2, bias=False, rng=rng),
    ).to(dtype="float64")
    x = rng.uniform(-1, 1, (3, 1, 4, 4))
    got, delta = lrp(
        model, x, 0, rules={"0": rule, nn.Linear: ZeroRule()}, return_convergence_delta=True
    )
    scores = explain.predict_scores(model, x)[:, 0]
    assert np.abs(scores).min() > 1e-3
    np.testing.assert_allclose(delta, 0, atol=1e-7 * np.abs(scores).max())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_identity_rule_passes_batch_norm_relevance_unchanged():
    """Batch norm's shift absorbs relevance under epsilon; the identity rule hands it all on, so
    the bias-free network around it conserves the score."""
    rng = np.random.default_rng(6)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, bias=False, rng=rng),
        nn.BatchNorm2d(2),
        nn.Flatten(),
        nn.Linear(8, 2, bias=False, rng=rng),
    ).to(dtype="float64")
    model.load_state_dict(
        {
            **model.state_dict(),
            "1.running_mean": cr.tensor([0.5, -0.7]),
            "1.bias": cr.tensor([0.3, 0.2]),
        }
    )
    x = rng.standard_normal((2, 1, 4, 4))
    _, delta = lrp(
        model, x, 1, rules={"1": "identity", nn.Module: "zero"}, return_convergence_delta=True
    )
    _, absorbed = lrp(model, x, 1, rules="zero", return_convergence_delta=True)
    np.testing.assert_allclose(delta, 0, atol=1e-7)  # the 1e-9 stabilizers
    assert np.abs(absorbed).min() > 1e-3


def test_bad_rules_are_refused_by_name():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(4, 3, rng=rng), nn.ReLU(), nn.Linear(3, 2, rng=rng))
    x = rng.standard_normal((2, 4)).astype(np.float32)
    bad = [
        ({"0": "gama"}, ValueError, r"unknown rule 'gama' for '0'; the names are zero, "),
        ({"5": "zero"}, ValueError, r"names layer '5', which the model does not have"),
        ({nn.Conv2d: "zero"}, ValueError, r"layer class Conv2d, and the model has no such"),
        ({nn.Linear(4, 3): "zero"}, ValueError, r"Linear module that is not part of the model"),
        ({"1": "zero"}, TypeError, r"layer '1' \(ReLU\) passes relevance through"),
        ({"0": 0.5}, TypeError, r"rule for '0' must be an LRPRule or a rule name, got float"),
        ({3: "zero"}, TypeError, r"key of rules must be a layer name, .* got int 3"),
        ({"0": "zero", model[0]: "flat"}, ValueError, r"layer '0' is given two rules"),
        ({"0": IdentityRule()}, ValueError, r"IdentityRule: layer Linear maps shape"),
    ]
    for rules, error, message in bad:
        with pytest.raises(error, match=message):
            lrp(model, x, 0, rules=rules)
    pooled = nn.Sequential(
        nn.Conv2d(1, 2, 3, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8, 2, rng=rng),
    )
    with pytest.raises(
        TypeError,
        match=r"layer '2' \(MaxPool2d\) does not take GammaRule "
        r"\(it takes Linear, Conv2d\)",
    ):
        lrp(pooled, np.ones((1, 1, 6, 6), np.float32), 0, rules={"2": "gamma"})
    with pytest.raises(TypeError, match=r"no layer for MaxPool2d takes FlatRule"):
        lrp(pooled, np.ones((1, 1, 6, 6), np.float32), 0, rules={nn.MaxPool2d: FlatRule()})
    with pytest.raises(ValueError, match=r"inputs leave \[low, high\]"):
        lrp(model, x, 0, rules={"0": ZBRule(0, 0.1)})
    with pytest.raises(ValueError, match=r"ZBRule: low has shape \(3,\), which does not"):
        lrp(model, x, 0, rules={"0": ZBRule(np.zeros(3), 1)})
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    for make, message in [
        (lambda: GammaRule(-0.1), r"gamma must be a finite number >= 0, got -0.1"),
        (lambda: AlphaBetaRule(2, 0), r"alpha - beta must be 1"),
        (lambda: AlphaBetaRule(0.5, -0.5), r"alpha must be a finite number"),
        (lambda: EpsilonRule(0), r"epsilon must be > 0, got 0; ZeroRule"),
        (lambda: EpsilonRule(float("nan")), r"epsilon must be a finite"),
        (lambda: ZBRule(1, 0), r"low must be <= high"),
        (lambda: composite_rules(nn.ReLU()), r"no Linear or Conv2d"),
    ]:
        with pytest.raises(ValueError, match=message):
            make()


class _ConvNet(torch.nn.Module):
    def __init__(self, conv, n):
        super().__init__()
        self.conv, self.relu, self.lin = conv, torch.nn.ReLU(), torch.nn.Linear(n, 3)

    def forward(self, x):
        return self.lin(self.relu(self.conv(x)).reshape(len(x), -1))


@pytest.mark.parametrize(
    "options",
    [
        {"stride": 2, "dilation": 2, "padding": 2},
        {"groups": 2, "padding": 1},
        {"padding": 1, "padding_mode": "circular", "stride": (2, 1)},
    ],
    ids=["strided-dilated", "groups", "circular"],
)
def test_gamma_and_z_plus_follow_the_convolution_s_options(options):
    rng = np.random.default_rng(4)
    conv = nn.Conv2d(2, 4, 3, rng=rng, **options)
    n = conv(cr.zeros((1, 2, 7, 7))).numel()
    ours = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(n, 3, rng=rng))
    ours = ours.to(dtype="float64")
    theirs = _ConvNet(torch.nn.Conv2d(2, 4, 3, **options), n).double().eval()
    state = {
        k: np.abs(v.numpy()) if k.endswith("bias") else v.numpy()
        for k, v in ours.state_dict().items()
    }  # biases >= 0: Captum's z+ is ours
    ours.load_state_dict({k: cr.tensor(v) for k, v in state.items()})
    theirs.load_state_dict(
        {k.replace("0.", "conv.").replace("3.", "lin."): torch.tensor(v) for k, v in state.items()}
    )
    x, target = np.abs(rng.standard_normal((3, 2, 7, 7))), rng.integers(0, 3, 3)
    for rule, captum_rule in [
        (GammaRule(0.5, bias=False), lambda: C.GammaRule(0.5, set_bias_to_zero=True)),
        (AlphaBetaRule(), C.Alpha1_Beta0_Rule),
    ]:
        got = lrp(ours, x, target, rules=rule, batch_size=2)
        want, _ = _captum(theirs, x, target, lambda layer: captum_rule())
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_rules_reach_fused_and_pruned_layers_by_name_and_module():
    """``nn.fuse`` merges Linear + ReLU into one layer (lrp unfuses it for the pass) and a pruned
    layer computes its weight from a mask: the rule sees the same layer and the masked weight."""

    def mlp():
        rng = np.random.default_rng(7)
        return nn.Sequential(nn.Linear(5, 6, rng=rng), nn.ReLU(), nn.Linear(6, 3, rng=rng))

    x = np.random.default_rng(8).standard_normal((4, 5)).astype(np.float32)
    rules = {"0": "gamma", "2": AlphaBetaRule(2, 1)}
    plain, fused = mlp(), nn.fuse(mlp())
    np.testing.assert_array_equal(lrp(fused, x, 1, rules=rules), lrp(plain, x, 1, rules=rules))
    assert type(fused[0]).__name__ == "LinearReLU"  # fused again after the pass
    by_module = {fused[0]: "gamma", fused[2]: AlphaBetaRule(2, 1)}  # unfuse swaps fused[0]
    np.testing.assert_array_equal(lrp(fused, x, 1, rules=by_module), lrp(plain, x, 1, rules=rules))
    pruned, copied = mlp(), mlp()
    explain.prune_magnitude(pruned, 0.5)
    with cr.no_grad():
        for i in (0, 2):
            copied[i].weight.copy_(pruned[i].weight.detach())
    assert (copied[0].weight.numpy() == 0).mean() > 0.3
    np.testing.assert_array_equal(lrp(pruned, x, 1, rules=rules), lrp(copied, x, 1, rules=rules))
    with pytest.raises(
        TypeError,
        match=r"rules must be None, an LRPRule, a rule name, "
        r"'composite' or a mapping \{layer: rule\}, got list",
    ):
        lrp(plain, x, 0, rules=[("0", "gamma")])
    with pytest.raises(ValueError, match=r"unknown rule 'compsite'; the names are .*composite"):
        lrp(plain, x, 0, rules="compsite")
    pools = nn.Sequential(nn.MaxPool1d(2), nn.Flatten())
    with pytest.raises(TypeError, match=r"no layer of the model takes GammaRule"):
        lrp(pools, np.ones((1, 2, 4), np.float32), 0, rules="gamma")


def test_a_float16_model_is_refused_not_explained_with_nan():
    """In float16 the stabilizer 1e-9 rounds to 0: a black input made every relevance NaN (as
    Captum's LRP in half precision does); lrp now asks for float32 instead."""
    rng = np.random.default_rng(9)
    model = nn.Sequential(
        nn.Linear(4, 6, bias=False, rng=rng), nn.ReLU(), nn.Linear(6, 3, bias=False, rng=rng)
    )
    x = np.zeros((2, 4))
    x[1] = rng.standard_normal(4)
    with pytest.raises(ValueError, match=r"lrp: the model computes in float16, .* model.float"):
        lrp(model.to(dtype="float16"), x, 0)
    with pytest.raises(ValueError, match=r"computes in float16"):
        lrp(nn.Sequential(nn.MaxPool1d(2), nn.Flatten()), np.ones((1, 2, 4), np.float16), 0)
    got = lrp(model.to(dtype="float32"), x, 0, rules="gamma")
    assert got.dtype == np.float32 and (got[0] == 0).all() and np.isfinite(got).all()


class _BatchNormNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c, self.b = torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3)
        self.r, self.l = torch.nn.ReLU(), torch.nn.Linear(27, 2)

    def forward(self, x):
        return self.l(self.r(self.b(self.c(x))).reshape(len(x), -1))


def test_identity_rule_at_batch_norm_matches_captum():
    rng = np.random.default_rng(10)
    ours = nn.Sequential(
        nn.Conv2d(2, 3, 3, rng=rng),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(27, 2, rng=rng),
    ).to(dtype="float64")
    state = {
        k: rng.uniform(0.5, 1.5, v.shape)
        if k.startswith("1.") and "batches" not in k
        else v.numpy()
        for k, v in ours.state_dict().items()
    }
    ours.load_state_dict({k: cr.tensor(v) for k, v in state.items()})
    theirs = _BatchNormNet().double().eval()
    names = {"0": "c", "1": "b", "4": "l"}
    theirs.load_state_dict(
        {
            f"{names[k.split('.')[0]]}.{k.split('.', 1)[1]}": torch.tensor(v)
            for k, v in state.items()
        }
    )
    x, target = rng.standard_normal((3, 2, 5, 5)), rng.integers(0, 2, 3)
    theirs.b.rule = C.IdentityRule()
    want = captum_attr.LRP(theirs).attribute(torch.tensor(x), target=torch.tensor(target))
    got = lrp(ours, x, target, rules={"1": "identity"})
    want = want.detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_a_layer_with_a_parametrized_weight_is_one_layer():
    """``parametrizations.weight_norm`` hangs its ``_WeightNorm`` below the Linear; lrp took that
    module for a layer without a rule and refused the model (every rule, epsilon included)."""
    from chainrule.nn.utils import parametrizations

    rng = np.random.default_rng(11)
    model = nn.Sequential(nn.Linear(5, 6, rng=rng), nn.ReLU(), nn.Linear(6, 3, rng=rng))
    plain = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3))
    parametrizations.weight_norm(model[0])
    with cr.no_grad():
        for i in (0, 2):
            plain[i].weight.copy_(model[i].weight.detach())
            plain[i].bias.copy_(model[i].bias.detach())
    x = rng.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(lrp(model, x, 2), lrp(plain, x, 2))
    np.testing.assert_array_equal(
        lrp(model, x, 2, rules={model[0]: "gamma", "2": "zero"}),
        lrp(plain, x, 2, rules={"0": "gamma", "2": "zero"}),
    )
    assert type(model[0].parametrizations.weight[0]).__name__ == "_WeightNorm"
