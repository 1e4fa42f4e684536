"""Sixth fuzz wave, state dicts: a normalization layer's ``num_batches_tracked`` missing from a
plain state dict, which PyTorch's ``load_state_dict`` accepts (keeping the layer's count)."""

import numpy as np
import pytest

from chainrule import io, nn


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _state_without_count(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def test_a_missing_batch_count_is_neither_missing_nor_an_error():
    source, target = _model(), _model()
    with np.errstate(all="ignore"):
        source(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    target.state_dict()["1.num_batches_tracked"].fill_(7)
    state = _state_without_count(source)
    result = target.load_state_dict(state)  # strict, as PyTorch's for a plain dict
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert int(target.state_dict()["1.num_batches_tracked"].item()) == 7  # kept
    for k, v in state.items():
        np.testing.assert_array_equal(target.state_dict()[k].numpy(), v)
    # other keys are still missing, and strict still refuses them
    del state["1.running_var"]
    assert target.load_state_dict(state, strict=False).missing_keys == ["1.running_var"]
    with pytest.raises(ValueError, match=r"missing keys .*: 1\.running_var$"):
        target.load_state_dict(state)


def test_load_weights_accepts_a_file_without_the_batch_count(tmp_path):
    source, target = _model(), _model()

    class Stripped:  # what PyTorch's safetensors of such a state holds
        def state_dict(self):
            return _state_without_count(source)

    path = io.save_weights(Stripped(), tmp_path / "w.safetensors")
    assert io.load_weights(target, path) == ([], [])
    for k, v in source.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            np.testing.assert_array_equal(target.state_dict()[k].numpy(), v.numpy())


@pytest.mark.torch
def test_the_keys_reported_are_pytorchs():
    torch = pytest.importorskip("torch")
    ours = _model()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                 torch.nn.Linear(4, 2))
    rng = np.random.default_rng(1)
    for _ in range(40):
        keep = [k for k in theirs.state_dict() if rng.random() < 0.7]
        state = {k: v.clone() for k, v in theirs.state_dict().items() if k in keep}
        state["extra.weight"] = torch.zeros(1)
        expected = theirs.load_state_dict(dict(state), strict=False)
        got = ours.load_state_dict({k: v.numpy() for k, v in state.items()}, strict=False)
        assert got.missing_keys == expected.missing_keys
        assert got.unexpected_keys == expected.unexpected_keys
