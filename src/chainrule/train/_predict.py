"""What ``Trainer.predict`` returns: the batches' outputs joined, or for no samples the output
of an empty batch; a model with several outputs gives a tuple of arrays (Keras' list)."""

from __future__ import annotations

from ..autograd import Tensor, no_grad
from ..backend import asnumpy, numpy
from ..data import ArrayDataset, DataLoader
from ..nn.modes import eval_mode

__all__ = ["empty_output", "host_output", "join_outputs"]


def host_output(out):
    """One batch's output on the host: an array, or a tuple of arrays for a model that returns
    a tuple (or list) of Tensors; anything else is a TypeError naming it."""
    if isinstance(out, (tuple, list)):
        return tuple(host_output(o) for o in out)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"predict: the model returned {type(out).__name__}; expected a Tensor "
            "or a tuple of Tensors"
        )
    return asnumpy(out._data)


def join_outputs(outputs: list):
    """The batches' outputs concatenated along the batch axis (each output of a tuple)."""
    if isinstance(outputs[0], tuple):
        return tuple(join_outputs([o[i] for o in outputs]) for i in range(len(outputs[0])))
    return numpy.concatenate(outputs)


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
            return host_output(trainer.model(*batch))
    except Exception as error:
        shapes = ", ".join(str(tuple(t.shape)) for t in batch)
        raise ValueError(
            f"predict: x holds no samples and the model cannot run an empty batch of shape "
            f"{shapes} to tell the shape of its output ({type(error).__name__}: {error})"
        ) from error
