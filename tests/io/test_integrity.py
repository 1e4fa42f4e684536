"""Checkpoint integrity: checksums, headers checked before reading, training states validated."""

import json
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.io import (
    load_training_state,
    load_weights,
    read_config,
    save_training_state,
    save_weights,
)
from chainrule.io.checkpoint import _write
from chainrule.io.safetensors_file import read_header as read_header_checked
from chainrule.io.safetensors_file import read_tensors
from chainrule.train.history import History

from .conftest import make_model, read_header


def _flip(path, key, byte, bit):
    """Flip one bit of tensor ``key``'s bytes in the file."""
    n, header = read_header(path)
    raw = bytearray(path.read_bytes())
    raw[8 + n + header[key]["data_offsets"][0] + byte] ^= 1 << bit
    path.write_bytes(bytes(raw))


def _write_raw(path, header: dict, data: bytes, raw_header: bytes | None = None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def test_saved_files_carry_a_checksum_per_tensor(tmp_path):
    path = save_weights(make_model(), tmp_path / "m.safetensors", config={"name": "x"})
    _, header = read_header(path)
    table = json.loads(header["__metadata__"]["chainrule.sha256"])
    assert set(table) == {"0.weight", "0.bias", "2.weight", "2.bias", "__metadata__"}
    state = save_training_state(tmp_path / "s.safetensors", optimizer=None, epoch=0,
                                model=make_model())
    assert "chainrule.sha256" in read_header(state)[1]["__metadata__"]


@pytest.mark.parametrize("byte,bit", [(3, 6), (0, 0), (2, 7)])
def test_a_flipped_bit_is_caught_naming_file_and_tensor(tmp_path, byte, bit):
    model = make_model()
    path = save_weights(model, tmp_path / "m.safetensors")
    _flip(path, "2.weight", byte, bit)
    before = model.state_dict()["0.weight"].numpy().copy()
    target = make_model(1)
    with pytest.raises(ValueError, match=r"m\.safetensors' is damaged: tensor '2\.weight' does "
                                         "not match its SHA-256"):
        load_weights(target, path)
    assert not np.array_equal(target.state_dict()["0.weight"].numpy(), before)  # nothing loaded


def test_a_flipped_bit_in_a_training_state_is_caught(tmp_path):
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=0.1)
    (model(cr.tensor(np.ones((2, 4), "float32"))) ** 2).sum().backward()
    opt.step()
    path = save_training_state(tmp_path / "s.safetensors", optimizer=opt, epoch=1, model=model)
    _flip(path, "optimizer/state/0/exp_avg", 3, 6)
    with pytest.raises(ValueError, match=r"tensor 'optimizer/state/0/exp_avg' does not match"):
        load_training_state(path, model=make_model(), optimizer=opt)


def test_a_changed_dtype_or_shape_in_the_header_is_caught(tmp_path):
    """Same byte count, other meaning: F32 read as I32, or (3, 8) read as (8, 3)."""
    for old, new in ((b'"2.weight":{"dtype":"F32"', b'"2.weight":{"dtype":"I32"'),
                     (b'"shape":[3,8]', b'"shape":[8,3]')):
        path = save_weights(make_model(), tmp_path / "m.safetensors")
        raw = path.read_bytes()
        assert raw.count(old) == 1
        path.write_bytes(raw.replace(old, new))
        with pytest.raises(ValueError, match=r"tensor '2\.weight' does not match its SHA-256"):
            read_tensors("test", read_header_checked("test", path))


def test_changed_metadata_is_caught(tmp_path):
    path = save_weights(make_model(), tmp_path / "m.safetensors", config={"epochs": 3})
    raw = path.read_bytes().replace(b'\\"epochs\\": 3', b'\\"epochs\\": 7')
    assert raw != path.read_bytes()
    path.write_bytes(raw)
    with pytest.raises(ValueError, match="metadata .* does not match its SHA-256"):
        load_weights(make_model(), path)
    with pytest.raises(ValueError, match=r"read_config: .*m\.safetensors' is damaged"):
        read_config(path)


def test_files_without_checksums_load_with_a_warning(tmp_path):
    save_file = pytest.importorskip("safetensors.numpy").save_file

    model = make_model()
    arrays = {k: v.numpy() for k, v in model.state_dict().items()}
    path = tmp_path / "plain.safetensors"
    save_file(arrays, str(path))
    target = make_model(1)
    with pytest.warns(UserWarning, match=r"plain\.safetensors' has no SHA-256 checksums"):
        load_weights(target, path)
    np.testing.assert_array_equal(target.state_dict()["2.bias"].numpy(), arrays["2.bias"])


def test_shapes_are_checked_before_any_tensor_is_read(tmp_path, monkeypatch):
    path = save_weights(make_model(), tmp_path / "m.safetensors")
    wider = nn.Sequential(nn.Linear(4, 9), nn.Tanh(), nn.Linear(9, 3))

    def no_reading(*args, **kwargs):
        raise AssertionError("a tensor was read before the shapes were checked")

    monkeypatch.setattr("chainrule.io.checkpoint.read_tensors", no_reading)
    with pytest.raises(ValueError, match=r"(?s)do not fit the model.*0\.weight: the file has "
                                         r"shape \(8, 4\), the model \(9, 4\)"):
        load_weights(wider, path)


@pytest.mark.parametrize("case,message", [
    ("huge-header", "exceeds the 8388608-byte limit"),
    ("header-past-end", "runs past the end"),
    ("not-json", "not valid JSON"),
    ("list", "not an object"),
    ("gap", "leaves a gap before it"),
    ("overlap", "overlaps the previous one"),
    ("past-end", "the header describes 12 bytes of tensor data, the file holds 8"),
    ("size-mismatch", "is 8 bytes, its data_offsets [0, 4] span 4"),
    ("negative-shape", "shape must be a list of ints >= 0"),
    ("bool-shape", "shape must be a list of ints >= 0"),
    ("bad-offsets", "data_offsets must be [begin, end]"),
    ("extra-key", "expected keys dtype, shape, data_offsets"),
    ("metadata-not-strings", "__metadata__ must map strings to strings"),
    ("object-dtype", "unsupported dtype 'O'"),
    ("deep-nesting", "not valid JSON"),
    ("huge-shape", "span 4"),
])
def test_forged_headers_are_refused(tmp_path, case, message):
    path = tmp_path / "f.safetensors"
    one = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    two = {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}
    if case == "huge-header":
        path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    elif case == "header-past-end":
        path.write_bytes(struct.pack("<Q", 1000) + b"{}      ")
    elif case == "not-json":
        _write_raw(path, {}, b"", raw_header=b"{nope")
    elif case == "list":
        _write_raw(path, {}, b"", raw_header=b"[1, 2]")
    elif case == "gap":
        _write_raw(path, {"a": one, "b": {**two, "data_offsets": [8, 12]}}, b"\0" * 12)
    elif case == "overlap":
        _write_raw(path, {"a": {**one, "shape": [2], "data_offsets": [0, 8]},
                          "b": {**two, "data_offsets": [4, 8]}}, b"\0" * 8)
    elif case == "past-end":
        _write_raw(path, {"a": one, "b": {**two, "shape": [2], "data_offsets": [4, 12]}},
                   b"\0" * 8)
    elif case == "size-mismatch":
        _write_raw(path, {"a": {**one, "shape": [2]}}, b"\0" * 4)
    elif case == "negative-shape":
        _write_raw(path, {"a": {**one, "shape": [-1]}}, b"\0" * 4)
    elif case == "bool-shape":
        _write_raw(path, {"a": {**one, "shape": [True]}}, b"\0" * 4)
    elif case == "bad-offsets":
        _write_raw(path, {"a": {**one, "data_offsets": [4, 0]}}, b"\0" * 4)
    elif case == "extra-key":
        _write_raw(path, {"a": {**one, "pickle": "x"}}, b"\0" * 4)
    elif case == "metadata-not-strings":
        _write_raw(path, {"__metadata__": {"x": 1}, "a": one}, b"\0" * 4)
    elif case == "object-dtype":
        _write_raw(path, {"a": {**one, "dtype": "O"}}, b"\0" * 4)
    elif case == "deep-nesting":
        _write_raw(path, {}, b"", raw_header=b"[" * 100000 + b"]" * 100000)
    elif case == "huge-shape":
        _write_raw(path, {"a": {**one, "shape": [2**62, 2**62]}}, b"\0" * 4)
    with pytest.raises(ValueError) as err:
        load_weights(make_model(), path)
    assert message in str(err.value) and "f.safetensors" in str(err.value)


def _trained(model, steps=2):
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    x = cr.tensor(np.ones((3, 4), "float32"))
    for _ in range(steps):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        sched.step()
    return opt, sched


def _forge(path, *, change, model=None):
    """A training state written by save_training_state, then one decoded field changed.

    The file is rewritten through the same writer (with valid checksums), so only the field's
    validation can catch it.
    """
    safe_open = pytest.importorskip("safetensors").safe_open

    from chainrule.io.checkpoint import _STATE

    with safe_open(str(path), framework="numpy") as f:
        arrays = {k: f.get_tensor(k) for k in f.keys()}
        metadata = {k: v for k, v in f.metadata().items() if k != "chainrule.sha256"}
    state = json.loads(metadata[_STATE])
    change(state, arrays)
    metadata[_STATE] = json.dumps(state)
    _write(path, arrays, metadata)


def _saved_state(tmp_path):
    model = make_model()
    opt, sched = _trained(model)
    history = History()
    history.append(0, {"loss": 1.0})
    path = save_training_state(tmp_path / "s.safetensors", optimizer=opt, scheduler=sched,
                               epoch=1, rng={"data": np.random.default_rng(0)}, model=model,
                               extra={"history": history.state_dict()})
    return path


def _live():
    model = make_model(1)
    opt, sched = _trained(model, 1)
    return dict(model=model, optimizer=opt, scheduler=sched,
                rng={"data": np.random.default_rng(5)}, history=History())


def _set(*keys, value):
    def change(state, arrays):
        target = state
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


def _opt_state(state):
    return state["optimizer"]["state"]["__items__"][0][1]


def _replace_array(name, array):
    def change(state, arrays):
        arrays[name] = array
    return change


BAD_STATES = {
    "epoch-string": (_set("epoch", value="3"), "epoch is '3', expected an int >= -1"),
    "epoch-negative": (_set("epoch", value=-5), "epoch is -5, expected an int >= -1"),
    "epoch-float": (_set("epoch", value=2.5), "epoch is 2.5"),
    "optimizer-not-a-dict": (_set("optimizer", value="garbage"),
                             "optimizer is 'garbage', expected a dict with keys"),
    "optimizer-step-string": (lambda s, a: _opt_state(s).__setitem__("step", "two"),
                              "optimizer.state[0].step is 'two', expected a 0-d array or an "
                              "int >= 0"),
    "optimizer-state-string": (lambda s, a: _opt_state(s).__setitem__("exp_avg", "zeros"),
                               "optimizer.state[0].exp_avg is 'zeros', expected an array"),
    "optimizer-state-shape": (_replace_array("optimizer/state/0/exp_avg",
                                             np.zeros((3, 3), "float32")),
                              "optimizer.state[0].exp_avg is 'array of shape (3, 3)', expected "
                              "shape (8, 4)"),
    "optimizer-state-nan": (_replace_array("optimizer/state/0/exp_avg",
                                           np.full((8, 4), np.nan, "float32")),
                            "NaN or infinite entries"),
    "optimizer-unknown-hyperparameter": (
        lambda s, a: s["optimizer"]["param_groups"][0].__setitem__("momentum", 0.9),
        "optimizer.param_groups[0].momentum is 0.9, expected no such hyperparameter"),
    "optimizer-lr-string": (
        lambda s, a: s["optimizer"]["param_groups"][0].__setitem__("lr", "fast"),
        "optimizer.param_groups[0].lr is 'fast', expected a finite number"),
    "optimizer-param-index": (
        lambda s, a: s["optimizer"]["param_groups"][0].__setitem__("params", [0, 1, 2, 2]),
        "expected each of 0..3 once"),
    "optimizer-groups": (
        lambda s, a: s["optimizer"]["param_groups"].append(s["optimizer"]["param_groups"][0]),
        "2 groups"),
    "scheduler-last-epoch": (_set("scheduler", "last_epoch", value="x"),
                             "scheduler.last_epoch is 'x', expected an int >= -1"),
    "scheduler-unknown-key": (_set("scheduler", "warmup", value=3),
                              "scheduler.warmup is 3, expected no such entry"),
    "scheduler-base-lrs": (_set("scheduler", "base_lrs", value=[0.1, 0.2]),
                           "scheduler.base_lrs is [0.1, 0.2], expected a list of 1 entries"),
    "rng-garbage": (_set("rng", "data", value={"bit_generator": "PCG64", "state": "x"}),
                    "rng['data'] is"),
    "rng-unknown-generator": (_set("rng", "data", value={"bit_generator": "os.system"}),
                              "expected a bit-generator state of one of"),
    "history-garbage": (_set("extra", "history", "history", value={"loss": ["a"]}),
                        "extra.history.history['loss'] is ['a'], expected a list of 1 numbers"),
    "history-missing": (_set("extra", value={}), "extra is {}, expected a dict with a 'history'"),
    "scalar-dtype": (_set("scheduler", "gamma", value={"__scalar__": "O", "value": 1}),
                     "damaged training-state metadata"),
    "dangling-tensor-ref": (_set("optimizer", value={"__tensor__": "nope"}),
                            "damaged training-state metadata"),
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_bad_training_states_are_refused_before_anything_is_restored(tmp_path, case):
    change, message = BAD_STATES[case]
    path = _saved_state(tmp_path)
    _forge(path, change=change)
    live = _live()
    weights = live["model"].state_dict()["0.weight"].numpy().copy()
    lr = live["optimizer"].param_groups[0]["lr"]
    rng_state = live["rng"]["data"].bit_generator.state
    with pytest.raises(ValueError) as err:
        load_training_state(path, **live)
    text = str(err.value)
    assert message in text and "s.safetensors" in text, text
    assert np.array_equal(live["model"].state_dict()["0.weight"].numpy(), weights)
    assert live["optimizer"].param_groups[0]["lr"] == lr
    assert live["rng"]["data"].bit_generator.state == rng_state


def test_a_good_training_state_still_restores_everything(tmp_path):
    path = _saved_state(tmp_path)
    live = _live()
    state = load_training_state(path, **live)
    assert state["epoch"] == 1 and live["history"].epoch == [0]
    assert live["history"]["loss"] == [1.0]
    assert live["scheduler"].last_epoch == 2
