"""Against overfitting, and knowing what the network does not know.

Which curve is more plausible (``plausibility_study``), model averaging (``Ensemble``,
``train_ensemble``, ``Snapshots``), calibration (``expected_calibration_error``, ``nll``,
``brier``, ``TemperatureScaling``, ``mc_dropout_predict``), Bayesian fitting (``LastLayerLaplace``,
``log_evidence``, MacKay's ``evidence_fixed_point``, Bayes by Backprop's ``elbo_loss`` over
``nn.BayesianLinear``) and soft weight sharing (``MixturePrior``). See docs/regularization.md.
"""

from .calibration import (
    TemperatureScaling,
    brier,
    expected_calibration_error,
    mc_dropout_predict,
    mutual_information,
    nll,
    predictive_entropy,
    reliability,
    softmax_probs,
)
from .curves import REGULARIZERS, SIZES, fit_curve, noisy_curve, plausibility_study, true_curve
from .ensemble import Ensemble, Snapshots, snapshot_ensemble, train_ensemble

__all__ = [
    "Ensemble",
    "REGULARIZERS",
    "SIZES",
    "Snapshots",
    "TemperatureScaling",
    "brier",
    "expected_calibration_error",
    "fit_curve",
    "mc_dropout_predict",
    "mutual_information",
    "nll",
    "noisy_curve",
    "plausibility_study",
    "predictive_entropy",
    "reliability",
    "snapshot_ensemble",
    "softmax_probs",
    "train_ensemble",
    "true_curve",
]
