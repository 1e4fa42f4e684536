"""float16 parameters: the optimizer state keeps PyTorch's dtypes (wave 25, modoptim).

A 0-d float16 parameter's ``step`` (and NAdam's ``mu_product``, ASGD's ``eta``/``mu``) became
float16, whose count stops at 2048; a float16 matrix's Adafactor ``row_var``/``col_var`` stayed
float32, so a state-dict round trip changed the run.
"""

import copy

import numpy as np
import pytest

import chainrule as cr

NAMES = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta", "ASGD",
         "Rprop", "Adafactor"]


def _run(lib, name, shape, steps=2):
    p = lib.nn.Parameter(lib.tensor(np.ones(shape, np.float16)))
    opt = getattr(lib.optim, name)([p])
    for i in range(steps):
        p.grad = lib.tensor(np.full(shape, 0.25 * (i + 1), np.float16))
        opt.step()
    return opt.state[p]


@pytest.mark.parametrize("name", NAMES)
def test_zero_d_half_parameter_state_dtypes_as_torch(name):
    torch = pytest.importorskip("torch")
    want = _run(torch, name, ())
    got = _run(cr, name, ())
    assert {k: str(v.dtype).split(".")[-1] for k, v in got.items()} == \
        {k: str(v.dtype).split(".")[-1] for k, v in want.items()}
    for key in ("step", "mu_product", "eta", "mu"):
        if key in want:  # float32 numbers, equal to PyTorch's
            np.testing.assert_allclose(got[key].item(), want[key].item(), rtol=1e-7)


def test_zero_d_half_step_counts_past_2048():
    p = cr.nn.Parameter(cr.tensor(np.float16(1.0)))
    opt = cr.optim.Adam([p])
    p.grad = cr.tensor(np.float16(0.5))
    opt.step()
    opt.state[p]["step"].fill_(2048.0)
    opt.step()
    assert opt.state[p]["step"].item() == 2049.0


def test_adafactor_half_matrix_factors_half_and_resume_bit_equal():
    torch = pytest.importorskip("torch")
    want = _run(torch, "Adafactor", (3, 2))
    assert {k: str(v.dtype) for k, v in _run(cr, "Adafactor", (3, 2)).items()} == \
        {k: str(v.dtype).split(".")[-1] for k, v in want.items()}

    def run(split):
        p = cr.nn.Parameter(cr.tensor(np.linspace(-1, 1, 6).reshape(3, 2).astype(np.float16)))
        opt = cr.optim.Adafactor([p], lr=0.1)
        for t in range(4):
            if t == split:
                saved = copy.deepcopy(opt.state_dict())
                opt = cr.optim.Adafactor([p], lr=0.1)
                opt.load_state_dict(saved)
            p.grad = cr.tensor(np.full((3, 2), 0.3 * (t + 1) - 0.5, np.float16) *
                               np.array([[1.0, -2.0]], np.float16))
            opt.step()
        return p.detach().numpy().copy()

    np.testing.assert_array_equal(run(2), run(None))
