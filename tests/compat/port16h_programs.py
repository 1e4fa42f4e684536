"""Wave-16 ports, part eight, run with ``torch`` = PyTorch or chainrule (test_port16h_programs.py):
NICE as DakshIdnani/pytorch-nice writes it (additive coupling layers under float masks made by
``torch.tensor(mask).float()``, a scaling layer, a logistic prior that subclasses
``torch.distributions.Distribution``, or PyTorch's own logistic as a ``TransformedDistribution``
of a ``Uniform`` through ``SigmoidTransform().inv`` and ``AffineTransform``); a Chebyshev graph
convolution network (ChebNet) over a scaled Laplacian held as ``torch.sparse_coo_tensor`` and
multiplied by ``torch.sparse.mm``, trained on masked nodes; and lucidrains' Linformer
self-attention (``*x.shape`` unpacking, ``map`` over ``zip`` of keys/values and their sequence
projections, the projections sliced for shorter sequences, one shared key/value head expanded).
"""

from __future__ import annotations

import numpy as np

# ---- NICE (DakshIdnani/pytorch-nice) ----


def nice(torch, data_dim=6, hidden_dim=16, num_net_layers=3, num_coupling_layers=3,
         prior="subclass"):
    nn, F = torch.nn, torch.nn.functional
    D = torch.distributions

    class CouplingLayer(nn.Module):
        def __init__(self, data_dim, hidden_dim, mask, num_layers=4):
            super().__init__()
            assert data_dim % 2 == 0
            self.mask = mask
            modules = [nn.Linear(data_dim, hidden_dim), nn.LeakyReLU(0.2)]
            for _ in range(num_layers - 2):
                modules.append(nn.Linear(hidden_dim, hidden_dim))
                modules.append(nn.LeakyReLU(0.2))
            modules.append(nn.Linear(hidden_dim, data_dim))
            self.m = nn.Sequential(*modules)

        def forward(self, x, logdet, invert=False):
            if not invert:
                x1, x2 = self.mask * x, (1. - self.mask) * x
                y1, y2 = x1, x2 + (self.m(x1) * (1. - self.mask))
                return y1 + y2, logdet
            # Inverse additive coupling layer
            y1, y2 = self.mask * x, (1. - self.mask) * x
            x1, x2 = y1, y2 - (self.m(y1) * (1. - self.mask))
            return x1 + x2, logdet

    class ScalingLayer(nn.Module):
        def __init__(self, data_dim):
            super().__init__()
            self.log_scale_vector = nn.Parameter(torch.randn(1, data_dim, requires_grad=True))

        def forward(self, x, logdet, invert=False):
            log_det_jacobian = torch.sum(self.log_scale_vector)
            if invert:
                return torch.exp(- self.log_scale_vector) * x, logdet - log_det_jacobian
            return torch.exp(self.log_scale_vector) * x, logdet + log_det_jacobian

    class LogisticDistribution(D.Distribution):
        def __init__(self):
            super().__init__(validate_args=False)

        def log_prob(self, x):
            return -(F.softplus(x) + F.softplus(-x))

        def sample(self, size):
            z = D.Uniform(torch.FloatTensor([0.]), torch.FloatTensor([1.])).sample(size)
            return torch.log(z) - torch.log(1. - z)

    def logistic():
        base = D.Uniform(torch.tensor(0., dtype=torch.float64), torch.tensor(1., dtype=torch
                                                                             .float64))
        return D.TransformedDistribution(base, [D.SigmoidTransform().inv,
                                                D.AffineTransform(loc=0., scale=1.)])

    class NICE(nn.Module):
        def __init__(self, data_dim, num_coupling_layers=3):
            super().__init__()
            self.data_dim = data_dim
            masks = [self._get_mask(data_dim, orientation=(i % 2 == 0))
                     for i in range(num_coupling_layers)]
            self.coupling_layers = nn.ModuleList([
                CouplingLayer(data_dim=data_dim, hidden_dim=hidden_dim, mask=masks[i],
                              num_layers=num_net_layers) for i in range(num_coupling_layers)])
            self.scaling_layer = ScalingLayer(data_dim=data_dim)
            self.prior = LogisticDistribution() if prior == "subclass" else logistic()

        def forward(self, x, invert=False):
            if not invert:
                z, log_det_jacobian = self.f(x)
                log_likelihood = torch.sum(self.prior.log_prob(z), dim=1) + log_det_jacobian
                return z, log_likelihood
            return self.f_inverse(x)

        def f(self, x):
            z = x
            log_det_jacobian = 0
            for coupling_layer in self.coupling_layers:
                z, log_det_jacobian = coupling_layer(z, log_det_jacobian)
            z, log_det_jacobian = self.scaling_layer(z, log_det_jacobian)
            return z, log_det_jacobian

        def f_inverse(self, z):
            x = z
            x, _ = self.scaling_layer(x, 0, invert=True)
            for _i, coupling_layer in reversed(list(enumerate(self.coupling_layers))):
                x, _ = coupling_layer(x, 0, invert=True)
            return x

        def _get_mask(self, dim, orientation=True):
            mask = np.zeros(dim)
            mask[::2] = 1.
            if orientation:
                mask = 1. - mask  # flip mask orientation
            mask = torch.tensor(mask)
            return mask.float()

    return NICE(data_dim, num_coupling_layers)


def train_nice(torch, model, data, epochs=3, batch_size=4):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-4)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data),
                                         batch_size=batch_size, shuffle=False)
    losses = []
    for _ in range(epochs):
        for (inputs,) in loader:
            model.zero_grad()
            z, likelihood = model(inputs)
            loss = -torch.mean(likelihood)  # NLL
            loss.backward()
            opt.step()
            losses.append(loss.item())
    with torch.no_grad():
        z, _ = model(data)
        recon = model(z, invert=True)
    return losses, z.numpy().copy(), recon.numpy().copy()


# ---- ChebNet (Defferrard et al.) over a sparse scaled Laplacian ----

def scaled_laplacian(torch, A):
    d = A.sum(1)
    D_inv_sqrt = np.diag(1.0 / np.sqrt(d))
    L = np.eye(len(A)) - D_inv_sqrt @ A @ D_inv_sqrt
    lmax = np.linalg.eigvalsh(L).max()
    L_tilde = 2 * L / lmax - np.eye(len(A))
    row, col = np.nonzero(L_tilde)
    indices = torch.from_numpy(np.vstack((row, col)).astype(np.int64))
    values = torch.from_numpy(L_tilde[row, col])
    return torch.sparse_coo_tensor(indices, values, torch.Size(L_tilde.shape))


def chebnet(torch, in_c, hidden, out_c, K=3, dropout=0.5):
    nn, F = torch.nn, torch.nn.functional

    class ChebConv(nn.Module):
        def __init__(self, in_c, out_c, K):
            super().__init__()
            self.K = K
            self.weight = nn.Parameter(torch.Tensor(K, in_c, out_c))
            self.bias = nn.Parameter(torch.Tensor(out_c))
            nn.init.xavier_uniform_(self.weight)
            nn.init.zeros_(self.bias)

        def forward(self, x, L):
            Tx_0 = x
            out = torch.matmul(Tx_0, self.weight[0])
            if self.K > 1:
                Tx_1 = torch.sparse.mm(L, x)
                out = out + torch.matmul(Tx_1, self.weight[1])
            for k in range(2, self.K):
                Tx_2 = 2. * torch.sparse.mm(L, Tx_1) - Tx_0
                out = out + torch.matmul(Tx_2, self.weight[k])
                Tx_0, Tx_1 = Tx_1, Tx_2
            return out + self.bias

    class ChebNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = ChebConv(in_c, hidden, K)
            self.conv2 = ChebConv(hidden, out_c, K)

        def forward(self, x, L):
            x = F.dropout(x, p=dropout, training=self.training)
            x = F.relu(self.conv1(x, L))
            x = F.dropout(x, p=dropout, training=self.training)
            return F.log_softmax(self.conv2(x, L), dim=1)

    return ChebNet()


def train_chebnet(torch, model, x, L, y, train_mask, test_mask, epochs=6):
    F = torch.nn.functional
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    history = []
    for _epoch in range(epochs):
        model.train()
        optimizer.zero_grad()
        out = model(x, L)
        loss = F.nll_loss(out[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        model.eval()
        pred = model(x, L).argmax(dim=1)
        correct = (pred[test_mask] == y[test_mask]).sum()
        history.append((loss.item(), int(correct) / int(test_mask.sum())))
    return history, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# ---- Linformer self-attention (lucidrains/linformer) ----

def linformer(torch, dim=8, seq_len=6, k=3, heads=2, one_kv_head=False, share_kv=False,
              num_classes=3, vocab=10):
    nn = torch.nn

    def default(val, default_val):
        return val if val is not None else default_val

    def init_(tensor):
        dim = tensor.shape[-1]
        std = 1 / dim ** 0.5
        tensor.uniform_(-std, std)
        return tensor

    class LinformerSelfAttention(nn.Module):
        def __init__(self, dim, seq_len, k=256, heads=8, dim_head=None, one_kv_head=False,
                     share_kv=False, dropout=0.):
            super().__init__()
            assert (dim % heads) == 0, 'dimension must be divisible by the number of heads'
            self.seq_len = seq_len
            self.k = k
            self.heads = heads
            dim_head = default(dim_head, dim // heads)
            self.dim_head = dim_head
            self.to_q = nn.Linear(dim, dim_head * heads, bias=False)
            kv_dim = dim_head if one_kv_head else (dim_head * heads)
            self.to_k = nn.Linear(dim, kv_dim, bias=False)
            self.proj_k = nn.Parameter(init_(torch.zeros(seq_len, k)))
            self.share_kv = share_kv
            if not share_kv:
                self.to_v = nn.Linear(dim, kv_dim, bias=False)
                self.proj_v = nn.Parameter(init_(torch.zeros(seq_len, k)))
            self.dropout = nn.Dropout(dropout)
            self.to_out = nn.Linear(dim_head * heads, dim)

        def forward(self, x, context=None, **kwargs):
            b, n, d, d_h, h, k = *x.shape, self.dim_head, self.heads, self.k  # noqa: F841
            kv_len = n if context is None else context.shape[1]
            assert kv_len <= self.seq_len, \
                f'the sequence length of the key / values must be {self.seq_len}'
            queries = self.to_q(x)

            def proj_seq_len(args):
                return torch.einsum('bnd,nk->bkd', *args)

            kv_input = x if context is None else context
            keys = self.to_k(kv_input)
            values = self.to_v(kv_input) if not self.share_kv else keys
            kv_projs = (self.proj_k, self.proj_v if not self.share_kv else self.proj_k)
            # sliced projections for sequences shorter than the maximum
            if kv_len < self.seq_len:
                kv_projs = map(lambda t: t[:kv_len], kv_projs)
            # project keys and values along the sequence length dimension to k
            keys, values = map(proj_seq_len, zip((keys, values), kv_projs))
            # merge head into batch for queries and key / values
            queries = queries.reshape(b, n, h, -1).transpose(1, 2)

            def merge_key_values(t):
                return t.reshape(b, k, -1, d_h).transpose(1, 2).expand(-1, h, -1, -1)

            keys, values = map(merge_key_values, (keys, values))
            # attention
            dots = torch.einsum('bhnd,bhkd->bhnk', queries, keys) * (d_h ** -0.5)
            attn = dots.softmax(dim=-1)
            attn = self.dropout(attn)
            out = torch.einsum('bhnk,bhkd->bhnd', attn, values)
            # split heads
            out = out.transpose(1, 2).reshape(b, n, -1)
            return self.to_out(out)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, dim)
            self.attn = LinformerSelfAttention(dim, seq_len, k=k, heads=heads,
                                               one_kv_head=one_kv_head, share_kv=share_kv)
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, num_classes)

        def forward(self, tokens):
            x = self.emb(tokens)
            x = x + self.attn(self.norm(x))
            return self.head(x.mean(dim=1))

    return Classifier()


def train_linformer(torch, model, batches, steps=5):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for step in range(steps):
        tokens, labels = batches[step % len(batches)]
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tokens), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
