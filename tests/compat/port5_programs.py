"""Ported programs from rendering, graphs, audio, transfer learning and second-order
optimization, run with ``torch`` = PyTorch or chainrule (test_port5_programs.py): NeRF's volume
rendering with hierarchical sampling (cumprod, searchsorted, gather), a GIN with index_add_
messages and scatter_reduce readouts, a spectrogram classifier on torch.stft, ULMFiT's gradual
unfreezing with add_param_group, and Newton's method by torch.func.hessian with a Hessian-free
conjugate-gradient variant by autograd.functional.hvp.
"""

from __future__ import annotations

import math


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def nerf(torch, multires=3, width=16):
    """A coarse and a fine NeRF MLP (positional encoding of the 3-D point, density and
    colour heads), as bmild/nerf-pytorch wires them, in miniature."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class NeRF(nn.Module):
        def __init__(self):
            super().__init__()
            in_ch = 3 + 3 * 2 * multires
            self.pts_linears = nn.ModuleList([nn.Linear(in_ch, width), nn.Linear(width, width)])
            self.alpha_linear = nn.Linear(width, 1)
            self.rgb_linear = nn.Linear(width, 3)

        def forward(self, x):
            h = x
            for layer in self.pts_linears:
                h = F.relu(layer(h))
            return torch.cat([self.rgb_linear(h), self.alpha_linear(h)], -1)

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.coarse, self.fine = NeRF(), NeRF()

    return Pair()


def train_nerf(torch, model, rays_o, rays_d, target, steps=3, n_samples=6, n_importance=5,
               near=2.0, far=6.0, multires=3):
    """render_rays with deterministic (lindisp=False, perturb=0) samples: raw2outputs'
    alpha compositing by an exclusive cumprod, sample_pdf's inverse-CDF sampling by
    searchsorted and gather on the coarse weights, a sorted union of samples for the fine
    network; the img2mse of both; Adam with the exponential decay nerf-pytorch writes into
    the param groups."""
    F = torch.nn.functional  # noqa: N806

    def embed(x):
        out = [x]
        for freq in 2.0 ** torch.linspace(0.0, multires - 1, steps=multires):
            out += [torch.sin(x * freq), torch.cos(x * freq)]
        return torch.cat(out, -1)

    def raw2outputs(raw, z_vals, rays_d):
        def raw2alpha(raw, dists, act_fn=F.relu):
            return 1.0 - torch.exp(-act_fn(raw) * dists)
        dists = z_vals[..., 1:] - z_vals[..., :-1]
        dists = torch.cat([dists, torch.Tensor([1e10]).expand(dists[..., :1].shape)], -1)
        dists = dists * torch.norm(rays_d[..., None, :], dim=-1)
        rgb = torch.sigmoid(raw[..., :3])
        alpha = raw2alpha(raw[..., 3], dists)
        weights = alpha * torch.cumprod(
            torch.cat([torch.ones((alpha.shape[0], 1)), 1.0 - alpha + 1e-10], -1), -1)[:, :-1]
        rgb_map = torch.sum(weights[..., None] * rgb, -2)
        depth_map = torch.sum(weights * z_vals, -1)
        return rgb_map, depth_map, weights

    def sample_pdf(bins, weights, n):
        weights = weights + 1e-5
        pdf = weights / torch.sum(weights, -1, keepdim=True)
        cdf = torch.cumsum(pdf, -1)
        cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)
        u = torch.linspace(0.0, 1.0, steps=n)
        u = u.expand(list(cdf.shape[:-1]) + [n]).contiguous()
        inds = torch.searchsorted(cdf, u, right=True)
        below = torch.max(torch.zeros_like(inds - 1), inds - 1)
        above = torch.min((cdf.shape[-1] - 1) * torch.ones_like(inds), inds)
        inds_g = torch.stack([below, above], -1)
        matched_shape = [inds_g.shape[0], inds_g.shape[1], cdf.shape[-1]]
        cdf_g = torch.gather(cdf.unsqueeze(1).expand(matched_shape), 2, inds_g)
        bins_g = torch.gather(bins.unsqueeze(1).expand(matched_shape), 2, inds_g)
        denom = cdf_g[..., 1] - cdf_g[..., 0]
        denom = torch.where(denom < 1e-5, torch.ones_like(denom), denom)
        t = (u - cdf_g[..., 0]) / denom
        return bins_g[..., 0] + t * (bins_g[..., 1] - bins_g[..., 0])

    def render(network, z_vals):
        pts = rays_o[..., None, :] + rays_d[..., None, :] * z_vals[..., :, None]
        return raw2outputs(network(embed(pts)), z_vals, rays_d)

    def img2mse(x, y):
        return torch.mean((x - y) ** 2)

    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, betas=(0.9, 0.999))
    t_vals = torch.linspace(0.0, 1.0, steps=n_samples)
    z_vals = (near * (1.0 - t_vals) + far * t_vals).expand([rays_o.shape[0], n_samples])
    out = []
    for step in range(steps):
        rgb0, _, weights = render(model.coarse, z_vals)
        z_vals_mid = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
        z_samples = sample_pdf(z_vals_mid, weights[..., 1:-1], n_importance).detach()
        z_all, _ = torch.sort(torch.cat([z_vals, z_samples], -1), -1)
        rgb, depth, _ = render(model.fine, z_all)
        loss = img2mse(rgb, target) + img2mse(rgb0, target)
        psnr = -10.0 * torch.log(img2mse(rgb, target)) / torch.log(torch.Tensor([10.0]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        new_lrate = 5e-3 * (0.1 ** ((step + 1) / 250))
        for param_group in optimizer.param_groups:
            param_group["lr"] = new_lrate
        out.append([loss.item(), psnr.item()])
    return out, z_samples.numpy(), depth.detach().numpy(), _state(model)


def gin(torch, features=3, hidden=8, classes=2, layers=2):
    """A Graph Isomorphism Network as PyG's GINConv computes it, written with index_add_ over
    an edge list; sum and max readouts per graph by scatter_add and scatter_reduce('amax')."""
    nn = torch.nn

    class GINConv(nn.Module):
        def __init__(self, mlp):
            super().__init__()
            self.mlp = mlp
            self.eps = nn.Parameter(torch.zeros(1))

        def forward(self, x, edge_index):
            src, dst = edge_index
            agg = torch.zeros_like(x).index_add_(0, dst, x[src])
            return self.mlp((1 + self.eps) * x + agg)

    class GIN(nn.Module):
        def __init__(self):
            super().__init__()
            dims = [features] + [hidden] * layers
            self.convs = nn.ModuleList([GINConv(nn.Sequential(
                nn.Linear(a, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                nn.ReLU())) for a in dims[:-1]])
            self.lin = nn.Linear(2 * hidden * layers, classes)

        def forward(self, x, edge_index, batch, num_graphs):
            readouts = []
            for conv in self.convs:
                x = conv(x, edge_index)
                index = batch.unsqueeze(-1).expand_as(x)
                summed = torch.zeros(num_graphs, x.size(1), dtype=x.dtype).scatter_add_(0, index, x)
                maxed = torch.zeros(num_graphs, x.size(1), dtype=x.dtype).scatter_reduce(
                    0, index, x, reduce="amax", include_self=False)
                readouts += [summed, maxed]
            return self.lin(torch.cat(readouts, dim=1))

    return GIN()


def train_gin(torch, model, x, edge_index, batch, labels, steps=4):
    """SGD with momentum: the Linear biases before BatchNorm have a zero gradient up to
    rounding, which Adam's normalized step would turn into full-size steps of either sign."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    num_graphs = int(batch.max()) + 1
    losses = []
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x, edge_index, batch, num_graphs), labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        pred = model(x, edge_index, batch, num_graphs).argmax(dim=1)
    return losses, pred.tolist(), model.convs[0].eps.item(), _state(model)


def spectrogram_cnn(torch, n_fft=16, classes=3):
    """A keyword-spotting style classifier: a Spectrogram module (a Hann window buffer,
    torch.stft with return_complex=True, power 2, log), then a small CNN."""
    nn = torch.nn

    class Spectrogram(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("window", torch.hann_window(n_fft))

        def forward(self, wave):
            spec = torch.stft(wave, n_fft=n_fft, hop_length=n_fft // 4, window=self.window,
                              center=True, pad_mode="reflect", return_complex=True)
            return torch.log(spec.abs().pow(2) + 1e-6)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.spec = Spectrogram()
            self.conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                                      nn.ReLU(), nn.MaxPool2d(2))
            self.fc = nn.Linear(4, classes)

        def forward(self, wave):
            x = self.conv(self.spec(wave).unsqueeze(1))
            return self.fc(x.amax(dim=(2, 3)))

    return Net()


def train_spectrogram(torch, model, waves, labels, steps=3):
    """Adam; then the loss's gradient with respect to the waveforms (through the STFT)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(waves), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    probe = waves.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(model(probe), labels).backward()
    return losses, probe.grad.numpy(), _state(model)


def ulmfit_classifier(torch, vocab=12, emb=6, hidden=6, classes=2):
    nn = torch.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, emb)
            self.rnns = nn.ModuleList([nn.LSTM(emb, hidden, batch_first=True),
                                       nn.LSTM(hidden, emb, batch_first=True)])
            self.head = nn.Sequential(nn.BatchNorm1d(3 * emb), nn.Linear(3 * emb, classes))

        def forward(self, tokens):
            x = self.encoder(tokens)
            for rnn in self.rnns:
                x, _ = rnn(x)
            pooled = torch.cat([x[:, -1], x.max(dim=1)[0], x.mean(dim=1)], 1)
            return self.head(pooled)

    return Classifier()


def train_gradual_unfreezing(torch, model, tokens, labels, steps=2, base_lr=0.02):
    """ULMFiT's fine-tuning: the head first, then one more layer group at a time added to the
    optimizer by add_param_group with a discriminative rate (divided by 2.6 per level), a
    slanted triangular schedule written into each group's lr relative to its initial_lr."""
    groups = [list(model.encoder.parameters()) + list(model.rnns[0].parameters()),
              list(model.rnns[1].parameters()), list(model.head.parameters())]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in groups[-1]:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam([{"params": groups[-1], "lr": base_lr}], betas=(0.8, 0.99))
    total, cut_frac, ratio, it = 3 * steps, 0.25, 8, 0
    losses, lrs = [], []
    for stage in range(3):
        if stage:
            new = groups[-1 - stage]
            for p in new:
                p.requires_grad_(True)
            optimizer.add_param_group({"params": new, "lr": base_lr / 2.6 ** stage})
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        for _ in range(steps):
            cut = math.floor(total * cut_frac)
            p = it / cut if it < cut else 1 - (it - cut) / (cut * (1 / cut_frac - 1))
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * (1 + p * (ratio - 1)) / ratio
            loss = torch.nn.functional.cross_entropy(model(tokens), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            it += 1
            losses.append(loss.item())
            lrs.append([g["lr"] for g in optimizer.param_groups])
    return losses, lrs, len(optimizer.state), _state(model)


def logistic(torch, d=4):
    return torch.nn.Linear(d, 1, bias=False)


def newton_logistic(torch, model, X, y, steps=3, lam=0.1):  # noqa: N803
    """Newton's method on an L2-regularized logistic regression through torch.func
    (grad, hessian, functional_call) and linalg.solve; then Hessian-free Newton (conjugate
    gradient on autograd.functional.hvp products) from the same start."""
    F = torch.nn.functional  # noqa: N806
    func = torch.func

    def loss_fn(w):
        logits = func.functional_call(model, {"weight": w.view(1, -1)}, (X,)).squeeze(-1)
        return F.binary_cross_entropy_with_logits(logits, y) + 0.5 * lam * (w ** 2).sum()

    w0 = model.weight.detach().flatten()
    w, newton = w0.clone(), []
    for _ in range(steps):
        g, H = func.grad(loss_fn)(w), func.hessian(loss_fn)(w)  # noqa: N806
        w = w - torch.linalg.solve(H, g)
        newton.append(loss_fn(w).item())

    def conjugate_gradient(w, b, iters=4):
        x = torch.zeros_like(b)
        r, p = b.clone(), b.clone()
        rs = r @ r
        for _ in range(iters):
            _, Ap = torch.autograd.functional.hvp(loss_fn, w, p)  # noqa: N806
            alpha = rs / (p @ Ap)
            x, r = x + alpha * p, r - alpha * Ap
            rs_new = r @ r
            p, rs = r + (rs_new / rs) * p, rs_new
        return x

    v, free = w0.clone(), []
    for _ in range(steps):
        g = torch.autograd.grad(loss_fn(v.requires_grad_()), v)[0]
        v = (v - conjugate_gradient(v.detach(), g)).detach()
        free.append(loss_fn(v).item())
    return newton, free, w.numpy(), v.numpy()
