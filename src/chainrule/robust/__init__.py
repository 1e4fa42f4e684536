"""Robustness: attacks on classifiers, the adversarial patch, adversarial training, shift and OOD.

Attacks (each returns an ``AttackResult``: adversarial inputs, per-example success and norms):
``fgsm``, ``pgd`` (L-infinity and L2, random start, restarts), ``apgd`` (APGD-CE), ``cw_l2`` and
``deepfool``; ``robust_accuracy`` scores one over a dataset with a progress bar.
"""

from ._core import AttackResult
from .apgd import apgd, apgd_checkpoints
from .attacks import NORMS, fgsm, pgd, project
from .evaluate import ATTACKS, accuracy_curve, get_attack, robust_accuracy
from .minimal import cw_l2, deepfool
from .patch import apply_patch, patch_side, patch_success, train_patch
from .training import ADVERSARIAL_METHODS, AdversarialTraining

__all__ = [
    "ADVERSARIAL_METHODS",
    "ATTACKS",
    "AdversarialTraining",
    "NORMS",
    "AttackResult",
    "accuracy_curve",
    "apgd",
    "apgd_checkpoints",
    "apply_patch",
    "cw_l2",
    "deepfool",
    "fgsm",
    "get_attack",
    "patch_side",
    "patch_success",
    "pgd",
    "project",
    "robust_accuracy",
    "train_patch",
]
