"""``chainrule.utils.data.distributed``: PyTorch's module path for its ``DistributedSampler``
(``from torch.utils.data.distributed import ...`` in older programs)."""

from ...data import (
    DistributedSampler,
)

__all__ = ["DistributedSampler"]
