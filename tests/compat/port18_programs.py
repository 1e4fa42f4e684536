"""Wave-18 ports, part one, run with ``torch`` = PyTorch or chainrule (test_port18_programs.py).

PyTorch's ``nn.Unfold`` documentation example (a convolution as unfold, matmul, fold) and patch
averaging by ``Fold`` over overlapping windows; a word language model whose output layer is
``AdaptiveLogSoftmaxWithLoss``; a heat-equation stencil learned through a circular-padded
convolution; a siamese embedding trained with ``TripletMarginWithDistanceLoss`` (a cosine
distance, ``swap=True``), ``HingeEmbeddingLoss`` and ``CosineEmbeddingLoss``; a multi-label
classifier under ``MultiLabelMarginLoss`` (targets padded with -1); and the "Extending PyTorch"
note's custom Functions: ``set_materialize_grads(False)``, ``mark_non_differentiable``,
``save_for_forward`` with a ``jvp`` under ``forward_ad``, and ``mark_dirty``.
"""

from __future__ import annotations


def _np(t):
    return t.detach().numpy().copy()


# ---- the nn.Unfold docs example, and patch averaging with nn.Fold ----
def unfold_patches(torch, inp, w, steps=4):
    F = torch.nn.functional
    inp = inp.clone().requires_grad_(True)
    # Convolution is equivalent with Unfold + Matrix Multiplication + Fold (or view to output shape)
    inp_unf = F.unfold(inp, (4, 5))
    out_unf = inp_unf.transpose(1, 2).matmul(w.view(w.size(0), -1).t()).transpose(1, 2)
    out = F.fold(out_unf, (7, 8), (1, 1))
    # overlapping patches, each shrunk towards its mean, put back and averaged where they overlap
    unfold = torch.nn.Unfold(kernel_size=(3, 2), dilation=(2, 1), padding=1, stride=(2, 1))
    fold = torch.nn.Fold(output_size=inp.shape[-2:], kernel_size=(3, 2), dilation=(2, 1),
                         padding=1, stride=(2, 1))
    counts = fold(unfold(torch.ones_like(inp)))
    x = inp
    for _ in range(steps):
        patches = unfold(x).view(inp.size(0), inp.size(1), 6, -1)
        patches = 0.5 * (patches + patches.mean(dim=2, keepdim=True))
        x = fold(patches.view(inp.size(0), -1, patches.size(-1))) / counts.clamp(min=1)
    ((out - F.conv2d(inp, w)).pow(2).sum() + x.pow(2).sum()).backward()
    return {"out": _np(out), "conv": _np(F.conv2d(inp, w)), "counts": _np(counts),
            "smoothed": _np(x), "grad": _np(inp.grad), "unbatched": _np(F.unfold(inp[0], 3))}


# ---- a word language model with an adaptive softmax output layer ----
def adaptive_lm(torch, vocab=12, emb=6, hidden=8):
    nn = torch.nn

    class AdaptiveLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, emb)
            self.rnn = nn.GRU(emb, hidden, batch_first=True)
            self.crit = nn.AdaptiveLogSoftmaxWithLoss(hidden, vocab, cutoffs=[4, 8],
                                                      div_value=2.0, head_bias=True)

        def forward(self, ids, targets):
            h, _ = self.rnn(self.encoder(ids))
            h = h.reshape(-1, h.size(-1))
            return self.crit(h, targets.reshape(-1)), h

    return AdaptiveLM()


def train_adaptive_lm(torch, model, ids, steps=5, bptt=4):
    opt = torch.optim.Adagrad(model.parameters(), lr=0.3, lr_decay=0.01)
    losses = []
    for step in range(steps):
        i = (step * bptt) % (ids.size(1) - bptt - 1)
        data, targets = ids[:, i:i + bptt], ids[:, i + 1:i + 1 + bptt]
        opt.zero_grad()
        (output, loss), _ = model(data, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        (output, loss), h = model(ids[:, :bptt], ids[:, 1:bptt + 1])
        log_prob = model.crit.log_prob(h)
    return {"losses": losses, "output": _np(output), "log_prob": _np(log_prob),
            "prob_sums": _np(log_prob.exp().sum(1)), "predict": _np(model.crit.predict(h)),
            "eval_loss": loss.item()}


# ---- a periodic heat-equation stencil learned by a circular-padded convolution ----
def heat_stencil(torch):
    return torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", bias=False)


def train_heat_stencil(torch, model, u0, steps=6, dt=0.1):
    F = torch.nn.functional
    lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]],
                       dtype=u0.dtype).view(1, 1, 3, 3)
    with torch.no_grad():  # ground truth: explicit Euler steps on the torus
        frames = [u0]
        for _ in range(3):
            u = frames[-1]
            frames.append(u + dt * F.conv2d(F.pad(u, (1, 1, 1, 1), mode="circular"), lap))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(F.mse_loss(frames[k] + model(frames[k]), frames[k + 1]) for k in range(3))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    padded = torch.nn.CircularPad2d((1, 2, 0, 1))(u0)
    return {"losses": losses, "kernel": _np(model.weight), "padded": _np(padded),
            "wraps": bool((padded[..., 0, 0] == u0[..., 0, -1]).all())}


# ---- a siamese embedding with triplet, hinge and cosine embedding losses ----
def siamese_net(torch, d_in=6, d_emb=4):
    nn = torch.nn
    return nn.Sequential(nn.Linear(d_in, 8), nn.PReLU(), nn.Linear(8, d_emb))


def train_siamese(torch, net, anchors, positives, negatives, steps=5):
    nn, F = torch.nn, torch.nn.functional
    triplet = nn.TripletMarginWithDistanceLoss(
        distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y), margin=0.5, swap=True)
    hinge = nn.HingeEmbeddingLoss(margin=2.0)
    cosine = nn.CosineEmbeddingLoss(margin=0.2)
    same = torch.ones(anchors.size(0), dtype=anchors.dtype)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        a, p, n = net(anchors), net(positives), net(negatives)
        pairs = torch.cat([F.pairwise_distance(a, p), F.pairwise_distance(a, n)])
        labels = torch.cat([same, -same])
        loss = triplet(a, p, n) + 0.1 * hinge(pairs, labels) + cosine(
            torch.cat([a, a]), torch.cat([p, n]), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        a, p, n = net(anchors), net(positives), net(negatives)
        per_triplet = nn.TripletMarginWithDistanceLoss(
            distance_function=nn.PairwiseDistance(), reduction="none")(a, p, n)
    return {"losses": losses, "per_triplet": _np(per_triplet),
            "closer": _np(F.pairwise_distance(a, p) < F.pairwise_distance(a, n))}


# ---- a multi-label classifier under MultiLabelMarginLoss ----
def multilabel_mlp(torch, d_in=5, n_labels=4):
    nn = torch.nn
    return nn.Sequential(nn.Linear(d_in, 8), nn.Softplus(beta=2.0), nn.Linear(8, n_labels))


def train_multilabel(torch, model, x, label_sets, steps=6):
    nn = torch.nn
    n_labels = model[-1].out_features
    target = torch.full((len(label_sets), n_labels), -1, dtype=torch.long)
    multi_hot = torch.zeros(len(label_sets), n_labels, dtype=x.dtype)
    for i, labels in enumerate(label_sets):  # the labels first, then -1 where the list ends
        target[i, :len(labels)] = torch.tensor(labels, dtype=torch.long)
        multi_hot[i, labels] = 1.0
    crit = nn.MultiLabelMarginLoss()
    soft = nn.MultiLabelSoftMarginLoss(weight=torch.linspace(0.5, 1.5, n_labels, dtype=x.dtype))
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01, centered=True)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        out = model(x)
        loss = crit(out, target) + 0.5 * soft(out, multi_hot)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        out = model(x)
        per_sample = torch.nn.functional.multilabel_margin_loss(out, target, reduction="none")
    return {"losses": losses, "per_sample": _np(per_sample),
            "predicted": _np(torch.sigmoid(out) > 0.5)}


# ---- the "Extending PyTorch" note's custom Functions ----
def custom_functions(torch):
    class SimpleFunc(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            ctx.save_for_backward(x)
            return x.clone(), x.clone()

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g1, g2):  # either may be None: grads are not materialized
            x, = ctx.saved_tensors
            grad_input = torch.zeros_like(x)
            if g1 is not None:
                grad_input += g1
            if g2 is not None:
                grad_input += 2 * g2
            return grad_input

    class SortWithIndices(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, indices = x.sort(dim=-1)
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, g_values, g_indices):
            indices, = ctx.saved_tensors
            return torch.zeros_like(g_values).scatter(-1, indices, g_values)

    class MulAdd(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, alpha):
            ctx.save_for_backward(x, y)
            ctx.save_for_forward(x, y)
            ctx.alpha = alpha
            return x * y + alpha

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return (g * y if ctx.needs_input_grad[0] else None,
                    g * x if ctx.needs_input_grad[1] else None, None)

        @staticmethod
        def jvp(ctx, x_t, y_t, _):
            x, y = ctx.saved_tensors
            return x_t * y + x * y_t

    class Exp(torch.autograd.Function):  # only a jvp, its tensors kept by save_for_forward
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_forward(result)
            return result

        @staticmethod
        def jvp(ctx, x_t):
            result, = ctx.saved_tensors
            return x_t * result

    class SquareInPlace(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x.clone())
            ctx.mark_dirty(x)
            return x.mul_(x)

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g

    return SimpleFunc, SortWithIndices, MulAdd, Exp, SquareInPlace


def extending_note(torch, x, y):
    SimpleFunc, SortWithIndices, MulAdd, Exp, SquareInPlace = custom_functions(torch)
    fwAD = torch.autograd.forward_ad
    out = {}
    x = x.clone().requires_grad_(True)
    a, b = SimpleFunc.apply(x)
    a.sum().backward(retain_graph=True)  # b's gradient arrives as None
    out["only_a"] = _np(x.grad)
    x.grad = None
    (b * b).sum().backward()
    out["only_b"] = _np(x.grad)
    x.grad = None
    values, indices = SortWithIndices.apply(x)
    out["indices_require_grad"] = indices.requires_grad
    (values * torch.arange(values.size(-1), dtype=x.dtype)).sum().backward()
    out["sort_grad"] = _np(x.grad)
    x.grad = None
    MulAdd.apply(x, y, 0.5).pow(2).sum().backward()
    out["muladd_grad"] = _np(x.grad)
    with fwAD.dual_level():
        x_dual = fwAD.make_dual(x.detach(), torch.ones_like(x))
        y_dual = fwAD.make_dual(y, torch.full_like(y, 2.0))
        out["muladd_tangent"] = _np(fwAD.unpack_dual(MulAdd.apply(x_dual, y_dual, 1.0)).tangent)
        out["exp_tangent"] = _np(fwAD.unpack_dual(Exp.apply(x_dual)).tangent)
    z = x.detach().clone().requires_grad_(True)
    w = z * 1.0
    SquareInPlace.apply(w)
    w.sum().backward()
    out["square_inplace"], out["square_grad"] = _np(w), _np(z.grad)
    return out
