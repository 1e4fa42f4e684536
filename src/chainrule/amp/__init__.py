"""``chainrule.amp``: PyTorch's loss scaling (``GradScaler``, ``grad_scaler.py``) and its
``autocast`` switch (``autocast_mode.py``: no automatic casting behind it; it runs disabled
where PyTorch's would and raises where PyTorch's would be enabled)."""

import types

from .autocast_mode import (
    autocast,
    clear_autocast_cache,
    custom_bwd,
    custom_fwd,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_available,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    legacy,
)
from .grad_scaler import GradScaler, _CpuGradScaler, _CudaGradScaler

__all__ = ["GradScaler", "autocast", "clear_autocast_cache", "cpu_amp", "cuda_amp", "custom_bwd",
           "custom_fwd", "get_autocast_cpu_dtype", "get_autocast_dtype", "get_autocast_gpu_dtype",
           "is_autocast_available", "is_autocast_cache_enabled", "is_autocast_cpu_enabled",
           "is_autocast_enabled"]

cuda_amp = types.SimpleNamespace(GradScaler=_CudaGradScaler, autocast=legacy.cuda,
                                 custom_fwd=legacy.cuda_custom_fwd,
                                 custom_bwd=legacy.cuda_custom_bwd)
cuda_amp.__doc__ = "``chainrule.cuda.amp``: PyTorch's older ``torch.cuda.amp`` spellings."
cpu_amp = types.SimpleNamespace(GradScaler=_CpuGradScaler, autocast=legacy.cpu)
cpu_amp.__doc__ = "``chainrule.cpu.amp``: PyTorch's older ``torch.cpu.amp`` spellings."
del types
