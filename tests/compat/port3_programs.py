"""Ported sequence and embedding programs, run with ``torch`` = PyTorch or chainrule
(test_port3_programs.py): the BiLSTM-CRF tutorial, the names-classification tutorial on nn.RNN,
skip-gram with negative sampling, matrix factorization with Adagrad, a top-k mixture of experts,
a Llama-style block (RMSNorm, rotary embeddings, grouped-query attention by repeat_interleave,
SwiGLU), an image captioner on nn.TransformerDecoder and a bucketing batch sampler with a
padding collate_fn feeding a packed bidirectional GRU.
"""

from __future__ import annotations

import importlib
import string

START_TAG, STOP_TAG = "<START>", "<STOP>"
TAGS = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}
CRF_DATA = [("the wall street journal reported today that apple corporation made money".split(),
             "B I I I O O O B I O O".split()),
            ("georgia tech is a university in georgia".split(), "B I O O O O B".split())]
CRF_WORDS = {w: i for i, w in enumerate(sorted({w for s, _ in CRF_DATA for w in s}))}


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def bilstm_crf(torch, embedding_dim=5, hidden_dim=4):
    """The "Advanced: Making Dynamic Decisions and the Bi-LSTM CRF" tutorial's model, with its
    per-tag loops for the forward algorithm and Viterbi decoding."""
    nn = torch.nn

    def argmax(vec):
        _, idx = torch.max(vec, 1)
        return idx.item()

    def log_sum_exp(vec):
        max_score = vec[0, argmax(vec)]
        max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
        return max_score + torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))

    class BiLSTM_CRF(nn.Module):  # noqa: N801
        def __init__(self, vocab_size, tag_to_ix):
            super().__init__()
            self.hidden_dim = hidden_dim
            self.tag_to_ix = tag_to_ix
            self.tagset_size = len(tag_to_ix)
            self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True)
            self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
            self.transitions = nn.Parameter(torch.randn(self.tagset_size, self.tagset_size))
            self.transitions.data[tag_to_ix[START_TAG], :] = -10000
            self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000
            self.hidden = self.init_hidden()

        def init_hidden(self):
            dtype = self.hidden2tag.weight.dtype  # the tutorial's randn, in the model's dtype
            return (torch.zeros(2, 1, self.hidden_dim // 2, dtype=dtype),
                    torch.zeros(2, 1, self.hidden_dim // 2, dtype=dtype))

        def _forward_alg(self, feats):
            init_alphas = torch.full((1, self.tagset_size), -10000.0)
            init_alphas[0][self.tag_to_ix[START_TAG]] = 0.0
            forward_var = init_alphas
            for feat in feats:
                alphas_t = []
                for next_tag in range(self.tagset_size):
                    emit_score = feat[next_tag].view(1, -1).expand(1, self.tagset_size)
                    trans_score = self.transitions[next_tag].view(1, -1)
                    next_tag_var = forward_var + trans_score + emit_score
                    alphas_t.append(log_sum_exp(next_tag_var).view(1))
                forward_var = torch.cat(alphas_t).view(1, -1)
            terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
            return log_sum_exp(terminal_var)

        def _get_lstm_features(self, sentence):
            self.hidden = self.init_hidden()
            embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
            lstm_out, self.hidden = self.lstm(embeds, self.hidden)
            lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
            return self.hidden2tag(lstm_out)

        def _score_sentence(self, feats, tags):
            score = torch.zeros(1)
            tags = torch.cat([torch.tensor([self.tag_to_ix[START_TAG]], dtype=torch.long), tags])
            for i, feat in enumerate(feats):
                score = score + self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
            return score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]

        def _viterbi_decode(self, feats):
            backpointers = []
            init_vvars = torch.full((1, self.tagset_size), -10000.0)
            init_vvars[0][self.tag_to_ix[START_TAG]] = 0
            forward_var = init_vvars
            for feat in feats:
                bptrs_t, viterbivars_t = [], []
                for next_tag in range(self.tagset_size):
                    next_tag_var = forward_var + self.transitions[next_tag]
                    best_tag_id = argmax(next_tag_var)
                    bptrs_t.append(best_tag_id)
                    viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
                forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
                backpointers.append(bptrs_t)
            terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
            best_tag_id = argmax(terminal_var)
            path_score = terminal_var[0][best_tag_id]
            best_path = [best_tag_id]
            for bptrs_t in reversed(backpointers):
                best_tag_id = bptrs_t[best_tag_id]
                best_path.append(best_tag_id)
            start = best_path.pop()
            assert start == self.tag_to_ix[START_TAG]
            best_path.reverse()
            return path_score, best_path

        def neg_log_likelihood(self, sentence, tags):
            feats = self._get_lstm_features(sentence)
            return self._forward_alg(feats) - self._score_sentence(feats, tags)

        def forward(self, sentence):
            return self._viterbi_decode(self._get_lstm_features(sentence))

    return BiLSTM_CRF(len(CRF_WORDS), TAGS)


def train_bilstm_crf(torch, model, epochs=2):
    """The tutorial's loop: SGD with weight decay, one sentence a step; Viterbi before and
    after. The START row and STOP column are set back to -10000 after the test's weights."""
    def prepare_sequence(seq, to_ix):
        return torch.tensor([to_ix[w] for w in seq], dtype=torch.long)

    with torch.no_grad():
        model.transitions[TAGS[START_TAG], :] = -10000
        model.transitions[:, TAGS[STOP_TAG]] = -10000
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)
    with torch.no_grad():
        before = model(prepare_sequence(CRF_DATA[0][0], CRF_WORDS))
    losses = []
    for _ in range(epochs):
        for sentence, tags in CRF_DATA:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, CRF_WORDS)
            targets = torch.tensor([TAGS[t] for t in tags], dtype=torch.long)
            loss = model.neg_log_likelihood(sentence_in, targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    with torch.no_grad():
        after = model(prepare_sequence(CRF_DATA[0][0], CRF_WORDS))
    return losses, [before[0].item(), after[0].item()], [before[1], after[1]], _state(model)


ALL_LETTERS = string.ascii_letters + " .,;'"
NAMES = [("Nguyen", 0), ("Tran", 0), ("Schmidt", 1), ("Muller", 1), ("Rossi", 2),
         ("Bianchi", 2), ("Pham", 0), ("Weber", 1), ("Ferrari", 2)]


def names_rnn(torch, hidden=8, categories=3):
    """The char-RNN names classifier as the current tutorial writes it on nn.RNN."""
    nn = torch.nn

    class CharRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.rnn = nn.RNN(input_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, line_tensor):
            rnn_out, hidden = self.rnn(line_tensor)
            output = self.h2o(hidden[0])
            return self.softmax(output)

    return CharRNN(len(ALL_LETTERS), hidden, categories)


def train_names_rnn(torch, model, epochs=3, batch=3, lr=0.15):
    """lineToTensor's one-hot letters, a batch's losses summed before one backward,
    clip_grad_norm_(3), SGD; predictions by topk."""
    dtype = model.h2o.weight.dtype

    def line_to_tensor(line):
        tensor = torch.zeros(len(line), 1, len(ALL_LETTERS), dtype=dtype)
        for li, letter in enumerate(line):
            tensor[li][0][ALL_LETTERS.find(letter)] = 1
        return tensor

    criterion = torch.nn.NLLLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(epochs):
        for start in range(0, len(NAMES), batch):
            batch_loss = 0
            for name, label in NAMES[start:start + batch]:
                output = model(line_to_tensor(name))
                batch_loss = batch_loss + criterion(output, torch.tensor([label]))
            batch_loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 3)
            optimizer.step()
            optimizer.zero_grad()
            losses.append(batch_loss.item() / batch)
    model.eval()
    with torch.no_grad():
        guesses = [model(line_to_tensor(name)).topk(1)[1][0].item() for name, _ in NAMES]
    return losses, guesses, _state(model)


def skip_gram(torch, vocab=10, dim=4):
    """SkipGramModel of the well-known word2vec port (u and v embeddings, clamped scores,
    logsigmoid, negatives by bmm); sparse=True as it writes (sparse gradients in both)."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class SkipGramModel(nn.Module):
        def __init__(self, emb_size, emb_dimension):
            super().__init__()
            self.u_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=True)
            self.v_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=True)
            initrange = 1.0 / emb_dimension
            nn.init.uniform_(self.u_embeddings.weight.data, -initrange, initrange)
            nn.init.constant_(self.v_embeddings.weight.data, 0)

        def forward(self, pos_u, pos_v, neg_v):
            emb_u = self.u_embeddings(pos_u)
            emb_v = self.v_embeddings(pos_v)
            emb_neg_v = self.v_embeddings(neg_v)
            score = torch.sum(torch.mul(emb_u, emb_v), dim=1)
            score = torch.clamp(score, max=10, min=-10)
            score = -F.logsigmoid(score)
            neg_score = torch.bmm(emb_neg_v, emb_u.unsqueeze(2)).squeeze()
            neg_score = torch.clamp(neg_score, max=10, min=-10)
            neg_score = -torch.sum(F.logsigmoid(-neg_score), dim=1)
            return torch.mean(score + neg_score)

    return SkipGramModel(vocab, dim)


def train_skip_gram(torch, model, batches):
    """Plain SGD, which takes sparse gradients (the port's SparseAdam is trained beside PyTorch in
    tests/sparse/test_sparse_training.py), over given (center, context, negatives) batches;
    the nearest word of each by cosine similarity."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for pos_u, pos_v, neg_v in batches:
        optimizer.zero_grad()
        loss = model(pos_u, pos_v, neg_v)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    emb = torch.nn.functional.normalize(model.u_embeddings.weight.detach(), dim=1)
    sims = emb @ emb.T
    sims.fill_diagonal_(-2.0)
    return losses, sims.argmax(dim=1).tolist(), _state(model)


def matrix_factorization(torch, n_users=6, n_items=5, k=3):
    nn = torch.nn

    class MatrixFactorization(nn.Module):
        def __init__(self):
            super().__init__()
            self.user_factors = nn.Embedding(n_users, k)
            self.item_factors = nn.Embedding(n_items, k)
            self.user_bias = nn.Embedding(n_users, 1)
            self.item_bias = nn.Embedding(n_items, 1)

        def forward(self, user, item):
            pred = self.user_bias(user) + self.item_bias(item)
            pred += (self.user_factors(user) * self.item_factors(item)).sum(dim=1, keepdim=True)
            return pred.squeeze()

    return MatrixFactorization()


def train_matrix_factorization(torch, model, users, items, ratings, epochs=3):
    """A TensorDataset of (user, item, rating) in a DataLoader, MSE, Adagrad with lr_decay,
    weight decay and an initial accumulator; the predicted rating matrix at the end."""
    data = importlib.import_module(f"{torch.__name__}.utils.data")
    loader = data.DataLoader(data.TensorDataset(users, items, ratings), batch_size=4)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.2, lr_decay=0.01,
                                    weight_decay=1e-4, initial_accumulator_value=0.1)
    loss_func = torch.nn.MSELoss()
    losses = []
    for _ in range(epochs):
        for user, item, rating in loader:
            optimizer.zero_grad()
            loss = loss_func(model(user, item), rating)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    with torch.no_grad():
        u = torch.arange(6).repeat_interleave(5)
        i = torch.arange(5).repeat(6)
        table = model(u, i).view(6, 5)
    return losses, table.numpy(), _state(model)


def moe_classifier(torch, vocab=12, dim=6, num_experts=4, k=2, classes=3):
    """A token classifier whose feed-forward is a top-k mixture of experts: softmax over the
    top-k gate logits, tokens routed with torch.where and merged back by index_add_, and the
    Switch Transformer's load-balancing loss."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class MoE(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = nn.Linear(dim, num_experts, bias=False)
            self.experts = nn.ModuleList([nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(),
                                                        nn.Linear(2 * dim, dim))
                                          for _ in range(num_experts)])

        def forward(self, x):
            logits = self.gate(x)
            probs = logits.softmax(dim=-1)
            topk_val, topk_idx = torch.topk(logits, k, dim=-1)
            weights = F.softmax(topk_val, dim=-1)
            out = torch.zeros_like(x)
            for e, expert in enumerate(self.experts):
                token_idx, slot = torch.where(topk_idx == e)
                if token_idx.numel() == 0:
                    continue
                out.index_add_(0, token_idx, expert(x[token_idx]) * weights[token_idx, slot, None])
            density = F.one_hot(topk_idx[:, 0], num_experts).to(x.dtype).mean(dim=0)
            aux = num_experts * torch.sum(density * probs.mean(dim=0))
            return out, aux

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.norm = nn.LayerNorm(dim)
            self.moe = MoE()
            self.head = nn.Linear(dim, classes)

        def forward(self, tokens):
            x = self.embed(tokens)
            h, aux = self.moe(self.norm(x))
            return self.head(x + h), aux

    return Net()


def train_moe(torch, model, tokens, labels, steps=4):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    out = []
    for _ in range(steps):
        logits, aux = model(tokens)
        loss = torch.nn.functional.cross_entropy(logits, labels) + 0.01 * aux
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out.append([loss.item(), aux.item()])
    grads = {k: p.grad.numpy().copy() for k, p in model.named_parameters()}
    return out, grads, _state(model)


def llama(torch, vocab=10, dim=8, n_heads=4, n_kv_heads=2, n_layers=2, max_len=12):
    """A Llama-style decoder as the minimal reimplementations write it: RMSNorm, rotary
    embeddings by rotate_half on non-persistent cos/sin buffers, grouped-query attention
    (keys and values repeat_interleave'd to the query heads) through
    F.scaled_dot_product_attention(is_causal=True), a SwiGLU feed-forward."""
    nn = torch.nn
    F = nn.functional  # noqa: N806
    head_dim = dim // n_heads

    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.wq = nn.Linear(dim, n_heads * head_dim, bias=False)
            self.wk = nn.Linear(dim, n_kv_heads * head_dim, bias=False)
            self.wv = nn.Linear(dim, n_kv_heads * head_dim, bias=False)
            self.wo = nn.Linear(n_heads * head_dim, dim, bias=False)

        def forward(self, x, cos, sin):
            B, T, _ = x.shape  # noqa: N806
            q = self.wq(x).view(B, T, n_heads, head_dim).transpose(1, 2)
            k = self.wk(x).view(B, T, n_kv_heads, head_dim).transpose(1, 2)
            v = self.wv(x).view(B, T, n_kv_heads, head_dim).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(n_heads // n_kv_heads, dim=1)
            v = v.repeat_interleave(n_heads // n_kv_heads, dim=1)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.wo(y.transpose(1, 2).contiguous().view(B, T, -1))

    class FeedForward(nn.Module):
        def __init__(self, hidden=12):
            super().__init__()
            self.w1 = nn.Linear(dim, hidden, bias=False)
            self.w2 = nn.Linear(hidden, dim, bias=False)
            self.w3 = nn.Linear(dim, hidden, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = Attention()
            self.feed_forward = FeedForward()
            self.attention_norm = nn.RMSNorm(dim, eps=1e-6)
            self.ffn_norm = nn.RMSNorm(dim, eps=1e-6)

        def forward(self, x, cos, sin):
            h = x + self.attention(self.attention_norm(x), cos, sin)
            return h + self.feed_forward(self.ffn_norm(h))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_embeddings = nn.Embedding(vocab, dim)
            self.layers = nn.ModuleList([Block() for _ in range(n_layers)])
            self.norm = nn.RMSNorm(dim, eps=1e-6)
            self.output = nn.Linear(dim, vocab, bias=False)
            inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2).float() / head_dim))
            freqs = torch.outer(torch.arange(max_len).float(), inv_freq)
            emb = torch.cat((freqs, freqs), dim=-1)
            self.register_buffer("cos_cached", emb.cos(), persistent=False)
            self.register_buffer("sin_cached", emb.sin(), persistent=False)

        def forward(self, tokens, targets=None):
            T = tokens.shape[1]  # noqa: N806
            h = self.tok_embeddings(tokens)
            cos, sin = self.cos_cached[:T], self.sin_cached[:T]
            for layer in self.layers:
                h = layer(h, cos, sin)
            logits = self.output(self.norm(h))
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
            return logits, loss

    return Transformer()


def train_llama(torch, model, tokens, steps=4, new_tokens=4):
    """AdamW with a LambdaLR warm-up; greedy generation by argmax of the last position."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, betas=(0.9, 0.95),
                                  weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 3))
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    losses = []
    for _ in range(steps):
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    idx = tokens[:, :3]
    with torch.no_grad():
        for _ in range(new_tokens):
            logits, _ = model(idx)
            idx = torch.cat((idx, logits[:, -1, :].argmax(dim=-1, keepdim=True)), dim=1)
    return losses, idx.tolist(), str(model.cos_cached.dtype).split(".")[-1], _state(model)
