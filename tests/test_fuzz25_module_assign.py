"""``load_state_dict(sd, assign=True)`` of a state dict holding Parameters (``state_dict(
keep_vars=True)``) takes those Parameters themselves, as PyTorch's (wave 25, modoptim).

Before, each was wrapped in a new Parameter sharing its memory, so the two models' gradients
went to different objects: an optimizer over the first model's parameters saw no gradient from
the second's backward.
"""

import numpy as np
import pytest

import chainrule as cr


def _tie(lib):
    a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
    b.bias.requires_grad_(False)
    b.load_state_dict(a.state_dict(keep_vars=True), assign=True)
    b(lib.ones(1, 2)).sum().backward()
    return (b.weight is a.weight, b.bias is a.bias, a.bias.requires_grad,
            None if a.weight.grad is None else a.weight.grad.tolist())


def test_assign_takes_the_state_dicts_parameters():
    torch = pytest.importorskip("torch")
    assert _tie(cr) == _tie(torch) == (True, True, False, [[1.0, 1.0], [1.0, 1.0]])


def test_assign_of_a_one_element_parameter_into_a_0d_one_makes_a_new_one():
    class M(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = cr.nn.Parameter(cr.tensor(1.0))

    given = cr.nn.Parameter(cr.tensor([3.0]))
    m = M()
    m.load_state_dict({"w": given}, assign=True)
    assert m.w is not given and m.w.shape == () and m.w.item() == 3.0


def test_assign_into_a_lazy_module_before_its_first_call():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (torch, cr):
        source = lib.nn.Linear(3, 2)
        lazy = lib.nn.LazyLinear(2)
        lazy.load_state_dict(source.state_dict(), assign=True)  # was a RuntimeError (no shape)
        y = lazy(lib.ones(1, 3))
        out.append((tuple(lazy.weight.shape), lazy.weight.requires_grad, type(lazy).__name__,
                    np.allclose(y.detach().numpy(), source(lib.ones(1, 3)).detach().numpy())))
    assert out[1] == out[0] == ((2, 3), True, "Linear", True)


def test_a_lazy_modules_state_before_its_first_call_loads_as_uninitialized():
    torch = pytest.importorskip("torch")
    out = []
    for lib, source in ((torch, torch.nn.LazyLinear(2)), (cr, cr.nn.LazyLinear(2)),
                        (cr, torch.nn.LazyLinear(2))):
        lazy = lib.nn.LazyLinear(2)
        result = lazy.load_state_dict(source.state_dict())  # was materialized with shape (0,)
        uninitialized = lazy.has_uninitialized_params()
        lazy(lib.ones(1, 3))  # then an IndexError here
        out.append((str(result), uninitialized, tuple(lazy.weight.shape)))
    assert out[0] == out[1] == out[2] == ("<All keys matched successfully>", True, (2, 3))
    with pytest.raises(ValueError, match=r"weight: the state's value is uninitialized"):
        cr.nn.Linear(3, 2).load_state_dict(cr.nn.LazyLinear(2).state_dict())


def test_a_lazy_modules_state_keeps_uninitialized_through_save_and_load():
    import io

    buffer = io.BytesIO()
    cr.save(cr.nn.Sequential(cr.nn.LazyLinear(2), cr.nn.LazyBatchNorm1d()).state_dict(), buffer)
    buffer.seek(0)
    model = cr.nn.Sequential(cr.nn.LazyLinear(2), cr.nn.LazyBatchNorm1d())
    model.load_state_dict(cr.load(buffer))  # was (0,)-shaped Parameters: materialized so
    assert model[0].has_uninitialized_params() and model[1].has_uninitialized_params()
    assert model(cr.ones(3, 4)).shape == (3, 2)
