"""A PyTorch program on chainrule: hooks, a custom autograd Function and Guided Grad-CAM.

Written as a PyTorch user writes it (``import chainrule as torch``; with ``import torch`` it runs
unchanged under PyTorch). It trains a small CNN (GroupNorm, ceil-mode max pooling) on the 8x8
digits, then explains its test predictions two ways from the lecture's interpretability part:

1. Grad-CAM (Selvaraju et al. 2017): a forward hook keeps the last convolution block's
   activations, ``register_hook`` on them keeps their gradient; the class map is the
   ReLU of the activations weighted by their spatially averaged gradients, upsampled with
   ``F.interpolate(mode="bilinear")``.
2. Guided backpropagation (Springenberg et al. 2015): every ReLU is swapped for a custom
   ``autograd.Function`` whose backward passes only positive gradients at positive inputs;
   the input gradient is then a sharp saliency map. Guided Grad-CAM is their product.

It prints the test accuracy and how much of each map's mass lies on the digit's ink (a map that
ignored the digit would put about the ink's share of the area there).

    python examples/pytorch_idioms.py --epochs 12
"""

from __future__ import annotations

import argparse

import chainrule as torch
from chainrule.data.datasets import digits

nn = torch.nn
F = torch.nn.functional


class GuidedReLU(torch.autograd.Function):
    """ReLU forward; backward passes a gradient only where both it and the input are positive."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0).float() * (grad > 0).float()


class GuidedReLUModule(nn.Module):
    def forward(self, x):
        return GuidedReLU.apply(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.GroupNorm(4, 16), nn.ReLU(),
            nn.MaxPool2d(3, 2, ceil_mode=True),                    # 8x8 -> 4x4
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        f = self.features(x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(f, 1), 1))


def train(model, x, y, epochs, batch_size=64, seed=0):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return loss.item()


def grad_cam(model, x, target):
    store = {}

    def keep(module, inputs, output):
        store["act"] = output
        output.register_hook(lambda g: store.__setitem__("grad", g))

    handle = model.features.register_forward_hook(keep)
    model.zero_grad()
    model(x).gather(1, target.view(-1, 1)).sum().backward()
    handle.remove()
    weights = store["grad"].mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * store["act"]).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return cam.detach()


def guided_gradients(model, x, target):
    for i, layer in enumerate(model.features):
        if isinstance(layer, nn.ReLU):
            model.features[i] = GuidedReLUModule()
    x = x.clone().requires_grad_(True)
    model(x).gather(1, target.view(-1, 1)).sum().backward()
    return x.grad.detach().clamp(min=0)


def ink_share(maps, images):
    """The share of each map's mass on the ink (pixels above half the image's maximum)."""
    m = maps.reshape(len(maps), -1).numpy()
    ink = (images.reshape(len(images), -1).numpy() > 0.5).astype(float)
    mass = m.sum(axis=1)
    keep = mass > 0
    return float(((m * ink).sum(axis=1)[keep] / mass[keep]).mean()), float(ink.mean())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    torch.manual_seed(args.seed)
    (x_tr, y_tr), (x_te, y_te) = digits(seed=args.seed)  # (N, 8, 8) in [0, 1]
    x_tr, y_tr = torch.tensor(x_tr[:, None]), torch.tensor(y_tr)
    x_te, y_te = torch.tensor(x_te[:, None]), torch.tensor(y_te)
    model = Net()
    loss = train(model, x_tr, y_tr, args.epochs, seed=args.seed)
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_te).argmax(1) == y_te).float().mean().item()
    cam = grad_cam(model, x_te, y_te)
    guided = guided_gradients(model, x_te, y_te)
    result = {"loss": loss, "accuracy": accuracy}
    result["cam_on_ink"], result["ink_area"] = ink_share(cam, x_te)
    result["guided_on_ink"], _ = ink_share(guided, x_te)
    result["guided_gradcam_on_ink"], _ = ink_share(guided * cam, x_te)
    print(f"test accuracy {accuracy:.3f} (last batch loss {loss:.3f})")
    print(f"share of each map's mass on the ink (the ink covers {result['ink_area']:.2f} of the "
          "image):")
    for name in ("cam", "guided", "guided_gradcam"):
        print(f"  {name:15s} {result[name + '_on_ink']:.2f}")
    return result


if __name__ == "__main__":
    main()
