"""Wave-17 ports, part eight, run with ``torch`` = PyTorch or chainrule
(test_port17h_programs.py).

- A sparse autoencoder on activations (Neel Nanda's 1L-SAE ``AutoEncoder``): ``nn.Parameter``
  of ``kaiming_uniform_(torch.empty(...))``, ``W_dec.data[:] =`` unit rows, a forward returning
  the L2 and L1 terms through ``.float()``, ``@torch.no_grad()``
  ``make_decoder_weights_and_grad_unit_norm`` (the gradient's radial part removed in place, then
  ``W_dec.data =`` rebound) between ``backward`` and ``step``, and resampling of dead features by
  ``.data[:, indices] =``.
- Contrastive image-text training as open_clip writes it: ``logit_scale`` a
  ``Parameter(torch.ones([]) * np.log(1 / 0.07))``, ``ClipLoss`` (symmetric cross-entropy over
  ``arange`` labels) or ``SigLipLoss`` (``-F.logsigmoid(labels * logits)`` with a learned bias),
  AdamW over two parameter groups split by open_clip's ``exclude`` rule, its ``cosine_lr``
  schedule with warmup through ``assign_learning_rate``, and ``logit_scale.clamp_(0, log 100)``.
- facebookresearch/schedule_free's ``AdamWScheduleFreeReference``: an optimizer with its own
  ``train()``/``eval()`` that copy the ``y`` or ``x`` sequence into the parameters,
  ``torch.clone(p, memory_format=torch.preserve_format)`` state, ``addcmul_``/``addcdiv_`` with
  ``value=``, warmup and weighted averaging; evaluated at ``x``.
"""

from __future__ import annotations

import math

import numpy as np


def sae(torch, cfg):
    nn, F = torch.nn, torch.nn.functional
    DTYPES = {"fp32": torch.float32, "fp64": torch.float64}

    class AutoEncoder(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            d_hidden = cfg["dict_size"]
            l1_coeff = cfg["l1_coeff"]
            dtype = DTYPES[cfg["enc_dtype"]]
            torch.manual_seed(cfg["seed"])
            self.W_enc = nn.Parameter(torch.nn.init.kaiming_uniform_(
                torch.empty(cfg["act_size"], d_hidden, dtype=dtype)))
            self.W_dec = nn.Parameter(torch.nn.init.kaiming_uniform_(
                torch.empty(d_hidden, cfg["act_size"], dtype=dtype)))
            self.b_enc = nn.Parameter(torch.zeros(d_hidden, dtype=dtype))
            self.b_dec = nn.Parameter(torch.zeros(cfg["act_size"], dtype=dtype))

            self.W_dec.data[:] = self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)

            self.d_hidden = d_hidden
            self.l1_coeff = l1_coeff

        def forward(self, x):
            x_cent = x - self.b_dec
            acts = F.relu(x_cent @ self.W_enc + self.b_enc)
            x_reconstruct = acts @ self.W_dec + self.b_dec
            l2_loss = (x_reconstruct.float() - x.float()).pow(2).sum(-1).mean(0)
            l1_loss = self.l1_coeff * (acts.float().abs().sum())
            loss = l2_loss + l1_loss
            return loss, x_reconstruct, acts, l2_loss, l1_loss

        @torch.no_grad()
        def make_decoder_weights_and_grad_unit_norm(self):
            W_dec_normed = self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)
            W_dec_grad_proj = (self.W_dec.grad * W_dec_normed).sum(-1, keepdim=True) \
                * W_dec_normed
            self.W_dec.grad -= W_dec_grad_proj
            # Bugfix(?) for ensuring W_dec retains unit norm, this was not there when I trained
            # my original autoencoders.
            self.W_dec.data = W_dec_normed

    return AutoEncoder(cfg)


def train_sae(torch, encoder, acts_data, cfg, epochs=3, resample=False):
    encoder_optim = torch.optim.Adam(encoder.parameters(), lr=cfg["lr"],
                                     betas=(cfg["beta1"], cfg["beta2"]))

    @torch.no_grad()
    def re_init(model, indices):
        new_W_enc = torch.nn.init.kaiming_uniform_(torch.zeros_like(model.W_enc))
        new_W_dec = torch.nn.init.kaiming_uniform_(torch.zeros_like(model.W_dec))
        new_b_enc = torch.zeros_like(model.b_enc)
        model.W_enc.data[:, indices] = new_W_enc[:, indices]
        model.W_dec.data[indices, :] = new_W_dec[indices, :]
        model.b_enc.data[indices] = new_b_enc[indices]

    history = []
    for epoch in range(epochs):
        for i in range(0, len(acts_data), cfg["batch_size"]):
            acts = acts_data[i:i + cfg["batch_size"]]
            loss, x_reconstruct, mid_acts, l2_loss, l1_loss = encoder(acts)
            loss.backward()
            encoder.make_decoder_weights_and_grad_unit_norm()
            encoder_optim.step()
            encoder_optim.zero_grad()
            history.append((loss.item(), l2_loss.item(), l1_loss.item()))
        with torch.no_grad():
            freqs = (encoder(acts_data)[2] > 0).float().mean(0)
        if resample and epoch < epochs - 1:
            dead = torch.arange(encoder.d_hidden)[freqs < 1e-4]
            if len(dead):
                re_init(encoder, dead)
    return history, freqs.numpy().copy(), {k: v.detach().numpy().copy()
                                          for k, v in encoder.state_dict().items()}


def clip_model(torch, d_img=10, d_txt=8, d_emb=6, siglip=False):
    nn = torch.nn

    class TinyCLIP(nn.Module):
        def __init__(self):
            super().__init__()
            self.visual = nn.Sequential(nn.Linear(d_img, 16), nn.GELU(), nn.LayerNorm(16),
                                        nn.Linear(16, d_emb))
            self.text = nn.Sequential(nn.Linear(d_txt, 16), nn.GELU(), nn.Linear(16, d_emb))
            self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
            if siglip:
                self.logit_scale = nn.Parameter(torch.ones([]) * np.log(10))
                self.logit_bias = nn.Parameter(torch.ones([]) * -10)

        def forward(self, image, text):
            image_features = nn.functional.normalize(self.visual(image), dim=-1)
            text_features = nn.functional.normalize(self.text(text), dim=-1)
            return image_features, text_features, self.logit_scale.exp()

    return TinyCLIP()


def train_clip(torch, model, images, texts, siglip=False, epochs=4, batch_size=6,
               warmup=3, base_lr=5e-3):
    F = torch.nn.functional

    class ClipLoss(torch.nn.Module):
        def forward(self, image_features, text_features, logit_scale):
            logits_per_image = logit_scale * image_features @ text_features.T
            logits_per_text = logit_scale * text_features @ image_features.T
            labels = torch.arange(logits_per_image.shape[0], dtype=torch.long)
            return (F.cross_entropy(logits_per_image, labels)
                    + F.cross_entropy(logits_per_text, labels)) / 2

    class SigLipLoss(torch.nn.Module):
        def get_ground_truth(self, device, dtype, num_logits, negative_only=False):
            labels = -torch.ones((num_logits, num_logits), device=device, dtype=dtype)
            if not negative_only:
                labels = 2 * torch.eye(num_logits, device=device, dtype=dtype) + labels
            return labels

        def forward(self, image_features, text_features, logit_scale, logit_bias):
            logits = logit_scale * image_features @ text_features.T + logit_bias
            labels = self.get_ground_truth(image_features.device, image_features.dtype,
                                           image_features.shape[0])
            return -F.logsigmoid(labels * logits).sum() / image_features.shape[0]

    def exclude(n, p):
        return p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or 'logit_scale' in n

    def include(n, p):
        return not exclude(n, p)

    named_parameters = list(model.named_parameters())
    gain_or_bias_params = [p for n, p in named_parameters if exclude(n, p) and p.requires_grad]
    rest_params = [p for n, p in named_parameters if include(n, p) and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": gain_or_bias_params, "weight_decay": 0.},
         {"params": rest_params, "weight_decay": 0.2}],
        lr=base_lr, betas=(0.9, 0.98), eps=1e-6)

    def assign_learning_rate(optimizer, new_lr):
        for param_group in optimizer.param_groups:
            param_group["lr"] = new_lr

    def _warmup_lr(base_lr, warmup_length, step):
        return base_lr * (step + 1) / warmup_length

    def cosine_lr(optimizer, base_lr, warmup_length, steps):
        def _lr_adjuster(step):
            if step < warmup_length:
                lr = _warmup_lr(base_lr, warmup_length, step)
            else:
                e = step - warmup_length
                es = steps - warmup_length
                lr = 0.5 * (1 + np.cos(np.pi * e / es)) * base_lr
            assign_learning_rate(optimizer, lr)
            return lr
        return _lr_adjuster

    num_batches = math.ceil(len(images) / batch_size)
    scheduler = cosine_lr(optimizer, base_lr, warmup, num_batches * epochs)
    loss_fn = SigLipLoss() if siglip else ClipLoss()
    history = []
    for epoch in range(epochs):
        model.train()
        for i in range(num_batches):
            step = num_batches * epoch + i
            lr = scheduler(step)
            image = images[i * batch_size:(i + 1) * batch_size]
            text = texts[i * batch_size:(i + 1) * batch_size]
            optimizer.zero_grad()
            image_features, text_features, logit_scale = model(image, text)
            if siglip:
                total_loss = loss_fn(image_features, text_features, logit_scale,
                                     model.logit_bias)
            else:
                total_loss = loss_fn(image_features, text_features, logit_scale)
            total_loss.backward()
            optimizer.step()
            # Note: we clamp to 4.6052 = ln(100), as in the original paper.
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            history.append((total_loss.item(), lr, logit_scale.item()))
    model.eval()
    with torch.no_grad():
        image_features, text_features, _ = model(images, texts)
        retrieval = (image_features @ text_features.T).argmax(-1)
    return history, retrieval.numpy().copy(), {k: v.detach().numpy().copy()
                                               for k, v in model.state_dict().items()}


def schedule_free_class(torch):
    class AdamWScheduleFreeReference(torch.optim.Optimizer):
        def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                     warmup_steps=0, r=0, weight_lr_power=2, decay_at_z=False, foreach=False):
            defaults = dict(lr=lr, betas=betas, eps=eps, r=r, k=0, warmup_steps=warmup_steps,
                            train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0,
                            weight_lr_power=weight_lr_power, decay_at_z=decay_at_z,
                            weight_decay=weight_decay, foreach=foreach)
            super().__init__(params, defaults)

        @torch.no_grad()
        def eval(self):
            for group in self.param_groups:
                train_mode = group['train_mode']
                if train_mode:
                    for p in group['params']:
                        state = self.state[p]
                        if 'x' in state:
                            # Switch p to x
                            p.copy_(state['x'])
                    group['train_mode'] = False

        @torch.no_grad()
        def train(self):
            for group in self.param_groups:
                train_mode = group['train_mode']
                if not train_mode:
                    for p in group['params']:
                        state = self.state[p]
                        if 'y' in state:
                            p.copy_(state['y'])
                    group['train_mode'] = True

        @torch.no_grad()
        def step(self, closure=None):
            if not self.param_groups[0]['train_mode']:
                raise Exception("Optimizer was not in train mode when step is called. "
                                "Please insert .train() and .eval() calls on the "
                                "optimizer. See documentation for details.")
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                eps = group['eps']
                decay = group['weight_decay']
                beta1, beta2 = group['betas']
                k = group['k']
                r = group['r']
                warmup_steps = group['warmup_steps']
                weight_lr_power = group['weight_lr_power']
                decay_at_z = group['decay_at_z']
                if k < warmup_steps:
                    sched = (k + 1) / warmup_steps
                else:
                    sched = 1.0
                bias_correction2 = 1 - beta2 ** (k + 1)
                lr = group['lr'] * sched
                group['scheduled_lr'] = lr  # For logging purposes
                lr_max = group['lr_max'] = max(lr, group['lr_max'])
                weight = ((k + 1) ** r) * (lr_max ** weight_lr_power)
                weight_sum = group['weight_sum'] = group['weight_sum'] + weight
                try:
                    ckp1 = weight / weight_sum
                except ZeroDivisionError:
                    ckp1 = 0
                for p in group['params']:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    state = self.state[p]
                    if 'z' not in state:
                        state['z'] = torch.clone(p, memory_format=torch.preserve_format)
                        state['exp_avg_sq'] = torch.zeros_like(
                            p, memory_format=torch.preserve_format)
                        state['x'] = torch.clone(p, memory_format=torch.preserve_format)
                        state['y'] = torch.clone(p, memory_format=torch.preserve_format)
                    exp_avg_sq = state['exp_avg_sq']
                    z = state['z']
                    x = state['x']
                    y = state['y']
                    # Weight decay
                    if decay != 0:
                        decay_point = z if decay_at_z else y
                        z.sub_(decay_point, alpha=lr * decay)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    denom = exp_avg_sq.div(bias_correction2).sqrt_().add_(eps)
                    z.addcdiv_(grad, denom, value=-lr)
                    x.mul_(1 - ckp1).add_(z, alpha=ckp1)
                    y.copy_(x.mul(beta1).add_(z, alpha=1 - beta1))
                    p.copy_(y)
                group['k'] = k + 1
            return loss

    return AdamWScheduleFreeReference


def train_schedule_free(torch, model, x, y, epochs=4, batch_size=8):
    optimizer = schedule_free_class(torch)(model.parameters(), lr=0.01, warmup_steps=4,
                                           weight_decay=0.01)
    history = []
    for _ in range(epochs):
        model.train()
        optimizer.train()
        for i in range(0, len(x), batch_size):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[i:i + batch_size]),
                                                     y[i:i + batch_size])
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        model.eval()
        optimizer.eval()
        with torch.no_grad():
            history.append(torch.nn.functional.cross_entropy(model(x), y).item())
    return history, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
