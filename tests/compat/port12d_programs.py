"""Karpathy's makemore parts 3 and 5 written from memory, run with ``torch`` = PyTorch or
chainrule (test_port12_programs.py): torch.nn-like layers written as plain classes (``Linear``
whose ``self.out += self.bias`` adds in place to a matmul's output, a ``BatchNorm1d`` over
``dim = (0, 1)`` for 3-d input with running statistics replaced under ``no_grad``, ``Embedding``
by ``self.weight[IX]``, ``FlattenConsecutive`` by ``view`` and ``squeeze(1)``, ``Sequential``
gathering ``parameters()``), the hierarchical WaveNet-style MLP, ``model.layers[-1].weight *= 0.1``
under ``no_grad``, ``p.requires_grad = True``, ``p.grad = None``, ``layer.out.retain_grad()``,
``p.data += -lr * p.grad``, update-to-data ratios by ``((lr * p.grad).std() / p.data.std())
.log10().item()``, the loss curve by ``torch.tensor(lossi).view(-1, k).mean(1)``, evaluation with
``layer.training = False`` under ``@torch.no_grad()``.
"""

from __future__ import annotations


def wavenet_mlp(torch, vocab_size, n_embd=6, n_hidden=12):
    class Linear:
        def __init__(self, fan_in, fan_out, bias=True):
            self.weight = torch.randn((fan_in, fan_out)) / fan_in**0.5  # note: kaiming init
            self.bias = torch.zeros(fan_out) if bias else None

        def __call__(self, x):
            self.out = x @ self.weight
            if self.bias is not None:
                self.out += self.bias
            return self.out

        def parameters(self):
            return [self.weight] + ([] if self.bias is None else [self.bias])

    class BatchNorm1d:
        def __init__(self, dim, eps=1e-5, momentum=0.1):
            self.eps = eps
            self.momentum = momentum
            self.training = True
            # parameters (trained with backprop)
            self.gamma = torch.ones(dim)
            self.beta = torch.zeros(dim)
            # buffers (trained with a running 'momentum update')
            self.running_mean = torch.zeros(dim)
            self.running_var = torch.ones(dim)

        def __call__(self, x):
            # calculate the forward pass
            if self.training:
                if x.ndim == 2:
                    dim = 0
                elif x.ndim == 3:
                    dim = (0, 1)
                xmean = x.mean(dim, keepdim=True)  # batch mean
                xvar = x.var(dim, keepdim=True)  # batch variance
            else:
                xmean = self.running_mean
                xvar = self.running_var
            xhat = (x - xmean) / torch.sqrt(xvar + self.eps)  # normalize to unit variance
            self.out = self.gamma * xhat + self.beta
            # update the buffers
            if self.training:
                with torch.no_grad():
                    self.running_mean = (1 - self.momentum) * self.running_mean + \
                        self.momentum * xmean
                    self.running_var = (1 - self.momentum) * self.running_var + \
                        self.momentum * xvar
            return self.out

        def parameters(self):
            return [self.gamma, self.beta]

    class Tanh:
        def __call__(self, x):
            self.out = torch.tanh(x)
            return self.out

        def parameters(self):
            return []

    class Embedding:
        def __init__(self, num_embeddings, embedding_dim):
            self.weight = torch.randn((num_embeddings, embedding_dim))

        def __call__(self, IX):  # noqa: N803
            self.out = self.weight[IX]
            return self.out

        def parameters(self):
            return [self.weight]

    class FlattenConsecutive:
        def __init__(self, n):
            self.n = n

        def __call__(self, x):
            B, T, C = x.shape  # noqa: N806
            x = x.view(B, T // self.n, C * self.n)
            if x.shape[1] == 1:
                x = x.squeeze(1)
            self.out = x
            return self.out

        def parameters(self):
            return []

    class Sequential:
        def __init__(self, layers):
            self.layers = layers

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            self.out = x
            return self.out

        def parameters(self):
            # get parameters of all layers and stretch them out into one list
            return [p for layer in self.layers for p in layer.parameters()]

    model = Sequential([
        Embedding(vocab_size, n_embd),
        FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False), BatchNorm1d(n_hidden),
        Tanh(),
        FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False),
        BatchNorm1d(n_hidden), Tanh(),
        FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False),
        BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, vocab_size),
    ])
    # parameter init
    with torch.no_grad():
        model.layers[-1].weight *= 0.1  # last layer make less confident
    return model, BatchNorm1d


def train_wavenet(torch, model, Xtr, Ytr, Xdev, Ydev, max_steps=8, batch_size=6,  # noqa: N803
                  every=4):
    F = torch.nn.functional  # noqa: N806
    parameters = model.parameters()
    nparams = sum(p.nelement() for p in parameters)  # number of parameters in total
    for p in parameters:
        p.requires_grad = True
    lossi, ud, grads = [], [], []
    for i in range(max_steps):
        # minibatch construct
        ix = torch.randint(0, Xtr.shape[0], (batch_size,))
        Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y  # noqa: N806
        # forward pass
        logits = model(Xb)
        loss = F.cross_entropy(logits, Yb)  # loss function
        # backward pass
        for layer in model.layers:
            layer.out.retain_grad()  # AFTER_DEBUG: would take out retain_graph
        for p in parameters:
            p.grad = None
        loss.backward()
        # update: simple SGD
        lr = 0.1 if i < max_steps * 3 // 4 else 0.01  # step learning rate decay
        for p in parameters:
            p.data += -lr * p.grad
        # track stats
        lossi.append(loss.log10().item())
        with torch.no_grad():
            ud.append([((lr * p.grad).std() / p.data.std()).log10().item() for p in parameters])
        grads.append([layer.out.grad.std().item() for layer in model.layers[:-1]])
    curve = torch.tensor(lossi).view(-1, every).mean(1)

    # put layers into eval mode (needed for batchnorm especially)
    for layer in model.layers:
        layer.training = False

    # evaluate the loss
    @torch.no_grad()  # this decorator disables gradient tracking inside pytorch
    def split_loss(split):
        x, y = {
            "train": (Xtr, Ytr),
            "val": (Xdev, Ydev),
        }[split]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        return loss.item()

    return (nparams, lossi, ud, grads, curve.tolist(), split_loss("train"), split_loss("val"),
            [p.detach().numpy().copy() for p in parameters])
