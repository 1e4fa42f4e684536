"""Every differentiable primitive of chainrule, one family per module.

Importing this package also attaches the operators and methods of ``Tensor`` (``+``, ``@``,
``.sum()``, ``.relu()`` ...); each family's module ends with the block that attaches its own.
"""

from . import (
    activation,
    attention,
    conv,
    creation,
    creation_extra,
    elementwise,
    indexing,
    join,
    linalg,
    loss,
    methods,
    normalization,
    order_stats,
    pool,
    pool_norms,
    products,
    rearrange,
    reduce,
    scan,
    select,
    shape,
    shape_extra,
    special_fns,
    stats,
    unpool,
    volume_pool,
    volumetric,
)
from . import dropout as _dropout  # the module; `dropout` below is the function
from . import einsum as _einsum  # the module; `einsum` below is the function
from . import embedding_bag as _embedding_bag  # likewise
from . import group_norm as _group_norm  # likewise
from . import inplace_callable as _inplace_callable  # noqa: F401 - apply_, map_, map2_ likewise
from . import inplace_math as _inplace_math  # noqa: F401 - attaches lgamma_, addmm_, ... to Tensor
from . import inplace_methods as _inplace_methods  # noqa: F401 - tan_, eq_, random_, ... likewise
from . import inplace_more as _inplace_more  # noqa: F401 - cumsum_, gcd_, index_put_, ... likewise
from . import math as _math
from . import repeat as _repeat  # the module; `repeat` below is the function
from . import softmax as _softmax  # the module; `softmax` below is the function
from . import tensor_dunders as _tensor_dunders  # noqa: F401 - in, <<, &=, %= ... on Tensor
from . import tensor_info as _tensor_info  # noqa: F401 - stride, data_ptr, mH, layout...
from . import torch_lowrank as _torch_lowrank  # noqa: F401 - nonzero_static, igamma methods
from . import torch_math as _torch_math  # noqa: F401 - attaches addcmul, ldexp, real... to Tensor
from . import torch_names as _torch_names  # noqa: F401 - attaches select, bitwise_left_shift... to Tensor
from . import torch_scatter as _torch_scatter  # noqa: F401 - index_copy, slice_scatter...
from . import torch_stats as _torch_stats  # noqa: F401 - attaches cov, corrcoef, renorm... to Tensor
from . import torch_windows as _torch_windows  # noqa: F401 - hann_window...
from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .creation import *  # noqa: F403
from .creation_extra import *  # noqa: F403
from .dropout import *  # noqa: F403
from .einsum import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .embedding_bag import *  # noqa: F403
from .fminmax import fmax, fmin
from .group_norm import *  # noqa: F403
from .indexing import *  # noqa: F403
from .join import *  # noqa: F403
from .linalg import *  # noqa: F403
from .loss import *  # noqa: F403
from .math import *  # noqa: F403
from .methods import *  # noqa: F403
from .normalization import *  # noqa: F403
from .order_stats import *  # noqa: F403
from .pool import *  # noqa: F403
from .pool_norms import *  # noqa: F403
from .products import *  # noqa: F403
from .rearrange import *  # noqa: F403
from .reduce import *  # noqa: F403
from .repeat import *  # noqa: F403
from .scan import *  # noqa: F403
from .scatter_reduce import scatter_reduce
from .select import *  # noqa: F403
from .shape import *  # noqa: F403
from .shape import sum_to
from .shape_extra import *  # noqa: F403
from .softmax import *  # noqa: F403
from .special_fns import *  # noqa: F403
from .stats import *  # noqa: F403
from .unique import unique_consecutive
from .unpool import *  # noqa: F403
from .volume_pool import *  # noqa: F403
from .volumetric import *  # noqa: F403

__all__ = (
    ["sum_to"]  # broadcast_to comes with shape.__all__
    + activation.__all__
    + attention.__all__
    + conv.__all__
    + creation.__all__
    + creation_extra.__all__
    + _dropout.__all__
    + elementwise.__all__
    + _einsum.__all__
    + _embedding_bag.__all__
    + _group_norm.__all__
    + indexing.__all__
    + join.__all__
    + linalg.__all__
    + loss.__all__
    + _math.__all__
    + methods.__all__
    + normalization.__all__
    + order_stats.__all__
    + pool.__all__
    + products.__all__
    + rearrange.__all__
    + reduce.__all__
    + scan.__all__
    + _repeat.__all__
    + select.__all__
    + ["scatter_reduce"]  # ops/scatter_reduce.py (the module's name is the function's)
    + ["unique_consecutive", "fmax", "fmin"]
    + shape.__all__
    + shape_extra.__all__
    + special_fns.__all__
    + _softmax.__all__
    + stats.__all__
    + pool_norms.__all__
    + unpool.__all__
    + volume_pool.__all__
    + volumetric.__all__
)

# last: wraps Tensor.add_, addcmul_... that the modules above attached (PyTorch's deprecated
# positional overloads, add_(alpha, other))
from . import deprecated_overloads as _deprecated_overloads  # noqa: E402, F401, I001
