"""``chainrule.utils.data.dataloader``: PyTorch's module path for its ``DataLoader`` and its
collate functions (``from torch.utils.data.dataloader import ...`` in older programs)."""

from ...data import (
    DataLoader,
    default_collate,
    default_convert,
    get_worker_info,
)

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]
