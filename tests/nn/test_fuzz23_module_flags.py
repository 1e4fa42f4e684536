"""Fuzz wave 23, nn.Module API: requires_grad_ takes a bool, as PyTorch's."""

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


@pytest.mark.parametrize("flag", ["no", 0.0, None, 1])
def test_requires_grad_of_a_non_bool_is_refused_as_pytorchs(flag):
    # requires_grad_("no") unfroze every parameter: bool("no") is True
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).requires_grad_(flag)
    model = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Linear(2, 1)).requires_grad_(False)
    with pytest.raises(TypeError, match=r"requires_grad must be a bool, got " + repr(flag)):
        model.requires_grad_(flag)
    assert [p.requires_grad for p in model.parameters()] == [False] * 4
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        cr.zeros(2).requires_grad_(flag)


def test_requires_grad_of_a_bool_sets_every_parameter():
    model = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Linear(2, 1))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model[1].requires_grad_()
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
