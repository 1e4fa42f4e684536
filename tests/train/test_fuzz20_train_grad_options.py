"""Trainer(clip_grad_norm=, clip_grad_value=, accumulate_grad_batches=) against a hand-written
PyTorch loop: the same weights in float64, the loss of each batch scaled by 1/k, one optimizer step
per k batches and one after an epoch's last, shorter group (Lightning's rule, same 1/k), the
gradients clipped before each step; bad values, an overridden train_step and non-finite gradients
are refused or stop the run, never a silent step."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402
from chainrule.data import ArrayDataset, DataLoader, IterableDataset  # noqa: E402
from chainrule.train import Callback, LearningRateScheduler, Trainer  # noqa: E402

RNG = np.random.default_rng(1)
X, Y = RNG.normal(size=(23, 3)) * 3, RNG.integers(0, 2, 23)


def _pair(seed=0):
    """A chainrule MLP in float64 and a PyTorch one with the same weights."""
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Linear(3, 5, rng=rng), nn.Tanh(), nn.Linear(5, 2, rng=rng))
    ours = ours.to(cr.float64)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    theirs = theirs.double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            q.copy_(torch.tensor(np.array(p.numpy())))
    return ours, theirs


class _BatchLosses(Callback):
    def __init__(self):
        self.losses = []

    def on_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])


CASES = [  # (k, clip_grad_norm, clip_grad_value, optimizer, scheduler stepped per batch)
    (1, 0.5, None, "sgd", False),
    (1, None, 0.05, "adam", False),
    (3, None, None, "sgd", True),  # 6 batches: two full groups
    (4, 0.5, None, "adam", True),  # a group of 4, then the epoch's last group of 2
    (4, None, 0.05, "sgd", False),
]


@pytest.mark.parametrize("k, norm, value, rule, per_batch", CASES)
def test_clipping_and_accumulation_match_a_pytorch_loop(k, norm, value, rule, per_batch):
    ours, theirs = _pair()
    if rule == "sgd":
        opt = optim.SGD(ours.parameters(), lr=0.3, momentum=0.9)
        topt = torch.optim.SGD(theirs.parameters(), lr=0.3, momentum=0.9)
    else:
        opt = optim.Adam(ours.parameters(), lr=0.05)
        topt = torch.optim.Adam(theirs.parameters(), lr=0.05)
    steps, tsteps, recorder = [], [], _BatchLosses()
    opt.register_step_post_hook(lambda *a: steps.append(1))
    topt.register_step_post_hook(lambda *a: tsteps.append(1))
    callbacks = [recorder]
    if per_batch:
        callbacks.append(LearningRateScheduler(optim.StepLR(opt, 2, 0.5), interval="batch"))
        tsched = torch.optim.lr_scheduler.StepLR(topt, 2, 0.5)
    trainer = Trainer(
        ours,
        "cross_entropy",
        opt,
        callbacks=callbacks,
        clip_grad_norm=norm,
        clip_grad_value=value,
        accumulate_grad_batches=k,
    )
    history = trainer.fit(DataLoader(ArrayDataset(X, Y), 4), epochs=2, verbose=0)

    batch_losses, epoch_losses = [], []
    for _ in range(2):
        total = 0.0
        for i in range(6):
            xb, yb = torch.tensor(X[4 * i : 4 * i + 4]), torch.tensor(Y[4 * i : 4 * i + 4])
            loss = torch.nn.functional.cross_entropy(theirs(xb), yb)
            batch_losses.append(loss.item())
            total += loss.item() * len(xb)
            (loss / k).backward()
            if (i + 1) % k == 0 or i == 5:
                if norm is not None:
                    torch.nn.utils.clip_grad_norm_(theirs.parameters(), norm)
                if value is not None:
                    torch.nn.utils.clip_grad_value_(theirs.parameters(), value)
                topt.step()
                topt.zero_grad()
                if per_batch:
                    tsched.step()
        epoch_losses.append(total / len(X))
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert len(steps) == len(tsteps) == 2 * -(-6 // k)
    np.testing.assert_allclose(recorder.losses, batch_losses, rtol=1e-12)  # unscaled
    np.testing.assert_allclose(history.history["loss"], epoch_losses, rtol=1e-12)
    assert opt.param_groups[0]["lr"] == topt.param_groups[0]["lr"]


class _Stream(IterableDataset):
    def __iter__(self):
        return iter(zip(X, Y, strict=True))


class _LongerThanItIs(_Stream):
    def __len__(self):  # a stream's length can be wrong: its last group must step all the same
        return 40


@pytest.mark.parametrize("stream", [_Stream, _LongerThanItIs])
def test_a_stream_steps_its_last_short_group(stream):
    (a, _), (b, _) = _pair(), _pair()
    steps = []
    opt_a = optim.SGD(a.parameters(), lr=0.1)
    opt_a.register_step_post_hook(lambda *args: steps.append(1))
    Trainer(a, "cross_entropy", opt_a, accumulate_grad_batches=4).fit(
        DataLoader(stream(), 4), epochs=1, verbose=0
    )
    Trainer(b, "cross_entropy", optim.SGD(b.parameters(), lr=0.1), accumulate_grad_batches=4).fit(
        (X, Y), epochs=1, batch_size=4, shuffle=False, verbose=0
    )
    assert len(steps) == 2  # 6 batches: 4, then the last 2
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"clip_grad_norm": 0}, ValueError, "clip_grad_norm must be None .* got 0"),
        ({"clip_grad_norm": -1.0}, ValueError, "finite number > 0, got -1.0"),
        ({"clip_grad_value": float("nan")}, ValueError, "clip_grad_value .* got nan"),
        ({"clip_grad_norm": "1"}, TypeError, "clip_grad_norm must be None or a finite .* got '1'"),
        ({"accumulate_grad_batches": 0}, ValueError, "accumulate_grad_batches must be an int >= 1"),
        ({"accumulate_grad_batches": 2.0}, ValueError, "accumulate_grad_batches .* got 2.0"),
        ({"accumulate_grad_batches": True}, ValueError, "accumulate_grad_batches .* got True"),
        ({"clip_grad_norm": 1.0, "clip_grad_value": 0.1}, ValueError, "not both"),
    ],
)
def test_bad_options_are_refused(options, error, match):
    model, _ = _pair()
    with pytest.raises(error, match=match):
        Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), **options)


def test_an_overridden_train_step_does_not_silently_drop_them():
    class OwnStep(Trainer):
        def train_step(self, batch):
            return {}

    model, _ = _pair()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="OwnStep overrides train_step.*accumulate_grad_batches=2"):
        OwnStep(model, "cross_entropy", opt, accumulate_grad_batches=2)
    OwnStep(model, "cross_entropy", opt)  # without them: fine


def _infinite_gradient(output, target):
    """A finite loss (sqrt(0) = 0) whose gradient is infinite (sqrt's slope at 0)."""
    return cr.ops.cross_entropy(output, target) + cr.sqrt(output - output.detach()).sum()


@pytest.mark.parametrize(
    "options", [{"clip_grad_norm": 1.0}, {"clip_grad_value": 1.0, "accumulate_grad_batches": 2}]
)
def test_non_finite_gradients_stop_the_run_without_a_step(options):
    model, _ = _pair()
    before = [p.numpy().copy() for p in model.parameters()]
    trainer = Trainer(model, _infinite_gradient, optim.SGD(model.parameters(), lr=0.1), **options)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        history = trainer.fit((X, Y), epochs=2, batch_size=4, verbose=0)
    assert trainer.diverged and history.epoch == []
    assert "gradient value(s) are not finite" in trainer.stop_reason
    assert ("batch 2" if "accumulate_grad_batches" in options else "batch 1") in (
        trainer.stop_reason
    )
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.numpy(), b)  # clipping hid nothing: no step was taken


def test_an_overflowing_norm_stops_the_run_and_without_the_guard_clips_as_pytorch():
    def huge(output, target):  # float32 gradients near 1e25: their squares overflow
        return cr.ops.cross_entropy(output, target) * 1e25

    model, _ = _pair()
    model = model.to(cr.float32)
    trainer = Trainer(model, huge, optim.SGD(model.parameters(), lr=0.1), clip_grad_norm=1.0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        trainer.fit((X, Y), epochs=1, batch_size=4, verbose=0)
        assert trainer.diverged and "total norm is inf" in trainer.stop_reason
        before = [p.numpy().copy() for p in model.parameters()]
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        trainer.fit((X, Y), epochs=1, batch_size=4, verbose=0, terminate_on_nan=False)
    said = [str(w.message) for w in seen if "clipped and stepped" in str(w.message)]
    assert len(said) == 1 and "total norm is inf (it overflowed) at batch 1" in said[0]  # once
    assert not trainer.diverged  # PyTorch's clip_grad_norm_ scales by max_norm / inf = 0
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.numpy(), b)
