"""chainrule.onnx.load against PyTorch: models exported by torch.onnx.export (the TorchScript
exporter) load as Modules whose outputs, input gradients and weight gradients equal PyTorch's."""

import io
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.onnx import load

pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
nn = torch.nn
pytestmark = pytest.mark.torch


def export(model, args, opset, *, dynamic=True, **kw):
    """The model's ONNX bytes; input i is named x{i} and its axis 0 (``dynamic=True``) or the
    axes ``dynamic`` names ({axis: name}) are dynamic."""
    names = [f"x{i}" for i in range(len(args))]
    if dynamic is True:
        dynamic = {0: "batch"}
    axes = {n: dynamic for n in names} if dynamic else None
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter's
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # MultiheadAttention's checks
        warnings.filterwarnings("ignore", "Exporting a model to ONNX with a batch_size other")
        torch.onnx.export(model, tuple(args), f, dynamo=False, opset_version=opset,
                          input_names=names, output_names=["y"], dynamic_axes=axes, **kw)
    return f.getvalue()


def compare(model, args, opset, *, tol=1e-10, float_inputs=None, **kw):
    """Forward, input gradients and weight gradients of the loaded model against ``model``'s."""
    loaded = load(export(model, args, opset, **kw))
    model.zero_grad()
    float_inputs = [a.is_floating_point() for a in args] if float_inputs is None else float_inputs
    t_args = [a.clone().requires_grad_(f) for a, f in zip(args, float_inputs)]
    c_args = [cr.tensor(a.numpy(), requires_grad=f) for a, f in zip(args, float_inputs)]
    t_out, c_out = model(*t_args), loaded(*c_args)
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=tol, atol=tol)
    w = np.random.default_rng(0).standard_normal(tuple(t_out.shape))
    (t_out * torch.tensor(w, dtype=t_out.dtype)).sum().backward()
    (c_out * cr.tensor(w.astype(c_out.numpy().dtype))).sum().backward()
    for t, c, f in zip(t_args, c_args, float_inputs):
        if f:
            np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)
    ours = dict(loaded.named_parameters())
    shared = [n for n, _ in model.named_parameters() if n in ours]
    for name, p in model.named_parameters():
        if name in ours:
            np.testing.assert_allclose(ours[name].grad.numpy(), p.grad.numpy(), rtol=tol,
                                       atol=tol, err_msg=name)
    return loaded, shared


def _seed():
    torch.manual_seed(0)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True))
        self.classifier = nn.Sequential(nn.Linear(16 * 5 * 5, 32), nn.Tanh(), nn.Linear(32, 10))

    def forward(self, x):
        return torch.log_softmax(self.classifier(torch.flatten(self.features(x), 1)), dim=1)


@pytest.mark.parametrize("opset", [11, 13, 17])
def test_mlp_all_weights_named_as_in_pytorch(opset):
    _seed()
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 8), nn.Sigmoid(),
                          nn.Linear(8, 3), nn.Softmax(dim=1)).double()
    loaded, shared = compare(model, [torch.randn(4, 5, dtype=torch.float64)], opset)
    assert list(loaded.state_dict()) == list(model.state_dict()) == shared
    assert loaded.input_names == ["x0"] and loaded.output_names == ["y"]


@pytest.mark.parametrize("opset", [13, 17])
def test_lenet(opset):
    _seed()
    model = LeNet().double()
    loaded, shared = compare(model, [torch.randn(3, 1, 26, 26, dtype=torch.float64)], opset)
    assert len(shared) == 8
    assert "Conv x2" in repr(loaded) and "MaxPool x2" in repr(loaded)


def test_lenet_float32_and_reference_mode():
    _seed()
    model = LeNet()
    x = torch.randn(2, 1, 28, 28)
    compare(model, [x], 13, tol=1e-5)
    with cr.reference_mode():
        compare(model, [x], 13, tol=1e-5)


def test_dynamic_batch_and_the_input_checks():
    _seed()
    model = LeNet().double()
    loaded = load(export(model, [torch.randn(2, 1, 28, 28, dtype=torch.float64)], 13))
    x = torch.randn(7, 1, 28, 28, dtype=torch.float64)
    np.testing.assert_allclose(loaded(x.numpy()).numpy(), model(x).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(loaded(x0=x.numpy()).numpy(), model(x).detach().numpy(),
                               atol=1e-12)
    with pytest.raises(ValueError, match=r"'x0' must have shape \(batch, 1, 28, 28\), got shape "
                                         r"\(7, 28, 28\)"):
        loaded(x.numpy()[:, 0])
    with pytest.raises(ValueError, match=r"\(batch, 1, 28, 28\), got shape \(7, 1, 28, 27\)"):
        loaded(x.numpy()[..., :27])
    with pytest.raises(TypeError, match="must be float64"):
        loaded(x.numpy().astype(np.float32))
    with pytest.raises(TypeError, match="unknown input 'z'"):
        loaded(z=x.numpy())
    with pytest.raises(TypeError, match="missing inputs"):
        loaded()
    fixed = load(export(model, [x[:2]], 13, dynamic=False))
    with pytest.raises(ValueError, match=r"\(2, 1, 28, 28\), got shape \(7, 1, 28, 28\)"):
        fixed(x.numpy())


@pytest.mark.parametrize("opset", [13])
def test_conv_autoencoder(opset):
    _seed()
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.LeakyReLU(0.25),
        nn.Conv2d(4, 8, 3, stride=2, padding=1, dilation=1, groups=2), nn.ELU(),
        nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.Tanh(),
        nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1), nn.Sigmoid()).double()
    x = torch.randn(2, 1, 12, 12, dtype=torch.float64)
    loaded, shared = compare(model, [x], opset)
    assert loaded(cr.tensor(x.numpy())).shape == (2, 1, 12, 12) and len(shared) == 8


def test_batchnorm_cnn_eval_and_train_mode():
    _seed()
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 3 * 3, 6), nn.BatchNorm1d(6)).double()
    with torch.no_grad():  # running statistics that are not the initial 0 and 1
        model(torch.randn(16, 2, 8, 8, dtype=torch.float64) * 3 + 1)
    model.eval()
    x = torch.randn(5, 2, 8, 8, dtype=torch.float64)
    loaded, shared = compare(model, [x], 13, do_constant_folding=False)
    assert len(shared) == 8
    keys = set(loaded.state_dict())
    assert {"1.running_mean", "1.running_var", "6.running_var"} <= keys
    assert not any(p.endswith("running_mean") for p, _ in loaded.named_parameters())
    # train(): batch statistics, running statistics updated, as nn.BatchNorm (docs/onnx.md)
    before = {k: v.clone().numpy() for k, v in model.state_dict().items()}
    model.train()
    loaded.train()
    y = loaded(x.numpy())
    np.testing.assert_allclose(y.numpy(), model(x).detach().numpy(), atol=1e-10)
    # ONNX stores momentum 0.9 as a float32 attribute: the update uses that exact value
    keep = float(np.float32(0.9))
    for key in ("1.running_mean", "1.running_var", "6.running_mean", "6.running_var"):
        batch = (model.state_dict()[key].numpy() - 0.9 * before[key]) / 0.1
        np.testing.assert_allclose(loaded.state_dict()[key].numpy(),
                                   keep * before[key] + (1 - keep) * batch, atol=1e-12,
                                   err_msg=key)


class TextModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 6)
        self.fc = nn.Linear(6, 3)

    def forward(self, ids):
        return self.fc(self.embedding(ids).mean(dim=1))


@pytest.mark.parametrize("opset", [13, 17])
def test_embedding_mean_linear(opset):
    _seed()
    model = TextModel().double()
    ids = torch.randint(0, 20, (4, 7))
    loaded, shared = compare(model, [ids], opset)
    assert shared == ["embedding.weight", "fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="'x0' must have dtype int64, got float64"):
        loaded(np.zeros((4, 7)))


class NormGelu(nn.Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.fc1 = nn.Linear(8, 16)
        self.act = nn.GELU(approximate=approximate)
        self.fc2 = nn.Linear(16, 8)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(self.norm(x))))


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_layernorm_gelu_mlp(opset):
    _seed()
    model = NormGelu().double()
    compare(model, [torch.randn(3, 5, 8, dtype=torch.float64)], opset)
    if opset != 17:  # tanh's formula decomposed (13) and Gelu's attribute (20)
        compare(NormGelu("tanh").double(), [torch.randn(3, 5, 8, dtype=torch.float64)], opset)


class AttentionBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm = nn.LayerNorm(8)
        self.ff = nn.Linear(8, 8)

    def forward(self, x):
        return self.ff(self.norm(x + self.attn(x, x, x, need_weights=False)[0]))


@pytest.mark.parametrize("opset", [14, 17])
def test_multihead_attention_block(opset):
    # (TransformerEncoderLayer itself does not export with the TorchScript exporter of 2.13)
    _seed()
    model = AttentionBlock().double().eval()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    loaded, shared = compare(model, [x], opset, dynamic=False)  # the tracer fixes the sizes
    # the exporter stores the equal zero biases once; they load as separate weights
    assert {"attn.out_proj.bias", "norm.bias", "attn.in_proj_bias", "norm.weight"} <= set(shared)


def test_fine_tuning_reduces_the_loss_and_state_dict_round_trip():
    _seed()
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    loaded = load(export(model, [torch.randn(2, 4)], 13))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    loaded.train()
    opt = cr.optim.SGD(loaded.parameters(), lr=0.3)
    losses = []
    for _ in range(20):
        loss = cr.nn.functional.cross_entropy(loaded(x), cr.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0]
    # PyTorch's weights load back by their names: the outputs are PyTorch's again
    loaded.load_state_dict({k: v.numpy() for k, v in model.state_dict().items()})
    np.testing.assert_allclose(loaded(x).numpy(), model(torch.tensor(x)).detach().numpy(),
                               atol=1e-6)


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(4, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(10, 3)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers(cell):
    _seed()
    model = Recurrent(getattr(nn, cell)).double()
    x = torch.randn(3, 6, 4, dtype=torch.float64)
    loaded, shared = compare(model, [x], 14, dynamic={0: "batch", 1: "time"})
    assert shared == ["head.weight", "head.bias"]  # the exporter reorders the gates' weights
    x = torch.randn(2, 9, 4, dtype=torch.float64)  # another batch size and length
    np.testing.assert_allclose(loaded(x.numpy()).numpy(), model(x).detach().numpy(), atol=1e-12)
