"""Weight averaging: EMA, AveragedModel (SWA) and swa_average."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import EMA, AveragedModel, swa_average

pytestmark = pytest.mark.kernel_free


class TinyModel:
    """Anything with parameters() will do; a model is called to evaluate it."""

    def __init__(self, w, b):
        self.w = cr.tensor(np.asarray(w, dtype="float32"), requires_grad=True)
        self.b = cr.tensor(np.asarray(b, dtype="float32"), requires_grad=True)

    def parameters(self):
        return iter([self.w, self.b])

    def __call__(self, x):
        return x * self.w + self.b


def _snapshots(rng, n=5):
    return [(rng.standard_normal(3).astype("float32"), rng.standard_normal(1).astype("float32"))
            for _ in range(n)]


def _assign(model, w, b):
    with cr.no_grad():
        model.w.copy_(w)
        model.b.copy_(b)


def test_ema_follows_the_recurrence(rng):
    model = TinyModel([1.0, 2.0, 3.0], [0.5])
    ema = EMA(model, decay=0.9)
    expected = [model.w._data.astype(np.float64), model.b._data.astype(np.float64)]
    for w, b in _snapshots(rng):
        _assign(model, w, b)
        ema.update()
        expected = [0.9 * e + 0.1 * v for e, v in zip(expected, (w, b), strict=True)]
    for s, e in zip(ema.shadow, expected, strict=True):
        assert s.dtype == np.float32
        np.testing.assert_allclose(s, e, rtol=1e-5)
    assert ema.num_updates == 5


def test_ema_store_copy_restore(rng):
    model = TinyModel([1.0, 2.0, 3.0], [0.5])
    ema = EMA(model.parameters(), decay=0.5)
    with cr.no_grad():
        model.w.fill_(3.0)
    ema.update()
    live = model.w._data
    ema.store()
    ema.copy_to()
    assert model.w._data is live
    np.testing.assert_allclose(model.w._data, [2.0, 2.5, 3.0])
    ema.restore()
    np.testing.assert_allclose(model.w._data, 3.0)
    with pytest.raises(RuntimeError, match="call store"):
        ema.restore()


def test_ema_state_dict_roundtrip(rng):
    model = TinyModel([1.0, 2.0, 3.0], [0.5])
    ema = EMA(model, decay=0.8)
    for w, b in _snapshots(rng, 3):
        _assign(model, w, b)
        ema.update()
    saved = ema.state_dict()
    other = EMA(TinyModel([0.0, 0.0, 0.0], [0.0]), decay=0.1)
    other.load_state_dict(saved)
    assert other.decay == 0.8 and other.num_updates == 3
    for a, b in zip(ema.shadow, other.shadow, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.shares_memory(saved["shadow"][0], ema.shadow[0])
    with pytest.raises(ValueError, match=r"saved array 0 has shape \(3,\), the average has \(2,\)"):
        EMA(TinyModel([0.0, 0.0], [0.0])).load_state_dict(saved)


def test_swa_is_the_mean_of_the_snapshots(rng):
    model = TinyModel([0.0, 0.0, 0.0], [0.0])
    swa = AveragedModel(model)
    shots = _snapshots(rng, 6)
    for w, b in shots:
        _assign(model, w, b)
        swa.update_parameters(model)
    avg_w = np.mean([w for w, _ in shots], axis=0)
    avg_b = np.mean([b for _, b in shots], axis=0)
    got = [p._data for p in swa.parameters()]
    np.testing.assert_allclose(got[0], avg_w, rtol=1e-5)
    np.testing.assert_allclose(got[1], avg_b, rtol=1e-5)
    assert swa.n_averaged == 6
    assert swa.module is not model and swa.module.w is not model.w
    np.testing.assert_allclose(swa(cr.tensor([1.0, 1.0, 1.0]))._data, avg_w + avg_b, rtol=1e-5)
    np.testing.assert_array_equal(model.w._data, shots[-1][0])  # the live model is untouched


def test_averaged_model_from_tensors_and_state_dict(rng):
    params = [cr.tensor(np.ones(3, dtype="float32"), requires_grad=True)]
    swa = AveragedModel(params)
    swa.update_parameters(params)
    with cr.no_grad():
        params[0].fill_(3.0)
    swa.update_parameters(params)
    np.testing.assert_allclose(swa.params[0]._data, 2.0)
    with pytest.raises(TypeError, match="no model to call"):
        swa(1.0)
    other = AveragedModel([cr.tensor(np.zeros(3, dtype="float32"))])
    other.load_state_dict(swa.state_dict())
    assert other.n_averaged == 2
    target = [cr.tensor(np.zeros(3, dtype="float32"))]
    other.copy_to(target)
    np.testing.assert_allclose(target[0]._data, 2.0)
    with pytest.raises(ValueError, match="update_parameters: expected 1 parameters, got 2"):
        swa.update_parameters(params * 2)


def test_swa_average_of_checkpoints(rng):
    models = [TinyModel(w, b) for w, b in _snapshots(rng, 3)]
    mean = swa_average(models)
    np.testing.assert_allclose(mean[0]._data, np.mean([m.w._data for m in models], axis=0),
                               rtol=1e-6)
    into = TinyModel([0.0, 0.0, 0.0], [0.0])
    live = into.w._data
    out = swa_average(models, into=into)
    assert out[0] is into.w and into.w._data is live
    np.testing.assert_allclose(into.b._data, np.mean([m.b._data for m in models], axis=0),
                               rtol=1e-6)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: EMA([cr.tensor([1.0])], decay=1.5), ValueError,
     r"EMA: decay must be a number in \[0, 1\], got 1.5"),
    (lambda: EMA(3.0), TypeError, "expected a model .*got float"),
    (lambda: EMA([]), ValueError, "EMA: got no parameters"),
    (lambda: EMA([1.0]), TypeError, "EMA: parameter 0 must be a Tensor, got float"),
    (lambda: swa_average([]), ValueError, "got no models"),
    (lambda: swa_average([[cr.tensor([1.0])], [cr.tensor([1.0, 2.0])]]), ValueError,
     r"parameter 0 has shape \(2,\)"),
])
def test_invalid_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.torch
def test_swa_and_ema_match_torch(rng):
    torch = pytest.importorskip("torch")
    from torch.optim.swa_utils import AveragedModel as TorchAveraged
    from torch.optim.swa_utils import get_ema_multi_avg_fn

    lin = torch.nn.Linear(3, 1)
    model = TinyModel(lin.weight.detach().numpy()[0], lin.bias.detach().numpy())
    t_swa = TorchAveraged(lin)
    t_ema = TorchAveraged(lin, multi_avg_fn=get_ema_multi_avg_fn(0.7))
    t_ema.update_parameters(lin)  # torch's EMA starts from its first update; ours at construction
    swa, ema = AveragedModel(model), EMA(model, decay=0.7)
    for w, b in _snapshots(rng, 6):
        _assign(model, w, b)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w[None]))
            lin.bias.copy_(torch.from_numpy(b))
        swa.update_parameters(model)
        ema.update()
        t_swa.update_parameters(lin)
        t_ema.update_parameters(lin)
    theirs_swa = [p.detach().numpy().reshape(-1) for p in t_swa.module.parameters()]
    theirs_ema = [p.detach().numpy().reshape(-1) for p in t_ema.module.parameters()]
    for ours, theirs in zip(swa.params, theirs_swa, strict=True):
        np.testing.assert_allclose(ours._data, theirs, rtol=1e-6)
    for ours, theirs in zip(ema.shadow, theirs_ema, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
