"""The optimizers' defaults that PyTorch writes as the int 0 (momentum, dampening,
weight_decay, lr_decay, initial_accumulator_value; ReduceLROnPlateau's min_lr) are ints here too,
so reprs and state dicts read as PyTorch's ("weight_decay: 0", not "0.0"), and a param group
lists its hyperparameters in PyTorch's order (wave 25, modoptim)."""

import pytest

import chainrule as cr

NAMES = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta",
         "ASGD", "Rprop", "Adafactor", "SparseAdam", "LBFGS"]


def _described(lib, name):
    opt = getattr(lib.optim, name)([lib.nn.Parameter(lib.ones(2, 2))])
    group = opt.state_dict()["param_groups"][0]
    return repr(opt), [(k, type(v).__name__, v) for k, v in group.items()]  # in order too


@pytest.mark.parametrize("name", NAMES)
def test_repr_and_param_group_types_as_torch(name):
    torch = pytest.importorskip("torch")
    assert _described(cr, name) == _described(torch, name)


def test_plateau_min_lrs_as_torch():
    torch = pytest.importorskip("torch")
    saved = []
    for lib in (torch, cr):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))])
        state = lib.optim.lr_scheduler.ReduceLROnPlateau(opt).state_dict()
        saved.append([(type(v).__name__, v) for v in (*state["min_lrs"], state["default_min_lr"])])
    assert saved[0] == saved[1] == [("int", 0), ("int", 0)]
