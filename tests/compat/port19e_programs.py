"""Wave-19 ports, part five, run with ``torch`` = PyTorch or chainrule (test_port19e_programs.py).

Quantization-aware training of a convolution with its BatchNorm folded in, as
``torch.ao.nn.intrinsic.qat.ConvBn2d`` computes it and QAT write-ups copy by hand: the weight
scaled by ``gamma / sqrt(running_var + eps)`` per output channel, fake-quantized per channel
(``torch.fake_quantize_per_channel_affine`` on axis 0 of a 4-D weight, affine uint8 with float32
zero points from a per-channel min/max), the convolution's output divided back by the scale
factor so that the BatchNorm still normalises batch statistics in training, then folded for
good (``fuse_conv_bn_weights``) and quantized once more for the exported inference weights.
"""

from __future__ import annotations


def _np(t):
    return t.detach().numpy().copy()


def convbn_qat(torch, c_in=2, c_out=4, classes=3):
    nn = torch.nn
    F = torch.nn.functional

    class ConvBnQAT(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(c_out)
            self.head = nn.Linear(c_out, classes)

        def quantize_weight(self, w):
            w_min = w.detach().flatten(1).amin(1).clamp(max=0.0)
            w_max = w.detach().flatten(1).amax(1).clamp(min=0.0)
            scale = ((w_max - w_min) / 255.0).clamp(min=1e-8).float()
            zero_point = (-w_min / scale).round().clamp(0, 255).float()
            return torch.fake_quantize_per_channel_affine(w, scale, zero_point, 0, 0, 255)

        def forward(self, x):
            running_std = torch.sqrt(self.bn.running_var + self.bn.eps)
            scale_factor = self.bn.weight / running_std
            w = self.quantize_weight(self.conv.weight * scale_factor.reshape(-1, 1, 1, 1))
            y = F.conv2d(x, w, None, padding=1) / scale_factor.reshape(1, -1, 1, 1)
            y = self.bn(y)
            return self.head(F.adaptive_avg_pool2d(F.relu(y), 1).flatten(1))

    return ConvBnQAT()


def train_convbn_qat(torch, model, x, y, steps=4):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        qat_out = model(x)
        w, b = torch.nn.utils.fuse_conv_bn_weights(
            model.conv.weight,
            None,
            model.bn.running_mean,
            model.bn.running_var,
            model.bn.eps,
            model.bn.weight,
            model.bn.bias,
        )
        wq = model.quantize_weight(w)
        fused = torch.nn.functional.conv2d(x, wq, b, padding=1)
        fused_out = model.head(
            torch.nn.functional.adaptive_avg_pool2d(torch.relu(fused), 1).flatten(1)
        )
    return {
        "losses": losses,
        "qat_out": _np(qat_out),
        "fused_out": _np(fused_out),
        "wq": _np(wq),
        "w": _np(w),
        "state": {k: _np(v) for k, v in model.state_dict().items()},
    }
