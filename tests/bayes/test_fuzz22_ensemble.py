"""Ensemble's default output, the log of the averaged softmax, needs classes to average over.

Members with one output per example (regressors, one-logit classifiers) made it
``log softmax`` over one entry: 0 for every input, silently. It is refused, naming
``output='mean'``; with that, the members' outputs are averaged (against PyTorch).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.bayes import Ensemble  # noqa: E402


class _Total(nn.Module):
    def forward(self, x):
        return x.sum()


def test_log_probs_of_one_output_is_refused_and_mean_averages():
    rng = np.random.default_rng(0)
    members = [nn.Linear(3, 1, rng=rng, dtype="float64") for _ in range(3)]
    x = rng.standard_normal((5, 3))
    with pytest.raises(
        ValueError,
        match=r"output='log_probs' .* at least 2 entries; the "
        r"members' outputs have shape \(5, 1\) .*output='mean'",
    ):
        Ensemble(members)(cr.tensor(x))
    with pytest.raises(ValueError, match=r"outputs have shape \(\)"):
        Ensemble([_Total(), _Total()])(cr.tensor(x))
    ref = torch.stack(
        [
            torch.nn.functional.linear(
                torch.tensor(x), torch.tensor(m.weight.numpy()), torch.tensor(m.bias.numpy())
            )
            for m in members
        ]
    ).mean(0)
    got = Ensemble(members, output="mean")(cr.tensor(x)).numpy()
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-12)
    # two classes: the log of the averaged probabilities, as before
    two = [nn.Linear(3, 2, rng=rng, dtype="float64") for _ in range(2)]
    logits = torch.stack([torch.tensor(m(cr.tensor(x)).numpy()) for m in two])
    want = torch.logsumexp(torch.log_softmax(logits, -1), 0) - np.log(2)
    np.testing.assert_allclose(Ensemble(two)(cr.tensor(x)).numpy(), want.numpy(), rtol=1e-12)
