"""A model that gives one score per input, (N,) (a binary classifier's ``.reshape(-1)``), or
logits of more than two axes: fgsm, pgd and apgd failed inside cross-entropy with a message
blaming the labels, and apgd_targeted, deepfool and cw_l2 with an IndexError. Each now says the
model must give logits (N, C), with the shape it gave."""

import numpy as np
import pytest

from chainrule import nn, robust


class _Scores(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.linear, self.shape = nn.Linear(6, 12, rng=np.random.default_rng(0)), shape

    def forward(self, x):
        z = self.linear(x.reshape(x.shape[0], -1))
        if self.shape == "pair":
            return z[:, :4], z
        return z[:, 0] if self.shape is None else z.reshape((x.shape[0],) + self.shape)


ATTACKS = {
    "fgsm": lambda m, x, y: robust.fgsm(m, x, y, eps=0.1),
    "pgd": lambda m, x, y: robust.pgd(m, x, y, eps=0.1, steps=1),
    "apgd_dlr": lambda m, x, y: robust.apgd(m, x, y, eps=0.1, steps=1, loss="dlr"),
    "apgd_targeted": lambda m, x, y: robust.apgd_targeted(m, x, y, eps=0.1, steps=1,
                                                          n_target_classes=1),
    "deepfool": lambda m, x, y: robust.deepfool(m, x, y, steps=1),
    "cw_l2": lambda m, x, y: robust.cw_l2(m, x, y, steps=1, binary_steps=1),
    "pose_curves": lambda m, x, y: robust.pose_curves(m, x.reshape(3, 1, 2, 3), y,
                                                      {"scale": [1.0]}),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("shape", [None, (3, 4)])
def test_logits_of_another_shape_refused(name, shape):
    x = np.random.default_rng(1).uniform(0, 1, (3, 6)).astype("float32")
    got = "(3,)" if shape is None else "(3, 3, 4)"
    if name in ("cw_l2", "pose_curves"):  # they ask the model about one input first
        got = "(1,)" if shape is None else "(1, 3, 4)"
    with pytest.raises(ValueError, match=r"must give logits \(N, C\) .* got shape "
                       + got.replace("(", r"\(").replace(")", r"\)")):
        ATTACKS[name](_Scores(shape), x, np.array([0, 1, 1]))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_pair_of_outputs_refused(name):
    x = np.random.default_rng(1).uniform(0, 1, (3, 6)).astype("float32")
    with pytest.raises(ValueError, match=r"must give logits \(N, C\) .* got a tuple"):
        ATTACKS[name](_Scores("pair"), x, np.array([0, 1, 1]))
