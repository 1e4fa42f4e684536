"""Wave 23 of differential fuzzing of saving and loading against torch.save/torch.load 2.13."""

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _values(obj):
    return {
        k: np.asarray(v.detach().numpy()) if hasattr(v, "detach") else v for k, v in obj.items()
    }


@pytest.mark.parametrize("tail", [0, 70_000])
def test_two_torch_saves_into_one_buffer_load_each_from_its_position(tail):
    # zipfile reads an archive from its end: the first load returned the second object.
    # (PyTorch 2.13 reads the first only by luck, when both archives have the same layout;
    # otherwise its reader fails. chainrule reads the archive that begins where f stands.)
    buf = io.BytesIO()
    first = {"a": torch.arange(3.0), "n": 1}
    torch.save(first, buf)
    middle = buf.tell()
    second = {"bbbbbb": torch.arange(7.0) * 10, "n": 2, "c": torch.ones(2, 2, dtype=torch.int16)}
    torch.save(second, buf)
    buf.write(bytes(tail))  # more than zipfile's 64 KiB search for the end record
    if not tail:
        buf.seek(middle)
        assert _values(torch.load(buf, weights_only=True)).keys() == second.keys()
    for position, saved in ((0, first), (middle, second)):
        buf.seek(position)
        got, expected = _values(cr.load(buf)), _values(saved)
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key], value)
            assert np.asarray(got[key]).dtype == np.asarray(value).dtype


def test_a_damaged_archive_is_still_refused_not_read_as_another():
    buf = io.BytesIO()
    torch.save({"a": torch.arange(3.0)}, buf)
    data = buf.getvalue()
    with pytest.raises(ValueError, match="not a readable zip archive"):
        cr.load(io.BytesIO(data[:-30]))
    with pytest.raises(ValueError, match="not a readable zip archive"):  # two, the first cut
        cr.load(io.BytesIO(data[:-30] + data))


def test_torch_format_written_after_other_bytes_is_read_by_torch_from_there():
    # the archive's offsets counted from the stream's start, so torch.load from its position
    # failed ("PytorchStreamReader failed reading zip archive")
    obj = {"w": cr.tensor(np.arange(6.0).reshape(2, 3)), "step": 3}
    for prefix in (b"", b"HEADER" * 4):
        buf = io.BytesIO()
        buf.write(prefix)
        cr.save(obj, buf, format="torch")
        buf.write(b"more of the caller's own data")
        buf.seek(len(prefix))
        out = torch.load(buf, weights_only=True)
        np.testing.assert_array_equal(out["w"].numpy(), np.arange(6.0).reshape(2, 3))
        assert out["step"] == 3
        buf.seek(len(prefix))
        assert cr.load(buf)["step"] == 3
