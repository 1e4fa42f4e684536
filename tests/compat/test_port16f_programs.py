"""port16f_programs.py (Deep SVDD, the Relation Network of LearningToCompare_FSL, RWKV-4 in plain
PyTorch) run unchanged on PyTorch and on chainrule from the same weights: losses, centres, radii,
scores, logits and final parameters agree to float64 rounding; each also learns from chainrule's
own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16f_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _float64  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning"),
    pytest.mark.filterwarnings("ignore:`torch.nn.utils.clip_grad_norm` is now deprecated"),
    pytest.mark.filterwarnings("ignore:.*clip_grad_norm.*deprecated"),
]


def _svdd_data(lib, seed=1680, n=18, batch_size=6):
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal((n, 6)) * 0.5 + 1.0
    test = np.concatenate([rng.standard_normal((6, 6)) * 0.5 + 1.0,
                           rng.standard_normal((6, 6)) * 2.0 - 2.0])
    labels = np.repeat([0, 1], 6)
    return (programs.svdd_data(lib, normal, np.zeros(n, dtype=np.int64), batch_size),
            programs.svdd_data(lib, test, labels, batch_size))


@pytest.mark.parametrize("objective", ["one-class", "soft-boundary"])
def test_deep_svdd_with_float32_centre_and_quantile_radius_matches_pytorch(objective):
    def run(lib, model):
        return programs.train_deep_svdd(lib, model, *_svdd_data(lib), objective=objective)

    ours, theirs = _both(lambda lib: programs.svdd_net(lib), run)
    assert ours[3] == theirs[3]
    _close(ours[:3], theirs[:3], rtol=1e-9, atol=1e-11)
    assert ours[1].dtype == np.float32  # c is accumulated in torch.zeros' float32
    if objective == "soft-boundary":
        assert ours[0][-1][1] > 0


def _episodes(lib, seed=1681, n=4):
    rng = np.random.default_rng(seed)
    protos = rng.standard_normal((3, 1, 10, 10))
    out = []
    for _ in range(n):
        samples = protos + 0.3 * rng.standard_normal(protos.shape)
        batch_labels = np.tile(np.arange(3), 2)
        batches = protos[batch_labels] + 0.3 * rng.standard_normal((6, 1, 10, 10))
        out.append((lib.tensor(samples), lib.tensor(np.arange(3)), lib.tensor(batches),
                    lib.tensor(batch_labels)))
    return out


def test_relation_network_few_shot_episodes_match_pytorch():
    def run(lib, model):
        return _float64(lib, lambda: programs.train_relation_net(lib, model, _episodes(lib)))

    ours, theirs = _both(lambda lib: programs.relation_nets(lib), run)
    # The convolutions' biases in front of BatchNorm have no gradient in exact arithmetic: what
    # each library computes is rounding (about 1e-16), which Adam divides by its eps (1e-8) and
    # so moves those biases, and the running means they feed, by up to about 1e-9 differently.
    noise = {k for k in ours[1] if k.endswith(("0.bias", "1.running_mean"))}
    assert len(noise) == 6
    _close([ours[0], {k: v for k, v in ours[1].items() if k not in noise}],
           [theirs[0], {k: v for k, v in theirs[1].items() if k not in noise}],
           rtol=1e-9, atol=1e-11)
    _close({k: ours[1][k] for k in noise}, {k: theirs[1][k] for k in noise}, rtol=0, atol=1e-8)


def _text(lib, seed=1682, n=3):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        seq = (np.arange(7)[None] * rng.integers(1, 3, (2, 1)) + rng.integers(0, 11, (2, 1)))
        seq = seq % 11
        out.append((lib.tensor(seq[:, :-1]), lib.tensor(seq[:, 1:])))
    return out


def test_rwkv4_with_token_shift_wkv_recurrence_and_l2wrap_matches_pytorch():
    def run(lib, model):
        return programs.train_rwkv(lib, model, _text(lib))

    ours, theirs = _both(lambda lib: programs.rwkv(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_l2wrap_adds_the_largest_logits_gradient_like_pytorch():
    """``L2Wrap.apply(loss, logits)`` returns the loss unchanged but gives the logits an extra
    gradient, ``1e-4 / (B * T)`` times the largest logit at its position."""
    x, y = _text(chainrule, 1683, n=1)[0]
    grads = {}
    state = {k: v.numpy() for k, v in programs.rwkv(chainrule).double().state_dict().items()}
    for lib in (chainrule, torch):
        model = programs.rwkv(lib).double()
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        xs, ys = lib.tensor(x.numpy()), lib.tensor(y.numpy())
        wrapped = lib.autograd.grad(model(xs, ys), model.head.weight)[0]
        logits = model(xs)
        plain = lib.nn.functional.cross_entropy(logits.view(-1, 11), ys.view(-1))
        grads[lib] = (wrapped.numpy(), lib.autograd.grad(plain, model.head.weight)[0].numpy())
    _close(grads[chainrule], grads[torch], rtol=1e-10, atol=1e-13)
    assert np.abs(grads[chainrule][0] - grads[chainrule][1]).max() > 1e-6


def test_wave16_part_six_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    train, test = _svdd_data(chainrule, 1684, n=36)
    history, c, scores, labels = programs.train_deep_svdd(
        chainrule, programs.svdd_net(chainrule).double(), train, test, n_epochs=6)
    assert history[-1][0] < history[0][0]
    scores, labels = np.array(scores), np.array(labels)
    assert scores[labels == 1].mean() > scores[labels == 0].mean()
    losses, _ = _float64(chainrule, lambda: programs.train_relation_net(
        chainrule, programs.relation_nets(chainrule), _episodes(chainrule, 1685, n=12)))
    assert np.mean([loss for loss, _ in losses[-3:]]) < np.mean([loss for loss, _ in losses[:3]])
    losses, _, _ = programs.train_rwkv(chainrule, programs.rwkv(chainrule),
                                       _text(chainrule, 1686, n=4), steps=20)
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
