"""Fuzz wave 15: modules print as PyTorch 2.13's (``print(model)``), character for character.

Over 150 layers built with default and non-default arguments, every loss with ``reduction="sum"``,
and nested containers (repeated blocks folded as ``(0-2): 3 x Linear(...)``), compared with
PyTorch's repr; the one difference allowed is the library's name in a ParameterList's dtype
(``torch.float32``) and a ParameterDict's tensor type (``torch.FloatTensor``).
"""

import inspect
import warnings

import pytest

import chainrule as cr

SPECS = "".join([
    'Linear(3, 4)|Linear(3, 4, bias=False)|Bilinear(2, 3, 4, bias=False)|Identity()|'
    'LazyLinear(5)|'
    ''
    "Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False, "
    "padding_mode='reflect')|"
    "Conv2d(3, 6, (3, 5), stride=(2, 1), padding=(1, 2))|Conv2d(3, 6, 3, padding='same')|"
    "Conv2d(3, 6, 3, padding='valid')|Conv3d(1, 2, 3, stride=2)|"
    "Conv2d(2, 2, 3, padding_mode='circular', padding=1)|"
    'ConvTranspose1d(2, 3, 3, stride=2, output_padding=1)|'
    'ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1, groups=1, '
    'bias=False, dilation=1)|'
    'ConvTranspose3d(2, 2, 2)|'
    'MaxPool1d(3)|MaxPool2d(2)|MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True)|'
    'MaxPool2d(2, return_indices=True)|MaxPool3d(2)|AvgPool1d(3)|AvgPool2d(2)|'
    'AvgPool2d(3, stride=1, padding=1, ceil_mode=True, count_include_pad=False)|'
    'AvgPool2d(2, divisor_override=3)|AvgPool3d(2)|'
    'AdaptiveAvgPool1d(4)|AdaptiveAvgPool2d((1, 1))|AdaptiveAvgPool2d(7)|'
    'AdaptiveAvgPool2d((None, 7))|AdaptiveMaxPool2d(2)|'
    'AdaptiveMaxPool2d(2, return_indices=True)|AdaptiveAvgPool3d(1)|LPPool2d(2, 3)|'
    'FractionalMaxPool2d(3, output_size=5)|MaxUnpool2d(2)|'
    'BatchNorm1d(4)|BatchNorm2d(3, eps=1e-3, momentum=0.2)|'
    'BatchNorm2d(3, affine=False, track_running_stats=False)|BatchNorm3d(2)|LayerNorm(4)|'
    'LayerNorm((3, 4), elementwise_affine=False)|LayerNorm(4, bias=False)|GroupNorm(2, 4)|'
    'GroupNorm(2, 4, affine=False, eps=1e-6)|InstanceNorm1d(3)|'
    'InstanceNorm2d(3, affine=True, track_running_stats=True)|LocalResponseNorm(3)|'
    'RMSNorm(4)|RMSNorm([2, 3], eps=1e-5)|'
    'Dropout()|Dropout(0.2, inplace=True)|Dropout1d(0.3)|Dropout2d()|Dropout3d(0.1)|'
    'AlphaDropout(0.2)|FeatureAlphaDropout()|'
    'ReLU()|ReLU(inplace=True)|ReLU6()|LeakyReLU()|LeakyReLU(0.2, inplace=True)|'
    "ELU(alpha=0.5)|CELU()|SELU()|GELU()|GELU(approximate='tanh')|SiLU()|Mish()|Sigmoid()|"
    'Tanh()|Hardtanh(-2, 2)|Hardswish()|Hardsigmoid()|Softplus(beta=2, threshold=10)|'
    'Softshrink(0.3)|Hardshrink()|Tanhshrink()|Softsign()|LogSigmoid()|PReLU()|'
    'PReLU(3, init=0.1)|RReLU()|Threshold(0.1, 20)|GLU()|Softmax(dim=-1)|Softmax()|'
    'LogSoftmax(1)|Softmin(0)|Softmax2d()|'
    'Embedding(10, 3)|Embedding(10, 3, padding_idx=0)|Embedding(10, 3, max_norm=1.0)|'
    'Embedding(10, 3, scale_grad_by_freq=True, sparse=True)|EmbeddingBag(10, 3)|'
    "EmbeddingBag(10, 3, mode='sum')|"
    'RNN(3, 4)|'
    "RNN(3, 4, 2, nonlinearity='relu', bias=False, batch_first=True, dropout=0.1, "
    "bidirectional=True)|"
    'LSTM(3, 4)|LSTM(3, 4, proj_size=2)|GRU(3, 4, num_layers=3)|RNNCell(3, 4)|'
    'LSTMCell(3, 4, bias=False)|GRUCell(3, 4)|'
    'Flatten()|Flatten(0, 2)|Unflatten(1, (2, 2))|Upsample(scale_factor=2)|'
    "Upsample(size=(4, 4), mode='bilinear', align_corners=True)|"
    'UpsamplingNearest2d(scale_factor=2)|UpsamplingBilinear2d(scale_factor=2)|'
    'PixelShuffle(2)|PixelUnshuffle(2)|ChannelShuffle(2)|'
    'ZeroPad2d(1)|ZeroPad2d((1, 2, 3, 4))|ConstantPad1d(2, 3.5)|'
    'ConstantPad2d((1, 1, 2, 2), 0.0)|ReflectionPad1d(2)|ReflectionPad2d(1)|'
    'ReplicationPad2d((1, 0, 1, 0))|CircularPad2d(1)|ZeroPad1d(2)|ReplicationPad3d(1)|'
    'CrossEntropyLoss()|CrossEntropyLoss(label_smoothing=0.1, ignore_index=0)|'
    "MSELoss(reduction='sum')|L1Loss()|NLLLoss()|BCELoss()|BCEWithLogitsLoss()|"
    "HuberLoss(delta=2.0)|SmoothL1Loss(beta=0.5)|KLDivLoss(reduction='batchmean')|"
    'CosineEmbeddingLoss()|MarginRankingLoss(margin=0.5)|TripletMarginLoss()|CTCLoss()|'
    'PoissonNLLLoss()|GaussianNLLLoss()|MultiLabelSoftMarginLoss()|HingeEmbeddingLoss()|'
    'SoftMarginLoss()|MultiMarginLoss()|'
    'CosineSimilarity()|PairwiseDistance()|PairwiseDistance(p=1.0, keepdim=True)|'
    'Fold((4, 4), 2)|Unfold(2, stride=2)|Unfold((2, 3), dilation=1, padding=1, stride=1)|'
    'TransformerEncoderLayer(8, 2, 16)|'
    'TransformerDecoderLayer(8, 2, 16, batch_first=True, norm_first=True)|'
    'MultiheadAttention(8, 2, kdim=4, vdim=6)|'
    'MultiheadAttention(8, 2, bias=False, add_bias_kv=True)|'
    'TransformerEncoder(TransformerEncoderLayer(8, 2, 16), 2)|'
    'Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, '
    'dim_feedforward=16)|'
]).rstrip("|").split("|")


def _both(torch, build):
    texts = []
    for lib in (torch, cr):
        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's own notes (enable_nested_tensor...)
            texts.append(repr(build(lib)))
    theirs, ours = texts
    return ours, theirs.replace("torch.FloatTensor", "chainrule.FloatTensor").replace(
        "[torch.", "[")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("spec", SPECS)
def test_layers_print_as_pytorchs(torch, spec):
    ours, theirs = _both(torch, lambda lib: eval(spec, dict(vars(lib.nn))))  # noqa: S307
    assert ours == theirs


def test_losses_print_without_their_reduction(torch):
    names = []
    for name in dir(torch.nn):
        if not name.endswith("Loss") or not hasattr(cr.nn, name):
            continue
        params = inspect.signature(getattr(torch.nn, name)).parameters
        if "reduction" not in params or any(
                p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD
                for p in params.values()):
            continue
        names.append(name)
        ours, theirs = _both(torch, lambda lib, name=name: getattr(lib.nn, name)(reduction="sum"))
        assert ours == theirs
    assert len(names) >= 20


CONTAINERS = {
    "list": lambda nn: nn.ModuleList([nn.Linear(4, 4) for _ in range(3)] + [nn.ReLU(), nn.ReLU()]),
    "blocks": lambda nn: nn.ModuleList([nn.Sequential(nn.Linear(4, 4), nn.ReLU())
                                        for _ in range(3)]),
    "unequal": lambda nn: nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 5), nn.Linear(4, 4)]),
    "sequential": lambda nn: nn.Sequential(*[nn.Linear(4, 4) for _ in range(3)]),
    "dict": lambda nn: nn.ModuleDict({"a": nn.Linear(2, 2),
                                      "b": nn.ModuleList([nn.ReLU(), nn.ReLU()])}),
    "nested": lambda nn: nn.Sequential(nn.ModuleDict({"enc": nn.ModuleList(
        [nn.Conv2d(1, 1, 3) for _ in range(4)])}), nn.Sequential()),
    "empty": lambda nn: nn.Sequential(), "empty_list": lambda nn: nn.ModuleList(),
    "params": lambda nn: nn.ParameterList([nn.Parameter(nn.Linear(2, 3).weight.detach())
                                           for _ in range(2)]),
    "param_dict": lambda nn: nn.ParameterDict({"a": nn.Linear(2, 3).weight,
                                               "b": nn.Linear(1, 4).bias}),
    "empty_params": lambda nn: nn.ParameterList(),
    "mha": lambda nn: nn.Sequential(nn.MultiheadAttention(8, 2), nn.LayerNorm(8)),
}


@pytest.mark.parametrize("name", CONTAINERS)
def test_containers_print_as_pytorchs(torch, name):
    ours, theirs = _both(torch, lambda lib: CONTAINERS[name](lib.nn))
    assert ours == theirs


def test_kept_numbers_and_renamed_fields_still_work(torch):
    assert cr.nn.Hardtanh(-2, 2)(cr.tensor([-3.0, 3.0])).tolist() == [-2.0, 2.0]
    assert cr.nn.Threshold(0.5, 20)(cr.tensor([0.0, 1.0])).tolist() == [20.0, 1.0]
    assert cr.nn.Flatten(0, 1).start_dim == 0 and cr.nn.Softmax(dim=0).dim == 0
    mha = cr.nn.MultiheadAttention(8, 2)
    assert isinstance(mha.out_proj, cr.nn.Linear)
    assert type(mha.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    loss = cr.nn.TripletMarginWithDistanceLoss()
    a, p, n = (cr.randn(3, 4) for _ in range(3))
    expected = cr.nn.TripletMarginWithDistanceLoss(distance_function=cr.pairwise_distance)
    assert abs(loss(a, p, n).item() - expected(a, p, n).item()) < 1e-6


def test_buffers_print_as_plain_tensors(torch):
    for lib in (cr, torch):
        bn = lib.nn.BatchNorm1d(3)
        bn.register_buffer("extra", lib.nn.Buffer(lib.ones(2)))
        texts = [repr(bn.running_mean), repr(bn.extra), repr(bn.num_batches_tracked),
                 str(lib.nn.Buffer(lib.zeros(2)))]
        if lib is cr:
            ours = texts
    assert ours == texts == ["tensor([0., 0., 0.])", "tensor([1., 1.])", "tensor(0)",
                             "tensor([0., 0.])"]


@pytest.mark.parametrize("build", [
    "SGD(ps, lr=0.1, momentum=0.9)", "Adam(ps, lr=1e-3)", "RMSprop(ps)",
    'SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.01}], lr=0.1)',
    'Adam([{"params": ps[:1]}, {"params": ps[1:]}, {"params": []}])',
])
def test_optimizers_print_their_groups_as_pytorchs(torch, build):
    """The layout is PyTorch's (a blank line between groups); the keys chainrule's groups lack
    (foreach, fused, differentiable, capturable) are left out and numbers compared as floats
    (PyTorch keeps a default 0 as the int 0)."""
    texts = []
    for lib in (cr, torch):
        ps = list(lib.nn.Linear(2, 2).parameters())
        texts.append(repr(eval("lib.optim." + build, {"lib": lib, "ps": ps})))  # noqa: S307
    ours, theirs = (text.splitlines() for text in texts)
    keys = {line.split(":")[0] for line in ours}
    theirs = [line for line in theirs if ":" not in line or line.split(":")[0] in keys]

    def number(line):
        key, _, value = line.partition(": ")
        try:
            return key, float(value)
        except ValueError:
            return key, value
    assert [number(line) for line in ours] == [number(line) for line in theirs]
