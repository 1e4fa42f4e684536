"""Twenty-first fuzz wave, robust: the energy score of a model that ends in ``log_softmax``.

Before, ``energy_score`` (and ``ood_scores``) took log-probabilities as logits: ``logsumexp`` of
a row of log-probabilities is 0, so every input scored 0 and the energy's AUROC was 0.5, a
plausible number for a score that never saw the logits. Such rows are now refused; the maximum
softmax probability, the same for logits and log-probabilities, is still taken.
"""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

from chainrule import robust  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_probabilities_are_refused_by_the_energy_score(dtype):
    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(20, 10)) * 5).astype(dtype)
    log_probs = torch.log_softmax(torch.from_numpy(logits), dim=1).numpy()
    np.testing.assert_allclose(
        robust.energy_score(logits, 2.0),
        (2.0 * torch.logsumexp(torch.from_numpy(logits) / 2.0, dim=1)).numpy(),
        rtol=1e-6,
    )
    np.testing.assert_allclose(robust.msp_score(log_probs), robust.msp_score(logits), rtol=1e-5)
    for call in (
        lambda: robust.energy_score(log_probs),
        lambda: robust.energy_score(log_probs, temperature=2.0),
        lambda: robust.ood_scores(logits, log_probs),
    ):
        with pytest.raises(ValueError, match="log-probabilities .* pass the logits"):
            call()
    # one row whose logsumexp happens to be 0 is a row of logits like any other
    assert robust.energy_score(np.vstack([log_probs[:1], logits[1:]])).shape == (20,)
