"""Wave-18 ports, part two, run with ``torch`` = PyTorch or chainrule (test_port18b_programs.py).

A class-imbalanced data pipeline (``WeightedRandomSampler`` from inverse class counts,
``SubsetRandomSampler`` train/validation indices, ``BatchSampler`` as ``batch_sampler=``,
``random_split`` by fractions, ``StackDataset``, ``ChainDataset`` of ``IterableDataset``s and
``default_collate`` of dicts and named tuples); the "optimizer step in backward" tutorial
(``register_post_accumulate_grad_hook``, one optimizer per parameter) beside step hooks and
``maximize=True``; a checkpoint upgraded on load (``_register_load_state_dict_pre_hook``
renaming a key, ``consume_prefix_in_state_dict_if_present`` of a DataParallel checkpoint,
``strict=False``'s named tuple, ``get_extra_state``, ``ParameterDict``/``ParameterList``); a
bag-of-embeddings model with ``max_norm`` renormalisation; and OpenAI's evolution strategies
through ``parameters_to_vector``/``vector_to_parameters``.
"""

from __future__ import annotations

import collections

import numpy as np


def _np(t):
    return t.detach().numpy().copy()


# ---- a class-imbalanced data pipeline ----
Sample = collections.namedtuple("Sample", "features label")


def imbalanced_pipeline(torch, x, y, batch_size=4):
    D = torch.utils.data
    dataset = D.TensorDataset(x, y)
    class_counts = torch.bincount(y)
    sample_weights = 1.0 / class_counts[y].double()
    sampler = D.WeightedRandomSampler(sample_weights, num_samples=len(dataset), replacement=True,
                                      generator=torch.Generator().manual_seed(0))
    loader = D.DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True)
    drawn = torch.cat([yb for _, yb in loader])
    no_replacement = sorted(D.WeightedRandomSampler([0.0, 1.0, 2.0, 0.0, 3.0], 3,
                                                    replacement=False))
    valid_idx, train_idx = list(range(0, len(dataset), 4)), [
        i for i in range(len(dataset)) if i % 4]
    batches = D.BatchSampler(D.SubsetRandomSampler(train_idx), batch_size, drop_last=False)
    seen = sorted(i for batch in D.DataLoader(dataset, batch_sampler=batches)
                  for i in batch[0][:, 0].long().tolist())
    valid = D.DataLoader(D.Subset(dataset, valid_idx), batch_size=batch_size,
                         sampler=D.SequentialSampler(valid_idx))
    train_part, val_part, test_part = D.random_split(
        dataset, [0.6, 0.2, 0.2], generator=torch.Generator().manual_seed(42))
    stacked = D.StackDataset(features=x, label=y)

    class Stream(D.IterableDataset):
        def __init__(self, start, end):
            super().__init__()
            self.start, self.end = start, end

        def __iter__(self):
            assert D.get_worker_info() is None  # the main process
            return iter(range(self.start, self.end))

    chained = [_np(b) for b in D.DataLoader(D.ChainDataset([Stream(0, 3), Stream(10, 12)]),
                                            batch_size=2)]
    collated = D.default_collate([{"x": x[i], "y": y[i], "name": f"s{i}", "pair": (i, 0.5 * i)}
                                  for i in range(3)])
    named = D.default_collate([Sample(np.ones(2) * i, i) for i in range(3)])
    return {
        "weights": _np(sample_weights), "drawn_classes": sorted(set(drawn.tolist())),
        "n_drawn": len(drawn), "no_replacement": no_replacement, "n_batches": len(batches),
        "seen": seen, "valid": [_np(xb) for xb, _ in valid],
        "split_sizes": [len(train_part), len(val_part), len(test_part)],
        "split_disjoint": sorted(train_part.indices + val_part.indices + test_part.indices),
        "stacked": {k: _np(v) for k, v in stacked[5].items()}, "chained": chained,
        "collated_x": _np(collated["x"]), "collated_y": _np(collated["y"]),
        "collated_name": collated["name"], "collated_pair": [_np(p) for p in collated["pair"]],
        "named": [type(named).__name__, _np(named.features), _np(named.label)],
    }


def train_balanced(torch, model, x, y, epochs=4, batch_size=8):
    D = torch.utils.data
    dataset = D.TensorDataset(x, y)
    weights = (1.0 / torch.bincount(y).double())[y]
    loader = D.DataLoader(dataset, batch_size=batch_size,
                          sampler=D.WeightedRandomSampler(weights, len(dataset)))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    with torch.no_grad():
        pred = model(x).argmax(1)
    return [((pred == c) & (y == c)).sum().item() / (y == c).sum().item() for c in range(3)]


# ---- the optimizer step in backward, step hooks and maximize ----
def optimizer_in_backward(torch, model, x, y, steps=5):
    optimizer_dict = {p: torch.optim.Adam([p], lr=0.05, foreach=False)
                      for p in model.parameters()}

    def optimizer_hook(parameter) -> None:
        optimizer_dict[parameter].step()
        optimizer_dict[parameter].zero_grad()

    handles = [p.register_post_accumulate_grad_hook(optimizer_hook) for p in model.parameters()]
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()  # each parameter is stepped as soon as its gradient is accumulated
        losses.append(loss.item())
    for h in handles:
        h.remove()
    return {"losses": losses, "grads_cleared": [p.grad is None for p in model.parameters()],
            "weights": [_np(p) for p in model.parameters()]}


def maximize_with_hooks(torch, model, x, steps=4):
    opt = torch.optim.Adam(model.parameters(), lr=0.1, maximize=True)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    log = []
    pre = opt.register_step_pre_hook(
        lambda optimizer, args, kwargs: log.append(("pre", optimizer.param_groups[0]["lr"])))
    opt.register_step_post_hook(lambda optimizer, args, kwargs: log.append(
        ("post", sum(float(p.grad.norm()) ** 2 for p in optimizer.param_groups[0]["params"]))))
    objectives = []
    for step in range(steps):
        opt.zero_grad()
        objective = -(model(x) - 1.0).pow(2).mean()  # concave: climbs towards 0
        objective.backward()
        opt.step()
        sched.step()
        objectives.append(objective.item())
        if step == 1:
            pre.remove()
    events = []
    opt.register_state_dict_post_hook(lambda o, sd: events.append(sorted(sd)))
    opt.register_load_state_dict_post_hook(lambda o: events.append(o.param_groups[0]["lr"]))
    state = opt.state_dict()
    opt.load_state_dict(state)
    return {"objectives": objectives, "log": [v for _, v in log],
            "log_kinds": [k for k, _ in log], "events": events,
            "maximize": state["param_groups"][0]["maximize"],
            "weights": [_np(p) for p in model.parameters()]}


# ---- a checkpoint upgraded on load ----
def versioned_net(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.bn = nn.BatchNorm1d(2)
            self.register_buffer("scratch", torch.zeros(2), persistent=False)
            self.heads = nn.ParameterDict({"a": nn.Parameter(torch.ones(2)),
                                           "b": nn.Parameter(torch.zeros(2))})
            self.offsets = nn.ParameterList([nn.Parameter(torch.ones(1)), torch.zeros(2)])
            self.steps_seen = 0
            self._register_load_state_dict_pre_hook(self._upgrade)

        def _upgrade(self, state_dict, prefix, local_metadata, strict, missing_keys,
                     unexpected_keys, error_msgs):
            old = prefix + "linear.weight"  # version 1 called the layer "linear"
            if old in state_dict:
                state_dict[prefix + "fc.weight"] = state_dict.pop(old)

        def get_extra_state(self):
            return {"steps_seen": self.steps_seen}

        def set_extra_state(self, state):
            self.steps_seen = state["steps_seen"]

        def forward(self, x, task):
            self.steps_seen += 1
            return self.bn(self.fc(x)) * self.heads[task] + self.offsets[0]

    return Net()


def upgrade_checkpoint(torch, net, fresh, x):
    out = net(x, "a")
    checkpoint = {"module." + k: v for k, v in net.state_dict().items()}  # DataParallel's
    torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(checkpoint, "module.")
    checkpoint["linear.weight"] = checkpoint.pop("fc.weight")
    result = fresh.load_state_dict(checkpoint)
    fresh.eval()
    net.eval()
    del checkpoint["bn.num_batches_tracked"]
    checkpoint["junk"] = torch.ones(1)
    relaxed = fresh.load_state_dict(checkpoint, strict=False)
    return {"keys": list(net.state_dict()), "missing": list(result.missing_keys),
            "unexpected": list(result.unexpected_keys),
            "relaxed": (list(relaxed.missing_keys), list(relaxed.unexpected_keys)),
            "steps_seen": fresh.steps_seen, "out": _np(out),
            "same": _np(fresh(x, "b") - net(x, "b")),
            "params": [n for n, _ in fresh.named_parameters()],
            "buffers": [n for n, _ in fresh.named_buffers()]}


# ---- a bag-of-embeddings classifier with max_norm ----
def maxnorm_bag(torch, vocab=10, dim=4, classes=3):
    nn = torch.nn

    class BagModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, dim, max_norm=1.0, scale_grad_by_freq=True)
            self.bag = nn.EmbeddingBag(vocab, dim, mode="max", max_norm=0.5, padding_idx=0)
            self.fc = nn.Linear(2 * dim, classes)

        def forward(self, tokens, flat, offsets):
            return self.fc(torch.cat([self.emb(tokens).mean(1), self.bag(flat, offsets)], 1))

    return BagModel()


def train_maxnorm_bag(torch, model, tokens, labels, steps=5):
    flat = tokens.reshape(-1)
    offsets = torch.arange(0, flat.numel(), tokens.size(1))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tokens, flat, offsets), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    used = tokens.unique()
    return {"losses": losses, "emb": _np(model.emb.weight), "bag": _np(model.bag.weight),
            "max_used_norm": model.emb.weight[used].norm(dim=1).max().item()}


# ---- evolution strategies on a flat parameter vector ----
def evolution_strategies(torch, model, x, y, noise, sigma=0.1, alpha=0.05):
    nn = torch.nn
    history = []
    for population in noise:  # (iterations, population, n_params)
        theta = nn.utils.parameters_to_vector(model.parameters()).detach()
        rewards = []
        for eps in population:
            with torch.no_grad():
                nn.utils.vector_to_parameters(theta + sigma * eps, model.parameters())
                rewards.append(-nn.functional.mse_loss(model(x), y))
        rewards = torch.stack(rewards)
        ranks = torch.empty_like(rewards)
        ranks[rewards.argsort()] = torch.arange(len(rewards), dtype=rewards.dtype)
        shaped = ranks / (len(rewards) - 1) - 0.5  # centred ranks
        step = (shaped[:, None] * population).sum(0) / (len(rewards) * sigma)
        nn.utils.vector_to_parameters(theta + alpha * step, model.parameters())
        history.append(rewards.mean().item())
    return {"history": history, "theta": _np(nn.utils.parameters_to_vector(model.parameters()))}
