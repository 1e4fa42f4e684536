"""Ported programs around losses and autograd utilities, run with ``torch`` = PyTorch or
chainrule (test_port7_programs.py): saliency, SmoothGrad and integrated gradients (retain_grad,
tensor hooks, autograd.grad with grad_outputs), a heteroscedastic deep ensemble
(GaussianNLLLoss, PoissonNLLLoss), a cyclically KL-annealed VAE with free bits, multi-label
focal loss, pairwise ranking (MarginRankingLoss, CosineEmbeddingLoss), a hypernetwork whose
per-sample convolutions run as one grouped conv, and conv-BN folding for inference beside
checkpoint_sequential.
"""

from __future__ import annotations


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def attribution_cnn(torch, classes=3):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.fc = nn.Linear(4 * 4 * 4, classes)

        def forward(self, x):
            self.act = torch.relu(self.conv(x))
            return self.fc(torch.nn.functional.max_pool2d(self.act, 2).flatten(1))

    return Net()


def attributions(torch, model, images, targets, noises, steps=6):
    """Vanilla saliency (input.grad of the target logits, max over channels), SmoothGrad over
    given noise, a guided-backprop style hook clamping the activation's gradient (with
    retain_grad to read it), and integrated gradients by autograd.grad over a batch of scaled
    inputs with grad_outputs picking each target."""
    model.eval()
    x = images.clone().requires_grad_()
    scores = model(x).gather(1, targets.view(-1, 1)).squeeze(1)
    scores.sum().backward()
    saliency = x.grad.abs().amax(dim=1)

    total = torch.zeros_like(images)
    for noise in noises:
        noisy = (images + noise).requires_grad_(True)
        model(noisy)[torch.arange(len(targets)), targets].sum().backward()
        total += noisy.grad
    smooth = total / len(noises)

    x = images.clone().requires_grad_()
    out = model(x)
    act = model.act
    act.retain_grad()
    handle = act.register_hook(lambda grad: grad.clamp(min=0))
    out[torch.arange(len(targets)), targets].sum().backward()
    handle.remove()
    guided = x.grad.clone()

    baseline = torch.zeros_like(images[:1])
    alphas = torch.linspace(0, 1, steps + 1, dtype=images.dtype)[1:]
    ig = []
    for img, t in zip(images, targets):
        scaled = (baseline + alphas.view(-1, 1, 1, 1) * (img - baseline)).requires_grad_()
        logits = model(scaled)
        pick = torch.zeros_like(logits)
        pick[:, t] = 1.0
        (grads,) = torch.autograd.grad(logits, scaled, grad_outputs=pick)
        ig.append(((img - baseline) * grads.mean(dim=0)).squeeze(0))
    ig = torch.stack(ig)
    full = model(images)[torch.arange(len(targets)), targets] - model(
        torch.zeros_like(images))[torch.arange(len(targets)), targets]
    return (saliency.numpy(), smooth.numpy(), guided.numpy(), act.grad.numpy(), ig.numpy(),
            full.detach().numpy())


def hetero_ensemble(torch, members=2, hidden=10):
    """Deep ensembles (Lakshminarayanan et al.): members predicting a mean and a variance,
    and a count head predicting a log rate."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class Member(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(1, hidden), nn.SiLU())
            self.mean = nn.Linear(hidden, 1)
            self.var = nn.Linear(hidden, 1)
            self.log_rate = nn.Linear(hidden, 1)

        def forward(self, x):
            h = self.body(x)
            return (self.mean(h).squeeze(-1), F.softplus(self.var(h)).squeeze(-1) + 1e-6,
                    self.log_rate(h).squeeze(-1))

    return nn.ModuleList([Member() for _ in range(members)])


def train_hetero_ensemble(torch, ensemble, x, y, counts, steps=4):
    gaussian = torch.nn.GaussianNLLLoss(full=True, eps=1e-6)
    poisson = torch.nn.PoissonNLLLoss(log_input=True, full=True)
    optimizers = [torch.optim.Adam(m.parameters(), lr=0.02) for m in ensemble]
    losses = []
    for _ in range(steps):
        row = []
        for member, opt in zip(ensemble, optimizers):
            mu, var, log_rate = member(x)
            loss = gaussian(mu, y, var) + poisson(log_rate, counts)
            opt.zero_grad()
            loss.backward()
            opt.step()
            row.append(loss.item())
        losses.append(row)
    with torch.no_grad():
        mus, vars_ = zip(*[m(x)[:2] for m in ensemble])
        mus, vars_ = torch.stack(mus), torch.stack(vars_)
        mean = mus.mean(0)
        var = (vars_ + mus.pow(2)).mean(0) - mean.pow(2)
    return losses, mean.numpy(), var.numpy(), _state(ensemble)


def gaussian_vae(torch, n_in=8, hidden=10, latent=3):
    nn = torch.nn

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(n_in, hidden), nn.ELU())
            self.mu = nn.Linear(hidden, latent)
            self.logvar = nn.Linear(hidden, latent)
            self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ELU(), nn.Linear(hidden, n_in))

        def forward(self, x, eps):
            h = self.enc(x)
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + eps * torch.exp(0.5 * logvar)
            return self.dec(z), mu, logvar

    return VAE()


def frange_cycle_linear(n_iter, start=0.0, stop=1.0, n_cycle=2, ratio=0.5):
    """Fu et al.'s cyclical annealing schedule, as their code writes it (in lists here)."""
    L = [stop] * n_iter  # noqa: N806
    period = n_iter / n_cycle
    step = (stop - start) / (period * ratio)
    for c in range(n_cycle):
        v, i = start, 0
        while v <= stop and int(i + c * period) < n_iter:
            L[int(i + c * period)] = v
            v += step
            i += 1
    return L


def train_annealed_vae(torch, model, x, eps, free_bits=0.1):
    """Gaussian decoder (mse_loss, reduction='sum'), the KL per latent dimension clamped below
    by free bits, weighted by the cyclical beta; Adamax."""
    F = torch.nn.functional  # noqa: N806
    betas = frange_cycle_linear(len(eps))
    optimizer = torch.optim.Adamax(model.parameters(), lr=0.01)
    out = []
    for beta, e in zip(betas, eps):
        recon, mu, logvar = model(x, e)
        rec = F.mse_loss(recon, x, reduction="sum") / x.size(0)
        kl_dim = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp(), dim=0)
        kl = torch.clamp(kl_dim, min=free_bits).sum()
        loss = rec + beta * kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out.append([rec.item(), kl.item(), beta])
    return out, _state(model)


def multilabel_net(torch, n_in=6, labels=4):
    nn = torch.nn
    return nn.Sequential(nn.Linear(n_in, 12), nn.Mish(), nn.Linear(12, labels))


def train_focal(torch, model, x, targets, steps=4):
    """torchvision.ops.sigmoid_focal_loss written out, normalized by the positives as
    RetinaNet does, plus MultiLabelSoftMarginLoss with class weights; per-label F1 at 0.5."""
    F = torch.nn.functional  # noqa: N806

    def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
        p = torch.sigmoid(inputs)
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha >= 0:
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            loss = alpha_t * loss
        if reduction == "mean":
            return loss.mean()
        if reduction == "sum":
            return loss.sum()
        return loss

    soft_margin = torch.nn.MultiLabelSoftMarginLoss(
        weight=torch.tensor([1.0, 2.0, 1.0, 0.5], dtype=x.dtype))
    optimizer = torch.optim.RAdam(model.parameters(), lr=0.05, decoupled_weight_decay=True,
                                  weight_decay=0.01)
    losses = []
    for _ in range(steps):
        logits = model(x)
        num_pos = max(targets.sum().item(), 1.0)
        focal = sigmoid_focal_loss(logits, targets, reduction="sum") / num_pos
        loss = focal + soft_margin(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append([focal.item(), loss.item()])
    with torch.no_grad():
        pred = (torch.sigmoid(model(x)) > 0.5).to(x.dtype)
        tp = (pred * targets).sum(0)
        f1 = 2 * tp / (pred.sum(0) + targets.sum(0)).clamp(min=1)
    return losses, f1.numpy(), _state(model)


def ranker(torch, n_in=5, emb=4):
    nn = torch.nn

    class Ranker(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Sequential(nn.Linear(n_in, 8), nn.Softplus(), nn.Linear(8, emb))
            self.score = nn.Linear(emb, 1, bias=False)  # a bias cancels in every pair

        def forward(self, x):
            e = self.embed(x)
            return self.score(e).squeeze(-1), e

    return Ranker()


def train_ranker(torch, model, x, pairs, prefs, similar, steps=4):
    """RankNet's pairwise logistic loss on score differences, MarginRankingLoss on the same
    pairs, CosineEmbeddingLoss pulling similar items' embeddings together; PairwiseDistance of
    the pairs at the end; Rprop."""
    F = torch.nn.functional  # noqa: N806
    margin = torch.nn.MarginRankingLoss(margin=0.2)
    cosine = torch.nn.CosineEmbeddingLoss(margin=0.1)
    optimizer = torch.optim.Rprop(model.parameters(), lr=0.01, etas=(0.5, 1.2),
                                  step_sizes=(1e-6, 1.0))
    i, j = pairs[:, 0], pairs[:, 1]
    losses = []
    for _ in range(steps):
        s, e = model(x)
        ranknet = F.binary_cross_entropy_with_logits(s[i] - s[j], (prefs + 1) / 2)
        loss = ranknet + margin(s[i], s[j], prefs) + cosine(e[i], e[j], similar)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append([ranknet.item(), loss.item()])
    with torch.no_grad():
        s, e = model(x)
        dist = torch.nn.PairwiseDistance(p=2.0, eps=1e-6)(e[i], e[j])
        order = torch.argsort(s, descending=True)
    return losses, dist.numpy(), order.tolist(), _state(model)


def hypernetwork(torch, z_dim=3, c_in=2, c_out=3, k=3, classes=2):
    """A hypernetwork emits each sample's conv kernel and bias from its code z; the batch of
    per-sample convolutions runs as one F.conv2d with groups=N over a (1, N*C, H, W) input."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class HyperConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.hyper = nn.Sequential(nn.Linear(z_dim, 16), nn.ReLU(),
                                       nn.Linear(16, c_out * c_in * k * k + c_out))
            self.head = nn.Linear(c_out, classes)

        def forward(self, x, z):
            n, c, h, w = x.shape
            params = self.hyper(z)
            weight = params[:, : c_out * c_in * k * k].reshape(n * c_out, c_in, k, k)
            bias = params[:, c_out * c_in * k * k:].reshape(n * c_out)
            y = F.conv2d(x.reshape(1, n * c, h, w), weight, bias, padding=k // 2, groups=n)
            y = F.leaky_relu(y.view(n, c_out, h, w), 0.1)
            return self.head(F.adaptive_avg_pool2d(y, 1).flatten(1)), weight

    return HyperConvNet()


def train_hypernetwork(torch, model, x, z, labels, steps=3):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        logits, weight = model(x, z)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        _, weight = model(x, z)
        first = torch.nn.functional.conv2d(x[:1], weight[:3], padding=1)
    return losses, first.numpy(), _state(model)


def conv_bn_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 5 * 5, 2))


def train_then_fuse(torch, model, x, y, steps=3):
    """Training through torch.utils.checkpoint.checkpoint_sequential (3 segments,
    use_reentrant=False); then each Conv2d-BatchNorm2d pair folded by
    nn.utils.fusion.fuse_conv_bn_eval for inference, the BatchNorm replaced by Identity."""
    checkpoint_sequential = torch.utils.checkpoint.checkpoint_sequential
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    model.train()
    for _ in range(steps):
        inputs = x.clone().requires_grad_()
        out = checkpoint_sequential(model, 3, inputs, use_reentrant=False)
        loss = torch.nn.functional.cross_entropy(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        reference = model(x)
        for i in (0, 3):
            model[i] = torch.nn.utils.fusion.fuse_conv_bn_eval(model[i], model[i + 1])
            model[i + 1] = torch.nn.Identity()
        fused = model(x)
    return losses, reference.numpy(), fused.numpy(), model[3].bias is not None, _state(model)


def lstmp_ctc(torch, n_mels=6, hidden=8, proj=3, labels=5):
    """An acoustic model on a projected bidirectional LSTM (LSTMP, nn.LSTM(proj_size=...)):
    a strided Conv1d front end, two LSTMP layers, per-frame log-probabilities for CTC."""
    nn = torch.nn

    class AcousticModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.subsample = nn.Sequential(nn.Conv1d(n_mels, hidden, 3, stride=2, padding=1),
                                           nn.Hardtanh(0, 20))
            self.rnn = nn.LSTM(hidden, hidden, num_layers=2, bidirectional=True,
                               batch_first=True, proj_size=proj)
            self.fc = nn.Linear(2 * proj, labels)

        def forward(self, feats):
            x = self.subsample(feats.transpose(1, 2)).transpose(1, 2)
            x, _ = self.rnn(x)
            return self.fc(x).log_softmax(dim=-1)

    return AcousticModel()


def train_lstmp_ctc(torch, model, feats, feat_lengths, targets, target_lengths, steps=3):
    """CTCLoss(blank=0, zero_infinity=True) on (T, N, C) log-probs, output lengths by the
    front end's stride, AdamW and clip_grad_norm_; greedy decoding by argmax,
    unique_consecutive and dropping blanks."""
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02)
    out_lengths = (feat_lengths + 1) // 2
    losses = []
    for _ in range(steps):
        log_probs = model(feats)
        loss = ctc(log_probs.transpose(0, 1), targets, out_lengths, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        best = model(feats).argmax(dim=-1)
    hyps = []
    for path, n in zip(best, out_lengths.tolist()):
        collapsed = torch.unique_consecutive(path[:n])
        hyps.append(collapsed[collapsed != 0].tolist())
    return losses, hyps, _state(model)
