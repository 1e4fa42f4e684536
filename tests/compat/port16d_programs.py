"""Wave-16 ports, part four, run with ``torch`` = PyTorch or chainrule (test_port16d_programs.py):
an end-to-end memory network as nmhkahn/MemN2N-pytorch writes it (``add_module("C_{}")`` behind
an ``AttrProxy``, a position encoding ``Variable(torch.FloatTensor(...), requires_grad=False)``,
``nn.Softmax()`` without a dim, ``nn.CrossEntropyLoss(size_average=False)``, the deprecated
``nn.utils.clip_grad_norm`` and gradient noise ``p.grad.data.add_(torch.randn(p.size()) *
stddev)``), a Lagrangian neural network (its acceleration from ``torch.func.hessian`` and
``jacrev`` under ``vmap``, or per sample from ``torch.autograd.functional.hessian(...,
create_graph=True)``, through ``torch.linalg.pinv``), an LSTM sequence VAE over
``pack_padded_sequence(enforce_sorted=False)``, and a maxout classifier pooled by a modern
Hopfield layer (``softmax(beta * q k^T)``).
"""

from __future__ import annotations

import numpy as np

# ---- MemN2N (nmhkahn/MemN2N-pytorch) ----


class AttrProxy:
    """Translates index lookups into attribute lookups."""
    def __init__(self, module, prefix):
        self.module = module
        self.prefix = prefix

    def __getitem__(self, i):
        return getattr(self.module, self.prefix + str(i))


def position_encoding(sentence_size, embedding_dim):
    encoding = np.ones((embedding_dim, sentence_size), dtype=np.float32)
    ls = sentence_size + 1
    le = embedding_dim + 1
    for i in range(1, le):
        for j in range(1, ls):
            encoding[i - 1, j - 1] = (i - (embedding_dim + 1) / 2) * (j - (sentence_size + 1) / 2)
    encoding = 1 + 4 * encoding / embedding_dim / sentence_size
    # Make position encoding of time words identity to avoid modifying them
    encoding[:, -1] = 1.0
    return np.transpose(encoding)


def memn2n(torch, settings):
    nn = torch.nn
    Variable = torch.autograd.Variable

    class MemN2N(nn.Module):
        def __init__(self, settings):
            super().__init__()
            num_vocab = settings["num_vocab"]
            embedding_dim = settings["embedding_dim"]
            sentence_size = settings["sentence_size"]
            self.max_hops = settings["max_hops"]

            for hop in range(self.max_hops + 1):
                C = nn.Embedding(num_vocab, embedding_dim, padding_idx=0)
                C.weight.data.normal_(0, 0.1)
                self.add_module(f"C_{hop}", C)
            self.C = AttrProxy(self, "C_")

            self.softmax = nn.Softmax()
            self.encoding = Variable(torch.FloatTensor(
                position_encoding(sentence_size, embedding_dim)), requires_grad=False)

        def forward(self, story, query):
            story_size = story.size()

            u = list()
            query_embed = self.C[0](query)
            # weired way to perform reduce_dot
            encoding = self.encoding.unsqueeze(0).expand_as(query_embed)
            u.append(torch.sum(query_embed * encoding, 1))

            for hop in range(self.max_hops):
                embed_A = self.C[hop](story.view(story.size(0), -1))
                embed_A = embed_A.view(story_size + (embed_A.size(-1),))

                encoding = self.encoding.unsqueeze(0).unsqueeze(1).expand_as(embed_A)
                m_A = torch.sum(embed_A * encoding, 2)

                u_temp = u[-1].unsqueeze(1).expand_as(m_A)
                prob = self.softmax(torch.sum(m_A * u_temp, 2))

                embed_C = self.C[hop + 1](story.view(story.size(0), -1))
                embed_C = embed_C.view(story_size + (embed_C.size(-1),))
                m_C = torch.sum(embed_C * encoding, 2)

                prob = prob.unsqueeze(2).expand_as(m_C)
                o_k = torch.sum(m_C * prob, 1)

                u_k = u[-1] + o_k
                u.append(u_k)

            a_hat = u[-1] @ self.C[self.max_hops].weight.transpose(0, 1)
            return a_hat, self.softmax(a_hat)

    return MemN2N(settings)


def train_memn2n(torch, mem_n2n, train_loader, max_epochs=3, lr=0.01, max_clip=40.0,
                 noise_stddev=1e-3, decay_interval=2, decay_ratio=0.5):
    nn = torch.nn
    Variable = torch.autograd.Variable
    optimizer = torch.optim.Adam(mem_n2n.parameters(), lr=lr)
    ce_fn = nn.CrossEntropyLoss(size_average=False)

    def gradient_noise_and_clip(parameters, noise_stddev=1e-3, max_clip=40.0):
        parameters = list(filter(lambda p: p.grad is not None, parameters))
        nn.utils.clip_grad_norm(parameters, max_clip)
        for p in parameters:
            noise = torch.randn(p.size()) * noise_stddev
            p.grad.data.add_(noise)

    def decay_learning_rate(opt, epoch):
        decay_lr = lr * (decay_ratio ** (epoch // decay_interval))
        for param_group in opt.param_groups:
            param_group["lr"] = decay_lr

    def evaluate(data_loader):
        correct = 0
        for _step, (story, query, answer) in enumerate(data_loader):
            story = Variable(story)
            query = Variable(query)
            answer = Variable(answer)
            pred_prob = mem_n2n(story, query)[1]
            pred = pred_prob.data.max(1)[1]  # max func return (max, argmax)
            correct += pred.eq(answer.data).cpu().sum()
        acc = correct / len(data_loader.dataset)
        return acc

    losses, accs = [], []
    for epoch in range(max_epochs):
        for _step, (story, query, answer) in enumerate(train_loader):
            story = Variable(story)
            query = Variable(query)
            answer = Variable(answer)

            optimizer.zero_grad()
            logits, _ = mem_n2n(story, query)
            loss = ce_fn(logits, answer)
            loss.backward()

            gradient_noise_and_clip(mem_n2n.parameters(), noise_stddev=noise_stddev,
                                    max_clip=max_clip)
            optimizer.step()
            losses.append(loss.item())
        decay_learning_rate(optimizer, epoch)
        accs.append(float(evaluate(train_loader)))
    pad = [mem_n2n.C[h].weight.data[0].numpy().copy() for h in range(mem_n2n.max_hops + 1)]
    return losses, accs, pad, {k: v.detach().numpy().copy()
                               for k, v in mem_n2n.state_dict().items()}


# ---- Lagrangian neural network (Cranmer et al., the PyTorch ports) ----

def lnn(torch, n=1, h=16):
    nn = torch.nn

    class LNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2 * n, h), nn.Softplus(), nn.Linear(h, h),
                                     nn.Softplus(), nn.Linear(h, 1))

        def lagrangian(self, x):
            return self.net(x).squeeze(-1)

        def qddot(self, x):
            # Euler-Lagrange: qdd = (d2L/dqd2)^-1 (dL/dq - d2L/dqd dq qd)
            qt = x[n:]
            H = torch.func.hessian(self.lagrangian)(x)
            J = torch.func.jacrev(self.lagrangian)(x)
            A = J[:n]
            B = H[n:, n:]
            C = H[n:, :n]
            return torch.linalg.pinv(B) @ (A - C @ qt)

        def forward(self, x):
            return torch.func.vmap(self.qddot)(x)

        def forward_loop(self, x):
            def L(s):
                return self.lagrangian(s)
            out = []
            for xi in x:
                H = torch.autograd.functional.hessian(L, xi, create_graph=True)
                J = torch.autograd.functional.jacobian(L, xi, create_graph=True)
                out.append(torch.linalg.pinv(H[n:, n:]) @ (J[:n] - H[n:, :n] @ xi[n:]))
            return torch.stack(out)

    return LNN()


def train_lnn(torch, model, x, qdd, steps=4, use_vmap=True):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        pred = model(x) if use_vmap else model.forward_loop(x)
        loss = torch.nn.functional.mse_loss(pred, qdd)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# ---- an LSTM sequence VAE over packed, padded sequences ----

def lstm_vae(torch, vocab=9, emb=6, hidden=8, latent=3):
    nn = torch.nn
    rnn = nn.utils.rnn

    class SeqVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb, padding_idx=0)
            self.encoder = nn.LSTM(emb, hidden, batch_first=True)
            self.hidden2mean = nn.Linear(hidden, latent)
            self.hidden2logv = nn.Linear(hidden, latent)
            self.latent2hidden = nn.Linear(latent, hidden)
            self.decoder = nn.LSTM(emb, hidden, batch_first=True)
            self.outputs2vocab = nn.Linear(hidden, vocab)

        def forward(self, input_sequence, length):
            input_embedding = self.embedding(input_sequence)
            packed_input = rnn.pack_padded_sequence(input_embedding, length, batch_first=True,
                                                    enforce_sorted=False)
            _, (hidden, _) = self.encoder(packed_input)
            hidden = hidden.squeeze(0)
            mean = self.hidden2mean(hidden)
            logv = self.hidden2logv(hidden)
            std = torch.exp(0.5 * logv)
            z = torch.randn_like(std) * std + mean
            h0 = torch.tanh(self.latent2hidden(z)).unsqueeze(0)
            packed_dec = rnn.pack_padded_sequence(input_embedding, length, batch_first=True,
                                                  enforce_sorted=False)
            outputs, _ = self.decoder(packed_dec, (h0, torch.zeros_like(h0)))
            padded, _ = rnn.pad_packed_sequence(outputs, batch_first=True,
                                                total_length=input_sequence.size(1))
            logp = nn.functional.log_softmax(self.outputs2vocab(padded), dim=-1)
            return logp, mean, logv

    return SeqVAE()


def train_lstm_vae(torch, model, seqs, lengths, steps=5, k=0.5, x0=3):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    NLL = torch.nn.NLLLoss(ignore_index=0, reduction='sum')

    def kl_anneal_function(step):
        return float(1 / (1 + np.exp(-k * (step - x0))))

    history = []
    for step in range(steps):
        logp, mean, logv = model(seqs, lengths)
        # predict the next token: shift the targets left, padding at the end
        target = torch.cat([seqs[:, 1:], torch.zeros_like(seqs[:, :1])], dim=1)
        nll = NLL(logp.view(-1, logp.size(2)), target.contiguous().view(-1))
        kl = -0.5 * torch.sum(1 + logv - mean.pow(2) - logv.exp())
        loss = (nll + kl_anneal_function(step) * kl) / seqs.size(0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append((loss.item(), nll.item(), kl.item()))
    return history, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# ---- a maxout network pooled by a modern Hopfield layer ----

def maxout_hopfield(torch, d_in=6, d=8, pieces=3, n_stored=4, classes=3, beta=2.0):
    nn, F = torch.nn, torch.nn.functional

    class Maxout(nn.Module):
        def __init__(self, d_in, d_out, pool_size):
            super().__init__()
            self.d_in, self.d_out, self.pool_size = d_in, d_out, pool_size
            self.lin = nn.Linear(d_in, d_out * pool_size)

        def forward(self, inputs):
            shape = list(inputs.size())
            shape[-1] = self.d_out
            shape.append(self.pool_size)
            max_dim = len(shape) - 1
            out = self.lin(inputs)
            m, i = out.view(*shape).max(max_dim)
            return m

    class HopfieldPooling(nn.Module):
        def __init__(self, d, n_stored, beta):
            super().__init__()
            self.query = nn.Parameter(torch.randn(n_stored, d) / d ** 0.5)
            self.k = nn.Linear(d, d, bias=False)
            self.v = nn.Linear(d, d, bias=False)
            self.beta = beta

        def forward(self, x):  # x: (batch, set size, d)
            keys = self.k(x)
            attn = F.softmax(self.beta * torch.einsum('qd,bnd->bqn', self.query, keys), dim=-1)
            return torch.einsum('bqn,bnd->bqd', attn, self.v(x)).flatten(1)

    return nn.Sequential(Maxout(d_in, d, pieces), nn.LayerNorm(d),
                         HopfieldPooling(d, n_stored, beta), Maxout(n_stored * d, classes, 2))


def train_maxout_hopfield(torch, model, x, y, steps=5):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
