"""energy_score of logits with a masked class (-inf): the log-probability check took the -inf
for the rows' scale, so its tolerance was inf and every such row counted as log-probabilities:
a ValueError where PyTorch's T * logsumexp(z / T) is finite. Log-probabilities with -inf are
still refused."""

import numpy as np
import pytest

from chainrule.robust import energy_score, ood_scores

LOGITS = np.array([[1.0, -np.inf, 2.0], [0.0, 0.5, -np.inf], [-np.inf, -np.inf, 5.0]],
                  dtype="float32")


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_energy_of_masked_logits_matches_torch(temperature):
    torch = pytest.importorskip("torch")
    want = temperature * torch.logsumexp(torch.tensor(LOGITS) / temperature, 1)
    np.testing.assert_allclose(energy_score(LOGITS, temperature), want.numpy(), rtol=1e-6)


def test_masked_log_probabilities_still_refused():
    shifted = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    with pytest.raises(ValueError, match="log-probabilities"):
        energy_score(shifted)


def test_ood_scores_of_masked_logits():
    # energies in: 2.313, 0.974, 5.0; out (logits - 3): each 3 lower; only 0.974 < 2.0 of 9 pairs
    scores = ood_scores(LOGITS, LOGITS - 3.0)
    assert scores["energy"]["auroc"] == pytest.approx(8 / 9)
