"""The Annotated Transformer and more ported idioms, run with ``torch`` = PyTorch or chainrule
(test_port6_programs.py): Harvard NLP's Annotated Transformer on its copy task (clones by
deepcopy, a hand-written LayerNorm, uint8 subsequent masks, KLDivLoss label smoothing with
index_fill_, the Noam rate by LambdaLR, greedy decoding), saliency and integrated gradients
with tensor hooks, a heteroscedastic deep ensemble (GaussianNLLLoss, PoissonNLLLoss), a
cyclically KL-annealed VAE with free bits, and multi-label focal loss.
"""

from __future__ import annotations

import copy
import math


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def annotated_transformer(torch, vocab=8, N=2, d_model=8, d_ff=16, h=2):  # noqa: N803
    """make_model of "The Annotated Transformer", dropout 0."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    def clones(module, n):
        return nn.ModuleList([copy.deepcopy(module) for _ in range(n)])

    class LayerNorm(nn.Module):
        def __init__(self, features, eps=1e-6):
            super().__init__()
            self.a_2 = nn.Parameter(torch.ones(features))
            self.b_2 = nn.Parameter(torch.zeros(features))
            self.eps = eps

        def forward(self, x):
            mean = x.mean(-1, keepdim=True)
            std = x.std(-1, keepdim=True)
            return self.a_2 * (x - mean) / (std + self.eps) + self.b_2

    class SublayerConnection(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.norm = LayerNorm(size)
            self.dropout = nn.Dropout(0.0)

        def forward(self, x, sublayer):
            return x + self.dropout(sublayer(self.norm(x)))

    def attention(query, key, value, mask=None):
        d_k = query.size(-1)
        scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(d_k)
        if mask is not None:
            scores = scores.masked_fill(mask == 0, -1e9)
        p_attn = scores.softmax(dim=-1)
        return torch.matmul(p_attn, value), p_attn

    class MultiHeadedAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.d_k = d_model // h
            self.h = h
            self.linears = clones(nn.Linear(d_model, d_model), 4)
            self.attn = None

        def forward(self, query, key, value, mask=None):
            if mask is not None:
                mask = mask.unsqueeze(1)
            nbatches = query.size(0)
            query, key, value = [lin(x).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
                                 for lin, x in zip(self.linears, (query, key, value))]
            x, self.attn = attention(query, key, value, mask=mask)
            x = x.transpose(1, 2).contiguous().view(nbatches, -1, self.h * self.d_k)
            del query, key, value
            return self.linears[-1](x)

    class PositionwiseFeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.w_1 = nn.Linear(d_model, d_ff)
            self.w_2 = nn.Linear(d_ff, d_model)

        def forward(self, x):
            return self.w_2(self.w_1(x).relu())

    class EncoderLayer(nn.Module):
        def __init__(self, self_attn, feed_forward):
            super().__init__()
            self.self_attn, self.feed_forward = self_attn, feed_forward
            self.sublayer = clones(SublayerConnection(d_model), 2)
            self.size = d_model

        def forward(self, x, mask):
            x = self.sublayer[0](x, lambda x: self.self_attn(x, x, x, mask))
            return self.sublayer[1](x, self.feed_forward)

    class DecoderLayer(nn.Module):
        def __init__(self, self_attn, src_attn, feed_forward):
            super().__init__()
            self.self_attn, self.src_attn, self.feed_forward = self_attn, src_attn, feed_forward
            self.sublayer = clones(SublayerConnection(d_model), 3)

        def forward(self, x, memory, src_mask, tgt_mask):
            m = memory
            x = self.sublayer[0](x, lambda x: self.self_attn(x, x, x, tgt_mask))
            x = self.sublayer[1](x, lambda x: self.src_attn(x, m, m, src_mask))
            return self.sublayer[2](x, self.feed_forward)

    class Stack(nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.layers = clones(layer, N)
            self.norm = LayerNorm(d_model)

        def forward(self, x, *args):
            for layer in self.layers:
                x = layer(x, *args)
            return self.norm(x)

    class Embeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.lut = nn.Embedding(vocab, d_model)

        def forward(self, x):
            return self.lut(x) * math.sqrt(d_model)

    class PositionalEncoding(nn.Module):
        def __init__(self, max_len=32):
            super().__init__()
            self.dropout = nn.Dropout(p=0.0)
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe.unsqueeze(0))

        def forward(self, x):
            x = x + self.pe[:, : x.size(1)].requires_grad_(False)
            return self.dropout(x)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(d_model, vocab)

        def forward(self, x):
            return F.log_softmax(self.proj(x), dim=-1)

    class EncoderDecoder(nn.Module):
        def __init__(self, encoder, decoder, src_embed, tgt_embed, generator):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder
            self.src_embed, self.tgt_embed, self.generator = src_embed, tgt_embed, generator

        def forward(self, src, tgt, src_mask, tgt_mask):
            return self.decode(self.encode(src, src_mask), src_mask, tgt, tgt_mask)

        def encode(self, src, src_mask):
            return self.encoder(self.src_embed(src), src_mask)

        def decode(self, memory, src_mask, tgt, tgt_mask):
            return self.decoder(self.tgt_embed(tgt), memory, src_mask, tgt_mask)

    c = copy.deepcopy
    attn, ff, position = MultiHeadedAttention(), PositionwiseFeedForward(), PositionalEncoding()
    model = EncoderDecoder(Stack(EncoderLayer(c(attn), c(ff))),
                           Stack(DecoderLayer(c(attn), c(attn), c(ff))),
                           nn.Sequential(Embeddings(), c(position)),
                           nn.Sequential(Embeddings(), c(position)), Generator())
    for p in model.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    return model


def train_copy_task(torch, model, batches, pad=0, smoothing=0.1):
    """The copy task: Batch's masks (uint8 subsequent_mask == 0 and padding), LabelSmoothing
    into a KLDivLoss(reduction='sum'), SimpleLossCompute's loss / ntokens, Adam with the Noam
    rate by LambdaLR; greedy_decode at the end."""
    nn = torch.nn

    def subsequent_mask(size):
        attn_shape = (1, size, size)
        mask = torch.triu(torch.ones(attn_shape), diagonal=1).type(torch.uint8)
        return mask == 0

    class LabelSmoothing(nn.Module):
        def __init__(self, size, padding_idx, smoothing=0.0):
            super().__init__()
            self.criterion = nn.KLDivLoss(reduction="sum")
            self.padding_idx, self.size = padding_idx, size
            self.confidence, self.smoothing = 1.0 - smoothing, smoothing
            self.true_dist = None

        def forward(self, x, target):
            true_dist = x.data.clone()
            true_dist.fill_(self.smoothing / (self.size - 2))
            true_dist.scatter_(1, target.data.unsqueeze(1), self.confidence)
            true_dist[:, self.padding_idx] = 0
            mask = torch.nonzero(target.data == self.padding_idx)
            if mask.dim() > 0:
                true_dist.index_fill_(0, mask.squeeze(), 0.0)
            self.true_dist = true_dist
            return self.criterion(x, true_dist.clone().detach())

    def rate(step, model_size, factor, warmup):
        if step == 0:
            step = 1
        return factor * (model_size ** (-0.5) * min(step ** (-0.5), step * warmup ** (-1.5)))

    vocab = model.generator.proj.out_features
    criterion = LabelSmoothing(size=vocab, padding_idx=pad, smoothing=smoothing)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.5, betas=(0.9, 0.98), eps=1e-9)
    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer=optimizer, lr_lambda=lambda step: rate(step, 8, factor=1.0, warmup=3))
    losses = []
    model.train()
    for data in batches:
        src, tgt_full = data, data
        src_mask = (src != pad).unsqueeze(-2)
        tgt, tgt_y = tgt_full[:, :-1], tgt_full[:, 1:]
        tgt_mask = (tgt != pad).unsqueeze(-2)
        tgt_mask = tgt_mask & subsequent_mask(tgt.size(-1)).type_as(tgt_mask.data)
        ntokens = (tgt_y != pad).data.sum()
        out = model.forward(src, tgt, src_mask, tgt_mask)
        x = model.generator(out)
        sloss = criterion(x.contiguous().view(-1, x.size(-1)),
                          tgt_y.contiguous().view(-1)) / ntokens
        sloss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        lr_scheduler.step()
        losses.append(sloss.item())
    model.eval()
    src = batches[0][:1]
    src_mask = torch.ones(1, 1, src.size(1))
    memory = model.encode(src, src_mask)
    ys = torch.zeros(1, 1).fill_(1).type_as(src.data)
    for _ in range(src.size(1) - 1):
        out = model.decode(memory, src_mask, ys, subsequent_mask(ys.size(1)).type_as(src.data))
        prob = model.generator(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        ys = torch.cat([ys, torch.zeros(1, 1).type_as(src.data).fill_(next_word.data[0])], dim=1)
    last_attn = model.decoder.layers[0].src_attn.attn
    return losses, lr_scheduler.get_last_lr(), ys.tolist(), last_attn.detach().numpy(), _state(
        model)


def packed_layernorm_gru(torch, input_size=3, hidden=5, classes=2):
    """A layer-normalized GRU cell run over a PackedSequence by hand, the way custom RNNs
    unpack one (data, batch_sizes, sorted_indices, unsorted_indices), move the permutation to
    the data's device, permute the initial state by index_select and pack their output again."""
    nn = torch.nn
    PackedSequence = torch.nn.utils.rnn.PackedSequence  # noqa: N806

    class LayerNormGRUCell(nn.Module):
        def __init__(self):
            super().__init__()
            self.ih = nn.Linear(input_size, 3 * hidden, bias=False)
            self.hh = nn.Linear(hidden, 3 * hidden, bias=False)
            self.ln_ih, self.ln_hh = nn.LayerNorm(3 * hidden), nn.LayerNorm(3 * hidden)

        def forward(self, x, h):
            i_r, i_z, i_n = self.ln_ih(self.ih(x)).chunk(3, 1)
            h_r, h_z, h_n = self.ln_hh(self.hh(h)).chunk(3, 1)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n)
            return (1 - z) * n + z * h

    class PackedLayerNormGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = LayerNormGRUCell()
            self.fc = nn.Linear(hidden, classes)

        def forward(self, packed, hx):
            data, batch_sizes, sorted_indices, unsorted_indices = packed
            if sorted_indices is not None:
                hx = hx.index_select(0, sorted_indices.to(data.device))
            assert int(batch_sizes[0]) == hx.size(0)
            outputs, finals, h, offset = [], [], hx, 0
            for bs in batch_sizes.tolist():
                if bs < h.size(0):
                    finals.append(h[bs:])
                    h = h[:bs]
                h = self.cell(data[offset:offset + bs], h)
                outputs.append(h)
                offset += bs
            h_n = torch.cat([h] + finals[::-1], 0)
            if unsorted_indices is not None:
                h_n = h_n.index_select(0, unsorted_indices)
            out = PackedSequence(torch.cat(outputs, 0), batch_sizes, sorted_indices,
                                 unsorted_indices)
            return out, self.fc(h_n)

    return PackedLayerNormGRU()


def train_packed_gru(torch, model, padded, lengths, labels, steps=3):
    rnn = torch.nn.utils.rnn
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    hx = torch.zeros(padded.size(0), model.fc.in_features, dtype=padded.dtype)
    losses = []
    for _ in range(steps):
        packed = rnn.pack_padded_sequence(padded, lengths, batch_first=True,
                                          enforce_sorted=False)
        out, logits = model(packed, hx)
        outputs, out_lengths = rnn.pad_packed_sequence(out, batch_first=True)
        loss = torch.nn.functional.cross_entropy(logits, labels) + 0.1 * outputs.pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, out_lengths.tolist(), outputs.detach().numpy(), _state(model)
