"""Wave 23: ``Dataset[...]``, ``Sampler[int]``, ``DataLoader[...]`` as PyTorch's generic classes.

Typed PyTorch code subclasses ``Dataset[tuple[Tensor, int]]`` and annotates ``DataLoader[Tensor]``
(evaluated when the function is defined); chainrule's classes were not subscriptable, so such a
program stopped with ``TypeError: type 'Dataset' is not subscriptable`` before it ran.
"""

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _program(lib, tensor):
    data = lib.utils.data

    class Pairs(data.Dataset[tuple[lib.Tensor, int]]):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return tensor([float(i)]), i

    class Backwards(data.Sampler[int]):
        def __iter__(self):
            return iter(range(4, -1, -1))

        def __len__(self):
            return 5

    class Stream(data.IterableDataset[int]):
        def __iter__(self):
            return iter(range(3))

    def batches(loader: data.DataLoader[lib.Tensor]) -> list:
        return [[field.tolist() for field in batch] for batch in loader]

    mapped = batches(data.DataLoader(Pairs(), sampler=Backwards(), batch_size=2))
    streamed = [b.tolist() for b in data.DataLoader(Stream(), batch_size=2)]
    return mapped, streamed, len(data.Subset[int](Pairs(), [1, 3]))


def test_typed_dataset_sampler_and_loader_run_as_in_pytorch():
    assert _program(cr, cr.tensor) == _program(torch, torch.tensor)
