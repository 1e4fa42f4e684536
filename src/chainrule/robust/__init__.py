"""Robustness: attacks on classifiers, the adversarial patch, adversarial training, shift and OOD.

Attacks (each returns an ``AttackResult``: adversarial inputs, per-example success and norms):
``fgsm``, ``pgd`` (L-infinity and L2, random start, restarts), ``apgd`` (APGD-CE, and APGD-DLR
with ``loss="dlr"``), ``apgd_targeted`` (APGD-T: targeted DLR runs towards the likeliest other
classes), ``cw_l2`` and
``deepfool``; ``robust_accuracy`` scores one over a dataset with a progress bar.
Adversarial training: ``AdversarialTraining``, the Trainer's ``perturb`` hook;
``OverfittingCheck``, the callback that watches it for catastrophic overfitting. The sticker:
``train_patch``, ``patch_success``. Strange inputs: ``pose_curves``, ``confident_mistakes``,
``msp_score``, ``energy_score``, ``auroc``, ``fpr_at_tpr``. See docs/robustness.md.
"""

from ._core import AttackResult
from .apgd import apgd, apgd_checkpoints
from .apgd_targeted import apgd_targeted
from .attacks import NORMS, fgsm, pgd, project
from .evaluate import ATTACKS, accuracy_curve, get_attack, robust_accuracy
from .minimal import cw_l2, deepfool
from .ood import SCORES, auroc, energy_score, fpr_at_tpr, msp_score, ood_scores
from .overfitting import OverfittingCheck
from .patch import apply_patch, patch_side, patch_success, train_patch
from .shift import POSES, confident_mistakes, pose_curves, transform_images, warp
from .training import ADVERSARIAL_METHODS, AdversarialTraining

__all__ = [
    "ADVERSARIAL_METHODS",
    "ATTACKS",
    "AdversarialTraining",
    "AttackResult",
    "NORMS",
    "OverfittingCheck",
    "POSES",
    "SCORES",
    "accuracy_curve",
    "apgd",
    "apgd_checkpoints",
    "apgd_targeted",
    "apply_patch",
    "auroc",
    "confident_mistakes",
    "cw_l2",
    "deepfool",
    "energy_score",
    "fgsm",
    "fpr_at_tpr",
    "get_attack",
    "msp_score",
    "ood_scores",
    "patch_side",
    "patch_success",
    "pgd",
    "pose_curves",
    "project",
    "robust_accuracy",
    "train_patch",
    "transform_images",
    "warp",
]
