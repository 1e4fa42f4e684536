"""f-strings of tensors as PyTorch formats them: a 0-d tensor by its value's format spec."""

import pytest

import chainrule as cr


@pytest.mark.torch
@pytest.mark.parametrize("spec", ["", ".4f", ">10.2e", "d"])
def test_format_matches_pytorch(spec):
    torch = pytest.importorskip("torch")
    for L in (cr, torch):
        if spec == "d":
            value = L.tensor([3, 7])[1]
        else:
            value = L.tensor([0.1234567, 2.5], dtype=L.float64, requires_grad=True)[0] * 2
        text = format(value, spec)
        if L is cr:
            ours = text
        else:
            assert ours == text
    assert f"{cr.tensor(0.5):.3f}" == "0.500"


def test_format_of_a_tensor_with_elements_takes_only_an_empty_spec():
    t = cr.tensor([1.0, 2.0])
    assert f"{t}" == str(t)
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{t:.2f}"
