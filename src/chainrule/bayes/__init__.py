"""Against overfitting, and knowing what the network does not know.

Which curve is more plausible (``plausibility_study``), model averaging (``Ensemble``,
``train_ensemble``, ``Snapshots``), calibration (``expected_calibration_error``, ``nll``,
``brier``, ``TemperatureScaling``, ``mc_dropout_predict``), Bayesian fitting
(``LastLayerLaplace``, ``DiagonalLaplace``, ``KFACLaplace``, ``log_evidence``, MacKay's
``evidence_fixed_point``, Bayes by Backprop's ``elbo_loss`` over ``nn.BayesianLinear``;
``to_bayesian`` converts any model) and soft weight sharing (``MixturePrior``). See
docs/regularization.md.
"""

from . import figures
from .bbb import bayesian_mlp, elbo_loss, kl_divergence, sample_predict
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
from .convert import to_bayesian
from .curves import REGULARIZERS, SIZES, fit_curve, noisy_curve, plausibility_study, true_curve
from .diag_laplace import DiagonalLaplace
from .ensemble import Ensemble, Snapshots, snapshot_ensemble, train_ensemble
from .evidence import (
    choose_weight_decay,
    evidence_fixed_point,
    fit_map,
    jacobian,
    linear_evidence,
    log_evidence,
)
from .kfac import KFACLaplace
from .laplace import LastLayerLaplace, hessian, split_last_layer
from .soft_sharing import SHARED_LAYERS, MixturePrior, shared_weights, sharing_loss

__all__ = [
    "DiagonalLaplace",
    "figures",
    "Ensemble",
    "KFACLaplace",
    "LastLayerLaplace",
    "MixturePrior",
    "REGULARIZERS",
    "SHARED_LAYERS",
    "SIZES",
    "Snapshots",
    "TemperatureScaling",
    "bayesian_mlp",
    "brier",
    "choose_weight_decay",
    "elbo_loss",
    "evidence_fixed_point",
    "expected_calibration_error",
    "fit_curve",
    "fit_map",
    "hessian",
    "jacobian",
    "kl_divergence",
    "linear_evidence",
    "log_evidence",
    "mc_dropout_predict",
    "mutual_information",
    "nll",
    "noisy_curve",
    "plausibility_study",
    "predictive_entropy",
    "reliability",
    "sample_predict",
    "shared_weights",
    "sharing_loss",
    "snapshot_ensemble",
    "softmax_probs",
    "split_last_layer",
    "train_ensemble",
    "to_bayesian",
    "true_curve",
]
