"""Wave-18 ports, part three, run with ``torch`` = PyTorch or chainrule (test_port18c_programs.py).

PyTorch's spatial transformer tutorial (the localisation net's last layer zeroed and its bias
the identity transform, ``affine_grid``/``grid_sample``) trained with every sampling mode and
padding mode; DeepDream (a forward hook, octaves by ``F.interpolate``, jitter by
``torch.roll``, gradient ascent on the image normalised by its mean absolute gradient); image
retrieval's generalized-mean (GeM) pooling with a learned exponent beside ``LPPool2d`` and
``FractionalMaxPool2d`` with fixed samples; a learning-rate range test (fastai's LR finder:
an exponential ``LambdaLR``, a smoothed loss, early stop, model and optimizer restored from
``copy.deepcopy``'d state dicts); and a segmentation decoder (``UpsamplingBilinear2d``,
``UpsamplingNearest2d``, ``nll_loss`` over (N, C, H, W) with class weights and ``ignore_index``).
"""

from __future__ import annotations

import copy
import math

import numpy as np


def _np(t):
    return t.detach().numpy().copy()


# ---- the spatial transformer networks tutorial ----
def stn(torch, side=8, classes=3):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
            self.fc1 = nn.Linear(4 * 3 * 3, classes)
            # Spatial transformer localization-network
            self.localization = nn.Sequential(
                nn.Conv2d(1, 4, kernel_size=3), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
            # Regressor for the 3 * 2 affine matrix
            self.fc_loc = nn.Sequential(nn.Linear(4 * 3 * 3, 8), nn.ReLU(True), nn.Linear(8, 3 * 2))
            self.mode, self.padding_mode = "bilinear", "zeros"

        def init_identity(self):
            # Initialize the weights/bias with identity transformation
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

        # Spatial transformer network forward function
        def stn(self, x):
            xs = self.localization(x)
            xs = xs.view(-1, 4 * 3 * 3)
            theta = self.fc_loc(xs)
            theta = theta.view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size(), align_corners=False)
            return F.grid_sample(x, grid, mode=self.mode, padding_mode=self.padding_mode,
                                 align_corners=False), theta

        def forward(self, x):
            x, theta = self.stn(x)
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            return F.log_softmax(self.fc1(x.view(-1, 4 * 3 * 3)), dim=1), theta

    return Net()


def train_stn(torch, model, x, y, modes, steps_each=2):
    F = torch.nn.functional
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses, thetas = [], []
    for mode, padding_mode in modes:
        model.mode, model.padding_mode = mode, padding_mode
        for _ in range(steps_each):
            optimizer.zero_grad()
            output, theta = model(x)
            loss = F.nll_loss(output, y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            thetas.append(_np(theta))
    return {"losses": losses, "thetas": thetas, "weights": _np(model.fc_loc[2].weight)}


# ---- DeepDream ----
def dream_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 5, 1))


def deep_dream(torch, net, base, shifts, octave_scale=1.4, n_octaves=3, iterations=3, lr=0.05):
    F = torch.nn.functional
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    activations = {}
    handle = net[3].register_forward_hook(lambda m, i, o: activations.__setitem__("relu2", o))
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=base.dtype).view(-1, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], dtype=base.dtype).view(-1, 1, 1)
    octaves = [base]
    for _ in range(n_octaves - 1):
        octaves.append(F.interpolate(octaves[-1], scale_factor=1 / octave_scale,
                                     mode="bilinear", align_corners=False))
    detail = torch.zeros_like(octaves[-1])
    norms = []
    for o, octave in enumerate(reversed(octaves)):
        if o > 0:
            detail = F.interpolate(detail, size=octave.shape[-2:], mode="bilinear",
                                   align_corners=False)
        image = (octave + detail).clone().requires_grad_(True)
        for it in range(iterations):
            sx, sy = shifts[o][it]
            net((torch.roll(image, shifts=(sx, sy), dims=(-2, -1)) - mean) / std)
            loss = activations["relu2"].norm()
            loss.backward()
            with torch.no_grad():
                grad = image.grad
                image += lr / grad.abs().mean().clamp(min=1e-8) * grad
                image.clamp_(0, 1)
            image.grad.zero_()
            norms.append(loss.item())
        detail = image.detach() - octave
    handle.remove()
    return {"norms": norms, "dream": _np(image)}


# ---- GeM pooling for image retrieval, beside LPPool2d and FractionalMaxPool2d ----
def gem_net(torch, channels=4, dim=3):
    nn, F = torch.nn, torch.nn.functional

    class GeM(nn.Module):
        def __init__(self, p=3.0, eps=1e-6):
            super().__init__()
            self.p = nn.Parameter(torch.ones(1) * p)
            self.eps = eps

        def forward(self, x):
            return F.avg_pool2d(x.clamp(min=self.eps).pow(self.p),
                                (x.size(-2), x.size(-1))).pow(1.0 / self.p)

        def __repr__(self):
            return f"{self.__class__.__name__}(p={self.p.data.tolist()[0]:.4f}, eps={self.eps})"

    class Retrieval(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU())
            self.pool = GeM()
            self.lp = nn.LPPool2d(2.5, (2, 3), stride=(1, 2), ceil_mode=True)
            self.whiten = nn.Linear(2 * channels, dim)

        def forward(self, x, samples):
            f = self.features(x)
            lp = self.lp(f).amax(dim=(-2, -1))
            frac = F.fractional_max_pool2d(f, 2, output_size=(3, 3), _random_samples=samples)
            v = self.whiten(torch.cat([self.pool(f).flatten(1), lp], 1))
            return F.normalize(v, dim=1), frac

    return Retrieval()


def train_gem(torch, model, anchors, positives, samples, steps=5):
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses, ps = [], []
    for _ in range(steps):
        opt.zero_grad()
        a, frac = model(anchors, samples)
        p, _ = model(positives, samples)
        sim = a @ p.t()  # the matching pairs on the diagonal
        loss = torch.nn.functional.cross_entropy(sim / 0.1, torch.arange(len(a)))
        (loss + 1e-3 * frac.pow(2).mean()).backward()
        opt.step()
        losses.append(loss.item())
        ps.append(model.pool.p.item())
    return {"losses": losses, "p": ps, "repr": repr(model.pool), "frac": _np(frac)}


# ---- a learning-rate range test ----
def lr_range_test(torch, model, x, y, start_lr=1e-4, end_lr=10.0, num_iter=12, beta=0.7,
                  diverge_th=4.0, batch_size=8):
    optimizer = torch.optim.SGD(model.parameters(), lr=start_lr, momentum=0.9)
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    gamma = (end_lr / start_lr) ** (1 / (num_iter - 1))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: gamma ** it)
    lrs, losses, avg_loss, best_loss = [], [], 0.0, math.inf
    for it in range(num_iter):
        i = (batch_size * it) % (len(x) - batch_size + 1)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[i:i + batch_size]),
                                                 y[i:i + batch_size])
        loss.backward()
        optimizer.step()
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.step()
        avg_loss = beta * avg_loss + (1 - beta) * loss.item()
        smoothed = avg_loss / (1 - beta ** (it + 1))
        losses.append(smoothed)
        best_loss = min(best_loss, smoothed)
        if smoothed > diverge_th * best_loss:
            break
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    suggestion = lrs[int(np.argmin(np.gradient(np.array(losses))))]
    return {"lrs": lrs, "losses": losses, "suggestion": suggestion,
            "restored": [_np(p) for p in model.parameters()],
            "lr_after": optimizer.param_groups[0]["lr"], "state_after": len(optimizer.state)}


# ---- a segmentation decoder with upsampling layers ----
def seg_decoder(torch, classes=3):
    nn = torch.nn

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.ReLU())
            self.up_bilinear = nn.UpsamplingBilinear2d(scale_factor=2)  # align_corners=True
            self.up_nearest = nn.UpsamplingNearest2d(size=(6, 6))
            self.head = nn.Conv2d(8, classes, 1)

        def forward(self, x):
            f = self.enc(x)
            return self.head(torch.cat([self.up_bilinear(f), self.up_nearest(f)], 1))

    return Decoder()


def train_segmentation(torch, model, x, target, steps=5, ignore=255):
    F = torch.nn.functional
    weight = torch.tensor([0.5, 1.0, 2.0], dtype=x.dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=0.02, amsgrad=True)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        log_p = F.log_softmax(model(x), dim=1)
        loss = F.nll_loss(log_p, target, weight=weight, ignore_index=ignore)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        logits = model(x)
        per_pixel = F.cross_entropy(logits, target, ignore_index=ignore, reduction="none")
        pred = logits.argmax(1)
    valid = target != ignore
    return {"losses": losses, "per_pixel": _np(per_pixel),
            "pixel_acc": ((pred == target) & valid).sum().item() / valid.sum().item()}
