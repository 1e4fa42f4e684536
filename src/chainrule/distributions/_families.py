"""PyTorch's per-family submodules of ``torch.distributions``, under the same names:
``torch.distributions.normal.Normal``, ``from torch.distributions.bernoulli import Bernoulli``
(the DeepAR port writes the first). chainrule groups the families by kind in fewer files, so each
name is a module object holding the family's classes, registered in ``sys.modules`` so that both
attribute access and ``from ... import`` find it."""

from __future__ import annotations

import sys
import types

# submodule -> the classes PyTorch's holds (exp_family and utils are real modules)
FAMILIES = {
    "bernoulli": ("Bernoulli",), "beta": ("Beta",), "binomial": ("Binomial",),
    "categorical": ("Categorical",), "cauchy": ("Cauchy",), "chi2": ("Chi2",),
    "continuous_bernoulli": ("ContinuousBernoulli",), "dirichlet": ("Dirichlet",),
    "exponential": ("Exponential",), "fishersnedecor": ("FisherSnedecor",),
    "gamma": ("Gamma",), "generalized_pareto": ("GeneralizedPareto",),
    "geometric": ("Geometric",), "gumbel": ("Gumbel",), "half_cauchy": ("HalfCauchy",),
    "half_normal": ("HalfNormal",), "independent": ("Independent",),
    "inverse_gamma": ("InverseGamma",), "kumaraswamy": ("Kumaraswamy",),
    "laplace": ("Laplace",), "lkj_cholesky": ("LKJCholesky",), "log_normal": ("LogNormal",),
    "logistic_normal": ("LogisticNormal",),
    "lowrank_multivariate_normal": ("LowRankMultivariateNormal",),
    "mixture_same_family": ("MixtureSameFamily",), "multinomial": ("Multinomial",),
    "multivariate_normal": ("MultivariateNormal",), "negative_binomial": ("NegativeBinomial",),
    "normal": ("Normal",), "one_hot_categorical": ("OneHotCategorical",
                                                   "OneHotCategoricalStraightThrough"),
    "pareto": ("Pareto",), "poisson": ("Poisson",),
    "relaxed_bernoulli": ("LogitRelaxedBernoulli", "RelaxedBernoulli"),
    "relaxed_categorical": ("ExpRelaxedCategorical",
                            "RelaxedOneHotCategorical"), "studentT": ("StudentT",),
    "transformed_distribution": ("TransformedDistribution",), "uniform": ("Uniform",),
    "von_mises": ("VonMises",), "weibull": ("Weibull",), "wishart": ("Wishart",),
}


def install(package: str, namespace: dict) -> list[str]:
    """Make each family's module in ``namespace`` (the package's globals) unless a real
    submodule of that name is there already (``gamma.py`` is chainrule's own: it gains the
    missing attributes only where it lacks them); return the names made."""
    made = []
    for name, classes in FAMILIES.items():
        existing = namespace.get(name)
        if isinstance(existing, types.ModuleType):
            if not all(hasattr(existing, c) for c in classes):
                raise RuntimeError(f"distributions.{name} lacks one of {classes}")
            continue
        module = types.ModuleType(f"{package}.{name}",
                                  f"PyTorch's torch.distributions.{name}: {', '.join(classes)}.")
        module.__all__ = list(classes)
        for cls in classes:
            setattr(module, cls, namespace[cls])
        sys.modules[module.__name__] = module
        namespace[name] = module
        made.append(name)
    return made
