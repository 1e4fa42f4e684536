"""Complex parameters and optimizer state through the safetensors files: stored as real views
with the names in the metadata, restored bit for bit as complex arrays."""

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.io import (
    load_training_state,
    load_weights,
    read_shapes,
    save_training_state,
    save_weights,
)
from chainrule.io.safetensors_file import read_header

RNG = np.random.default_rng(2)


def _model(dtype=np.complex128):
    m = nn.Module()
    m.lin = nn.Linear(3, 2)
    m.w = nn.Parameter(cr.tensor((RNG.normal(size=(2, 3, 4))
                                  + 1j * RNG.normal(size=(2, 3, 4))).astype(dtype)))
    return m


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_weights_round_trip(tmp_path, dtype):
    m, fresh = _model(dtype), _model(dtype)
    path = save_weights(m, tmp_path / "w.safetensors")
    header = read_header("test", path)
    assert header.tensors["w"].shape == (2, 3, 4, 2)  # the real view on disk
    assert json.loads(header.metadata["chainrule.complex"]) == ["w"]
    assert read_shapes(path)["w"] == (2, 3, 4)
    load_weights(fresh, path)
    assert fresh.w.dtype == dtype
    np.testing.assert_array_equal(fresh.w.numpy(), m.w.numpy())
    wrong = nn.Module()
    wrong.lin = nn.Linear(3, 2)
    wrong.w = nn.Parameter(cr.zeros(2, 3, 4, 2, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"w: the file has shape \(2, 3, 4\), the model "):
        load_weights(wrong, path)


def test_training_state_with_complex_adam_state_resumes_exactly(tmp_path):
    m = _model()
    opt = optim.Adam(m.parameters(), lr=0.05, amsgrad=True)

    def step(model, o):
        o.zero_grad()
        x = cr.tensor(RNG.normal(size=(5, 2, 4)))
        y = cr.einsum("bix,iox->box", x.to(cr.complex128), model.w)
        (y.abs() ** 2).mean().backward()
        o.step()

    for _ in range(3):
        step(m, opt)
    path = save_training_state(tmp_path / "s.safetensors", optimizer=opt, epoch=3, model=m)
    m2 = _model()
    opt2 = optim.Adam(m2.parameters(), lr=0.05, amsgrad=True)
    load_training_state(path, model=m2, optimizer=opt2)
    assert opt2.state[m2.w]["exp_avg"].dtype == np.complex128
    state = RNG.bit_generator.state
    step(m, opt)
    RNG.bit_generator.state = state
    step(m2, opt2)
    np.testing.assert_array_equal(m2.w.numpy(), m.w.numpy())


def test_save_load_objects_with_complex_tensors(tmp_path):
    obj = {"z": cr.tensor(np.array([1 + 2j, -3.5j], np.complex64)),
           "a": np.array([[1j, 2]]), "r": cr.tensor([1.0])}
    buffer = io.BytesIO()
    cr.save(obj, buffer)
    buffer.seek(0)
    for back in (cr.load(buffer), (cr.save(obj, tmp_path / "o.pt"), cr.load(tmp_path / "o.pt"))[1]):
        assert back["z"].dtype == np.complex64 and back["a"].dtype == np.complex128
        np.testing.assert_array_equal(back["z"].numpy(), obj["z"].numpy())
        np.testing.assert_array_equal(back["a"], obj["a"])


def test_a_bad_complex_list_is_refused(tmp_path):
    from chainrule.io.safetensors_file import write_file
    path = tmp_path / "bad.safetensors"
    with open(path, "wb") as f:
        write_file(f, {"w": np.zeros((2, 3))}, {"chainrule.complex": json.dumps(["w"])})
    with pytest.raises(ValueError, match="lists 'w', which is not a float32/float64 tensor"):
        read_header("load_weights", path)


def test_torch_reads_the_real_view():
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    m = _model()
    with tempfile.TemporaryDirectory() as folder:
        path = save_weights(m, Path(folder) / "w.safetensors")
        loaded = st.load_file(str(path))
    np.testing.assert_array_equal(torch.view_as_complex(loaded["w"]).numpy(), m.w.numpy())
