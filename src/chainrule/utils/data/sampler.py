"""``chainrule.utils.data.sampler``: PyTorch's module path ``torch.utils.data.sampler`` for its
samplers (``from torch.utils.data.sampler import ...`` in older programs)."""

from ...data import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler",
           "WeightedRandomSampler"]
