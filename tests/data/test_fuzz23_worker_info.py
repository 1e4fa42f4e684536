"""Wave 23: a ``WorkerInfo`` cannot be changed, as PyTorch's (torch 2.13).

``get_worker_info().id = 0`` was taken: a stream that shards itself by the worker's id then read
worker 0's share in every worker, repeating samples and dropping the others in silence. PyTorch
refuses it (a frozen dataclass: ``FrozenInstanceError: cannot assign to field 'id'``).
"""

import dataclasses

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def test_assigning_to_a_worker_info_is_refused_and_the_shards_stay_whole():
    refused = []

    def init(worker_id):
        info = cr.data.get_worker_info()
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'id'"):
            info.id = 0
        refused.append(info.id == worker_id)

    class Shards(cr.data.IterableDataset):
        def __iter__(self):
            info = cr.data.get_worker_info()
            return iter(range(info.id, 6, info.num_workers))

    loader = cr.data.DataLoader(Shards(), batch_size=2, num_workers=2, worker_init_fn=init)
    assert sorted(x for b in loader for x in b.tolist()) == list(range(6))
    assert refused == [True, True]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'id'"):
        torch.utils.data._utils.worker.WorkerInfo(id=0, num_workers=1, seed=0, dataset=None).id = 1
