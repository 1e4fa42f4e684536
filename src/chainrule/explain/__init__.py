"""Explaining a trained network: attributions, feature visualization, pruning and rule extraction.

The lecture names three remedies for a network's poor interpretability, and this package has
all three, for any chainrule model:

* sensitivity analysis: per-sample attributions (``saliency``, ``gradient_x_input``,
  ``smoothgrad``, ``integrated_gradients``, ``gradient_shap``, ``occlusion``, ``feature_ablation``,
  ``deeplift``, ``deeplift_shap``, ``layer_integrated_gradients``, ``shapley_values``,
  ``shapley_value_sampling``, ``feature_permutation``, ``lrp`` (per-layer rules), ``noise_tunnel``,
  ``guided_backprop``, ``deconvnet``)
  and global sensitivity over a dataset (``mean_abs_gradient``, ``permutation_importance``,
  ``sensitivity_rules``);
* feature visualization of convolutional nets (``first_layer_filters``, ``top_activating_patches``,
  ``activation_maximization``, ``grad_cam``, ``guided_grad_cam``);
* pruning (``prune_magnitude``, ``prune_units``, ``obd_saliency``, ``prune_by_saliency``,
  ``prune_iteratively``, with masks that survive training and checkpoints) and rule extraction
  by pruning, NeuroRule (``neurorule``, ``induce_rules``).

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn
>>> from chainrule.explain import saliency
>>> model = nn.Linear(3, 2)
>>> with cr.no_grad():
...     _ = model.weight.copy_(np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], dtype=np.float32))
>>> saliency(model, np.ones((1, 3), dtype=np.float32), target=0).tolist()
[[1.0, 2.0, 3.0]]
"""

from ._common import predict_scores
from .ablation import feature_ablation, occlusion
from .attribution import (
    IntegratedGradients,
    gradient_shap,
    gradient_x_input,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from .cam import grad_cam, guided_grad_cam, upsample_nearest
from .conductance import layer_conductance
from .deeplift import deeplift
from .extraction import NeuroRuleResult, compare_decision_tree, neurorule
from .features import (
    activation_maximization,
    first_layer_filters,
    layer_activations,
    project_activation,
    receptive_field,
    top_activating_patches,
)
from .guided import GuidedReLU, deconvnet, guided_backprop, relu_rule
from .layer_ig import layer_integrated_gradients
from .lrp import lrp
from .lrp_assign import RULE_NAMES, composite_rules
from .lrp_rules import (
    AlphaBetaRule,
    EpsilonRule,
    FlatRule,
    GammaRule,
    IdentityRule,
    LRPRule,
    WSquareRule,
    ZBRule,
    ZeroRule,
)
from .noise_tunnel import noise_tunnel
from .permutation import feature_permutation
from .prune import (
    KeepPruned,
    apply_mask,
    masks,
    obd_saliency,
    prunable,
    prune_by_saliency,
    prune_iteratively,
    prune_magnitude,
    prune_units,
    reapply_masks,
    remove_masks,
    restore_masks,
    sparsity,
    sparsity_schedule,
)
from .rules import Rule, RuleSet, induce_rules
from .sensitivity import (
    SensitivityRule,
    mean_abs_gradient,
    permutation_importance,
    sensitivity_rules,
)
from .shap import deeplift_shap
from .shapley import shapley_value_sampling, shapley_values
from .tabular import TABULAR_DATASETS, Attribute, Encoding, TabularData, load_tabular, monk

__all__ = [
    "RULE_NAMES",
    "TABULAR_DATASETS",
    "AlphaBetaRule",
    "Attribute",
    "Encoding",
    "EpsilonRule",
    "FlatRule",
    "GammaRule",
    "GuidedReLU",
    "IdentityRule",
    "IntegratedGradients",
    "KeepPruned",
    "LRPRule",
    "NeuroRuleResult",
    "Rule",
    "RuleSet",
    "SensitivityRule",
    "TabularData",
    "WSquareRule",
    "ZBRule",
    "ZeroRule",
    "activation_maximization",
    "apply_mask",
    "compare_decision_tree",
    "composite_rules",
    "deconvnet",
    "deeplift",
    "deeplift_shap",
    "feature_ablation",
    "feature_permutation",
    "first_layer_filters",
    "grad_cam",
    "guided_grad_cam",
    "gradient_shap",
    "gradient_x_input",
    "induce_rules",
    "guided_backprop",
    "integrated_gradients",
    "layer_activations",
    "layer_conductance",
    "layer_integrated_gradients",
    "load_tabular",
    "lrp",
    "masks",
    "mean_abs_gradient",
    "monk",
    "neurorule",
    "noise_tunnel",
    "obd_saliency",
    "occlusion",
    "permutation_importance",
    "predict_scores",
    "project_activation",
    "prunable",
    "prune_by_saliency",
    "prune_iteratively",
    "prune_magnitude",
    "prune_units",
    "reapply_masks",
    "receptive_field",
    "relu_rule",
    "remove_masks",
    "restore_masks",
    "saliency",
    "sensitivity_rules",
    "shapley_value_sampling",
    "shapley_values",
    "smoothgrad",
    "sparsity",
    "sparsity_schedule",
    "top_activating_patches",
    "upsample_nearest",
]
