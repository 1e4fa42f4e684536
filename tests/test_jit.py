"""chainrule.jit: TorchScript's names run eagerly. Model code written for PyTorch (a scripted
fused function, torchvision's ``torch.jit.is_scripting()`` branch and ``@torch.jit.unused``
method, ``jit.annotate``, ``jit.Final``, a traced module, ``fork``/``wait``) gives PyTorch's
values and gradients; TorchScript archives are refused with the way out."""


import numpy as np
import pytest

import chainrule as cr


def _dense_net(torch):
    nn, F = torch.nn, torch.nn.functional  # noqa: N806

    @torch.jit.script
    def bias_gelu(x, bias):
        return F.gelu(x + bias)

    class DenseLayer(nn.Module):
        growth: torch.jit.Final[int]

        def __init__(self, num_input_features, growth_rate):
            super().__init__()
            self.growth = growth_rate
            self.norm1 = nn.BatchNorm1d(num_input_features)
            self.fc = nn.Linear(num_input_features, growth_rate, bias=False)
            self.bias = nn.Parameter(torch.zeros(growth_rate))

        def bn_function(self, inputs: list[torch.Tensor]):
            return self.fc(torch.relu(self.norm1(torch.cat(inputs, 1))))

        @torch.jit.unused
        def call_checkpoint_bottleneck(self, inputs):
            return self.bn_function(inputs)

        @torch.jit.ignore
        def any_requires_grad(self, inputs):
            return any(t.requires_grad for t in inputs)

        def forward(self, x):
            prev = [x] if isinstance(x, torch.Tensor) else x
            features = torch.jit.annotate(list[torch.Tensor], [])
            features.extend(prev)
            if self.any_requires_grad(features):  # torchvision's memory-efficient branch
                if torch.jit.is_scripting():
                    raise Exception("Memory Efficient not supported in JIT")
                out = self.call_checkpoint_bottleneck(features)
            else:
                out = self.bn_function(features)
            return bias_gelu(out, self.bias)

    class DenseBlock(nn.ModuleDict):
        def __init__(self):
            super().__init__()
            for i in range(2):
                self.add_module(f"denselayer{i + 1}", DenseLayer(3 + i * 2, 2))

        def forward(self, init_features):
            features = [init_features]
            for _, layer in self.items():
                futures = torch.jit.fork(layer, features)
                features.append(torch.jit.wait(futures))
            return torch.cat(features, 1)

    return nn.Sequential(DenseBlock(), nn.Linear(7, 2))


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")
def test_model_code_with_torchscript_names_runs_eagerly_as_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4, 3))
    state = {k: rng.standard_normal(tuple(v.shape)) if v.dtype == cr.float32 else v.numpy()
             for k, v in _dense_net(cr).state_dict().items()}
    state = {k: np.abs(v) + 0.5 if "running_var" in k else v for k, v in state.items()}
    out = {}
    for L in (cr, torch):
        net = _dense_net(L)
        net.load_state_dict({k: L.tensor(v) for k, v in state.items()})
        net = net.double()
        head = L.jit.trace(net[1], L.ones(1, 7, dtype=L.float64))  # runs eagerly in chainrule
        x = L.tensor(x0, requires_grad=True)
        y = head(net[0](x))
        (y * L.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)))).sum().backward()
        grads = [p.grad.numpy() for p in net.parameters()]
        frozen = L.jit.freeze(L.jit.script(net[1].eval()))
        out[L.__name__] = [y.detach().numpy(), x.grad.numpy(), *grads,
                           frozen(L.ones(1, 7, dtype=L.float64)).detach().numpy(),
                           net[0][f"denselayer{2}"].norm1.running_mean.numpy()]
    assert len(out["chainrule"]) == len(out["torch"])
    for a, b in zip(out["chainrule"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")
def test_jit_names_are_identities_and_archives_are_refused():
    net = cr.nn.Linear(2, 2)

    def f(x):
        return x * 2

    assert cr.jit.script(net) is net and cr.jit.trace(f, cr.ones(1)) is f
    assert cr.jit.optimize_for_inference(net) is net
    assert cr.jit.ignore(f) is f and cr.jit.ignore(drop=True)(f) is f
    assert cr.jit.unused(f) is f and cr.jit.export(f) is f
    assert not cr.jit.is_scripting() and not cr.jit.is_tracing()
    assert cr.jit.annotate(list[int], [1]) == [1]
    assert cr.jit.wait(cr.jit.fork(f, cr.ones(2))).tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="jit.script: expected a Module or a function, got int"):
        cr.jit.script(3)
    with pytest.raises(NotImplementedError, match="jit.save: chainrule has no TorchScript"):
        cr.jit.save(net, "m.pt")
    with pytest.raises(NotImplementedError, match="jit.load: chainrule cannot read TorchScript"):
        cr.jit.load("m.pt")


def test_deprecation_warnings_are_pytorchs():
    net = cr.nn.Linear(2, 2)
    with pytest.warns(DeprecationWarning, match=r"`torch.jit.script` is deprecated. Please "
                                                r"switch to `torch.compile` or `torch.export`."):
        cr.jit.script(net)
    with pytest.warns(DeprecationWarning, match=r"`torch.jit.freeze` is deprecated. Please use "
                                                r"`torch.compile` instead."):
        cr.jit.freeze(net)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not cr.jit.is_scripting() and cr.jit.annotate(int, 3) == 3
