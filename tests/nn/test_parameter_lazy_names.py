"""torch.nn.parameter's lazy names: UninitializedParameter, UninitializedBuffer and is_lazy, as
parameter-counting code and the d2l.ai book check them, against PyTorch."""

import pytest

import chainrule

torch = pytest.importorskip("torch")


def _answers(lib):
    P = lib.nn.parameter
    linear, norm = lib.nn.LazyLinear(2), lib.nn.LazyBatchNorm1d()
    before = [isinstance(linear.weight, P.UninitializedParameter),
              isinstance(norm.running_mean, P.UninitializedBuffer),
              isinstance(norm.weight, P.UninitializedParameter),
              P.is_lazy(linear.weight), P.is_lazy(norm.running_var),
              P.is_lazy(lib.nn.Linear(2, 2).weight), P.is_lazy(lib.zeros(2)),
              sum(p.numel() for p in linear.parameters()
                  if not isinstance(p, P.UninitializedParameter))]
    linear(lib.ones(3, 4))
    norm(lib.ones(3, 4))
    after = [isinstance(linear.weight, P.UninitializedParameter),
             isinstance(linear.weight, P.Parameter), P.is_lazy(linear.weight),
             P.is_lazy(norm.running_mean),
             sum(p.numel() for p in linear.parameters()
                 if not isinstance(p, P.UninitializedParameter))]
    return before, after


def test_lazy_names_of_nn_parameter_answer_as_pytorchs():
    assert _answers(chainrule) == _answers(torch) == (
        [True, True, True, True, True, False, False, 0], [False, True, False, False, 10])
    assert chainrule.nn.parameter.UninitializedParameter is chainrule.nn.UninitializedParameter
    assert chainrule.nn.parameter.UninitializedBuffer is chainrule.nn.UninitializedBuffer


@pytest.mark.kernel_free
def test_unknown_name_of_nn_parameter_is_an_attribute_error():
    with pytest.raises(AttributeError, match="UninitializedTensor"):
        chainrule.nn.parameter.UninitializedTensor  # noqa: B018
