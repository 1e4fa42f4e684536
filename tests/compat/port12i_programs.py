"""llm.c's train_gpt2.py (Karpathy's PyTorch reference for llm.c) written from memory, run with
``torch`` = PyTorch or chainrule (test_port12_programs.py): flags set as module attributes
(``self.c_proj.LLMC_RESIDUAL_SCALE_FLAG = 1``, ``LLMC_SKIP_INIT``) read by ``hasattr`` in an
``_init_weights`` applied with a ``torch.Generator`` through ``init.normal_(generator=)``, the
tied ``wte``/``lm_head`` weight, a tanh ``NewGELU``, ``F.scaled_dot_product_attention(
is_causal=True)``, ``configure_optimizers`` deciding ``fused=`` from
``inspect.signature(torch.optim.AdamW).parameters``, a ``nullcontext`` in place of autocast on
the CPU, gradient accumulation summing ``loss.detach()``, ``clip_grad_norm_``'s returned norm,
learning rates written into ``param_groups``, and ``generate`` masking by
``logits[logits < v[:, [-1]]] = -float('Inf')`` under ``@torch.no_grad()``.
"""

from __future__ import annotations

import inspect
import math
from contextlib import nullcontext


def llmc_gpt(torch):
    nn = torch.nn
    F = nn.functional

    class NewGELU(nn.Module):
        def forward(self, input):  # noqa: A002 - as llm.c writes it
            return (
                0.5
                * input
                * (
                    1.0
                    + torch.tanh(
                        math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))
                    )
                )
            )

    class CausalSelfAttention(nn.Module):
        def __init__(self, n_embd, n_head):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)
            self.c_proj.LLMC_RESIDUAL_SCALE_FLAG = 1
            self.n_head = n_head
            self.n_embd = n_embd

        def forward(self, x):
            B, T, C = x.size()
            qkv = self.c_attn(x)
            q, k, v = qkv.split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class MLP(nn.Module):
        def __init__(self, n_embd):
            super().__init__()
            self.c_fc = nn.Linear(n_embd, 4 * n_embd)
            self.gelu = NewGELU()
            self.c_proj = nn.Linear(4 * n_embd, n_embd)
            self.c_proj.LLMC_RESIDUAL_SCALE_FLAG = 1

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self, n_embd, n_head):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd)
            self.attn = CausalSelfAttention(n_embd, n_head)
            self.ln_2 = nn.LayerNorm(n_embd)
            self.mlp = MLP(n_embd)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x

    class GPT(nn.Module):
        def __init__(self, vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8):
            super().__init__()
            self.n_layer = n_layer
            self.block_size = block_size
            self.transformer = nn.ModuleDict(
                dict(
                    wte=nn.Embedding(vocab_size, n_embd),
                    wpe=nn.Embedding(block_size, n_embd),
                    h=nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)]),
                    ln_f=nn.LayerNorm(n_embd),
                )
            )
            self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
            self.lm_head.LLMC_SKIP_INIT = 1
            self.transformer.wte.weight = self.lm_head.weight
            self.init_rng = torch.Generator()
            self.init_rng.manual_seed(42)
            self.apply(self._init_weights)

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                std = (
                    0.02
                    if not hasattr(module, "LLMC_RESIDUAL_SCALE_FLAG")
                    else 0.02 / math.sqrt(2 * self.n_layer)
                )
                if not hasattr(module, "LLMC_SKIP_INIT"):
                    torch.nn.init.normal_(module.weight, mean=0.0, std=std, generator=self.init_rng)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02, generator=self.init_rng)

        def forward(self, idx, targets=None, return_logits=True):
            b, t = idx.size()
            pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
            tok_emb = self.transformer.wte(idx)
            pos_emb = self.transformer.wpe(pos)
            x = tok_emb + pos_emb
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            if targets is not None:
                logits = self.lm_head(x)
                loss = F.cross_entropy(
                    logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
                )
            else:
                logits = self.lm_head(x[:, [-1], :])
                loss = None
            if not return_logits:
                logits = None
            return logits, loss

        def configure_optimizers(
            self, weight_decay, learning_rate, betas, device_type, zero_stage=0
        ):
            param_dict = {pn: p for pn, p in self.named_parameters()}
            param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
            decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
            nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
            optim_groups = [
                {"params": decay_params, "weight_decay": weight_decay},
                {"params": nodecay_params, "weight_decay": 0.0},
            ]
            num_decay_params = sum(p.numel() for p in decay_params)
            fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
            use_fused = fused_available and device_type == "cuda"
            optimizer = torch.optim.AdamW(
                optim_groups, lr=learning_rate, betas=betas, fused=use_fused
            )
            return optimizer, num_decay_params, fused_available

        @torch.no_grad()
        def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
            for _ in range(max_new_tokens):
                idx_cond = idx if idx.size(1) <= self.block_size else idx[:, -self.block_size :]
                logits, _ = self(idx_cond)
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float("Inf")
                probs = F.softmax(logits, dim=-1)
                idx_next = probs.argmax(-1, keepdim=True)  # multinomial in llm.c: draws differ
                idx = torch.cat((idx, idx_next), dim=1)
            return idx

    torch.manual_seed(42)
    torch.set_float32_matmul_precision("high")
    return GPT()


def train_llmc(torch, model, data, steps=4):
    F = torch.nn.functional  # noqa: N806, F841
    device_type = "cpu"
    ctx = (
        torch.amp.autocast(device_type=device_type, dtype=torch.bfloat16)
        if device_type == "cuda"
        else nullcontext()
    )
    optimizer, nd, fused = model.configure_optimizers(
        weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.95), device_type=device_type
    )

    def get_lr(
        it, warmup_iters=2, num_iterations=steps, learning_rate=1e-3, learning_rate_decay_frac=0.0
    ):
        min_lr = learning_rate * learning_rate_decay_frac
        if it < warmup_iters:
            return learning_rate * (it + 1) / warmup_iters
        if it > num_iterations:
            return min_lr
        decay_ratio = (it - warmup_iters) / (num_iterations - warmup_iters)
        assert 0 <= decay_ratio <= 1
        return min_lr + (learning_rate - min_lr) * (1.0 - decay_ratio)

    out = []
    for step in range(steps):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        lossf = 0.0
        grad_accum_steps = 2
        for micro_step in range(grad_accum_steps):
            i = (step * 2 + micro_step) * 16
            x = data[i : i + 16].view(2, 8)
            y = data[i + 1 : i + 17].view(2, 8)
            with ctx:
                _, loss = model(x, y, return_logits=False)
                loss = loss / grad_accum_steps
                lossf += loss.detach()
            loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        lr = get_lr(step)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        optimizer.step()
        out.append((lossf.item(), norm.item(), lr))
    model.eval()
    gen = model.generate(torch.tensor([[1, 2]]), 4, top_k=3)
    return (
        out,
        gen.tolist(),
        nd,
        fused,
        model.transformer.wte.weight is model.lm_head.weight,
        {k: v.detach().numpy().copy() for k, v in model.state_dict().items()},
    )
