"""Random cases of fuzz wave 17 (sequence and embedding models): each draws a layer and its
inputs; ``build(lib)`` makes the layer in either library and ``run(lib, model, *tensors)`` calls
it and returns a list of output tensors. ``grad`` names the inputs that take a gradient."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    label: str
    build: object  # lib -> Module
    run: object  # (lib, model, *tensors) -> list of tensors
    draw: object  # rng -> list of arrays (one batch of inputs)
    grad: tuple = ()
    extra: dict = field(default_factory=dict)


SCALE = 1  # sizes up to SCALE times the suite's (runs of many seeds set it higher)


def _n(rng, low, high):
    """A size from low to SCALE * (high - 1)."""
    return int(rng.integers(low, SCALE * (high - 1) + 1))


def _recurrent(rng):
    kind = str(rng.choice(["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]))
    cls = "RNN" if kind.startswith("RNN") else kind
    size, hidden, layers = _n(rng, 1, 5), _n(rng, 1, 6), int(rng.integers(1, 4))
    kw = dict(input_size=size, hidden_size=hidden, num_layers=layers, bias=bool(rng.random() < 0.8),
              batch_first=bool(rng.random() < 0.5), bidirectional=bool(rng.random() < 0.5),
              dropout=0.0)
    if cls == "RNN":
        kw["nonlinearity"] = "tanh" if kind == "RNN_TANH" else "relu"
    out = hidden
    if cls == "LSTM" and hidden > 1 and rng.random() < 0.4:
        kw["proj_size"] = out = int(rng.integers(1, hidden))
    steps, batch = _n(rng, 1, 6), _n(rng, 1, 5)
    shape = str(rng.choice(["batched", "unbatched", "packed"]))
    given = bool(rng.random() < 0.5)
    # a classifier reads only the final state (the kernels skip an all-zero output gradient)
    reads = str(rng.choice(["all", "all", "states", "output"]))
    dirs = 2 if kw["bidirectional"] else 1
    bf = kw["batch_first"]
    lengths = sorted(rng.integers(1, steps + 1, batch).tolist(), reverse=True)
    lengths[0] = steps
    sort = bool(rng.random() < 0.5)
    if not sort:
        lengths = [int(v) for v in rng.permutation(lengths)]

    def draw(r):
        if shape == "unbatched":
            arrays = [r.standard_normal((steps, size))]
            states = [(layers * dirs, out), (layers * dirs, hidden)]
        else:
            arrays = [r.standard_normal((batch, steps, size) if bf else (steps, batch, size))]
            states = [(layers * dirs, batch, out), (layers * dirs, batch, hidden)]
        if given:
            arrays += [r.standard_normal(s) for s in states[:2 if cls == "LSTM" else 1]]
        return arrays

    def run(lib, model, x, *h):
        state = None if not h else h[0] if len(h) == 1 else tuple(h)
        if shape != "packed":
            y, hn = model(x, state)
        else:
            utils = lib.nn.utils.rnn
            packed = utils.pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=sort)
            y, hn = model(packed, state)
            y, _ = utils.pad_packed_sequence(y, batch_first=bf)
        states = list(hn) if isinstance(hn, tuple) else [hn]
        return [y] + states if reads == "all" else states if reads == "states" else [y]

    label = f"{cls} {kw} T={steps} B={batch} {shape} h0={given} reads {reads}" + \
        (f" lengths={lengths} sorted={sort}" if shape == "packed" else "")
    n = 1 + (2 if cls == "LSTM" else 1) * given
    return Case(label, lambda lib: getattr(lib.nn, cls)(**kw), run, draw, tuple(range(n)))


def _embedding(rng):
    num, dim = _n(rng, 2, 12), _n(rng, 1, 6)
    kw = dict(num_embeddings=num, embedding_dim=dim,
              scale_grad_by_freq=bool(rng.random() < 0.4))
    if rng.random() < 0.4:
        kw["padding_idx"] = int(rng.integers(-num, num))
    if rng.random() < 0.4:
        kw["max_norm"] = float(rng.uniform(0.3, 2.0))
        kw["norm_type"] = float(rng.choice([1.0, 2.0, 3.0]))
    shape = tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(1, 3))))

    def draw(r):
        return [r.integers(0, num, shape)]

    return Case(f"Embedding {kw} ids {shape}", lambda lib: lib.nn.Embedding(**kw),
                lambda lib, m, ids: [m(ids)], draw, (), {"traces": "max_norm" not in kw})


def _bag(rng):
    num, dim = _n(rng, 2, 12), _n(rng, 1, 6)
    mode = str(rng.choice(["sum", "mean", "max"]))
    kw = dict(num_embeddings=num, embedding_dim=dim, mode=mode,
              include_last_offset=bool(rng.random() < 0.3))
    if rng.random() < 0.3:
        kw["padding_idx"] = int(rng.integers(-num, num))
    if rng.random() < 0.3:
        kw["max_norm"] = float(rng.uniform(0.3, 2.0))
    two_d = rng.random() < 0.4 and not kw["include_last_offset"]
    weights = mode == "sum" and rng.random() < 0.5
    rows, width = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    count = int(rng.integers(0, 10))
    bags = int(rng.integers(1, 5))
    cuts = np.sort(rng.integers(0, count + 1, bags - 1)).tolist()
    offsets = [0] + cuts + ([count] if kw["include_last_offset"] else [])

    def draw(r):
        ids = r.integers(0, num, (rows, width) if two_d else (count,))
        return [ids] + ([r.standard_normal(ids.shape)] if weights else [])

    def run(lib, model, ids, *psw):
        off = None if two_d else lib.tensor(np.array(offsets, dtype=np.int64))
        return [model(ids, off, per_sample_weights=psw[0] if psw else None)]

    label = f"EmbeddingBag {kw} " + (f"2-D {(rows, width)}" if two_d else
                                     f"{count} ids offsets {offsets}") + f" weights={weights}"
    return Case(label, lambda lib: lib.nn.EmbeddingBag(**kw), run, draw, (1,) if weights else (),
                {"traces": "max_norm" not in kw, "rounding": not two_d or "padding_idx" in kw})


def _mask(rng, shape, kind):
    m = rng.random(shape) < 0.3
    m[..., 0] = False
    return m if kind == "bool" else np.where(m, -np.inf, 0.0) if kind == "inf" else \
        rng.standard_normal(shape)


def _transformer(rng):
    heads = int(rng.integers(1, 4))
    d = heads * _n(rng, 1, 4)
    decoder = rng.random() < 0.5
    kw = dict(d_model=d, nhead=heads, dim_feedforward=int(rng.integers(1, 9)), dropout=0.0,
              activation=str(rng.choice(["relu", "gelu"])), batch_first=bool(rng.random() < 0.5),
              norm_first=bool(rng.random() < 0.5), bias=bool(rng.random() < 0.8))
    batch, s, t = _n(rng, 1, 4), _n(rng, 1, 6), _n(rng, 1, 6)
    unbatched = rng.random() < 0.2
    masks, kind = {}, str(rng.choice(["bool", "inf", "float"]))  # one kind: PyTorch warns else
    for name, shape in (("src_mask", (s, s)), ("src_key_padding_mask", (s,))) if not decoder else \
            (("tgt_mask", (t, t)), ("memory_mask", (t, s)), ("tgt_key_padding_mask", (t,)),
             ("memory_key_padding_mask", (s,))):
        if rng.random() < 0.4:
            masks[name] = (shape if unbatched or "padding" not in name else (batch,) + shape, kind)
    bf = kw["batch_first"]

    def lead(n):
        return (n, d) if unbatched else (batch, n, d) if bf else (n, batch, d)

    names = list(masks)

    def draw(r):
        arrays = [r.standard_normal(lead(t if decoder else s))]
        if decoder:
            arrays.append(r.standard_normal(lead(s)))
        return arrays + [_mask(r, shape, kind) for shape, kind in masks.values()]

    n = 2 if decoder else 1
    stack = int(rng.integers(2, 4)) if rng.random() < 0.3 else 0
    final_norm = bool(rng.random() < 0.5)
    if stack and not decoder:
        names = ["mask" if k == "src_mask" else k for k in names]

    def run(lib, model, *xs):
        return [model(*xs[:n], **dict(zip(names, xs[n:])))]

    cls = "TransformerDecoderLayer" if decoder else "TransformerEncoderLayer"

    def build(lib):
        layer = getattr(lib.nn, cls)(**kw)
        if not stack:
            return layer
        norm = lib.nn.LayerNorm(d) if final_norm else None
        if decoder:
            return lib.nn.TransformerDecoder(layer, stack, norm=norm)
        return lib.nn.TransformerEncoder(layer, stack, norm=norm, enable_nested_tensor=False)

    label = f"{cls} {kw} B={batch} S={s} T={t} unbatched={unbatched} masks={masks}" + \
        (f" stack of {stack} final norm {final_norm}" if stack else "")
    return Case(label, build, run, draw, tuple(range(n)))


def _attention(rng):
    heads = int(rng.integers(1, 4))
    e = heads * _n(rng, 1, 4)
    kw = dict(embed_dim=e, num_heads=heads, bias=bool(rng.random() < 0.8),
              add_bias_kv=bool(rng.random() < 0.3), add_zero_attn=bool(rng.random() < 0.3),
              batch_first=bool(rng.random() < 0.5), dropout=0.0)
    if rng.random() < 0.4:
        kw["kdim"], kw["vdim"] = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    kd, vd = kw.get("kdim", e), kw.get("vdim", e)
    self_attn = "kdim" not in kw and rng.random() < 0.3
    batch, t, s = _n(rng, 1, 4), _n(rng, 1, 5), _n(rng, 1, 5)
    if self_attn:
        s = t
    unbatched = rng.random() < 0.2
    need = bool(rng.random() < 0.6)
    average = bool(rng.random() < 0.5)
    extra_keys = int(kw["add_bias_kv"]) + int(kw["add_zero_attn"])
    masks, kind = {}, str(rng.choice(["bool", "inf", "float"]))
    if rng.random() < 0.4:
        masks["key_padding_mask"] = ((s,) if unbatched else (batch, s), kind)
    if rng.random() < 0.4:
        shape = (t, s) if rng.random() < 0.6 else (heads if unbatched else batch * heads, t, s)
        masks["attn_mask"] = (shape, kind)
    bf = kw["batch_first"]

    def lead(n, width):
        return (n, width) if unbatched else (batch, n, width) if bf else (n, batch, width)

    names = list(masks)

    def draw(r):
        q = r.standard_normal(lead(t, e))
        if self_attn:
            return [q] + [_mask(r, shape, kind) for shape, kind in masks.values()]
        return [q, r.standard_normal(lead(s, kd)), r.standard_normal(lead(s, vd))] + \
            [_mask(r, shape, kind) for shape, kind in masks.values()]

    n = 1 if self_attn else 3

    def run(lib, model, *xs):
        q, k, v = (xs[0],) * 3 if self_attn else xs[:3]
        out, w = model(q, k, v, need_weights=need, average_attn_weights=average,
                       **dict(zip(names, xs[n:])))
        return [out] if w is None else [out, w]

    label = f"MultiheadAttention {kw} B={batch} T={t} S={s} self={self_attn} " \
        f"unbatched={unbatched} need={need} average={average} extra={extra_keys} masks={masks}"
    return Case(label, lambda lib: lib.nn.MultiheadAttention(**kw), run, draw, tuple(range(n)))


def _classifier(rng):
    """Embedding (maybe padding_idx) -> LSTM or GRU (maybe packed) -> Linear of the last state:
    a text classifier."""
    num, dim, hidden = _n(rng, 3, 20), _n(rng, 1, 6), _n(rng, 1, 6)
    cls = str(rng.choice(["LSTM", "GRU"]))
    bi, layers = bool(rng.random() < 0.5), int(rng.integers(1, 3))
    pad = 0 if rng.random() < 0.5 else None
    packed = rng.random() < 0.5
    batch, steps = _n(rng, 1, 6), _n(rng, 1, 7)
    lengths = [int(v) for v in rng.integers(1, steps + 1, batch)]
    lengths[int(rng.integers(0, batch))] = steps
    classes = int(rng.integers(2, 5))

    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = lib.nn.Embedding(num, dim, padding_idx=pad)
                self.rnn = getattr(lib.nn, cls)(dim, hidden, num_layers=layers,
                                                 bidirectional=bi, batch_first=True)
                self.head = lib.nn.Linear(hidden * (2 if bi else 1), classes)

            def forward(self, ids):
                e = self.emb(ids)
                if packed:
                    e = lib.nn.utils.rnn.pack_padded_sequence(e, lengths, batch_first=True,
                                                              enforce_sorted=False)
                _, h = self.rnn(e)
                h = h[0] if isinstance(h, tuple) else h
                last = lib.cat([h[-2], h[-1]], 1) if bi else h[-1]
                return self.head(last)
        return Net()

    def draw(r):
        ids = r.integers(1 if pad == 0 else 0, num, (batch, steps))
        for b, n in enumerate(lengths):
            ids[b, n:] = 0 if pad == 0 else ids[b, n:]
        return [ids]

    label = f"classifier {cls} num={num} dim={dim} hidden={hidden} layers={layers} bi={bi} " \
        f"pad={pad} packed={packed} lengths={lengths}"
    return Case(label, build, lambda lib, m, ids: [m(ids)], draw, ())


FAMILIES = {"classifier": _classifier, "recurrent": _recurrent, "embedding": _embedding,
            "bag": _bag, "transformer": _transformer, "attention": _attention}


def draw_case(seed, family=None):
    rng = np.random.default_rng(seed)
    if family is None:
        family = list(FAMILIES)[seed % len(FAMILIES)]
    return FAMILIES[family](rng), rng
