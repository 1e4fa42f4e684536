"""Module.half() casts the floating-point parameters and buffers to float16, as PyTorch's."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.torch
def test_half_matches_pytorch():
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float16)
    out = {}
    for L in (cr, torch):
        model = L.nn.Sequential(L.nn.Linear(4, 2), L.nn.BatchNorm1d(2))
        with L.no_grad():
            model[0].weight.copy_(L.tensor(np.linspace(-1, 1, 8).reshape(2, 4)))
            model[0].bias.fill_(0.25)
        assert model.half() is model
        model.eval()
        dtypes = [str(v.dtype).replace("torch.", "") for v in model.state_dict().values()]
        out[L.__name__] = (dtypes, model(L.tensor(x0)).detach().numpy())
    ours, theirs = out["chainrule"], out["torch"]
    assert ours[0] == theirs[0] == ["float16"] * 6 + ["int64"]
    assert ours[1].dtype == np.float16
    np.testing.assert_allclose(ours[1].astype(np.float64), theirs[1].astype(np.float64),
                               rtol=2e-3, atol=2e-3)
