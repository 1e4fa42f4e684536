import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.io import (
    checkpoint,
    load_training_state,
    load_weights,
    read_config,
    save_training_state,
    save_weights,
)

from .conftest import make_model, read_header

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _header(path):
    """The JSON header of a safetensors file, parsed by hand: proof of the format (no pickle)."""
    return read_header(path)[1]


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        np.testing.assert_array_equal(sa[k].numpy(), sb[k].numpy())


def test_weights_round_trip_with_config(tmp_path):
    model = make_model(0)
    config = {"name": "mlp", "kwargs": {"sizes": [4, 8, 3], "activation": "tanh"}}
    path = save_weights(model, tmp_path / "sub" / "model.safetensors", config=config)
    assert path == tmp_path / "sub" / "model.safetensors"
    fresh = make_model(1)
    result = load_weights(fresh, path)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    _assert_same_weights(model, fresh)
    assert read_config(path) == config
    header = _header(path)
    assert header["__metadata__"]["format"] == "pt"
    assert header["0.weight"] == {"dtype": "F32", "shape": [8, 4],
                                  "data_offsets": header["0.weight"]["data_offsets"]}
    assert sorted(safetensors_numpy.load_file(path)) == sorted(model.state_dict())
    assert [p.name for p in path.parent.iterdir()] == ["model.safetensors"]  # no temp file left


def test_config_is_optional_and_must_be_json(tmp_path):
    save_weights(make_model(), tmp_path / "m.safetensors")
    assert read_config(tmp_path / "m.safetensors") is None
    with pytest.raises(TypeError, match="config must be JSON-serializable"):
        save_weights(make_model(), tmp_path / "bad.safetensors", config={"rng": object()})
    assert not (tmp_path / "bad.safetensors").exists()


def test_strict_loading_reports_missing_and_unexpected_keys(tmp_path):
    path = save_weights(make_model(), tmp_path / "m.safetensors")
    bigger = nn.Sequential(*make_model(), nn.Linear(3, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match=r"3\.weight"):
        load_weights(bigger, path)
    result = load_weights(bigger, path, strict=False)
    assert sorted(result.missing_keys) == ["3.bias", "3.weight"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "header"])
def test_damaged_files_raise_a_clear_error(tmp_path, damage):
    path = save_weights(make_model(), tmp_path / "m.safetensors")
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) - 20])
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint at all, just some bytes")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(raw[:8] + b"{" * 12 + raw[20:])
    with pytest.raises(ValueError, match=r"m\.safetensors.*(truncated or corrupt)"):
        load_weights(make_model(), path)
    with pytest.raises(ValueError, match=r"m\.safetensors"):
        read_config(path)
    with pytest.raises(ValueError, match=r"m\.safetensors"):
        load_training_state(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        load_weights(make_model(), tmp_path / "nothing.safetensors")


def _disk_full(f, arrays, metadata):
    """A ``write_file`` that fails half-way, as on a full disk."""
    f.write(b"half a fi")
    raise OSError("disk full")


def test_a_failed_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    model = make_model(0)
    path = save_weights(model, tmp_path / "m.safetensors")
    before = path.read_bytes()

    monkeypatch.setattr(checkpoint, "write_file", _disk_full)
    with pytest.raises(OSError, match="disk full"):
        save_weights(make_model(1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


@pytest.mark.torch
def test_weights_load_into_the_same_model_built_in_torch(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = make_model(0)
    path = save_weights(model, tmp_path / "m.safetensors")
    reference = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    reference.load_state_dict(safetensors_torch.load_file(str(path)), strict=True)
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)

    # and the reverse: weights saved by PyTorch load into our model
    torch.manual_seed(0)
    other = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    safetensors_torch.save_file(other.state_dict(), str(tmp_path / "t.safetensors"))
    with pytest.warns(UserWarning, match="no SHA-256 checksums"):
        load_weights(model, tmp_path / "t.safetensors")
    with torch.no_grad():
        expected = other(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def _trained_optimizer(model, steps=3):
    opt = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.95))
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    x = cr.tensor(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    for _ in range(steps):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        sched.step()
    return opt, sched


def test_training_state_round_trip(tmp_path):
    model = make_model(0)
    opt, sched = _trained_optimizer(model)
    gen = np.random.default_rng(11)
    gen.normal(size=5)
    extra = {
        "history": {"loss": [1.5, math.nan, math.inf], "epoch": [0, 1, 2]},
        "tuple": (1, "a", None), "by_int": {0: np.float32(0.1), 7: np.arange(3)},
        "big": 2**100, "flag": np.bool_(True), "scalar_array": np.array(2.5),
        "__weird": {"__tensor__": "not a reference"},
    }
    path = save_training_state(tmp_path / "state.safetensors", optimizer=opt, epoch=4,
                               scheduler=sched, rng=gen, extra=extra, model=model,
                               config={"name": "mlp"})
    expected_draws = gen.normal(size=3)
    assert read_config(path) == {"name": "mlp"}

    fresh = make_model(5)
    opt2, sched2 = _trained_optimizer(fresh, steps=1)
    gen2 = np.random.default_rng(0)
    state = load_training_state(path, model=fresh, optimizer=opt2, scheduler=sched2, rng=gen2)
    _assert_same_weights(model, fresh)
    np.testing.assert_array_equal(gen2.normal(size=3), expected_draws)
    assert state["epoch"] == 4
    assert sched2.state_dict() == sched.state_dict()
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    assert s2["param_groups"][0]["betas"] == (0.8, 0.95)
    assert list(s1["state"]) == list(s2["state"])
    for i in s1["state"]:
        for key, value in s1["state"][i].items():
            np.testing.assert_array_equal(s2["state"][i][key], value)
    e = state["extra"]
    assert e["history"]["loss"][0] == 1.5 and math.isnan(e["history"]["loss"][1])
    assert e["history"]["loss"][2] == math.inf
    assert e["tuple"] == (1, "a", None) and e["big"] == 2**100
    assert list(e["by_int"]) == [0, 7]
    assert type(e["by_int"][0]) is np.float32 and e["by_int"][0] == np.float32(0.1)
    np.testing.assert_array_equal(e["by_int"][7], np.arange(3))
    assert type(e["flag"]) is np.bool_ and e["flag"]
    assert e["scalar_array"].shape == () and e["scalar_array"] == 2.5
    assert e["__weird"] == {"__tensor__": "not a reference"}
    assert "__metadata__" in _header(path)


def test_named_generators_including_array_states(tmp_path):
    gens = {"data": np.random.default_rng(1), "mt": np.random.Generator(np.random.MT19937(2))}
    for g in gens.values():
        g.random(4)
    path = save_training_state(tmp_path / "s.safetensors", optimizer=None, epoch=0, rng=gens)
    expected = {k: g.random(2) for k, g in gens.items()}
    targets = {"data": np.random.default_rng(9), "mt": np.random.Generator(np.random.MT19937(9)),
               "new": np.random.default_rng(9)}
    load_training_state(path, rng=targets)
    for k in expected:
        np.testing.assert_array_equal(targets[k].random(2), expected[k])
    np.testing.assert_array_equal(targets["new"].random(2), np.random.default_rng(9).random(2))
    with pytest.raises(ValueError, match="several named random states, got one Generator"):
        load_training_state(path, rng=np.random.default_rng(0))


def test_training_state_errors(tmp_path):
    model = make_model()
    weights = save_weights(model, tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="not a training-state file"):
        load_training_state(weights)
    state = save_training_state(tmp_path / "s.safetensors", optimizer=None, epoch=1)
    with pytest.raises(ValueError, match="training-state file; use load_training_state"):
        load_weights(model, state)
    with pytest.raises(ValueError, match="holds no model state"):
        load_training_state(state, model=model)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_training_state(state, optimizer=_trained_optimizer(model)[0])
    with pytest.raises(TypeError, match=r"cannot store 'extra/fn' of type object"):
        save_training_state(tmp_path / "x.safetensors", optimizer=None, epoch=1,
                            extra={"fn": object()})
    with pytest.raises(TypeError, match="epoch must be an int"):
        save_training_state(tmp_path / "x.safetensors", optimizer=None, epoch=1.5)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        save_training_state(tmp_path / "x.safetensors", optimizer=None, epoch=1, rng=42)
    assert not (tmp_path / "x.safetensors").exists()


def test_scalar_and_integer_buffers_round_trip(tmp_path):
    model = make_model()
    model.register_buffer("steps", np.array(7, dtype=np.int64))
    model.register_buffer("scale", np.array(0.5, dtype=np.float32))
    path = save_weights(model, tmp_path / "m.safetensors")
    assert _header(path)["steps"]["shape"] == [] and _header(path)["steps"]["dtype"] == "I64"
    fresh = make_model(1)
    fresh.register_buffer("steps", np.array(0, dtype=np.int64))
    fresh.register_buffer("scale", np.array(0.0, dtype=np.float32))
    load_weights(fresh, path)
    _assert_same_weights(model, fresh)


def test_the_same_weights_and_config_give_the_same_bytes(tmp_path):
    """Names and metadata keys are written in sorted order: a seeded run repeats its files too."""
    config = {"b": 1, "a": [1, 2], "name": "mlp"}
    paths = [save_weights(make_model(0), tmp_path / f"{i}.safetensors", config=config)
             for i in range(3)]
    assert len({p.read_bytes() for p in paths}) == 1


def test_files_we_write_are_read_by_the_safetensors_library(tmp_path):
    model = make_model(0)
    path = save_weights(model, tmp_path / "m.safetensors", config={"k": "v"})
    arrays = safetensors_numpy.load_file(str(path))
    assert set(arrays) == set(model.state_dict())
    for key, tensor in model.state_dict().items():
        np.testing.assert_array_equal(arrays[key], tensor.numpy())
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
    assert (8 + n) % 8 == 0


def test_resuming_with_another_kind_of_optimizer_or_scheduler_is_refused(tmp_path):
    # Found by the resume fuzz: Adam's state has AdamW's keys, so it loaded into an AdamW (with
    # Adam's weight_decay) and an ExponentialLR's into a StepLR, in silence.
    model = make_model()
    adam = optim.Adam(model.parameters(), lr=0.01)
    path = save_training_state(tmp_path / "s.safetensors", model=model, optimizer=adam, epoch=0,
                               scheduler=optim.ExponentialLR(adam, 0.9))
    other = make_model(1)
    adamw = optim.AdamW(other.parameters(), lr=0.01)
    before = other.state_dict()["0.weight"].numpy().copy()
    with pytest.raises(ValueError, match="optimizer is Adam; the optimizer given is AdamW"):
        load_training_state(path, model=other, optimizer=adamw)
    np.testing.assert_array_equal(other.state_dict()["0.weight"].numpy(), before)
    same = optim.Adam(other.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="scheduler is ExponentialLR; the scheduler given is "
                                         "StepLR"):
        load_training_state(path, optimizer=same, scheduler=optim.StepLR(same, 2))
    load_training_state(path, model=other, optimizer=same,
                        scheduler=optim.ExponentialLR(same, 0.5))
    assert same.param_groups[0]["lr"] == adam.param_groups[0]["lr"]


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    # cr.save wrote NAME.partial, left it behind when the write failed, and did not sync it
    from chainrule.io import serialize

    path = tmp_path / "ckpt.pt"
    cr.save({"w": np.arange(3), "flag": np.bool_(True), "step": (1, 2)}, path)
    before = path.read_bytes()

    monkeypatch.setattr(checkpoint, "write_file", _disk_full)
    with pytest.raises(OSError, match="disk full"):
        serialize.save({"w": np.arange(4)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]
    monkeypatch.undo()
    back = cr.load(path)
    assert back["flag"] is True and back["step"] == (1, 2)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        cr.save({}, tmp_path / "missing" / "x.pt")
