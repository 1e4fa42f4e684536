"""PyTorch's ``torch.version``: the library's version and the toolkits it was built against.

chainrule is Python over NumPy, built against no CUDA, ROCm or XPU toolkit (its GPU arrays come
from CuPy when that is installed), so those entries are None, as in PyTorch's CPU-only build:
``if torch.version.cuda:`` takes the CPU branch.
"""

__version__ = "0.1.0"
cuda: str | None = None
hip: str | None = None
rocm: str | None = None
xpu: str | None = None
debug = False
git_version = "Unknown"

__all__ = ["__version__", "cuda", "debug", "git_version", "hip", "rocm", "xpu"]
