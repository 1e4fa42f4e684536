"""torch.save / torch.load with a file object (io.BytesIO, an open file), as checkpoints held in
memory are written: the same bytes as the file written by path, the same object read back."""

import io

import numpy as np
import pytest

import chainrule as cr


def _checkpoint():
    model = cr.nn.Linear(3, 2)
    opt = cr.optim.Adam(model.parameters(), lr=0.1)
    model(cr.ones(4, 3)).sum().backward()
    opt.step()
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2,
            "steps": (1, 2), "mask": np.array([True, False])}


def _same(a, b):
    """``b`` (loaded) holds ``a``'s values; an OrderedDict comes back as a dict."""
    assert type(a) is type(b) or isinstance(a, dict) and isinstance(b, dict)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, (cr.Tensor, np.ndarray)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert np.asarray(a).dtype == np.asarray(b).dtype
    else:
        assert a == b


def test_bytesio_round_trip_matches_the_file(tmp_path):
    obj = _checkpoint()
    buffer = io.BytesIO()
    cr.save(obj, buffer)
    cr.save(obj, tmp_path / "ckpt.pt")
    assert buffer.getvalue() == (tmp_path / "ckpt.pt").read_bytes()
    buffer.seek(0)
    _same(cr.load(buffer, weights_only=True), obj)
    with open(tmp_path / "ckpt.pt", "rb") as f:  # an open file reads from where it stands
        _same(cr.load(f), obj)


def test_open_file_written_after_a_prefix(tmp_path):
    obj = {"w": cr.arange(4.0)}
    with open(tmp_path / "joined", "wb") as f:
        f.write(b"HEAD")
        cr.save(obj, f)
    with open(tmp_path / "joined", "rb") as f:
        assert f.read(4) == b"HEAD"
        _same(cr.load(f), obj)


def test_file_objects_refusals():
    with pytest.raises(TypeError, match="binary file object with write\\(\\), got int"):
        cr.save({}, 3)
    with pytest.raises(ValueError, match="was not written by chainrule.save"):
        cr.load(io.BytesIO(b"\x80\x02not a safetensors file"))
    buffer = io.BytesIO()
    cr.save({"w": cr.ones(3)}, buffer)
    damaged = bytearray(buffer.getvalue())
    damaged[-1] ^= 1
    with pytest.raises(ValueError, match="damaged"):
        cr.load(io.BytesIO(bytes(damaged)))
