"""More public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port12_programs.py): fast.ai's course part 2 backpropagation-from-scratch lesson (gradients
kept as a ``.g`` attribute on the tensors themselves, ``lin_grad`` by broadcasting, the layer
classes with ``__call__``/``backward``, the ``Module`` base with ``bwd``, a custom
``autograd.Function`` ReLU and an ``nn.Module`` holding plain tensors made with
``requires_grad_()``; checked against ``loss.backward()``), and Karpathy's makemore part 4
"becoming a backprop ninja" (an MLP with a hand-written BatchNorm split into named steps,
``retain_grad()`` on each, the manual backward pass compared by ``cmp`` with ``torch.all``,
``torch.allclose`` and the largest difference, the fused cross-entropy and BatchNorm backward
passes, and training on the manual gradients with ``p.data += -lr * grad``, then BatchNorm
calibration and ``torch.multinomial`` sampling with a ``torch.Generator``).
"""

from __future__ import annotations

# --- fast.ai part 2: backpropagation from scratch ------------------------------------------------

def fastai_backprop(torch, x_train, y_train, w1, b1, w2, b2):
    """The lesson's three manual versions and two autograd ones; returns the gradients of each."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    def lin(x, w, b):
        return x @ w + b

    def relu(x):
        return x.clamp_min(0.)

    def mse(output, targ):
        return (output[:, 0] - targ).pow(2).mean()

    def test_close(a, b, eps=1e-5):
        assert torch.allclose(a, b, rtol=0, atol=eps), (a - b).abs().max()

    def lin_grad(inp, out, w, b):
        # grad of matmul with respect to input
        inp.g = out.g @ w.t()
        w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1)).sum(0)
        b.g = out.g.sum(0)

    def forward_and_backward(inp, targ):
        # forward pass:
        l1 = lin(inp, w1, b1)
        l2 = relu(l1)
        out = lin(l2, w2, b2)
        diff = out[:, 0] - targ
        loss = diff.pow(2).mean()
        # backward pass:
        out.g = 2. * diff[:, None] / inp.shape[0]
        lin_grad(l2, out, w2, b2)
        l1.g = (l1 > 0).float() * l2.g
        lin_grad(inp, l1, w1, b1)
        return loss

    loss = forward_and_backward(x_train, y_train)

    def get_grad(x):
        return x.g.clone()

    chks = w1, w2, b1, b2, x_train
    grads = tuple(map(get_grad, chks))
    ptgrads = w12, w22, b12, b22, xt2 = tuple(x.clone().requires_grad_(True) for x in chks)

    def mkfwd(inp, targ):
        l1 = lin(inp, w12, b12)
        l2 = relu(l1)
        out = lin(l2, w22, b22)
        return mse(out, targ)

    ptloss = mkfwd(xt2, y_train)
    ptloss.backward()
    for a, b in zip(grads, ptgrads):
        test_close(a, b.grad, eps=0.01)
    results = {"functions": [g.detach().numpy().copy() for g in grads] + [loss.item()],
               "autograd": [p.grad.numpy().copy() for p in ptgrads] + [ptloss.item()]}

    # -- refactored into layer classes
    class Relu:
        def __call__(self, inp):
            self.inp = inp
            self.out = inp.clamp_min(0.)
            return self.out

        def backward(self):
            self.inp.g = (self.inp > 0).float() * self.out.g

    class Lin:
        def __init__(self, w, b):
            self.w, self.b = w, b

        def __call__(self, inp):
            self.inp = inp
            self.out = lin(inp, self.w, self.b)
            return self.out

        def backward(self):
            self.inp.g = self.out.g @ self.w.t()
            self.w.g = self.inp.t() @ self.out.g
            self.b.g = self.out.g.sum(0)

    class Mse:
        def __call__(self, inp, targ):
            self.inp, self.targ = inp, targ
            self.out = mse(inp, targ)
            return self.out

        def backward(self):
            self.inp.g = 2. * (self.inp.squeeze() - self.targ).unsqueeze(-1) / self.targ.shape[0]

    class Model:
        def __init__(self, w1, b1, w2, b2):
            self.layers = [Lin(w1, b1), Relu(), Lin(w2, b2)]
            self.loss = Mse()

        def __call__(self, x, targ):
            for l in self.layers:  # noqa: E741
                x = l(x)
            return self.loss(x, targ)

        def backward(self):
            self.loss.backward()
            for l in reversed(self.layers):  # noqa: E741
                l.backward()

    model = Model(w1, b1, w2, b2)
    loss = model(x_train, y_train)
    model.backward()
    for a, b in zip(grads, (w1.g, w2.g, b1.g, b2.g, x_train.g)):
        test_close(a, b)
    results["classes"] = [get_grad(x).numpy() for x in chks] + [loss.item()]

    # -- a Module base class with forward and bwd
    class Module:
        def __call__(self, *args):
            self.args = args
            self.out = self.forward(*args)
            return self.out

        def forward(self):
            raise Exception("not implemented")

        def backward(self):
            self.bwd(self.out, *self.args)

        def bwd(self):
            raise Exception("not implemented")

    class Relu(Module):  # noqa: F811
        def forward(self, inp):
            return inp.clamp_min(0.)

        def bwd(self, out, inp):
            inp.g = (inp > 0).float() * out.g

    class Lin(Module):  # noqa: F811
        def __init__(self, w, b):
            self.w, self.b = w, b

        def forward(self, inp):
            return inp @ self.w + self.b

        def bwd(self, out, inp):
            inp.g = self.out.g @ self.w.t()
            self.w.g = inp.t() @ self.out.g
            self.b.g = self.out.g.sum(0)

    class Mse(Module):  # noqa: F811
        def forward(self, inp, targ):
            return (inp.squeeze() - targ).pow(2).mean()

        def bwd(self, out, inp, targ):
            inp.g = 2 * (inp.squeeze() - targ).unsqueeze(-1) / targ.shape[0]

    model = Model(w1, b1, w2, b2)
    loss = model(x_train, y_train)
    model.backward()
    for a, b in zip(grads, (w1.g, w2.g, b1.g, b2.g, x_train.g)):
        test_close(a, b)
    results["modules"] = [get_grad(x).numpy() for x in chks] + [loss.item()]

    # -- autograd.Function, then nn.Module with plain tensors made trainable
    from_autograd = torch.autograd

    class MyRelu(from_autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = i.clamp_min(0.)
            ctx.save_for_backward(i)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            i, = ctx.saved_tensors
            return grad_output * (i > 0).float()

    class Linear(nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.w = torch.randn(n_in, n_out).requires_grad_()
            self.b = torch.zeros(n_out).requires_grad_()

        def forward(self, inp):
            return inp @ self.w + self.b

    class Model(nn.Module):  # noqa: F811
        def __init__(self, n_in, nh, n_out):
            super().__init__()
            self.layers = [Linear(n_in, nh), MyRelu.apply, Linear(nh, n_out)]

        def __call__(self, x, targ):
            for l in self.layers:  # noqa: E741
                x = l(x)
            return F.mse_loss(x, targ[:, None])

    model = Model(w1.shape[0], w1.shape[1], 1)
    l0, l2 = model.layers[0], model.layers[2]
    with torch.no_grad():  # the lesson's weights, so that the gradients can be compared
        l0.w.copy_(w1)
        l0.b.copy_(b1)
        l2.w.copy_(w2)
        l2.b.copy_(b2)
    loss = model(x_train, y_train)
    loss.backward()
    test_close(l0.b.grad, grads[2])
    results["nn_module"] = [l0.w.grad.numpy().copy(), l2.w.grad.numpy().copy(),
                            l0.b.grad.numpy().copy(), l2.b.grad.numpy().copy(), loss.item(),
                            len(list(model.parameters()))]
    return results


# --- makemore part 4: becoming a backprop ninja --------------------------------------------------

def build_dataset(torch, words, stoi, block_size):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    return X, Y


def backprop_ninja(torch, Xtr, Ytr, vocab_size, block_size, n_embd=4, n_hidden=16,  # noqa: N803
                   batch_size=8, steps=6, lr=0.1):
    F = torch.nn.functional  # noqa: N806
    g = torch.Generator().manual_seed(2147483647)  # for reproducibility
    C = torch.randn((vocab_size, n_embd), generator=g)
    # Layer 1
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (
        (n_embd * block_size) ** 0.5)
    b1 = torch.randn(n_hidden, generator=g) * 0.1  # just for fun, it's useless because of BN
    # Layer 2
    W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
    b2 = torch.randn(vocab_size, generator=g) * 0.1
    # BatchNorm parameters
    bngain = torch.randn((1, n_hidden)) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden)) * 0.1
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    for p in parameters:
        p.requires_grad = True

    n = batch_size  # a shorter variable also, for convenience
    # construct a minibatch
    ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
    Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y

    # forward pass, "chunkated" into smaller steps that are possible to backward one at a time
    emb = C[Xb]  # embed the characters into vectors
    embcat = emb.view(emb.shape[0], -1)  # concatenate the vectors
    # Linear layer 1
    hprebn = embcat @ W1 + b1  # hidden layer pre-activation
    # BatchNorm layer
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)  # note: Bessel's correction
    bnvar_inv = (bnvar + 1e-5)**-0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    # Non-linearity
    h = torch.tanh(hpreact)  # hidden layer
    # Linear layer 2
    logits = h @ W2 + b2  # output layer
    # cross entropy loss (same as F.cross_entropy(logits, Yb))
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes  # subtract max for numerical stability
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum**-1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()

    # PyTorch backward pass
    for p in parameters:
        p.grad = None
    for t in [logprobs, probs, counts, counts_sum, counts_sum_inv,  # afaik there is no cleaner way
              norm_logits, logit_maxes, logits, h, hpreact, bnraw,
              bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani,
              embcat, emb]:
        t.retain_grad()
    loss.backward()

    report = []

    def cmp(s, dt, t):
        ex = torch.all(dt == t.grad).item()
        app = torch.allclose(dt, t.grad)
        maxdiff = (dt - t.grad).abs().max().item()
        report.append((s, ex, app, maxdiff))

    # Exercise 1: backprop through the whole thing manually
    dlogprobs = torch.zeros_like(logprobs)
    dlogprobs[range(n), Yb] = -1.0 / n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
    dcounts += torch.ones_like(counts) * dcounts_sum
    dnorm_logits = counts * dcounts
    dlogits = dnorm_logits.clone()
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h**2) * dh
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbndiff = bnvar_inv * dbnraw
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbnvar = (-0.5 * (bnvar + 1e-5)**-1.5) * dbnvar_inv
    dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
    dbndiff += (2 * bndiff) * dbndiff2
    dhprebn = dbndiff.clone()
    dbnmeani = (-dbndiff).sum(0)
    dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = torch.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            ix = Xb[k, j]
            dC[ix] += demb[k, j]

    cmp("logprobs", dlogprobs, logprobs)
    cmp("probs", dprobs, probs)
    cmp("counts_sum_inv", dcounts_sum_inv, counts_sum_inv)
    cmp("counts_sum", dcounts_sum, counts_sum)
    cmp("counts", dcounts, counts)
    cmp("norm_logits", dnorm_logits, norm_logits)
    cmp("logit_maxes", dlogit_maxes, logit_maxes)
    cmp("logits", dlogits, logits)
    cmp("h", dh, h)
    cmp("W2", dW2, W2)
    cmp("b2", db2, b2)
    cmp("hpreact", dhpreact, hpreact)
    cmp("bngain", dbngain, bngain)
    cmp("bnbias", dbnbias, bnbias)
    cmp("bnraw", dbnraw, bnraw)
    cmp("bnvar_inv", dbnvar_inv, bnvar_inv)
    cmp("bnvar", dbnvar, bnvar)
    cmp("bndiff2", dbndiff2, bndiff2)
    cmp("bndiff", dbndiff, bndiff)
    cmp("bnmeani", dbnmeani, bnmeani)
    cmp("hprebn", dhprebn, hprebn)
    cmp("embcat", dembcat, embcat)
    cmp("W1", dW1, W1)
    cmp("b1", db1, b1)
    cmp("emb", demb, emb)
    cmp("C", dC, C)

    # Exercise 2: backprop through cross_entropy but all in one go
    loss_fast = F.cross_entropy(logits, Yb)
    fast_diff = (loss_fast - loss).item()
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    cmp("logits (fast)", dlogits, logits)

    # Exercise 3: backprop through batchnorm but all in one go
    hpreact_fast = bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(
        hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
    bn_diff = (hpreact_fast - hpreact).abs().max().item()
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (
        dhpreact * bnraw).sum(0))
    cmp("hprebn (fast)", dhprebn, hprebn)

    # Exercise 4: putting it all together, training on the manual gradients
    lossi = []
    with torch.no_grad():
        for _i in range(steps):
            ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
            Xb, Yb = Xtr[ix], Ytr[ix]
            emb = C[Xb]
            embcat = emb.view(emb.shape[0], -1)
            hprebn = embcat @ W1 + b1
            bnmean = hprebn.mean(0, keepdim=True)
            bnvar = hprebn.var(0, keepdim=True, unbiased=True)
            bnvar_inv = (bnvar + 1e-5)**-0.5
            bnraw = (hprebn - bnmean) * bnvar_inv
            hpreact = bngain * bnraw + bnbias
            h = torch.tanh(hpreact)
            logits = h @ W2 + b2
            loss = F.cross_entropy(logits, Yb)
            # manual backprop
            dlogits = F.softmax(logits, 1)
            dlogits[range(n), Yb] -= 1
            dlogits /= n
            dh = dlogits @ W2.T
            dW2 = h.T @ dlogits
            db2 = dlogits.sum(0)
            dhpreact = (1.0 - h**2) * dh
            dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
            dbnbias = dhpreact.sum(0, keepdim=True)
            dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1)
                                                * bnraw * (dhpreact * bnraw).sum(0))
            dembcat = dhprebn @ W1.T
            dW1 = embcat.T @ dhprebn
            db1 = dhprebn.sum(0)
            demb = dembcat.view(emb.shape)
            dC = torch.zeros_like(C)
            for k in range(Xb.shape[0]):
                for j in range(Xb.shape[1]):
                    ix = Xb[k, j]
                    dC[ix] += demb[k, j]
            grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]
            for p, grad in zip(parameters, grads):
                p.data += -lr * grad  # new way of swole doge TODO: enable
            lossi.append(loss.log10().item())

    # calibrate the batch norm at the end of training
    with torch.no_grad():
        emb = C[Xtr]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1 + b1
        bnmean = hpreact.mean(0, keepdim=True)
        bnvar = hpreact.var(0, keepdim=True, unbiased=True)

    @torch.no_grad()  # this decorator disables gradient tracking
    def split_loss(x, y):
        emb = C[x]  # (N, block_size, n_embd)
        embcat = emb.view(emb.shape[0], -1)  # concat into (N, block_size * n_embd)
        hpreact = embcat @ W1 + b1
        hpreact = bngain * (hpreact - bnmean) * (bnvar + 1e-5)**-0.5 + bnbias
        h = torch.tanh(hpreact)  # (N, n_hidden)
        logits = h @ W2 + b2  # (N, vocab_size)
        loss = F.cross_entropy(logits, y)
        return loss.item()

    return report, fast_diff, bn_diff, lossi, split_loss(Xtr, Ytr), [
        p.detach().numpy().copy() for p in parameters], (C, W1, b1, W2, b2, bngain, bnbias,
                                                         bnmean, bnvar, g)


def sample_names(torch, state, block_size, itos, count=3):
    F = torch.nn.functional  # noqa: N806
    C, W1, b1, W2, b2, bngain, bnbias, bnmean, bnvar, g = state
    out_names = []
    with torch.no_grad():
        for _ in range(count):
            out = []
            context = [0] * block_size  # initialize with all ...
            while True:
                # forward pass
                emb = C[torch.tensor([context])]  # (1,block_size,d)
                embcat = emb.view(emb.shape[0], -1)  # concat into (N, block_size * n_embd)
                hpreact = embcat @ W1 + b1
                hpreact = bngain * (hpreact - bnmean) * (bnvar + 1e-5)**-0.5 + bnbias
                h = torch.tanh(hpreact)  # (N, n_hidden)
                logits = h @ W2 + b2  # (N, vocab_size)
                # sample
                probs = F.softmax(logits, dim=1)
                ix = torch.multinomial(probs, num_samples=1, generator=g).item()
                context = context[1:] + [ix]
                out.append(ix)
                if ix == 0 or len(out) > 12:
                    break
            out_names.append("".join(itos[i] for i in out))
    return out_names
