"""More ported PyTorch idioms, run with ``torch`` = PyTorch or chainrule (test_port2_programs.py):
a perceptual loss from forward hooks on a frozen network, custom autograd Functions (the
LegendrePolynomial3 tutorial, a max with non-differentiable indices, gradcheck), the
parametrizations tutorial (Symmetric, Skew + matrix_exp, weight_norm, cached, removal), LoRA by
register_parametrization, model ensembling with stack_module_state and vmap, batch-hard triplet
mining, a VQ-VAE's straight-through codebook and MAE's random masking by argsort.
"""

from __future__ import annotations

import copy


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def hooked_pair(torch):
    """A small generator and a frozen feature network, as one module so both get weights."""
    nn = torch.nn

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.generator = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                                           nn.Conv2d(6, 3, 3, padding=1), nn.Tanh())
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                                          nn.MaxPool2d(2), nn.Conv2d(6, 6, 3, padding=1))

    return Pair()


def train_perceptual(torch, pair, images, targets, steps=3):
    """Activations captured by forward hooks on named layers of a frozen network (requires_grad_
    off, eval mode), a forward pre-hook that normalizes the generator's input, a full backward
    hook logging gradient norms; the handles removed afterwards."""
    F = torch.nn.functional  # noqa: N806
    gen, net = pair.generator, pair.features
    net.requires_grad_(False)
    net.eval()
    activation = {}

    def get_activation(name):
        def hook(model, input, output):  # noqa: A002
            activation[name] = output
        return hook

    layers = dict(net.named_modules())
    handles = [layers[name].register_forward_hook(get_activation(name)) for name in ("1", "5")]

    def normalize(module, args):
        (x,) = args
        return (x - x.mean(dim=(2, 3), keepdim=True)) / (x.std(dim=(2, 3), keepdim=True) + 1e-5)

    handles.append(gen[0].register_forward_pre_hook(normalize))
    grad_norms = []
    handles.append(gen[2].register_full_backward_hook(
        lambda module, grad_input, grad_output: grad_norms.append(grad_output[0].norm().item())))
    optimizer = torch.optim.Adam(gen.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        net(targets)
        wanted = {k: v.detach() for k, v in activation.items()}
        out = gen(images)
        net(out)
        loss = sum(F.mse_loss(activation[k], wanted[k]) for k in ("1", "5"))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    for h in handles:
        h.remove()
    activation.clear()
    net(images)
    frozen = all(p.grad is None for p in net.parameters())
    return losses, grad_norms, _state(pair), sorted(activation), frozen


def legendre_fit(torch):
    nn = torch.nn

    class Coefficients(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Parameter(torch.tensor(0.0))
            self.b = nn.Parameter(torch.tensor(-1.0))
            self.c = nn.Parameter(torch.tensor(0.0))
            self.d = nn.Parameter(torch.tensor(0.3))

    return Coefficients()


def train_custom_functions(torch, coeffs, x, y, logits, steps=5, lr=2e-3):
    """The tutorial's LegendrePolynomial3 (ctx.save_for_backward, hand-updated coefficients
    under no_grad), checked by torch.autograd.gradcheck; then a Function that returns a max and
    its indices, marks the indices non-differentiable and reads ctx.needs_input_grad."""
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):  # noqa: A002
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors  # noqa: A001
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    class MaxWithIndices(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, dim):  # noqa: A002
            values, indices = input.max(dim=dim)
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            ctx.dim, ctx.shape = dim, input.shape
            return values, indices

        @staticmethod
        def backward(ctx, grad_values, grad_indices):
            (indices,) = ctx.saved_tensors
            grad_input = None
            if ctx.needs_input_grad[0]:
                grad_input = torch.zeros(ctx.shape, dtype=grad_values.dtype)
                grad_input.scatter_(ctx.dim, indices.unsqueeze(ctx.dim),
                                    grad_values.unsqueeze(ctx.dim))
            return grad_input, None

    losses = []
    P3 = LegendrePolynomial3.apply  # noqa: N806
    for _ in range(steps):
        y_pred = coeffs.a + coeffs.b * P3(coeffs.c + coeffs.d * x)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for p in coeffs.parameters():
                p -= lr * p.grad
                p.grad = None
        losses.append(loss.item())
    probe = (x[:4].clone() * 0.5).requires_grad_()
    checked = torch.autograd.gradcheck(P3, (probe,), eps=1e-6, atol=1e-6)
    scores = logits.clone().requires_grad_()
    values, indices = MaxWithIndices.apply(scores, 1)
    (values * torch.arange(1.0, len(values) + 1, dtype=values.dtype)).sum().backward()
    return (losses, _state(coeffs), checked, indices.tolist(), indices.requires_grad,
            scores.grad.numpy())


def parametrized_net(torch):
    """The parametrizations tutorial's constraints on three layers."""
    nn = torch.nn
    parametrize = torch.nn.utils.parametrize

    class Symmetric(nn.Module):
        def forward(self, X):  # noqa: N803
            return X.triu() + X.triu(1).transpose(-1, -2)

    class Skew(nn.Module):
        def forward(self, X):  # noqa: N803
            A = X.triu(1)  # noqa: N806
            return A - A.transpose(-1, -2)

        def right_inverse(self, A):  # noqa: N803
            return A.triu(1)

    class MatrixExponential(nn.Module):
        def forward(self, X):  # noqa: N803
            return torch.matrix_exp(X)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.sym = nn.Linear(4, 4)
            parametrize.register_parametrization(self.sym, "weight", Symmetric())
            self.rot = nn.Linear(4, 4, bias=False)
            parametrize.register_parametrization(self.rot, "weight", Skew())
            parametrize.register_parametrization(self.rot, "weight", MatrixExponential())
            self.conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(1, 2, 3, padding=1))
            self.out = nn.Linear(8, 2)

        def forward(self, x):
            h = torch.tanh(self.rot(self.sym(x)))
            h = self.conv(h.unsqueeze(1)).flatten(1)
            return self.out(h)

    return Net()


def train_parametrized(torch, model, x, y, steps=4):
    """Adam on the unconstrained originals; forward passes under parametrize.cached(); then the
    constraints made permanent by remove_parametrizations(leave_parametrized=True)."""
    parametrize = torch.nn.utils.parametrize
    keys = sorted(model.state_dict())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        with parametrize.cached():
            loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    w = model.rot.weight.detach()
    gap = (w @ w.T - torch.eye(4, dtype=w.dtype)).abs().max().item()
    symmetric = bool((model.sym.weight == model.sym.weight.T).all())
    with torch.no_grad():
        before = model(x)
    for layer in (model.sym, model.rot, model.conv):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    with torch.no_grad():
        after = model(x)
    return (losses, keys, gap < 1e-9, symmetric, (after - before).abs().max().item(),
            _state(model), parametrize.is_parametrized(model.rot))


def lora_mlp(torch, rank=2, alpha=4):
    """A pretrained MLP given LoRA adapters by register_parametrization (the parametrization
    holds the low-rank factors; the base weight stays frozen)."""
    nn = torch.nn
    parametrize = torch.nn.utils.parametrize

    class LoRAParametrization(nn.Module):
        def __init__(self, features_in, features_out):
            super().__init__()
            self.lora_A = nn.Parameter(torch.zeros((rank, features_out)))
            self.lora_B = nn.Parameter(torch.zeros((features_in, rank)))
            nn.init.normal_(self.lora_A, mean=0, std=1)
            self.scale = alpha / rank
            self.enabled = True

        def forward(self, original_weights):
            if self.enabled:
                delta = torch.matmul(self.lora_B, self.lora_A).view(original_weights.shape)
                return original_weights + delta * self.scale
            return original_weights

    model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3))
    for layer in (model[0], model[2]):
        features_in, features_out = layer.weight.shape
        parametrize.register_parametrization(
            layer, "weight", LoRAParametrization(features_in, features_out))
    return model


def train_lora(torch, model, x, y, steps=4):
    """Only the LoRA factors train (requires_grad off for the rest by name); the adapters are
    switched off to recover the base model's output."""
    for name, param in model.named_parameters():
        if "lora" not in name:
            param.requires_grad = False
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    base = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    unchanged = all(torch.equal(base[n], p) for n, p in model.named_parameters() if n in base)
    with torch.no_grad():
        adapted = model(x)
        for layer in (model[0], model[2]):
            layer.parametrizations["weight"][0].enabled = False
        plain = model(x)
    return losses, trainable, unchanged, adapted.numpy(), plain.numpy(), _state(model)


def ensemble(torch, n_models=3):
    nn = torch.nn
    return nn.ModuleList([nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
                          for _ in range(n_models)])


def train_ensemble(torch, models, x, minibatches, steps=3, device="meta"):
    """torch.func's model-ensembling tutorial: stack_module_state, a stateless base copy on
    ``device`` (the tutorial's "meta"; a test passes "cpu" too),
    vmap over functional_call with one shared or one batch per model; then training the stacked
    parameters themselves."""
    from_func = torch.func
    params, buffers = from_func.stack_module_state(list(models))
    base_model = copy.deepcopy(models[0]).to(device)

    def fmodel(params, buffers, x):
        return from_func.functional_call(base_model, (params, buffers), (x,))

    shared = from_func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    per_model = from_func.vmap(fmodel)(params, buffers, minibatches)
    looped = torch.stack([m(x) for m in models])
    optimizer = torch.optim.SGD(list(params.values()), lr=0.2, momentum=0.5)
    labels = torch.arange(x.shape[0]) % 3
    losses = []
    for _ in range(steps):
        logits = from_func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 3),
                                                 labels.repeat(len(models)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return (shared.detach().numpy(), per_model.detach().numpy(),
            (shared - looped).abs().max().item(), losses,
            {k: v.detach().numpy() for k, v in params.items()})


def embedding_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))


def train_batch_hard_triplet(torch, model, x, labels, steps=4, margin=0.5):
    """Batch-hard mining (Hermans et al.): torch.cdist distances, the hardest positive and
    negative of each anchor through boolean masks, a soft-margin loss; then the mined triplets
    fed to nn.TripletMarginLoss as a second term."""
    F = torch.nn.functional  # noqa: N806
    criterion = torch.nn.TripletMarginLoss(margin=margin, p=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(labels), dtype=torch.bool)
    losses, hardest = [], []
    for _ in range(steps):
        emb = F.normalize(model(x), dim=1)
        dist = torch.cdist(emb, emb, p=2)
        hardest_pos = (dist * (same & ~eye)).max(dim=1)
        hardest_neg = dist.masked_fill(same, float("inf")).min(dim=1)
        batch_hard = F.softplus(hardest_pos.values - hardest_neg.values).mean()
        mined = criterion(emb, emb[hardest_pos.indices], emb[hardest_neg.indices])
        loss = batch_hard + mined
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append([batch_hard.item(), mined.item()])
        hardest.append([hardest_pos.indices.tolist(), hardest_neg.indices.tolist()])
    return losses, hardest, _state(model)


def vq_vae(torch, num_embeddings=6, embedding_dim=3):
    """A VQ-VAE in the style of the well-known notebooks: conv encoder, a codebook nn.Embedding
    picked by nearest distance, straight-through estimator, conv-transpose decoder."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class VectorQuantizer(nn.Module):
        def __init__(self, commitment_cost=0.25):
            super().__init__()
            self._embedding = nn.Embedding(num_embeddings, embedding_dim)
            self._embedding.weight.data.uniform_(-1 / num_embeddings, 1 / num_embeddings)
            self._commitment_cost = commitment_cost

        def forward(self, inputs):
            inputs = inputs.permute(0, 2, 3, 1).contiguous()
            input_shape = inputs.shape
            flat_input = inputs.view(-1, embedding_dim)
            distances = (torch.sum(flat_input ** 2, dim=1, keepdim=True)
                         + torch.sum(self._embedding.weight ** 2, dim=1)
                         - 2 * torch.matmul(flat_input, self._embedding.weight.t()))
            encoding_indices = torch.argmin(distances, dim=1).unsqueeze(1)
            encodings = torch.zeros(encoding_indices.shape[0], num_embeddings,
                                    dtype=inputs.dtype)
            encodings.scatter_(1, encoding_indices, 1)
            quantized = torch.matmul(encodings, self._embedding.weight).view(input_shape)
            e_latent_loss = F.mse_loss(quantized.detach(), inputs)
            q_latent_loss = F.mse_loss(quantized, inputs.detach())
            loss = q_latent_loss + self._commitment_cost * e_latent_loss
            quantized = inputs + (quantized - inputs).detach()
            avg_probs = torch.mean(encodings, dim=0)
            perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
            return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encodings

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Conv2d(1, 4, 4, stride=2, padding=1), nn.ReLU(),
                                         nn.Conv2d(4, embedding_dim, 1))
            self.vq = VectorQuantizer()
            self.decoder = nn.Sequential(nn.ConvTranspose2d(embedding_dim, 4, 4, stride=2,
                                                            padding=1), nn.ReLU(),
                                         nn.Conv2d(4, 1, 3, padding=1))

        def forward(self, x):
            loss, quantized, perplexity, _ = self.vq(self.encoder(x))
            return loss, self.decoder(quantized), perplexity

    return Model()


def train_vq_vae(torch, model, images, steps=4):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, amsgrad=False)
    data_variance = images.var().item()
    out = []
    for _ in range(steps):
        optimizer.zero_grad()
        vq_loss, recon, perplexity = model(images)
        recon_error = torch.nn.functional.mse_loss(recon, images) / data_variance
        loss = recon_error + vq_loss
        loss.backward()
        optimizer.step()
        out.append([loss.item(), recon_error.item(), perplexity.item()])
    grads = {k: p.grad.numpy().copy() for k, p in model.named_parameters()}
    return out, grads, _state(model)


def mae(torch, patch=2, dim=8, pixels=4):
    """MAE's random masking (per-sample noise, argsort, gather with ids_restore, mask tokens
    appended and unshuffled), a one-layer encoder and decoder, the loss on masked patches."""
    nn = torch.nn

    class MAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Linear(patch * patch, dim)
            self.pos_embed = nn.Parameter(torch.zeros(1, pixels, dim))
            self.encoder = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU())
            self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.decoder = nn.Sequential(nn.Linear(dim, dim), nn.GELU(),
                                         nn.Linear(dim, patch * patch))

        def patchify(self, imgs):
            h = w = imgs.shape[2] // patch
            x = imgs.reshape(imgs.shape[0], 1, h, patch, w, patch)
            x = torch.einsum("nchpwq->nhwpqc", x)
            return x.reshape(imgs.shape[0], h * w, patch * patch)

        def random_masking(self, x, mask_ratio, noise):
            N, L, D = x.shape  # noqa: N806
            len_keep = int(L * (1 - mask_ratio))
            ids_shuffle = torch.argsort(noise, dim=1)
            ids_restore = torch.argsort(ids_shuffle, dim=1)
            ids_keep = ids_shuffle[:, :len_keep]
            x_masked = torch.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))
            mask = torch.ones([N, L], dtype=x.dtype)
            mask[:, :len_keep] = 0
            mask = torch.gather(mask, dim=1, index=ids_restore)
            return x_masked, mask, ids_restore

        def forward(self, imgs, noise, mask_ratio=0.5):
            target = self.patchify(imgs)
            x = self.patch_embed(target) + self.pos_embed
            x, mask, ids_restore = self.random_masking(x, mask_ratio, noise)
            x = self.encoder(x)
            mask_tokens = self.mask_token.repeat(x.shape[0], ids_restore.shape[1] - x.shape[1], 1)
            x_ = torch.cat([x, mask_tokens], dim=1)
            x_ = torch.gather(x_, dim=1,
                              index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
            pred = self.decoder(x_ + self.pos_embed)
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.0e-6) ** 0.5
            loss = ((pred - target) ** 2).mean(dim=-1)
            return (loss * mask).sum() / mask.sum(), mask

    return MAE()


def train_mae(torch, model, images, noises):
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, betas=(0.9, 0.95),
                                  weight_decay=0.05)
    losses, masks = [], []
    for noise in noises:
        loss, mask = model(images, noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        masks.append(mask.numpy())
    return losses, masks, _state(model)
