"""A StyleGAN2-style training step ported from memory, run with ``torch`` = PyTorch or chainrule
(test_port8_programs.py): equalized-learning-rate layers, modulated and demodulated convolutions
run as one grouped conv per batch, noise injection, the non-saturating logistic losses, the R1
penalty and path-length regularization, both by autograd.grad(create_graph=True), so the
updates differentiate through grouped convolutions twice.
"""

from __future__ import annotations

import math


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def stylegan2(torch, style_dim=4, channels=3, size=4):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class EqualLinear(nn.Module):
        def __init__(self, in_dim, out_dim, bias_init=0.0, lr_mul=1.0, activation=False):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
            self.bias = nn.Parameter(torch.zeros(out_dim).fill_(bias_init))
            self.scale = (1 / math.sqrt(in_dim)) * lr_mul
            self.lr_mul, self.activation = lr_mul, activation

        def forward(self, x):
            out = F.linear(x, self.weight * self.scale, bias=self.bias * self.lr_mul)
            return F.leaky_relu(out, 0.2) * math.sqrt(2) if self.activation else out

    class ModulatedConv2d(nn.Module):
        def __init__(self, in_channel, out_channel, kernel_size, demodulate=True):
            super().__init__()
            self.eps, self.kernel_size = 1e-8, kernel_size
            self.in_channel, self.out_channel = in_channel, out_channel
            self.scale = 1 / math.sqrt(in_channel * kernel_size ** 2)
            self.padding = kernel_size // 2
            self.weight = nn.Parameter(
                torch.randn(1, out_channel, in_channel, kernel_size, kernel_size))
            self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)
            self.demodulate = demodulate

        def forward(self, input, style):  # noqa: A002
            batch, in_channel, height, width = input.shape
            style = self.modulation(style).view(batch, 1, in_channel, 1, 1)
            weight = self.scale * self.weight * style
            if self.demodulate:
                demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)
                weight = weight * demod.view(batch, self.out_channel, 1, 1, 1)
            weight = weight.view(batch * self.out_channel, in_channel, self.kernel_size,
                                 self.kernel_size)
            input = input.view(1, batch * in_channel, height, width)  # noqa: A001
            out = F.conv2d(input, weight, padding=self.padding, groups=batch)
            return out.view(batch, self.out_channel, height, width)

    class StyledConv(nn.Module):
        def __init__(self, in_channel, out_channel):
            super().__init__()
            self.conv = ModulatedConv2d(in_channel, out_channel, 3)
            self.noise_weight = nn.Parameter(torch.zeros(1))
            self.bias = nn.Parameter(torch.zeros(1, out_channel, 1, 1))

        def forward(self, input, style, noise):  # noqa: A002
            out = self.conv(input, style) + self.noise_weight * noise
            return F.leaky_relu(out + self.bias, 0.2) * math.sqrt(2)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.style = nn.Sequential(*[EqualLinear(style_dim, style_dim, lr_mul=0.01,
                                                     activation=True) for _ in range(2)])
            self.input = nn.Parameter(torch.randn(1, 4, size, size))
            self.conv1 = StyledConv(4, 4)
            self.conv2 = StyledConv(4, 4)
            self.to_rgb = ModulatedConv2d(4, channels, 1, demodulate=False)

        def forward(self, z, noises, return_latents=False):
            w = self.style(z / torch.sqrt(torch.mean(z ** 2, dim=1, keepdim=True) + 1e-8))
            out = self.input.repeat(z.shape[0], 1, 1, 1)
            out = self.conv2(self.conv1(out, w, noises[0]), w, noises[1])
            image = self.to_rgb(out, w)
            return (image, w) if return_latents else image

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.Sequential(nn.Conv2d(channels, 4, 3, padding=1), nn.LeakyReLU(0.2),
                                       nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2))
            self.final = nn.Linear(8 * (size // 2) ** 2, 1)

        def forward(self, x):
            return self.final(self.convs(x).flatten(1))

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.g, self.d = Generator(), Discriminator()

    return Pair()


def train_stylegan2(torch, pair, reals, latents, noises, path_noises, r1=10.0,
                    path_weight=2.0):
    """One D step (logistic loss, then the R1 penalty on reals with create_graph) and one G step
    (non-saturating loss, then path-length regularization: the gradient of the image against
    image-shaped noise with respect to w, its norm pulled to the running mean) per iteration;
    Adam with StyleGAN2's lazy-regularization betas."""
    F = torch.nn.functional  # noqa: N806
    g, d = pair.g, pair.d
    g_optim = torch.optim.Adam(g.parameters(), lr=0.002, betas=(0.0, 0.99))
    d_optim = torch.optim.Adam(d.parameters(), lr=0.002, betas=(0.0, 0.99))
    mean_path_length = torch.zeros((), dtype=reals[0].dtype)
    out = []
    for real, z, noise, path_noise in zip(reals, latents, noises, path_noises):
        d.requires_grad_(True)
        g.requires_grad_(False)
        fake = g(z, noise)
        real_pred, fake_pred = d(real), d(fake)
        d_loss = F.softplus(-real_pred).mean() + F.softplus(fake_pred).mean()
        d_optim.zero_grad()
        d_loss.backward()
        d_optim.step()
        real_img = real.clone().requires_grad_(True)
        real_pred = d(real_img)
        (grad_real,) = torch.autograd.grad(outputs=real_pred.sum(), inputs=real_img,
                                           create_graph=True)
        r1_loss = grad_real.pow(2).reshape(grad_real.shape[0], -1).sum(1).mean()
        d_optim.zero_grad()
        (r1 / 2 * r1_loss).backward()
        d_optim.step()

        d.requires_grad_(False)
        g.requires_grad_(True)
        g_loss = F.softplus(-d(g(z, noise))).mean()
        g_optim.zero_grad()
        g_loss.backward()
        g_optim.step()
        fake_img, w = g(z, noise, return_latents=True)
        noise_scale = 1 / math.sqrt(fake_img.shape[2] * fake_img.shape[3])
        (grad,) = torch.autograd.grad(outputs=(fake_img * path_noise * noise_scale).sum(),
                                      inputs=w, create_graph=True)
        path_lengths = torch.sqrt(grad.pow(2).sum(1))
        path_mean = mean_path_length + 0.01 * (path_lengths.mean() - mean_path_length)
        path_loss = (path_lengths - path_mean).pow(2).mean()
        g_optim.zero_grad()
        (path_weight * path_loss).backward()
        g_optim.step()
        mean_path_length = path_mean.detach()
        out.append([d_loss.item(), r1_loss.item(), g_loss.item(), path_loss.item()])
    return out, mean_path_length.item(), _state(pair)


def yolo_v1(torch, S=2, B=2, C=3):  # noqa: N803
    """A YOLOv1 head in miniature (a conv backbone, then Linear to S*S*(C+5B)) with the loss as
    the well-known from-scratch implementations write it."""
    nn = torch.nn

    class Yolo(nn.Module):
        def __init__(self):
            super().__init__()
            self.darknet = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4),
                                         nn.LeakyReLU(0.1), nn.MaxPool2d(2, 2))
            self.fcs = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 16), nn.Dropout(0.0),
                                     nn.LeakyReLU(0.1), nn.Linear(16, S * S * (C + B * 5)))

        def forward(self, x):
            return self.fcs(self.darknet(x))

    return Yolo()


def intersection_over_union(torch, boxes_preds, boxes_labels):
    box1_x1 = boxes_preds[..., 0:1] - boxes_preds[..., 2:3] / 2
    box1_y1 = boxes_preds[..., 1:2] - boxes_preds[..., 3:4] / 2
    box1_x2 = boxes_preds[..., 0:1] + boxes_preds[..., 2:3] / 2
    box1_y2 = boxes_preds[..., 1:2] + boxes_preds[..., 3:4] / 2
    box2_x1 = boxes_labels[..., 0:1] - boxes_labels[..., 2:3] / 2
    box2_y1 = boxes_labels[..., 1:2] - boxes_labels[..., 3:4] / 2
    box2_x2 = boxes_labels[..., 0:1] + boxes_labels[..., 2:3] / 2
    box2_y2 = boxes_labels[..., 1:2] + boxes_labels[..., 3:4] / 2
    x1, y1 = torch.max(box1_x1, box2_x1), torch.max(box1_y1, box2_y1)
    x2, y2 = torch.min(box1_x2, box2_x2), torch.min(box1_y2, box2_y2)
    intersection = (x2 - x1).clamp(0) * (y2 - y1).clamp(0)
    box1_area = abs((box1_x2 - box1_x1) * (box1_y2 - box1_y1))
    box2_area = abs((box2_x2 - box2_x1) * (box2_y2 - box2_y1))
    return intersection / (box1_area + box2_area - intersection + 1e-6)


def train_yolo_v1(torch, model, images, targets, steps=3, S=2, C=3):  # noqa: N803
    """YoloLoss: the responsible box by argmax of the two IoUs (torch.cat of unsqueezed IoUs,
    torch.max over dim 0), exists_box masks, sign * sqrt(abs) of the widths, MSE sums over
    torch.flatten(..., end_dim=-2); Adam with weight decay."""
    mse = torch.nn.MSELoss(reduction="sum")
    lambda_noobj, lambda_coord = 0.5, 5

    def yolo_loss(predictions, target):
        predictions = predictions.reshape(-1, S, S, C + 10)
        iou_b1 = intersection_over_union(torch, predictions[..., C + 1:C + 5],
                                         target[..., C + 1:C + 5])
        iou_b2 = intersection_over_union(torch, predictions[..., C + 6:C + 10],
                                         target[..., C + 1:C + 5])
        ious = torch.cat([iou_b1.unsqueeze(0), iou_b2.unsqueeze(0)], dim=0)
        iou_maxes, bestbox = torch.max(ious, dim=0)
        exists_box = target[..., C].unsqueeze(3)
        box_predictions = exists_box * (bestbox * predictions[..., C + 6:C + 10]
                                        + (1 - bestbox) * predictions[..., C + 1:C + 5])
        box_targets = exists_box * target[..., C + 1:C + 5]
        box_predictions[..., 2:4] = torch.sign(box_predictions[..., 2:4]) * torch.sqrt(
            torch.abs(box_predictions[..., 2:4] + 1e-6))
        box_targets[..., 2:4] = torch.sqrt(box_targets[..., 2:4])
        box_loss = mse(torch.flatten(box_predictions, end_dim=-2),
                       torch.flatten(box_targets, end_dim=-2))
        pred_box = (bestbox * predictions[..., C + 5:C + 6]
                    + (1 - bestbox) * predictions[..., C:C + 1])
        object_loss = mse(torch.flatten(exists_box * pred_box),
                          torch.flatten(exists_box * target[..., C:C + 1]))
        no_object_loss = mse(torch.flatten((1 - exists_box) * predictions[..., C:C + 1],
                                           start_dim=1),
                             torch.flatten((1 - exists_box) * target[..., C:C + 1], start_dim=1))
        no_object_loss += mse(torch.flatten((1 - exists_box) * predictions[..., C + 5:C + 6],
                                            start_dim=1),
                              torch.flatten((1 - exists_box) * target[..., C:C + 1],
                                            start_dim=1))
        class_loss = mse(torch.flatten(exists_box * predictions[..., :C], end_dim=-2),
                         torch.flatten(exists_box * target[..., :C], end_dim=-2))
        return (lambda_coord * box_loss + object_loss + lambda_noobj * no_object_loss
                + class_loss), bestbox

    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    losses, best = [], []
    model.train()
    for _ in range(steps):
        loss, bestbox = yolo_loss(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        best.append(bestbox.flatten().tolist())
    return losses, best, _state(model)


def gru_decoder(torch, vocab=7, emb=4, hidden=6):
    nn = torch.nn

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb)
            self.gru = nn.GRU(emb, hidden, batch_first=True)
            self.out = nn.Linear(hidden, vocab)

        def forward(self, tokens, h=None):
            output, h = self.gru(self.embedding(tokens), h)
            return self.out(output).log_softmax(-1), h

    return Decoder()


def beam_search(torch, model, bos=1, eos=2, beam=3, max_len=5, length_penalty=0.7):
    """Batched beam search as seq2seq code writes it: the beams as a batch, topk over the
    flattened (beam * vocab) scores, the parent beam by torch.div(rounding_mode="floor") and the
    token by remainder, hidden states reordered by index_select, finished hypotheses kept with
    a length penalty; also the log-likelihood of the best sequence by teacher forcing, with its
    gradient (gather of the target log-probs)."""
    model.eval()
    vocab = model.out.out_features
    with torch.no_grad():
        tokens = torch.full((1, 1), bos, dtype=torch.long)
        scores = torch.zeros(1, dtype=model.out.weight.dtype)
        h, seqs, finished = None, [[bos]], []
        for _ in range(max_len):
            logp, h = model(tokens, h)
            cand = (scores[:, None] + logp[:, -1]).view(-1)
            top, idx = cand.topk(beam)
            parent = torch.div(idx, vocab, rounding_mode="floor")
            token = idx % vocab
            h = h.index_select(1, parent)
            seqs = [seqs[p] + [t] for p, t in zip(parent.tolist(), token.tolist())]
            keep = []
            for i, (s, t) in enumerate(zip(seqs, token.tolist())):
                if t == eos:
                    finished.append((top[i].item() / len(s) ** length_penalty, s))
                else:
                    keep.append(i)
            if not keep:
                break
            keep_t = torch.tensor(keep)
            seqs = [seqs[i] for i in keep]
            scores, tokens, h = top[keep_t], token[keep_t].view(-1, 1), h[:, keep_t]
        finished += [(s.item() / len(q) ** length_penalty, q) for s, q in zip(scores, seqs)]
    finished.sort(key=lambda f: -f[0])
    best = torch.tensor([finished[0][1]])
    model.zero_grad()
    logp, _ = model(best[:, :-1])
    ll = logp.gather(2, best[:, 1:].unsqueeze(-1)).sum()
    ll.backward()
    return ([f[1] for f in finished], [f[0] for f in finished], ll.item(),
            model.out.weight.grad.numpy())
