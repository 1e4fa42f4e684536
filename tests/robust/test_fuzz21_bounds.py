"""Twenty-first fuzz wave, robust: every attack's output inside the box for any bounds, float32 too.

Before, Carlini & Wagner's change of variables ``low + (high - low) (tanh(w) + 1) / 2`` rounded
one unit in the last place past ``high`` in float32 where ``tanh(w)`` reached 1 (bounds (0.1,
0.7): 0.70000005), and the attack returned those points as they were.
"""

import numpy as np
import pytest

from chainrule import Tensor, nn, robust


def _setup(dtype, bounds, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Linear(12, 3, rng=rng).to(dtype=dtype)
    model.load_state_dict(
        {"weight": (rng.normal(size=(3, 12)) * 5).astype(dtype), "bias": np.zeros(3, dtype)}
    )
    x = rng.uniform(bounds[0], bounds[1], size=(8, 12)).astype(dtype)
    x[:, :4], x[:, 4:8] = bounds[1], bounds[0]  # pixels on the box's edges
    x = np.clip(x, bounds[0], bounds[1])
    return model, x, model(Tensor(x))._data.argmax(axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bounds", [(0.1, 0.7), (-0.4242, 2.8215)])
def test_cw_l2_stays_inside_the_box(dtype, bounds):
    model, x, y = _setup(dtype, bounds)
    res = robust.cw_l2(model, x, y, c=10.0, steps=20, lr=0.5, binary_steps=1, bounds=bounds)
    adv = res.adversarial
    assert adv.dtype == dtype and res.success.all()
    assert (adv >= bounds[0]).all() and (adv <= bounds[1]).all()
