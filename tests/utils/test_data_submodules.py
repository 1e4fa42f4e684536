"""torch.utils.data's submodules sampler, dataset, dataloader and distributed, which older programs
import from (``from torch.utils.data.sampler import SubsetRandomSampler``): chainrule.utils.data
has them, with the same public names, each the object chainrule.data gives."""

import importlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.data as crdata

SUBMODULES = ("sampler", "dataset", "dataloader", "distributed")


@pytest.mark.torch
@pytest.mark.parametrize("name", SUBMODULES)
def test_submodule_names_match_torch(name):
    torch_mod = importlib.import_module(f"torch.utils.data.{name}")
    ours = importlib.import_module(f"chainrule.utils.data.{name}")
    assert sorted(ours.__all__) == sorted(torch_mod.__all__)
    for n in ours.__all__:
        assert getattr(ours, n) is getattr(crdata, n), n
    assert getattr(cr.utils.data, name) is ours


def test_old_style_imports_build_a_loader():
    from chainrule.utils.data.dataloader import DataLoader, default_collate
    from chainrule.utils.data.dataset import TensorDataset, random_split
    from chainrule.utils.data.sampler import SubsetRandomSampler

    x = cr.tensor(np.arange(20, dtype=np.float32).reshape(10, 2))
    ds = TensorDataset(x, cr.arange(10))
    train, _ = random_split(ds, [8, 2], generator=cr.Generator().manual_seed(0))
    loader = DataLoader(ds, batch_size=4, sampler=SubsetRandomSampler(train.indices),
                        collate_fn=default_collate)
    seen = sorted(int(i) for _, ys in loader for i in ys)
    assert seen == sorted(int(i) for i in train.indices)
