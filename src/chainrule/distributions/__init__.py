"""``chainrule.distributions``: PyTorch's ``torch.distributions`` (sampling, log densities,
entropies and KL divergences with gradients) over chainrule Tensors.

>>> import chainrule as cr
>>> from chainrule.distributions import Normal, kl_divergence
>>> q = Normal(cr.tensor([0.5]), cr.tensor([2.0]))
>>> round(kl_divergence(q, Normal(0.0, 1.0)).item(), 4)
0.9319
"""

from . import (
    _families,
    constraint_registry,
    constraints,
    exp_family,  # noqa: F401 - torch.distributions.exp_family
    kl_more,  # noqa: F401 - registers the cross-family KL divergences
    transforms,
    utils,  # noqa: F401 - torch.distributions.utils
)
from .constraint_registry import biject_to, identity_transform, transform_to
from .continuous import Exponential, Laplace, Normal, Uniform
from .continuous_more import ContinuousBernoulli, FisherSnedecor, GeneralizedPareto, VonMises
from .counts import Chi2, Multinomial, NegativeBinomial
from .discrete import Bernoulli, Categorical, OneHotCategorical, OneHotCategoricalStraightThrough
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .gamma import Beta, Binomial, Dirichlet, Gamma, Poisson
from .kl import kl_divergence, register_kl
from .lkj import LKJCholesky
from .lowrank import LowRankMultivariateNormal
from .mixture import MixtureSameFamily
from .more import Cauchy, Geometric, HalfNormal, StudentT
from .multivariate import Independent, MultivariateNormal
from .relaxed import (  # noqa: F401 - the two bases are in the family modules, as PyTorch's
    ExpRelaxedCategorical,
    LogitRelaxedBernoulli,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
)
from .transformed import LogNormal, TransformedDistribution
from .transformed_more import (
    Gumbel,
    HalfCauchy,
    InverseGamma,
    Kumaraswamy,
    LogisticNormal,
    Pareto,
    Weibull,
)
from .transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
)
from .wishart import Wishart

# torch.distributions.normal.Normal and the other per-family modules
_FAMILY_MODULES = _families.install(__name__, globals())

__all__ = ["AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform",
           "Categorical", "Cauchy", "Chi2", "ComposeTransform", "ContinuousBernoulli",
           "CorrCholeskyTransform", "CumulativeDistributionTransform", "Dirichlet", "Distribution",
           "ExpTransform", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
           "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent",
           "IndependentTransform", "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace",
           "LogNormal", "LogisticNormal", "LowRankMultivariateNormal", "LowerCholeskyTransform",
           "MixtureSameFamily", "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
           "PositiveDefiniteTransform", "PowerTransform", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
           "SoftplusTransform", "StackTransform", "StickBreakingTransform", "StudentT",
           "TanhTransform", "Transform", "TransformedDistribution", "Uniform", "VonMises",
           "Weibull", "Wishart", "constraints", "kl_divergence", "register_kl", "transforms",
           "biject_to", "constraint_registry", "identity_transform", "transform_to"]
