"""Three more PyTorch programs, written once and run with ``torch`` = PyTorch or chainrule, each
built on idioms that ported programs met as gaps: tensor and module hooks (Grad-CAM), a custom
autograd Function (a domain-adversarial network's gradient reversal), and a small U-Net with
Upsample, skip concatenation, ceil-mode pooling, circular padding and spectral norm.

As in programs.py, each function takes the library as its ``torch`` argument and writes only
what a PyTorch program would write after ``import torch``.
"""

from __future__ import annotations


def small_cnn(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                                          nn.MaxPool2d(2, ceil_mode=True),
                                          nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())
            self.head = nn.Linear(6, 3)

        def forward(self, x):
            f = self.features(x)
            return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(f, 1), 1))

    return Net()


def grad_cam(torch, model, x, target):
    """Grad-CAM (Selvaraju et al. 2017) the way PyTorch tutorials write it: a forward hook keeps
    the last conv block's activations, a tensor hook its gradient."""
    F = torch.nn.functional
    store = {}

    def keep(module, inputs, output):
        store["act"] = output
        output.register_hook(lambda g: store.__setitem__("grad", g))

    grads_seen = []
    handle = model.features.register_forward_hook(keep)
    back = model.features[3].register_full_backward_hook(
        lambda m, gin, gout: grads_seen.append(gout[0].detach().clone()))
    logits = model(x)
    model.zero_grad()
    logits.gather(1, target.view(-1, 1)).sum().backward()
    handle.remove()
    back.remove()
    weights = store["grad"].mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * store["act"]).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    flat = cam.flatten(1)
    low, high = flat.amin(dim=1, keepdim=True), flat.amax(dim=1, keepdim=True)
    cam = ((flat - low) / (high - low + 1e-8)).view_as(cam)
    return cam.detach().numpy(), grads_seen[0].numpy()


def dann(torch):
    """A domain-adversarial network (Ganin & Lempitsky 2015): features, a label head, and a
    domain head behind a gradient reversal layer."""
    nn = torch.nn

    class GradReverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.neg() * ctx.alpha, None

    class DANN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(6, 8), nn.Tanh())
            self.label = nn.Linear(8, 2)
            self.domain = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 1))

        def forward(self, x, alpha):
            f = self.features(x)
            return self.label(f), self.domain(GradReverse.apply(f, alpha)).squeeze(1)

    return DANN()


def train_dann(torch, model, xs, ys, xt, steps=8):
    F = torch.nn.functional
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(steps):
        alpha = 2.0 / (1.0 + torch.exp(torch.tensor(-10.0 * step / steps)).item()) - 1.0
        opt.zero_grad()
        label_s, dom_s = model(xs, alpha)
        _, dom_t = model(xt, alpha)
        domains = torch.cat([torch.zeros(len(xs)), torch.ones(len(xt))])
        loss = F.cross_entropy(label_s, ys) + F.binary_cross_entropy_with_logits(
            torch.cat([dom_s, dom_t]), domains)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def unet(torch):
    """A two-level U-Net: conv blocks, max pooling, nearest upsampling, skip concatenation; a
    spectral-normalised circular-padded first convolution."""
    nn = torch.nn
    sn = nn.utils.spectral_norm

    def block(cin, cout, **kw):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, **kw), nn.BatchNorm2d(cout),
                             nn.LeakyReLU(0.2))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = block(1, 4, padding_mode="circular")
            self.down[0] = sn(self.down[0])
            self.mid = block(4, 8)
            self.pool = nn.MaxPool2d(2)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.out = nn.Sequential(block(12, 4), nn.Conv2d(4, 1, 1))

        def forward(self, x):
            d = self.down(x)
            m = self.mid(self.pool(d))
            return self.out(torch.cat([d, self.up(m)], dim=1))

    return UNet()


def train_unet(torch, model, x, steps=5):
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    noisy = x + 0.3 * torch.sin(7.0 * x)  # a fixed corruption, so both runs see the same
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(noisy), x)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
