"""Position biases of two public attention programs written from memory, run with ``torch`` =
PyTorch or chainrule (test_port9_programs.py): T5's relative position buckets (integer buckets
from a log scale, ``torch.min`` against a ``full_like``, ``torch.where``, ``.to(torch.long)``, an
Embedding of biases per head, bidirectional encoder and causal decoder) and ALiBi (per-head
slopes from powers of two, a linear distance bias added to a causal mask filled with
``torch.finfo(dtype).min``), in small language models trained a few steps.
"""

from __future__ import annotations

import math


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _relative_position_bucket(torch, relative_position, bidirectional=True, num_buckets=8,
                              max_distance=16):
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact) * (num_buckets - max_exact)).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1))
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


def get_alibi_slopes(n_heads):
    def get_slopes_power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]

    if math.log2(n_heads).is_integer():
        return get_slopes_power_of_2(n_heads)
    closest = 2 ** math.floor(math.log2(n_heads))
    return (get_slopes_power_of_2(closest)
            + get_alibi_slopes(2 * closest)[0::2][:n_heads - closest])


def biased_lm(torch, kind="t5", vocab=9, dim=8, heads=2, num_buckets=8, max_len=12):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class Attention(nn.Module):
        def __init__(self, has_relative_attention_bias):
            super().__init__()
            self.q = nn.Linear(dim, dim, bias=False)
            self.k = nn.Linear(dim, dim, bias=False)
            self.v = nn.Linear(dim, dim, bias=False)
            self.o = nn.Linear(dim, dim, bias=False)
            self.has_relative_attention_bias = has_relative_attention_bias
            if has_relative_attention_bias:
                self.relative_attention_bias = nn.Embedding(num_buckets, heads)
            if kind == "alibi":
                self.register_buffer("slopes", torch.tensor(get_alibi_slopes(heads)),
                                     persistent=False)

        def compute_bias(self, query_length, key_length, bidirectional):
            context_position = torch.arange(query_length, dtype=torch.long)[:, None]
            memory_position = torch.arange(key_length, dtype=torch.long)[None, :]
            relative_position = memory_position - context_position
            buckets = _relative_position_bucket(torch, relative_position, bidirectional,
                                                num_buckets)
            values = self.relative_attention_bias(buckets)
            return values.permute([2, 0, 1]).unsqueeze(0)

        def forward(self, x, causal, position_bias=None):
            b, n, _ = x.shape
            q, k, v = (p(x).view(b, n, heads, -1).transpose(1, 2) for p in (self.q, self.k, self.v))
            scores = torch.matmul(q, k.transpose(3, 2))
            if kind == "t5":
                if position_bias is None:
                    position_bias = self.compute_bias(n, n, bidirectional=not causal)
                scores = scores + position_bias
            else:
                distance = (torch.arange(n)[None, :] - torch.arange(n)[:, None]).to(x.dtype)
                scores = scores / math.sqrt(dim // heads) + self.slopes.to(x.dtype)[:, None, None] \
                    * distance
            if causal:
                mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
                scores = scores.masked_fill(mask, torch.finfo(scores.dtype).min)
            attn = F.softmax(scores.float(), dim=-1).type_as(scores)
            out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, dim)
            return self.o(out), position_bias

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.layers = nn.ModuleList([Attention(i == 0) for i in range(2)])
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, vocab)

        def forward(self, tokens, causal=True):
            x = self.embed(tokens)
            position_bias = None
            for layer in self.layers:
                h, position_bias = layer(x, causal, position_bias)
                x = x + h
            return self.head(self.norm(x))

    return LM()


def train_biased_lm(torch, model, tokens, steps=4):
    """Causal next-token steps with Adam; then the bidirectional logits and the bucket table."""
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(steps):
        logits = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        both_ways = model(tokens, causal=False)
    rel = torch.arange(-20, 21)
    buckets = [_relative_position_bucket(torch, rel, bidirectional=b).numpy()
               for b in (True, False)]
    return losses, both_ways.numpy(), buckets, _state(model)
