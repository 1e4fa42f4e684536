"""Small public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port12_programs.py): micrograd's README check against PyTorch (``torch.Tensor([-4.0])
.double()``, ``x.requires_grad = True``, ``ypt.data.item()``), Karpathy's makemore part 1 bigram
model (counts written by ``N[ix1, ix2] += 1`` into an int32 tensor, ``P /= P.sum(1,
keepdims=True)``, a summed log-likelihood, then a one-layer network on ``F.one_hot(...).float()``
with ``randn(..., generator=g, requires_grad=True)``, ``W.grad = None`` and ``W.data += -50 *
W.grad``), the "Learning PyTorch with Examples" tutorial (manual gradients of scalar ``randn(())``
tensors updated by ``a -= lr * grad_a``, autograd under ``no_grad``, ``x.unsqueeze(-1).pow(p)``
into ``nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))``, ``MSELoss(reduction='sum')``, RMSprop,
``DynamicNet`` reusing a parameter for ``random.randint(4, 5)`` extra terms), and
pytorch/examples regression (``torch.cat([x ** i for i in ...], 1)``, ``b_target.item()``,
``'{:+.2f}'.format(w)`` of 0-d tensors, ``param.data.add_(-0.1 * param.grad)``, a stop at a loss
threshold inside ``itertools.count(1)``).
"""

from __future__ import annotations

import math
import random
from itertools import count


def micrograd_check(torch):
    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y
    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return ypt.data.item(), xpt.grad.item(), g.data.item(), a.grad.item(), b.grad.item()


def bigram(torch, words, steps=5):
    F = torch.nn.functional  # noqa: N806
    N = torch.zeros((27, 27), dtype=torch.int32)  # noqa: N806
    chars = sorted(list(set("".join(words))))  # noqa: C414
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            ix1 = stoi[ch1]
            ix2 = stoi[ch2]
            N[ix1, ix2] += 1
    P = (N + 1).float()  # noqa: N806
    P /= P.sum(1, keepdims=True)  # noqa: N806
    log_likelihood = 0.0
    n = 0
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            ix1 = stoi[ch1]
            ix2 = stoi[ch2]
            prob = P[ix1, ix2]
            logprob = torch.log(prob)
            log_likelihood += logprob
            n += 1
    nll = -log_likelihood
    # create the training set of bigrams (x,y)
    xs, ys = [], []
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs = torch.tensor(xs)
    ys = torch.tensor(ys)
    num = xs.nelement()
    # initialize the 'network'
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((27, 27), generator=g, requires_grad=True)  # noqa: N806
    losses = []
    for _k in range(steps):
        # forward pass
        xenc = F.one_hot(xs, num_classes=27).float()  # input to the network: one-hot encoding
        logits = xenc @ W  # predict log-counts
        counts = logits.exp()  # counts, equivalent to N
        probs = counts / counts.sum(1, keepdims=True)  # probabilities for next character
        loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W**2).mean()
        # backward pass
        W.grad = None  # set to zero the gradient
        loss.backward()
        # update
        W.data += -50 * W.grad
        losses.append(loss.item())
    return N.sum().item(), str(N.dtype), P.numpy().copy(), (nll / n).item(), losses, \
        W.detach().numpy().copy()


def learning_with_examples(torch, points=200):
    dtype = torch.float
    device = torch.device("cpu")
    # Create random input and output data
    x = torch.linspace(-math.pi, math.pi, points, device=device, dtype=dtype)
    y = torch.sin(x)
    # Randomly initialize weights
    a = torch.randn((), device=device, dtype=dtype)
    b = torch.randn((), device=device, dtype=dtype)
    c = torch.randn((), device=device, dtype=dtype)
    d = torch.randn((), device=device, dtype=dtype)
    learning_rate = 1e-6
    manual = []
    for _t in range(20):
        # Forward pass: compute predicted y
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        # Compute and print loss
        loss = (y_pred - y).pow(2).sum().item()
        manual.append(loss)
        # Backprop to compute gradients of a, b, c, d with respect to loss
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()
        # Update weights using gradient descent
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    result = f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3"

    a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    auto = []
    for _t in range(10):
        y_pred = a + b * x
        loss = (y_pred - y).pow(2).sum()
        auto.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * 100 * a.grad
            b -= learning_rate * 100 * b.grad
            # Manually zero the gradients after updating weights
            a.grad = None
            b.grad = None

    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    nn_losses = []
    for _t in range(10):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        nn_losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    nn_result = (f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x "
                 f"+ {linear_layer.weight[:, 1].item()} x^2 + "
                 f"{linear_layer.weight[:, 2].item()} x^3")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for _t in range(10):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        nn_losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))
            self.e = torch.nn.Parameter(torch.randn(()))

        def forward(self, x):
            y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
            for exp in range(4, random.randint(4, 6)):
                y = y + self.e * x ** exp
            return y

        def string(self):
            return (f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
                    f"{self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?")

    model = DynamicNet()
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    dynamic = []
    for _t in range(10):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        dynamic.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return manual, result, auto, nn_losses, nn_result, dynamic, model.string()


def regression(torch, fc, poly_degree=4, max_batches=60):
    F = torch.nn.functional  # noqa: N806
    W_target = torch.randn(poly_degree, 1) * 5  # noqa: N806
    b_target = torch.randn(1) * 5

    def make_features(x):
        """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
        x = x.unsqueeze(1)
        return torch.cat([x ** i for i in range(1, poly_degree + 1)], 1)

    def f(x):
        """Approximated function."""
        return x.mm(W_target) + b_target.item()

    def poly_desc(W, b):  # noqa: N803
        """Creates a string description of a polynomial."""
        result = "y = "
        for i, w in enumerate(W):
            result += "{:+.2f} x^{} ".format(w, i + 1)  # noqa: UP032
        result += "{:+.2f}".format(b[0])  # noqa: UP032
        return result

    def get_batch(batch_size=32):
        """Builds a batch i.e. (x, f(x)) pair."""
        random = torch.randn(batch_size)
        x = make_features(random)
        y = f(x)
        return x, y

    losses = []
    for batch_idx in count(1):
        # Get data
        batch_x, batch_y = get_batch()
        # Reset gradients
        fc.zero_grad()
        # Forward pass
        output = F.smooth_l1_loss(fc(batch_x), batch_y)
        loss = output.item()
        losses.append(loss)
        # Backward pass
        output.backward()
        # Apply gradients
        for param in fc.parameters():
            param.data.add_(-0.1 * param.grad)
        # Stop criterion
        if loss < 1e-3 or batch_idx == max_batches:
            break
    return (losses, "Loss: {:.6f} after {} batches".format(loss, batch_idx),  # noqa: UP032
            "==> Learned function:\t" + poly_desc(fc.weight.view(-1), fc.bias),
            "==> Actual function:\t" + poly_desc(W_target.view(-1), b_target))
