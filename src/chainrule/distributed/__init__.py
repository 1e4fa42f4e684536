"""``chainrule.distributed``: PyTorch's ``torch.distributed`` for a world of one process.

Scripts written for several processes (nanoGPT's ``train.py``, the DETR/DINO/MAE ``utils``
helpers ``is_dist_avail_and_initialized``, ``get_rank``, ``is_main_process``) import these names
and call them only when a launcher set ``RANK``/``WORLD_SIZE``; in one process they must still
import and answer. ``init_process_group`` makes the default group of a world of one (rank 0,
world size 1: any backend name, ``init_method`` and ``store`` are accepted, as nothing is sent);
a larger ``world_size`` (given or from the ``WORLD_SIZE`` variable) is refused, as chainrule runs
one process. The collectives then do what they do in a world of one: ``all_reduce`` (any
``ReduceOp``), ``broadcast``, ``reduce`` and ``barrier`` leave the tensor as it is,
``all_gather``/``all_gather_object`` fill the one-entry list with the input. Before
``init_process_group`` they raise PyTorch's ValueError ("Default process group has not been
initialized...").
"""

from __future__ import annotations

import enum

from ..backend.settings import launcher_variable
from ..backend.world import default_group, set_default_group

__all__ = ["ReduceOp", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce",
           "barrier", "broadcast", "broadcast_object_list", "destroy_process_group",
           "get_backend", "get_rank", "get_world_size", "init_process_group", "is_available",
           "is_initialized", "is_mpi_available", "is_nccl_available",
           "is_torchelastic_launched", "reduce"]


class ReduceOp(enum.Enum):
    """How ``all_reduce``/``reduce`` combine the ranks' tensors (one rank here: no change)."""
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8


class _Work:
    """What an ``async_op=True`` collective returns: already complete."""

    def wait(self, timeout=None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True


def _done(async_op):
    return _Work() if async_op else None


def is_available() -> bool:
    """True: the API is here (for a world of one process)."""
    return True


def is_initialized() -> bool:
    return default_group() is not None


def is_nccl_available() -> bool:
    return False


def is_mpi_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return launcher_variable("TORCHELASTIC_RUN_ID") is not None


def _one(name, value, env):
    if value in (None, -1):
        value = int(launcher_variable(env) or (1 if name == "world_size" else 0))
    want = 1 if name == "world_size" else 0
    if value != want:
        raise RuntimeError(f"init_process_group: chainrule runs one process, so {name} must be "
                           f"{want}, got {value} (set by the argument or {env})")


def init_process_group(backend=None, init_method=None, timeout=None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Make the default group of a world of one process (see the module docstring)."""
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    _one("world_size", world_size, "WORLD_SIZE")
    _one("rank", rank, "RANK")
    set_default_group(str(backend) if backend is not None else "gloo")


def destroy_process_group(group=None) -> None:
    default_group("destroy_process_group")
    set_default_group(None)


def get_backend(group=None) -> str:
    return default_group("get_backend")


def get_rank(group=None) -> int:
    default_group("get_rank")
    return 0


def get_world_size(group=None) -> int:
    default_group("get_world_size")
    return 1


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    default_group("barrier")
    return _done(async_op)


def _check_op(name, op):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{name}: op must be a ReduceOp (e.g. ReduceOp.SUM), got {op!r}")


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` over the ranks in place: with one rank it stays as it is."""
    default_group("all_reduce")
    _check_op("all_reduce", op)
    return _done(async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op: bool = False, group_dst=None):
    default_group("reduce")
    _check_op("reduce", op)
    _check_rank("reduce", "dst", dst if group_dst is None else group_dst)
    return _done(async_op)


def _check_rank(name, arg, value):
    if value not in (None, 0):
        raise ValueError(f"{name}: {arg} must be rank 0 (the only rank), got {value!r}")


def broadcast(tensor, src=None, group=None, async_op: bool = False, group_src=None):
    default_group("broadcast")
    _check_rank("broadcast", "src", src if group_src is None else group_src)
    return _done(async_op)


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    default_group("broadcast_object_list")
    _check_rank("broadcast_object_list", "src", src if group_src is None else group_src)


def _one_entry(name, output):
    if len(output) != 1:
        raise ValueError(f"{name}: the output list must have one entry per rank (1), got "
                         f"{len(output)}")


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """``tensor_list[0]`` becomes a copy of ``tensor`` (the world's only rank)."""
    default_group("all_gather")
    _one_entry("all_gather", tensor_list)
    tensor_list[0].copy_(tensor)
    return _done(async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    default_group("all_gather_into_tensor")
    output_tensor.copy_(input_tensor.reshape(output_tensor.shape))
    return _done(async_op)


def all_gather_object(object_list, obj, group=None) -> None:
    default_group("all_gather_object")
    _one_entry("all_gather_object", object_list)
    object_list[0] = obj
