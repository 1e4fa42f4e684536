"""Wave-17 ports, part five, run with ``torch`` = PyTorch or chainrule
(test_port17e_programs.py): the module and data utilities of larger codebases, as they use them.

- Hooks and module surgery (the idioms of PyTorch's hooks docs, Hugging Face's checkpoint
  compatibility and timm's layer swaps): a global ``register_module_forward_hook`` that records
  every Linear's output norm, ``register_full_backward_pre_hook`` that scales the gradient
  arriving at a layer, ``grad_fn.register_prehook``/``register_hook`` on the loss's node,
  ``get_submodule``/``set_submodule`` to swap an activation, a ``register_state_dict_post_hook``
  that drops a key, and ``register_load_state_dict_pre_hook`` renaming an old checkpoint's keys
  (with ``register_load_state_dict_post_hook`` reading the incompatible keys), a model built on
  the ``meta`` device and made real by ``to_empty``, and ``nn.utils.skip_init``.
- A data pipeline: ``ConcatDataset`` of a map-style dataset and a ``Subset``, an
  ``IterableDataset`` that shards by ``get_worker_info()``, ``default_collate`` of dict samples,
  a ``collate_fn`` padding variable-length sequences by ``pad_sequence``, and a
  ``BatchSampler(SequentialSampler(...), drop_last=True)`` given as ``batch_sampler``; a GRU
  classifier on ``pack_padded_sequence(enforce_sorted=False)`` trained over it.
"""

from __future__ import annotations


def hooked_net(torch, d_in=6, hidden=10, classes=3):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, d_in, d_out):
            super().__init__()
            self.fc = nn.Linear(d_in, d_out)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(Block(d_in, hidden), Block(hidden, hidden))
            self.head = nn.Linear(hidden, classes)
            self.register_buffer("calls", torch.zeros(()))

        def forward(self, x):
            self.calls += 1
            return self.head(self.blocks(x))

    return Net()


def train_with_hooks(torch, model, old_state, x, y, steps=6):
    nn = torch.nn
    out = {"norms": [], "node_pre": [], "node_post": []}

    def rename_old_keys(module, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs):
        for key in list(state_dict.keys()):
            if ".linear." in key:
                state_dict[key.replace(".linear.", ".fc.")] = state_dict.pop(key)

    def report(module, incompatible_keys):
        out["incompatible"] = (sorted(incompatible_keys.missing_keys),
                               sorted(incompatible_keys.unexpected_keys))

    model.register_load_state_dict_pre_hook(rename_old_keys)
    model.register_load_state_dict_post_hook(report)
    model.load_state_dict(old_state, strict=False)

    def drop_calls(module, state_dict, prefix, local_metadata):
        state_dict.pop(prefix + "calls", None)

    model.register_state_dict_post_hook(drop_calls)
    out["keys"] = list(model.state_dict().keys())

    model.set_submodule("blocks.1.act", nn.GELU())
    out["swapped"] = type(model.get_submodule("blocks.1.act")).__name__

    def record(module, args, output):
        if isinstance(module, nn.Linear):
            out["norms"].append(output.detach().norm().item())

    handle = nn.modules.module.register_module_forward_hook(record)
    model.get_submodule("blocks.0.fc").register_full_backward_pre_hook(
        lambda module, grad_output: (grad_output[0] * 0.5,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    losses = []
    try:
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y) \
                + 1e-3 * model.head.weight.pow(2).sum()
            loss.grad_fn.register_prehook(
                lambda grad_outputs: out["node_pre"].append(grad_outputs[0].item()))
            loss.grad_fn.register_hook(
                lambda grad_inputs, grad_outputs: out["node_post"].append(
                    [g.detach().norm().item() for g in grad_inputs]))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    finally:
        handle.remove()
    out["calls"] = model.calls.item()
    out["losses"] = losses

    with torch.device("meta"):
        copy = hooked_net(torch)
    out["meta"] = copy.head.weight.is_meta
    copy.to_empty(device="cpu")
    copy.set_submodule("blocks.1.act", nn.GELU())
    copy.load_state_dict(model.state_dict(), strict=False)
    head = nn.utils.skip_init(nn.Linear, 10, 3, dtype=x.dtype)
    head.load_state_dict(model.head.state_dict())
    copy.head = head
    with torch.no_grad():
        out["copy_logits"] = copy(x).numpy().copy()
        out["logits"] = model(x).numpy().copy()
    out["state"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return out


def data_pipeline(torch, tokens, lengths, labels, features):
    data = torch.utils.data
    pad_sequence = torch.nn.utils.rnn.pad_sequence

    class Sequences(data.Dataset):
        def __init__(self, tokens, lengths, labels):
            self.items = [(torch.tensor(t[:n]), int(c)) for t, n, c in
                          zip(tokens, lengths, labels)]

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i]

    class Stream(data.IterableDataset):
        def __init__(self, features):
            super().__init__()
            self.features = features

        def __iter__(self):
            worker_info = data.get_worker_info()
            start, step = (0, 1) if worker_info is None else \
                (worker_info.id, worker_info.num_workers)
            for i in range(start, len(self.features), step):
                yield {"x": torch.tensor(self.features[i]), "index": i}

    def collate(batch):
        seqs, ys = zip(*batch)
        lengths = torch.tensor([len(s) for s in seqs])
        return pad_sequence(list(seqs), batch_first=True, padding_value=0), lengths, \
            torch.tensor(ys)

    full = Sequences(tokens, lengths, labels)
    half = len(full) // 2
    dataset = data.ConcatDataset([full, data.Subset(full, list(range(half)))])
    sampler = data.BatchSampler(data.SequentialSampler(dataset), batch_size=4, drop_last=True)
    loader = data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate)
    stream = data.DataLoader(Stream(features), batch_size=3)
    dict_batch = data.default_collate([{"x": torch.tensor(f), "n": i}
                                       for i, f in enumerate(features[:2])])
    return loader, stream, dict_batch, len(dataset), len(loader)


def gru_classifier(torch, vocab=9, emb=5, hidden=7, classes=2):
    nn = torch.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, emb, padding_idx=0)
            self.gru = nn.GRU(emb, hidden, batch_first=True)
            self.out = nn.Linear(hidden, classes)

        def forward(self, padded, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(padded), lengths,
                                                       batch_first=True, enforce_sorted=False)
            _, h = self.gru(packed)
            return self.out(h[-1])

    return Classifier()


def train_pipeline(torch, model, tokens, lengths, labels, features, epochs=3):
    loader, stream, dict_batch, n, n_batches = data_pipeline(torch, tokens, lengths, labels,
                                                             features)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses, shapes = [], []
    for _ in range(epochs):
        for padded, lens, ys in loader:
            shapes.append(tuple(padded.shape))
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(padded, lens), ys)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    streamed = [(b["x"].numpy().copy(), b["index"].tolist()) for b in stream]
    return {"losses": losses, "shapes": shapes, "n": (n, n_batches),
            "streamed": streamed,
            "dict_batch": (dict_batch["x"].numpy().copy(), dict_batch["n"].tolist()),
            "state": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}}
