"""A PyTorch program that uses the resampling, padding, activation and loss modules chainrule
added from PyTorch; each function takes the library (``torch`` or ``chainrule``) as ``torch``."""


def upscaler(torch):
    nn = torch.nn

    class Upscaler(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(1, 8, 3), nn.PReLU(8),
                nn.Conv2d(8, 4, 1), nn.PixelShuffle(2), nn.Mish(),
                nn.ZeroPad2d((1, 1, 1, 1)), nn.Conv2d(1, 4, 3), nn.Hardswish(),
                nn.PixelUnshuffle(2), nn.GLU(1))
            self.gains = nn.ParameterList([nn.Parameter(torch.ones(1)) for _ in range(2)])
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

        def forward(self, x):
            y = self.body(x)  # (N, 8, H, W): GLU halves the 16 channels of PixelUnshuffle
            y = self.up(y[:, :1]) * self.gains[0] + nn.functional.interpolate(
                x, scale_factor=2.0, mode="nearest") * self.gains[1]
            return y

    return Upscaler()


def train_upscaler(torch, model, low, high, steps=5):
    """Adam on an L1 loss plus a KL term between softmaxed rows and a cosine embedding term."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x, target = torch.from_numpy(low), torch.from_numpy(high)
    kl = torch.nn.KLDivLoss(reduction="batchmean")
    losses = []
    for _ in range(steps):
        out = model(x)
        flat = out.reshape(out.shape[0], -1)
        goal = target.reshape(target.shape[0], -1)
        loss = (torch.nn.functional.l1_loss(out, target)
                + 0.1 * kl(torch.nn.functional.log_softmax(flat, dim=1),
                           torch.nn.functional.softmax(goal, dim=1))
                + 0.1 * torch.nn.functional.cosine_embedding_loss(
                    flat, goal, torch.ones(flat.shape[0])))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
