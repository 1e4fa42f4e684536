"""A GPT-style character model, written as a PyTorch program: only the import says chainrule.

Token and position embeddings, a stack of causal pre-LN Transformer encoder layers
(``nn.TransformerEncoderLayer`` with a square subsequent mask), a final LayerNorm and a linear
head predicting the next character; AdamW, cross-entropy on ``view(B * T, C)``, gradient
clipping, then sampling one character at a time at a temperature with ``multinomial``.

The text is the Zen of Python (``import this``: shipped with every Python, offline). It is
tiny (856 characters), so the model learns to recite it rather than to write new English; that is
the point of a check that the whole stack (attention, masks, layer norm, AdamW) learns.

    python examples/char_gpt.py                  # about 600 steps, a minute on a laptop CPU
    python examples/char_gpt.py --steps 50       # a quick look
"""

from __future__ import annotations

import argparse
import codecs
import this

import chainrule as torch  # the only line that differs from the PyTorch program
import chainrule.nn as nn
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling


def zen_of_python() -> str:
    """The text of ``import this`` (the module keeps it rot13-encoded)."""
    return codecs.decode(this.s, "rot13")


class CharGPT(nn.Module):
    def __init__(self, vocab: int, block: int, d_model: int, nhead: int, layers: int):
        super().__init__()
        self.block = block
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(block, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, idx):
        t = idx.size(1)
        x = self.tok(idx) + self.pos(torch.arange(t))
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        x = self.blocks(x, mask=mask, is_causal=True)
        return self.head(self.ln_f(x))

    @torch.no_grad()
    def generate(self, idx, new_tokens: int, temperature: float = 1.0):
        self.eval()
        for _ in range(new_tokens):
            logits = self(idx[:, -self.block:])[:, -1, :] / temperature
            probs = F.softmax(logits, dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, num_samples=1)], dim=1)
        return idx


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--block", type=int, default=32, help="context length")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--sample", type=int, default=300, help="characters to generate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    text = zen_of_python()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)

    model = CharGPT(len(chars), args.block, args.d_model, nhead=4, layers=args.layers)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters, {len(text)} characters, "
          f"vocabulary {len(chars)}")

    first = last = None
    for step in range(args.steps):
        starts = torch.randint(len(data) - args.block - 1, (args.batch,))
        x = torch.stack([data[s:s + args.block] for s in starts.tolist()])
        y = torch.stack([data[s + 1:s + 1 + args.block] for s in starts.tolist()])
        model.train()
        logits = model(x)
        B, T, C = logits.shape
        loss = F.cross_entropy(logits.view(B * T, C), y.view(B * T))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        first = loss.item() if first is None else first
        last = loss.item()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {last:.3f}")

    prompt = torch.tensor([[stoi[c] for c in "Beautiful"]], dtype=torch.long)
    out = model.generate(prompt, args.sample, temperature=args.temperature)[0].tolist()
    sample = "".join(chars[i] for i in out)
    print("\n--- generated at temperature", args.temperature, "---\n" + sample)
    return {"first_loss": first, "last_loss": last, "sample": sample, "vocab": len(chars)}


if __name__ == "__main__":
    main()
