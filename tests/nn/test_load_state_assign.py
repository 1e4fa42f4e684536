"""``load_state_dict(assign=True)`` and ``torch.load(mmap=True)``, as the checkpoint-loading
tutorial writes them: a model built on the meta device, then given its checkpoint. Both were
errors before (``assign=True is not supported``; ``unexpected keyword argument 'mmap'``)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _net(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_a_meta_model_takes_the_checkpoints_tensors_as_pytorch(tmp_path):
    rng = np.random.default_rng(0)
    state = {k: rng.standard_normal(v.shape) if v.dtype.kind == "f" else v.numpy()
             for k, v in _net(cr).state_dict().items()}
    x = rng.standard_normal((5, 3))
    out = []
    for lib in (cr, torch):
        path = tmp_path / f"{lib.__name__}.pt"
        lib.save({k: lib.tensor(v) for k, v in state.items()}, path)  # float64 values
        sd = lib.load(path, mmap=True, weights_only=True)
        with lib.device("meta"):
            model = _net(lib)
        model[0].weight.requires_grad_(False)  # kept from the module, as PyTorch's
        result = model.load_state_dict(sd, assign=True)
        assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
        params = dict(model.named_parameters())
        assert [str(p.dtype).removeprefix("torch.") for p in params.values()] == ["float64"] * 6
        assert [p.requires_grad for p in params.values()] == [False] + [True] * 5
        assert str(model[1].running_mean.device) == "cpu"
        assert "1.running_mean" in model.state_dict()
        model.train()
        y = model(lib.tensor(x))
        y.sum().backward()
        out.append((y.detach().numpy(), params["2.weight"].grad.numpy(),
                    model[1].running_mean.numpy()))
    for ours, theirs in zip(*out):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.kernel_free
def test_assign_still_checks_keys_and_shapes():
    model = _net(cr)
    bad = dict(model.state_dict())
    bad["0.weight"] = cr.zeros(2, 2)
    with pytest.raises(ValueError, match="state has shape"):
        model.load_state_dict(bad, assign=True)
    assert model[0].weight.shape == (4, 3)
