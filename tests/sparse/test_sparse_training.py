"""Sparse gradients in training, against PyTorch 2.13 in float64: ``Embedding(sparse=True)``'s
gradient (one entry per lookup), its accumulation, the optimizers that take it (SparseAdam, SGD,
Adagrad) and those that refuse it, a skip-gram with negative sampling and a pygcn-style GCN."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")]


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-13)


def _same_sparse_grad(g, h):
    assert g.is_sparse and h.is_sparse and g.shape == tuple(h.shape)
    assert g._nnz() == h._nnz() and g.is_coalesced() == h.is_coalesced()
    np.testing.assert_array_equal(g._indices().numpy(), h._indices().numpy())
    _close(g._values().numpy(), h._values().numpy())


def _tables(rng, n=7, dim=3):
    table = rng.standard_normal((n, dim))
    return (cr.nn.Parameter(cr.tensor(table.copy())),
            torch.nn.Parameter(torch.tensor(table.copy())))


@pytest.mark.kernel_free
@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_gradient_has_one_entry_per_lookup_as_pytorch(padding_idx, rng):
    w, tw = _tables(rng)
    ids = [[1, 0, 4], [4, 6, 1]]
    out_w = rng.standard_normal((2, 3, 3))
    for L, weight in ((cr, w), (torch, tw)):
        y = L.nn.functional.embedding(L.tensor(ids), weight, padding_idx=padding_idx,
                                      sparse=True)
        (y * L.tensor(out_w)).sum().backward()
    _same_sparse_grad(w.grad, tw.grad)
    assert not w.grad.is_coalesced() and w.grad.sparse_dim() == 1 and w.grad.dense_dim() == 1


@pytest.mark.kernel_free
def test_gradcheck_the_sparse_embedding_gradient(rng):
    w = cr.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    ids = cr.tensor([[1, 0, 4], [4, 5, 1]])
    assert cr.gradcheck(lambda w: cr.nn.functional.embedding(ids, w, sparse=True).sin(), [w])
    y = cr.nn.functional.embedding(ids, w, padding_idx=0, sparse=True).sin().sum()
    g, = cr.autograd.grad(y, w)  # grad() returns it sparse, as PyTorch's
    assert g.is_sparse and g._indices().tolist() == [[1, 4, 4, 5, 1]]


@pytest.mark.kernel_free
def test_a_hook_sees_and_may_replace_the_sparse_gradient_as_pytorch(rng):
    w, tw = _tables(rng)
    seen = []
    for L, weight in ((cr, w), (torch, tw)):
        weight.register_hook(lambda g: seen.append(g.is_sparse) or g * 2.0)
        L.nn.functional.embedding(L.tensor([3, 1, 3]), weight, sparse=True).sin().sum().backward()
    assert seen == [True, True]
    _same_sparse_grad(w.grad, tw.grad)


@pytest.mark.kernel_free
def test_two_backward_calls_merge_the_entries_as_pytorch(rng):
    ours, theirs = cr.nn.Embedding(7, 3, sparse=True), torch.nn.Embedding(7, 3, sparse=True)
    ours.weight.data = cr.tensor(theirs.weight.detach().double().numpy())
    theirs.double()
    for ids in ([2, 5], [5, 5, 0]):
        ours(cr.tensor(ids)).pow(2).sum().backward()
        theirs(torch.tensor(ids)).pow(2).sum().backward()
    # PyTorch's sparse add merges the two lists: rows that meet in the merge are summed
    _same_sparse_grad(ours.weight.grad, theirs.weight.grad)
    assert ours.weight.grad._indices().tolist() == [[2, 5, 5, 0]]


@pytest.mark.kernel_free
def test_lookups_in_one_backward_merge_their_entries_as_pytorch(rng):
    w, tw = _tables(rng)
    for L, weight in ((cr, w), (torch, tw)):
        emb = L.nn.functional.embedding
        loss = emb(L.tensor([4, 4]), weight, sparse=True).sin().sum()
        (loss + emb(L.tensor([1, 4]), weight, sparse=True).cos().sum()).backward()
    _same_sparse_grad(w.grad, tw.grad)
    assert w.grad._indices().tolist() == [[1, 4, 4]]


@pytest.mark.kernel_free
def test_a_dense_and_a_sparse_gradient_add_up_to_a_dense_one(rng):
    w, tw = _tables(rng)
    for L, weight in ((cr, w), (torch, tw)):
        loss = L.nn.functional.embedding(L.tensor([3, 1]), weight, sparse=True).sum()
        (loss + weight.pow(2).sum()).backward()
        L.nn.functional.embedding(L.tensor([6]), weight, sparse=True).sum().backward()
    assert not w.grad.is_sparse and not tw.grad.is_sparse
    _close(w.grad.numpy(), tw.grad.numpy())


@pytest.mark.kernel_free
def test_scale_grad_by_freq_with_a_sparse_gradient_is_refused_in_backward_as_pytorch(rng):
    w, tw = _tables(rng)
    for L, weight in ((cr, w), (torch, tw)):
        y = L.nn.functional.embedding(L.tensor([1, 1, 2]), weight, scale_grad_by_freq=True,
                                      sparse=True)
        with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse "
                                               "gradients"):
            y.sum().backward()


@pytest.mark.kernel_free
def test_max_norm_renormalizes_before_a_sparse_lookup_as_pytorch(rng):
    w, tw = _tables(rng)
    for L, weight in ((cr, w), (torch, tw)):
        emb = L.nn.Embedding(7, 3, max_norm=1.0, sparse=True)
        emb.weight = weight
        emb(L.tensor([[1, 2], [2, 6]])).pow(2).sum().backward()
    _close(w.detach().numpy(), tw.detach().numpy())
    _same_sparse_grad(w.grad, tw.grad)


@pytest.mark.kernel_free
def test_a_sparse_gradient_reaching_a_computed_weight_goes_on_dense(rng):
    """PyTorch keeps it sparse through ``W * 2``; chainrule makes it dense there: the values of
    W's gradient are the same."""
    a = rng.standard_normal((5, 3))
    grads = []
    for L in (cr, torch):
        weight = L.tensor(a, requires_grad=True)
        L.nn.functional.embedding(L.tensor([1, 1, 3]), weight * 2,
                                  sparse=True).sin().sum().backward()
        grads.append(weight.grad.to_dense() if weight.grad.is_sparse else weight.grad)
    _close(grads[0].numpy(), grads[1].numpy())


def test_sparse_false_and_frozen_weights_keep_a_dense_or_no_gradient(rng):
    w, _ = _tables(rng)
    cr.nn.functional.embedding(cr.tensor([1, 2]), w, sparse=False).sum().backward()
    assert not w.grad.is_sparse
    emb = cr.nn.Embedding.from_pretrained(cr.ones(4, 2), sparse=True)
    assert emb(cr.tensor([1])).requires_grad is False
    with pytest.raises(IndexError, match="Embedding: id 9 is out of range for 5 embeddings"):
        cr.nn.Embedding(5, 2, sparse=True)(cr.tensor([9]))


OPTIMIZERS = [
    ("SparseAdam", {"lr": 0.1}),
    ("SparseAdam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "maximize": True}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "dampening": 0.3, "nesterov": False,
             "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.2, "initial_accumulator_value": 0.3, "eps": 1e-6,
                 "maximize": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_optimizers_step_only_the_rows_present_as_pytorch(name, kwargs, rng):
    w, tw = _tables(rng)
    opt, topt = getattr(cr.optim, name)([w], **kwargs), getattr(torch.optim, name)([tw], **kwargs)
    for ids in ([1, 1, 3], [0, 1], [6, 3, 3, 3], [2]):
        for L, o, weight in ((cr, opt, w), (torch, topt, tw)):
            o.zero_grad()
            L.nn.functional.embedding(L.tensor(ids), weight, sparse=True).sin().sum().backward()
            o.step()
        _close(w.detach().numpy(), tw.detach().numpy())
    ours, theirs = opt.state_dict()["state"], topt.state_dict()["state"]
    assert set(ours) == set(theirs)  # SGD without momentum keeps none
    ours, theirs = ours.get(0, {}), theirs.get(0, {})
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        if isinstance(value, torch.Tensor) and value.is_sparse:  # SGD's momentum buffer
            _same_sparse_grad(ours[key], value)
        elif isinstance(value, torch.Tensor):
            assert str(ours[key].dtype) == str(value.dtype).replace("torch.", ""), key
            _close(ours[key].numpy(), value.numpy())
        else:
            assert type(ours[key]) is type(value) and ours[key] == value, key


@pytest.mark.kernel_free
@pytest.mark.parametrize(("name", "message"), [
    ("Adam", "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("AdamW", "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("RMSprop", "RMSprop does not support sparse gradients"),
    ("Adamax", "Adamax does not support sparse gradients"),
    ("NAdam", "NAdam does not support sparse gradients"),
    ("RAdam", "RAdam does not support sparse gradients"),
    ("Adadelta", "Adadelta does not support sparse gradients"),
    ("ASGD", "ASGD does not support sparse gradients"),
    ("Rprop", "Rprop does not support sparse gradients"),
])
def test_other_optimizers_refuse_a_sparse_gradient_as_pytorch(name, message, rng):
    for L in (cr, torch):
        weight = _tables(rng)[0 if L is cr else 1]
        L.nn.functional.embedding(L.tensor([1]), weight, sparse=True).sum().backward()
        with pytest.raises(RuntimeError, match=message):
            getattr(L.optim, name)([weight]).step()


@pytest.mark.kernel_free
@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("SparseAdam", {}, "SparseAdam does not support dense gradients, please consider Adam "
                       "instead"),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}, "add\\(sparse, dense\\) is not supported"),
    ("Adagrad", {"weight_decay": 0.1}, "weight_decay option is not compatible with sparse "
                                       "gradients"),
])
def test_unsupported_combinations_are_refused_with_pytorchs_message(name, kwargs, message, rng):
    for L in (cr, torch):
        weight = _tables(rng)[0 if L is cr else 1]
        if name == "SparseAdam":
            (weight * 2).sum().backward()
        else:
            L.nn.functional.embedding(L.tensor([1]), weight, sparse=True).sum().backward()
        with pytest.raises(RuntimeError, match=message):
            getattr(L.optim, name)([weight], **kwargs).step()


@pytest.mark.kernel_free
def test_sparse_adam_checks_its_hyperparameters():
    with pytest.raises(ValueError, match=r"betas must be two numbers in \[0, 1\), got "
                                         r"\(0.9, 1.0\)"):
        cr.optim.SparseAdam([cr.nn.Parameter(cr.ones(2))], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr"):
        cr.optim.SparseAdam([cr.nn.Parameter(cr.ones(2))], lr=-1.0)


def _skip_gram(L, vocab, dim, u0, v0):
    nn, F = L.nn, L.nn.functional  # noqa: N806

    class SkipGram(nn.Module):
        def __init__(self):
            super().__init__()
            self.u = nn.Embedding(vocab, dim, sparse=True)
            self.v = nn.Embedding(vocab, dim, sparse=True)

        def forward(self, center, context, negatives):
            eu = self.u(center)
            pos = F.logsigmoid(L.clamp((eu * self.v(context)).sum(dim=1), -10, 10))
            neg = L.bmm(self.v(negatives), eu.unsqueeze(2)).squeeze(2)
            neg = F.logsigmoid(-L.clamp(neg, -10, 10)).sum(dim=1)
            return -(pos + neg).mean()

    model = SkipGram()
    model.u.weight.data = L.tensor(u0.copy())
    model.v.weight.data = L.tensor(v0.copy())
    return model


@pytest.mark.parametrize(("name", "kwargs"), [("SparseAdam", {"lr": 0.05}), ("SGD", {"lr": 0.5})])
def test_skip_gram_with_negative_sampling_trains_as_pytorch(name, kwargs, rng):
    vocab, dim, batch, k = 20, 6, 8, 3
    u0, v0 = rng.uniform(-0.5, 0.5, (vocab, dim)), rng.uniform(-0.1, 0.1, (vocab, dim))
    batches = [(rng.integers(0, vocab, batch), rng.integers(0, vocab, batch),
                rng.integers(0, vocab, (batch, k))) for _ in range(5)]
    runs = {}
    for L in (cr, torch):
        model = _skip_gram(L, vocab, dim, u0, v0)
        opt = getattr(L.optim, name)(model.parameters(), **kwargs)
        losses, entries = [], []
        for c, o, n in batches:
            opt.zero_grad()
            loss = model(L.tensor(c), L.tensor(o), L.tensor(n))
            loss.backward()
            entries += [model.u.weight.grad._indices().numpy(),  # v's: two lookups merged
                        model.v.weight.grad._indices().numpy()]
            opt.step()
            losses.append(loss.item())
        runs[L.__name__] = (losses, model.u.weight.detach().numpy(),
                            model.v.weight.detach().numpy(), *entries)
    for a, b in zip(runs["chainrule"], runs["torch"]):
        _close(a, b)


def _normalized_adjacency(rng, n):
    """pygcn's D^-1 (A + I) for a random undirected graph, as (indices, values)."""
    a = np.triu(rng.random((n, n)) < 0.25, 1)
    a = (a | a.T | np.eye(n, dtype=bool)).astype(float)
    a = a / a.sum(1, keepdims=True)
    rows, cols = np.nonzero(a)
    return np.stack([rows, cols]), a[rows, cols]


def test_a_pygcn_style_gcn_trains_five_adam_steps_as_pytorch(rng):
    n, f, hidden, classes = 12, 5, 8, 3
    indices, values = _normalized_adjacency(rng, n)
    x, labels = rng.standard_normal((n, f)), rng.integers(0, classes, n)
    w1, w2 = rng.uniform(-0.3, 0.3, (f, hidden)), rng.uniform(-0.3, 0.3, (hidden, classes))
    runs = {}
    for L, spmm in ((cr, cr.spmm), (torch, torch.spmm)):
        adj = L.sparse_coo_tensor(L.tensor(indices), L.tensor(values), (n, n))
        p1, p2 = L.nn.Parameter(L.tensor(w1.copy())), L.nn.Parameter(L.tensor(w2.copy()))
        opt = L.optim.Adam([p1, p2], lr=0.01, weight_decay=5e-4)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            h = L.relu(spmm(adj, L.mm(L.tensor(x), p1)))
            out = L.nn.functional.log_softmax(L.sparse.mm(adj, L.mm(h, p2)), dim=1)
            loss = L.nn.functional.nll_loss(out, L.tensor(labels))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        runs[L.__name__] = (losses, p1.detach().numpy(), p2.detach().numpy())
    for a, b in zip(runs["chainrule"], runs["torch"]):
        _close(a, b)


@pytest.mark.kernel_free
def test_zero_grad_keeping_the_tensor_leaves_no_entries_as_pytorch(rng):
    for L in (cr, torch):
        weight = _tables(rng)[0 if L is cr else 1]
        L.nn.functional.embedding(L.tensor([1, 4]), weight, sparse=True).sum().backward()
        L.optim.SGD([weight], lr=0.1).zero_grad(set_to_none=False)
        assert weight.grad.is_sparse and weight.grad._nnz() == 0 and weight.grad.is_coalesced()
        assert tuple(weight.grad._values().shape) == (0, 3)
        L.nn.functional.embedding(L.tensor([2]), weight, sparse=True).sum().backward()
        assert weight.grad._indices().tolist() == [[2]]
    emb = cr.nn.Embedding(4, 2, sparse=True)
    emb(cr.tensor([1])).sum().backward()
    emb.zero_grad(set_to_none=False)
    assert emb.weight.grad._nnz() == 0


@pytest.mark.kernel_free
def test_clip_grad_norm_refuses_a_sparse_gradient_naming_the_parameter(rng):
    w, _ = _tables(rng)
    cr.nn.functional.embedding(cr.tensor([1]), w, sparse=True).sum().backward()
    with pytest.raises(NotImplementedError, match=r"clip_grad_norm_: parameters\[0\] has a "
                                                  "sparse gradient"):
        cr.nn.utils.clip_grad_norm_([w], 1.0)
