"""Eighteenth fuzz wave, saving and loading: what torch.save writes that is not a tensor or a
plain value (a bare storage, a class) is refused by chainrule.load, never returned as one of
its internal records; chainrule's own format keeps the keys and containers torch.save keeps."""

import collections
import io
import warnings

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _saved(obj, legacy=False) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage is deprecated
        torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize(
    "make",
    [lambda: torch.arange(4.0).untyped_storage(), lambda: {"s": [torch.arange(4.0).storage()]}],
)
def test_a_bare_storage_is_refused_not_returned_as_a_record(make, legacy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage is deprecated
        obj = make()
    if legacy and not isinstance(obj, dict):
        pytest.skip("torch.save's legacy format cannot write an UntypedStorage")
    data = _saved(obj, legacy)
    with pytest.raises(ValueError, match="bare storage .* save the tensor itself"):
        cr.load(io.BytesIO(data))


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize(
    "obj",
    [
        torch.Tensor,
        torch.FloatStorage,
        torch.Size,
        collections.OrderedDict,
        {"a": [torch.nn.Parameter]},
    ],
)
def test_a_class_torch_save_refers_to_is_refused_not_returned_as_a_name(obj, legacy):
    data = _saved(obj, legacy)
    torch.load(io.BytesIO(data), weights_only=True)  # torch reads it: gives the class
    with pytest.raises(ValueError, match="itself \\(a class or function, not a value\\)"):
        cr.load(io.BytesIO(data))


def test_tensors_and_values_still_load_beside_the_check():
    base = torch.arange(6.0)
    obj = {"a": base, "v": base[1:3], "d": torch.float64, "s": torch.Size([2]), "n": [[]]}
    out = cr.load(io.BytesIO(_saved(obj)))
    assert out["v"].tolist() == [1.0, 2.0] and out["d"] == cr.float64
    assert isinstance(out["s"], cr.Size) and out["n"] == [[]]
