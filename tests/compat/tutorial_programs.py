"""More programs in the style of well-known PyTorch examples and tutorials, run with ``torch`` =
PyTorch or chainrule (test_tutorial_programs.py): the time-sequence-prediction example (an
``LSTMCell`` stack fitted by LBFGS), the super-resolution example (``PixelShuffle``,
``orthogonal_`` init), fast neural style (``TransformerNet`` with a Gram-matrix style loss) and a
small Vision Transformer.

As in real_programs.py each function takes the library as its ``torch`` argument and writes only
what a PyTorch program writes after ``import torch``; data and noise are passed in.
"""

from __future__ import annotations

import math
from collections import namedtuple


def sequence(torch, hidden=6):
    """pytorch/examples time_sequence_prediction: two stacked LSTMCells and a Linear read-out."""
    nn = torch.nn

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = nn.LSTMCell(1, hidden)
            self.lstm2 = nn.LSTMCell(hidden, hidden)
            self.linear = nn.Linear(hidden, 1)

        def forward(self, inputs, future=0):
            outputs = []
            h_t = torch.zeros(inputs.size(0), hidden, dtype=torch.double)
            c_t = torch.zeros(inputs.size(0), hidden, dtype=torch.double)
            h_t2 = torch.zeros(inputs.size(0), hidden, dtype=torch.double)
            c_t2 = torch.zeros(inputs.size(0), hidden, dtype=torch.double)
            for input_t in inputs.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _ in range(future):  # the prediction feeds itself
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            outputs = torch.cat(outputs, dim=1)
            return outputs

    return Sequence()


def train_sequence(torch, seq, data, steps=3, future=4):
    """LBFGS with a closure on all but the first sequences, then a no-grad forecast."""
    inputs = torch.from_numpy(data[2:, :-1])
    target = torch.from_numpy(data[2:, 1:])
    test_input = torch.from_numpy(data[:2, :-1])
    test_target = torch.from_numpy(data[:2, 1:])
    seq.double()
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.LBFGS(seq.parameters(), lr=0.8)
    losses, test_losses = [], []
    for _ in range(steps):
        def closure():
            optimizer.zero_grad()
            out = seq(inputs)
            loss = criterion(out, target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        with torch.no_grad():
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            test_losses.append(loss.item())
            y = pred.detach().numpy()
    return losses, test_losses, y


def super_resolution(torch, upscale_factor=2, width=8):
    """pytorch/examples super_resolution: an ESPCN whose last convolution feeds PixelShuffle."""
    nn = torch.nn
    init = nn.init

    class Net(nn.Module):
        def __init__(self, upscale_factor):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, width, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(width, width, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(width, width // 2, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(width // 2, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
            self._initialize_weights()

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            x = self.pixel_shuffle(self.conv4(x))
            return x

        def _initialize_weights(self):
            init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv4.weight)

    return Net(upscale_factor)


def train_super_resolution(torch, model, low, high, epochs=3, batch_size=2):
    """Adam on MSE over a DataLoader; the test pass reports the PSNR as the example does."""
    data = torch.utils.data
    loader = data.DataLoader(data.TensorDataset(low, high), batch_size=batch_size)
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses, psnrs = [], []
    for _ in range(epochs):
        epoch_loss = 0
        for batch in loader:
            inputs, target = batch[0], batch[1]
            optimizer.zero_grad()
            loss = criterion(model(inputs), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        losses.append(epoch_loss / len(loader))
        avg_psnr = 0
        with torch.no_grad():
            for batch in loader:
                inputs, target = batch[0], batch[1]
                mse = criterion(model(inputs), target)
                psnr = 10 * math.log10(1 / mse.item())
                avg_psnr += psnr
        psnrs.append(avg_psnr / len(loader))
    return losses, psnrs, model(low[:1]).detach().numpy()


def fast_style(torch, c=4, n_res=2):
    """pytorch/examples fast_neural_style: TransformerNet and a small frozen VGG-like net."""
    nn = torch.nn

    class ConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride):
            super().__init__()
            reflection_padding = kernel_size // 2
            self.reflection_pad = nn.ReflectionPad2d(reflection_padding)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            out = self.reflection_pad(x)
            out = self.conv2d(out)
            return out

    class ResidualBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in1 = nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in2 = nn.InstanceNorm2d(channels, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            residual = x
            out = self.relu(self.in1(self.conv1(x)))
            out = self.in2(self.conv2(out))
            out = out + residual
            return out

    class UpsampleConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
            super().__init__()
            self.upsample = upsample
            reflection_padding = kernel_size // 2
            self.reflection_pad = nn.ReflectionPad2d(reflection_padding)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            x_in = x
            if self.upsample:
                x_in = nn.functional.interpolate(x_in, mode="nearest", scale_factor=self.upsample)
            out = self.reflection_pad(x_in)
            out = self.conv2d(out)
            return out

    class TransformerNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = ConvLayer(3, c, kernel_size=9, stride=1)
            self.in1 = nn.InstanceNorm2d(c, affine=True)
            self.conv2 = ConvLayer(c, 2 * c, kernel_size=3, stride=2)
            self.in2 = nn.InstanceNorm2d(2 * c, affine=True)
            self.conv3 = ConvLayer(2 * c, 4 * c, kernel_size=3, stride=2)
            self.in3 = nn.InstanceNorm2d(4 * c, affine=True)
            self.res = nn.Sequential(*[ResidualBlock(4 * c) for _ in range(n_res)])
            self.deconv1 = UpsampleConvLayer(4 * c, 2 * c, kernel_size=3, stride=1, upsample=2)
            self.in4 = nn.InstanceNorm2d(2 * c, affine=True)
            self.deconv2 = UpsampleConvLayer(2 * c, c, kernel_size=3, stride=1, upsample=2)
            self.in5 = nn.InstanceNorm2d(c, affine=True)
            self.deconv3 = ConvLayer(c, 3, kernel_size=9, stride=1)
            self.relu = nn.ReLU()

        def forward(self, X):
            y = self.relu(self.in1(self.conv1(X)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.relu(self.in3(self.conv3(y)))
            y = self.res(y)
            y = self.relu(self.in4(self.deconv1(y)))
            y = self.relu(self.in5(self.deconv2(y)))
            y = self.deconv3(y)
            return y

    class Vgg(nn.Module):
        """VGG16's slices, cut at relu1_2 and relu2_2, frozen."""

        def __init__(self, requires_grad=False):
            super().__init__()
            features = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU(inplace=True),
                        nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True),
                        nn.MaxPool2d(kernel_size=2, stride=2),
                        nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(inplace=True)]
            self.slice1 = nn.Sequential()
            self.slice2 = nn.Sequential()
            for x in range(4):
                self.slice1.add_module(str(x), features[x])
            for x in range(4, 7):
                self.slice2.add_module(str(x), features[x])
            if not requires_grad:
                for param in self.parameters():
                    param.requires_grad = False

        def forward(self, X):
            h = self.slice1(X)
            h_relu1_2 = h
            h = self.slice2(h)
            h_relu2_2 = h
            vgg_outputs = namedtuple("VggOutputs", ["relu1_2", "relu2_2"])
            return vgg_outputs(h_relu1_2, h_relu2_2)

    class Style(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = TransformerNet()
            self.vgg = Vgg(requires_grad=False)

    return Style()


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    """Normalise with ImageNet's mean and std, from 0..255 pixels."""
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


def train_fast_style(torch, model, images, style, content_weight=1.0, style_weight=10.0):
    """The example's loop: content loss on relu2_2, Gram-matrix style loss on both slices."""
    transformer, vgg = model.transformer, model.vgg
    optimizer = torch.optim.Adam(transformer.parameters(), 1e-3)
    mse_loss = torch.nn.MSELoss()
    style = style.repeat(len(images[0]), 1, 1, 1)
    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]
    transformer.train()
    history = []
    for x in images:
        n_batch = len(x)
        optimizer.zero_grad()
        y = transformer(x)
        y = normalize_batch(y)
        x = normalize_batch(x.clone())
        features_y = vgg(y)
        features_x = vgg(x)
        content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)
        style_loss = 0.
        for ft_y, gm_s in zip(features_y, gram_style):
            gm_y = gram_matrix(ft_y)
            style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
        style_loss *= style_weight
        total_loss = content_loss + style_loss
        total_loss.backward()
        optimizer.step()
        history.append((content_loss.item(), style_loss.item()))
    transformer.eval()
    with torch.no_grad():
        output = transformer(images[0]).clamp(0, 255)
    frozen = all(p.grad is None for p in vgg.parameters())
    return history, output.numpy(), frozen


def vit(torch, image=8, patch=4, dim=8, depth=2, heads=2, num_classes=3):
    """A small Vision Transformer as timm and the tutorials write it (pre-norm encoder)."""
    nn = torch.nn

    class PatchEmbed(nn.Module):
        def __init__(self, img_size, patch_size, in_chans, embed_dim):
            super().__init__()
            self.num_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x):
            return self.proj(x).flatten(2).transpose(1, 2)  # B, N, C

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = PatchEmbed(image, patch, 3, dim)
            num_patches = self.patch_embed.num_patches
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, dim))
            layer = nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dim_feedforward=2 * dim,
                                               dropout=0.0, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=depth,
                                                 enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.head = nn.Linear(dim, num_classes)
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            self.apply(self._init_weights)

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

        def forward(self, x):
            B = x.shape[0]
            x = self.patch_embed(x)
            cls_tokens = self.cls_token.expand(B, -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
            x = x + self.pos_embed
            x = self.encoder(x)
            x = self.norm(x)
            return self.head(x[:, 0])

    return ViT()


def train_vit(torch, model, images, labels, steps=6, warmup=2):
    """AdamW without decay on biases, norms and embeddings; linear warm-up into a cosine decay
    by SequentialLR; label smoothing; gradient clipping."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim <= 1 or name.endswith(".bias") or name in ("cls_token", "pos_embed"):
            no_decay.append(p)
        else:
            decay.append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=3e-3, betas=(0.9, 0.999))
    warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - warmup,
                                                        eta_min=1e-5)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warm, cosine],
                                                      milestones=[warmup])
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    losses, lrs = [], []
    model.train()
    for _ in range(steps):
        loss = criterion(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    model.eval()
    with torch.no_grad():
        acc = (model(images).argmax(dim=-1) == labels).float().mean().item()
    return losses, lrs, acc, model.pos_embed.detach().numpy()
