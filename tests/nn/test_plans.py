"""Inference plans (nn.plans): a model called under no_grad replays its ops, bit for bit, or runs
its layers wherever a replay could differ from them."""

import copy
import pickle
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import plans


def _rng(seed=0):
    return np.random.default_rng(seed)


def _x(shape, seed=1, dtype=np.float32):
    return cr.tensor(_rng(seed).random(shape).astype(dtype))


def _layers(model, x):
    """``model(x)`` with plans off: every layer runs."""
    previous = nn.set_inference_plans(False)
    try:
        with cr.no_grad():
            return model(x)
    finally:
        nn.set_inference_plans(previous)


def _planned(model, x):
    """``model(x)`` under no_grad: called until its plan for the signature exists, then again."""
    with cr.no_grad():
        for _ in range(3):
            out = model(x)
    return out


def _has_plan(model, x) -> bool:
    state = model.__dict__.get("_plans")
    key = ((x.shape, x.data.strides, x.dtype, type(x.data)),)
    return state is not None and state.eligible and key in state.plans


def _same(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.numpy(), b.numpy())


class _Counting:
    """Counts the layer calls that actually run (``Linear.forward``, ``Conv2d.forward_relu``...)."""

    def __init__(self, monkeypatch, *targets):
        self.calls = 0
        for cls, name in targets:
            original = getattr(cls, name)

            def counted(module, *args, _original=original):
                self.calls += 1
                return _original(module, *args)

            monkeypatch.setattr(cls, name, counted)


@pytest.fixture(autouse=True)
def _plans_on():
    previous = nn.set_inference_plans(True)
    yield
    nn.set_inference_plans(previous)


def _models():
    rng = _rng()
    return {
        "lenet5_modern": (cr.models.LeNet5("modern", rng=rng), (1, 1, 28, 28)),
        "lenet5_classic": (cr.models.LeNet5("classic", rng=rng), (3, 1, 28, 28)),
        "small_cnn": (cr.models.SmallCNN(input_size=8, rng=rng), (5, 1, 8, 8)),
        "mlp": (cr.models.MLP((64, 32, 10), rng=rng), (7, 64)),
        "autoencoder": (cr.models.Autoencoder((16, 8, 3), rng=rng), (5, 1, 4, 4)),
        "conv_autoencoder": (cr.models.ConvAutoencoder(rng=rng), (2, 1, 28, 28)),
        "norm_dropout_pool": (nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
            nn.MinPool2d(2), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 6, rng=rng),
            nn.LayerNorm(6), nn.GELU(), nn.Unflatten(1, (2, 3)), nn.Softmax(axis=-1)),
            (4, 2, 6, 6)),
        "conv_transpose_1d": (nn.Sequential(
            nn.Conv1d(3, 4, 3, rng=rng), nn.ELU(), nn.ConvTranspose1d(4, 2, 3, stride=2, rng=rng),
            nn.LeakyReLU(0.1), nn.AvgPool1d(2), nn.Dropout1d(0.3), nn.Tanh()), (2, 3, 11)),
        "activations": (nn.Sequential(
            nn.Linear(5, 8, rng=rng), nn.SELU(), nn.SiLU(), nn.Softsign(), nn.ReLU6(),
            nn.LogSigmoid(), nn.Hardtanh(-0.5, 0.5), nn.Softplus(), nn.Step(), nn.Identity(),
            nn.Linear(8, 3, rng=rng), nn.LogSoftmax()), (6, 5)),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(_models()))
def test_a_plan_gives_the_layers_own_results(name, dtype):
    model, shape = _models()[name]
    model.to(dtype=dtype).eval()
    x = _x(shape, dtype=dtype)
    want = _layers(model, x)
    got = _planned(model, x)
    assert _has_plan(model, x)
    assert not got.requires_grad
    _same(got, want)
    x2 = _x(shape, seed=7, dtype=dtype)  # the same signature, other values: the same plan
    _same(_planned(model, x2), _layers(model, x2))


def test_the_replay_runs_no_layer(monkeypatch):
    model = cr.models.LeNet5("modern", rng=_rng()).eval()
    count = _Counting(monkeypatch, (nn.Linear, "forward"), (nn.Conv2d, "forward_relu"),
                      (nn.Sequential, "forward"))
    x = _x((2, 1, 28, 28))
    with cr.no_grad():
        model(x)  # first call: the layers, with their checks
        # Two Sequentials, three convolutions (each with its ReLU), the output Linear.
        assert count.calls == 6
        first = count.calls
        model(x)  # second: the layers again, while their ops are recorded
        assert count.calls == 2 * first
        out = model(x)
    assert count.calls == 2 * first  # the third call replayed the plan
    _same(out, _layers(model, x))


def test_no_plan_while_recording_gradients_or_training():
    model = cr.models.MLP((6, 5, 3), rng=_rng())
    x = _x((4, 6))
    model.eval()
    for _ in range(3):
        out = model(x)  # gradients on: the layers run and record
    assert out.requires_grad and out._ctx is not None
    assert model.__dict__.get("_plans") is None
    model.train()
    with cr.no_grad():
        for _ in range(3):
            model(x)
    assert not model._plans.eligible  # training mode: dropout or batch statistics may differ
    model.eval()
    _planned(model, x)
    assert _has_plan(model, x)


def test_dropout_in_training_mode_still_draws_masks():
    model = nn.Sequential(nn.Dropout(0.5, rng=_rng())).train()
    x = cr.tensor(np.ones((50, 50), np.float32))
    with cr.no_grad():
        outs = [model(x).numpy() for _ in range(3)]
    assert not np.array_equal(outs[1], outs[2])


@pytest.mark.parametrize("change", [
    "attribute", "replace_layer", "setitem", "append", "delete", "insert", "to_float64",
    "reassign_parameter", "delattr",
])
def test_a_change_to_the_model_is_replayed_or_run(change):
    rng = _rng(3)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, rng=rng), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 6 * 6, 4, rng=rng)).eval()
    x = _x((2, 1, 8, 8))
    _planned(model, x)
    assert _has_plan(model, x)
    if change == "attribute":
        model[0].padding = (1, 1)  # a setting the plan was recorded with
        model[3] = nn.Linear(3 * 8 * 8, 4, rng=rng).eval()
    elif change == "replace_layer":
        model[1] = nn.Tanh()
    elif change == "setitem":
        model[3] = nn.Linear(3 * 6 * 6, 4, rng=rng).eval()
    elif change == "append":
        model.append(nn.Sigmoid())
    elif change == "delete":
        del model[3]
    elif change == "insert":
        model.insert(1, nn.BatchNorm2d(3).eval())
    elif change == "to_float64":
        model.to(dtype=np.float64)
        with cr.no_grad(), pytest.raises(TypeError, match="dtype float32 and weight dtype float64"):
            model(x)  # as the layers say
        x = _x((2, 1, 8, 8), dtype=np.float64)
    elif change == "reassign_parameter":
        model[3].weight = nn.Parameter(cr.tensor(rng.random((4, 3 * 6 * 6), dtype=np.float32)))
    elif change == "delattr":
        model[3].extra = 1
        del model[3].extra
        model[3].bias = None
    got = _planned(model, x)  # a stale plan would give the old model's values
    _same(got, _layers(model, x))
    model.eval()  # a new layer comes in training mode, which runs the layers
    _same(_planned(model, x), _layers(model, x))
    assert _has_plan(model, x)


def test_values_written_in_place_are_read_at_every_call():
    model = cr.models.MLP((6, 5, 3), rng=_rng())
    x = _x((4, 6))
    opt = cr.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        model.eval()
        before = _planned(model, x)
        model.train()
        opt.zero_grad()
        cr.F.cross_entropy(model(x), cr.tensor(np.array([0, 1, 2, 0]))).backward()
        opt.step()
        model.eval()
        after = _planned(model, x)
        assert not np.array_equal(before.numpy(), after.numpy())
        _same(after, _layers(model, x))
    state = {k: np.zeros_like(v.numpy()) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    _same(_planned(model, x), _layers(model, x))
    assert not _planned(model, x).numpy().any()


def test_hooks_run_and_turn_the_plan_off_until_removed():
    model = nn.Sequential(nn.Linear(4, 3, rng=_rng()), nn.ReLU()).eval()
    x = _x((2, 4))
    _planned(model, x)
    seen = []
    handle = model[0].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    _planned(model, x)
    assert seen == [(2, 3)] * 3 and not model._plans.eligible
    handle.remove()
    _planned(model, x)
    assert len(seen) == 3 and _has_plan(model, x)
    pre = model.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    with cr.no_grad():
        doubled = model(x)
    pre.remove()
    _same(doubled, _layers(model, x * 2))


def test_modules_that_are_not_listed_run_their_layers():
    rng = _rng()

    class Custom(nn.Module):  # unmarked: its forward may read values
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2, rng=rng)

        def forward(self, x):
            return self.fc(x) if float(x.numpy().sum()) > 0 else -self.fc(x)

    class Conv(nn.Conv2d):  # a subclass of a listed layer may override forward
        def forward(self, x):
            return super().forward(x) * 2

    for model, shape in [(nn.Sequential(Custom()), (3, 4)),
                         (nn.Sequential(Conv(1, 2, 3, rng=rng)), (1, 1, 5, 5)),
                         (nn.Sequential(nn.Embedding(5, 3, rng=rng)), None)]:
        model.eval()
        x = cr.tensor(np.array([[1, 4]])) if shape is None else _x(shape)
        _same(_planned(model, x), _layers(model, x))
        assert not model._plans.eligible
    custom = Custom().eval()
    x = _x((3, 4))
    _planned(custom, x)
    assert custom.__dict__.get("_plans") is None  # not a root: never planned
    negative = cr.tensor(-x.numpy())
    _same(_planned(nn.Sequential(custom).eval(), negative), _layers(custom, negative))


def test_an_instance_forward_turns_the_plan_off():
    model = nn.Sequential(nn.Linear(3, 2, rng=_rng())).eval()
    model[0].forward = lambda x: x[:, :2]
    x = _x((4, 3))
    _same(_planned(model, x), x[:, :2])
    assert not model._plans.eligible


def test_bad_input_gets_the_layers_error_after_a_plan():
    model = cr.models.LeNet5("modern", rng=_rng()).eval()
    _planned(model, _x((1, 1, 28, 28)))
    with cr.no_grad(), pytest.raises(ValueError, match="channels"):
        model(_x((1, 3, 28, 28)))
    with cr.no_grad(), pytest.raises(ValueError, match="channels"):
        model(_x((1, 3, 28, 28)))  # the second call with a signature records: the same error


@nn.static_forward
class _Scaled(nn.Module):
    """A marked model with a keyword argument."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2, rng=_rng())

    def forward(self, x, scale=1.0):
        return self.fc(x) * scale


def test_non_tensor_and_keyword_arguments_run_the_layers():
    model = nn.Sequential(nn.Linear(3, 2, rng=_rng())).eval()
    array = _rng().random((2, 3)).astype(np.float32)
    with cr.no_grad():
        for _ in range(3):
            out = model(array)
    assert model.__dict__.get("_plans") is None or not model._plans.plans
    _same(out, _layers(model, cr.tensor(array)))

    scaled = _Scaled().eval()
    x = _x((2, 3))
    with cr.no_grad():
        for k in range(3):  # a keyword the plan would not see: each call runs the layers
            out = scaled(x, scale=float(k + 1))
    assert scaled.__dict__.get("_plans") is None
    _same(out, _layers(scaled, x) * 3.0)


def test_signatures_are_planned_up_to_a_bound():
    model = nn.Sequential(nn.Linear(3, 2, rng=_rng()), nn.ReLU()).eval()
    for n in range(1, plans._MAX_PLANS + 4):
        x = _x((n, 3))
        _same(_planned(model, x), _layers(model, x))
    assert len(model._plans.plans) == plans._MAX_PLANS


@nn.static_forward
class _OwnState(nn.Sequential):
    """A subclass whose ``__getstate__`` keeps every attribute, plans included."""

    def __getstate__(self):
        return self.__dict__.copy()


def test_copies_and_pickles_do_not_share_plans():
    model = cr.models.MLP((6, 5, 3), rng=_rng()).eval()
    x = _x((4, 6))
    _planned(model, x)
    twin = copy.deepcopy(model)
    assert "_plans" not in twin.__dict__
    twin.load_state_dict({k: v.numpy() * 0 for k, v in model.state_dict().items()})
    assert not _planned(twin, x).numpy().any()
    assert _planned(model, x).numpy().any()
    restored = pickle.loads(pickle.dumps(model))  # noqa: S301 - our own object
    _same(_planned(restored, x), _layers(model, x))

    own = _OwnState(nn.Linear(6, 3, rng=_rng())).eval()
    _planned(own, x)
    assert own._plans.plans
    for twin in (copy.deepcopy(own), pickle.loads(pickle.dumps(own))):  # noqa: S301
        assert twin.__dict__["_plans"] is None
        with cr.no_grad():
            for p in twin.parameters():
                p.zero_()
        assert not _planned(twin, x).numpy().any() and _planned(own, x).numpy().any()
        assert _has_plan(twin, x)


def test_an_explicit_trace_of_a_planned_model():
    model = cr.models.LeNet5("modern", rng=_rng()).eval()
    x = _x((2, 1, 28, 28))
    _planned(model, x)
    _planned(model.features, x)
    fast = cr.trace(model, x)
    _same(fast(x), _layers(model, x))
    assert "ConvReLUNd" in fast.code


def test_threads_get_their_own_results():
    model = cr.models.LeNet5("modern", rng=_rng()).eval()
    inputs = [_x((1 + k % 2, 1, 28, 28), seed=k) for k in range(4)]
    want = [_layers(model, x) for x in inputs]
    errors = []

    def work(k):
        try:
            with cr.no_grad():
                for _ in range(20):
                    out = model(inputs[k])
                    np.testing.assert_array_equal(out.numpy(), want[k].numpy())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_switch_and_marker_check_their_arguments():
    with pytest.raises(TypeError, match="enabled must be a bool, got 1"):
        nn.set_inference_plans(1)
    with pytest.raises(TypeError, match="expected a Module class"):
        nn.static_forward(lambda x: x)
    with pytest.raises(TypeError, match="expected a Module class, got <class 'int'>"):
        nn.static_forward(int)
    assert nn.set_inference_plans(False) is True
    model = nn.Sequential(nn.Linear(3, 2, rng=_rng())).eval()
    x = _x((2, 3))
    _planned(model, x)
    assert model.__dict__.get("_plans") is None


def test_a_marked_user_model_is_planned():
    rng = _rng()

    @nn.static_forward
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 3, rng=rng)
            self.b = nn.Linear(3, 2, rng=rng)

        def forward(self, x):
            return self.b(cr.F.relu(self.a(x)) * 2)

    net = Net().eval()
    x = _x((5, 4))
    _same(_planned(net, x), _layers(net, x))
    assert _has_plan(net, x)


def test_each_memory_layout_gets_its_own_plan():
    model = cr.models.LeNet5("modern", rng=_rng()).eval()
    data = _rng(5).random((3, 1, 28, 28)).astype(np.float32)
    row_major = cr.tensor(data)
    batch_last = cr.tensor(np.ascontiguousarray(data.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2))
    assert row_major.data.strides != batch_last.data.strides
    for x in (row_major, batch_last, row_major):
        _same(_planned(model, x), _layers(model, x))
        assert _has_plan(model, x)
    assert len(model._plans.plans) == 2


def test_a_tied_autoencoder_runs_its_layers():
    # TiedLinear reads another module's weight, which its own subtree cannot watch: not listed.
    model = cr.models.Autoencoder((16, 8, 3), tied=True, rng=_rng()).eval()
    x = _x((5, 16))
    _same(_planned(model, x), _layers(model, x))
    assert not model._plans.eligible


def test_a_module_without_its_own_version_counts_from_zero():
    # e.g. restored by a custom __setstate__ that skipped Module.__init__'s attributes
    layer = nn.Linear(3, 2, rng=_rng())
    del layer.__dict__["_version"]
    model = nn.Sequential(layer).eval()
    x = _x((4, 3))
    _same(_planned(model, x), _layers(model, x))
    assert _has_plan(model, x)
    layer.bias = None  # counted from the class's 0
    _same(_planned(model, x), _layers(model, x))
