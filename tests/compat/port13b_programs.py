"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port13_programs.py): sparsemax (KrisKorrel/sparsemax-pytorch: the logits moved to the last
place by ``transpose``, ``torch.sort(input=..., descending=True)``, ``cumsum``, a float mask by
``is_gt.type(input.type())``, the module's own unused ``backward``) as the attention of a small
classifier; and the Bernoulli RBM of the well-known contrastive-divergence repository
(``Variable``, ``F.sigmoid``, ``F.relu(torch.sign(p - Variable(torch.rand(p.size()))))``,
``F.linear(h, self.W.t(), ...)``, ``data.bernoulli()``, free energies by ``v.mv`` and
``exp().add(1).log()``).
"""

# ruff: noqa: A001, A002 - input, range and sum named as the sparsemax repository names them
from __future__ import annotations


def sparsemax_classifier(torch, vocab=10, dim=6, classes=3):
    nn = torch.nn
    device = "cpu"

    class Sparsemax(nn.Module):
        """Sparsemax function."""

        def __init__(self, dim=None):
            super(Sparsemax, self).__init__()  # noqa: UP008
            self.dim = -1 if dim is None else dim

        def forward(self, input):
            # Sparsemax currently only handles 2-dim tensors,
            # so we reshape to a convenient shape and reshape back after sparsemax
            input = input.transpose(0, self.dim)
            original_size = input.size()
            input = input.reshape(input.size(0), -1)
            input = input.transpose(0, 1)
            dim = 1

            number_of_logits = input.size(dim)

            # Translate input by max for numerical stability
            input = input - torch.max(input, dim=dim, keepdim=True)[0].expand_as(input)

            # Sort input in descending order.
            zs = torch.sort(input=input, dim=dim, descending=True)[0]
            range = torch.arange(start=1, end=number_of_logits + 1, step=1, device=device,
                                 dtype=input.dtype).view(1, -1)
            range = range.expand_as(zs)

            # Determine sparsity of projection
            bound = 1 + range * zs
            cumulative_sum_zs = torch.cumsum(zs, dim)
            is_gt = torch.gt(bound, cumulative_sum_zs).type(input.type())
            k = torch.max(is_gt * range, dim, keepdim=True)[0]

            # Compute threshold function
            zs_sparse = is_gt * zs

            # Compute taus
            taus = (torch.sum(zs_sparse, dim, keepdim=True) - 1) / k
            taus = taus.expand_as(input)

            # Sparsemax
            self.output = torch.max(torch.zeros_like(input), input - taus)

            # Reshape back to original shape
            output = self.output
            output = output.transpose(0, 1)
            output = output.reshape(original_size)
            output = output.transpose(0, self.dim)

            return output

        def backward(self, grad_output):
            """Backward function."""
            dim = 1

            nonzeros = torch.ne(self.output, 0)
            sum = torch.sum(grad_output * nonzeros, dim=dim) / torch.sum(nonzeros, dim=dim)
            self.grad_input = nonzeros * (grad_output - sum.expand_as(grad_output))

            return self.grad_input

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, dim)
            self.score = nn.Linear(dim, 1)
            self.sparsemax = Sparsemax(dim=1)
            self.out = nn.Linear(dim, classes)

        def forward(self, tokens):
            h = torch.tanh(self.embedding(tokens))       # (batch, length, dim)
            scores = self.score(h * 3.0).squeeze(-1)      # (batch, length)
            attn = self.sparsemax(scores)                 # sparse over the length
            ctx = (attn.unsqueeze(-1) * h).sum(1)
            return self.out(ctx), attn

    return Classifier()


def train_sparsemax(torch, model, tokens, labels, steps=12):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    criterion = torch.nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        logits, attn = model(tokens)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    logits, attn = model(tokens)
    zeros = int((attn == 0).sum())
    return losses, attn.detach().numpy().copy(), zeros


def rbm(torch, n_vis=12, n_hin=5, k=2):
    nn = torch.nn
    F = torch.nn.functional
    Variable = torch.autograd.Variable

    class RBM(nn.Module):
        def __init__(self, n_vis=784, n_hin=500, k=5):
            super(RBM, self).__init__()  # noqa: UP008
            self.W = nn.Parameter(torch.randn(n_hin, n_vis) * 1e-2)
            self.v_bias = nn.Parameter(torch.zeros(n_vis))
            self.h_bias = nn.Parameter(torch.zeros(n_hin))
            self.k = k

        def sample_from_p(self, p):
            return F.relu(torch.sign(p - Variable(torch.rand(p.size()))))

        def v_to_h(self, v):
            p_h = F.sigmoid(F.linear(v, self.W, self.h_bias))
            sample_h = self.sample_from_p(p_h)
            return p_h, sample_h

        def h_to_v(self, h):
            p_v = F.sigmoid(F.linear(h, self.W.t(), self.v_bias))
            sample_v = self.sample_from_p(p_v)
            return p_v, sample_v

        def forward(self, v):
            pre_h1, h1 = self.v_to_h(v)

            h_ = h1
            for _ in range(self.k):
                pre_v_, v_ = self.h_to_v(h_)
                pre_h_, h_ = self.v_to_h(v_)

            return v, v_

        def free_energy(self, v):
            vbias_term = v.mv(self.v_bias)
            wx_b = F.linear(v, self.W, self.h_bias)
            hidden_term = wx_b.exp().add(1).log().sum(1)
            return (-hidden_term - vbias_term).mean()

    return RBM(n_vis, n_hin, k)


def train_rbm(torch, model, train_loader, epochs=3, n_vis=12):
    import numpy as np

    Variable = torch.autograd.Variable
    train_op = torch.optim.SGD(model.parameters(), 0.1)
    curve = []
    for _ in range(epochs):
        loss_ = []
        for _, (data, _target) in enumerate(train_loader):
            data = Variable(data.view(-1, n_vis))
            sample_data = data.bernoulli()

            v, v1 = model(sample_data)
            loss = model.free_energy(v) - model.free_energy(v1)
            loss_.append(loss.item())
            train_op.zero_grad()
            loss.backward()
            train_op.step()
        curve.append(np.mean(loss_))
    return curve, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
