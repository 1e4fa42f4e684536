"""What ``Trainer.predict`` returns for inputs that hold no samples."""

from __future__ import annotations

from ..autograd import no_grad
from ..backend import asnumpy
from ..data import ArrayDataset, DataLoader
from ._checks import eval_mode

__all__ = ["empty_output"]


def empty_output(trainer, loader: DataLoader, drop_target: bool):
    """The model's output for an empty batch, shaped ``(0, *output)`` as a non-empty
    ``predict``'s (PyTorch's ``model(x[:0])``), in the output's dtype; ``drop_target``: the
    last array of a Dataset given to ``predict`` is the target, not an input.

    Arrays (wrapped in an ``ArrayDataset`` by ``predict``) give the empty batch ``x[:0]``; an
    empty Dataset or DataLoader of another kind has no sample to take the shape of, so that is a
    ValueError rather than a ``(0,)`` array no model would return.
    """
    dataset = getattr(loader, "dataset", None)
    if not isinstance(dataset, ArrayDataset):
        raise ValueError(
            f"predict: x yields no batches ({type(dataset).__name__} of length 0?), so the shape "
            "of the model's output is unknown; pass the inputs as arrays (an empty array "
            "gives an empty (0, ...) output) or skip predict for no samples"
        )
    arrays = dataset.arrays[:-1] if drop_target and len(dataset.arrays) > 1 else dataset.arrays
    batch = trainer._to_tensors(tuple(a[:0] for a in arrays))
    try:
        with no_grad(), eval_mode(trainer.model):
            return asnumpy(trainer.model(*batch)._data)
    except Exception as error:
        shapes = ", ".join(str(tuple(t.shape)) for t in batch)
        raise ValueError(
            f"predict: x holds no samples and the model cannot run an empty batch of shape "
            f"{shapes} to tell the shape of its output ({type(error).__name__}: {error})"
        ) from error
