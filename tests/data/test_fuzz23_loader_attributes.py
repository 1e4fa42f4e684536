"""Wave 23: a built DataLoader's options of the batches are fixed, as PyTorch's (torch 2.13).

Before, ``loader.batch_size = 3`` was taken by the next pass while ``loader.batch_sampler`` (built
from the old value) still said 2, and ``batch_size = None`` still batched (one sample a batch);
PyTorch refuses every such assignment with a ValueError.
"""

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402

_FROZEN = [
    ("batch_size", 3),
    ("batch_size", None),
    ("drop_last", True),
    ("sampler", [1, 0]),
    ("batch_sampler", [[1, 0]]),
    ("persistent_workers", True),
]


@pytest.mark.parametrize(("name", "value"), _FROZEN)
def test_setting_an_option_of_the_batches_is_refused_as_pytorch(name, value):
    message = f"{name} attribute should not be set after DataLoader is initialized"
    theirs = torch.utils.data.DataLoader(list(range(5)), batch_size=2)
    with pytest.raises(ValueError, match=message):
        setattr(theirs, name, value)
    ours = cr.data.DataLoader(list(range(5)), batch_size=2)
    with pytest.raises(ValueError, match=message):
        setattr(ours, name, value)
    assert [b.tolist() for b in ours] == [[0, 1], [2, 3], [4]]  # the loader is unchanged
    assert len(ours) == 3 and ours.batch_size == 2 and ours.batch_sampler.batch_size == 2


def test_other_attributes_and_the_dataset_may_be_set():
    loader = cr.data.DataLoader(list(range(5)), batch_size=2)
    loader.collate_fn_note = "mine"  # any attribute of the user's own, as on PyTorch's
    loader.dataset = [7, 8, 9]  # chainrule's: the next pass reads the new dataset
    assert [b.tolist() for b in loader] == [[7, 8], [9]] and len(loader) == 2
