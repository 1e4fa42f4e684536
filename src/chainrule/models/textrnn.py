"""Recurrent text models: an LSTM/GRU text classifier and an LSTM character language model."""

from __future__ import annotations

import math
import numbers

from .. import nn
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..nn._checks import resolve_rng
from ..nn.modes import eval_mode
from ..ops.join import concat
from ..ops.softmax import softmax
from .registry import register

__all__ = ["CharLM", "TextRNN", "sample_characters"]

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def _check_cell(who, cell):
    if cell not in _CELLS:
        raise ValueError(f"{who}: cell must be 'lstm' or 'gru', got {cell!r}")
    return _CELLS[cell]


@register("lstm_text", summary="LSTM/GRU text classifier over characters (packed, optionally "
          "bidirectional)", source="Hochreiter & Schmidhuber 1997; Cho et al. 2014 (GRU)")
class TextRNN(nn.Module):
    """Embed each character id, run an LSTM (or GRU) over each text's real steps only, and
    classify from the final hidden state (both directions' when bidirectional).

    Texts come as a batch of ids padded at the end with ``padding_idx`` (``data.sequences``):
    each text's length is the count of ids before its padding, and the batch is packed
    (``nn.utils.rnn.pack_padded_sequence``), so the padding changes nothing. A text of padding
    only is read as one padding step, in a batch of empty texts only (T = 0) too. ``lengths``
    given to ``forward`` must be N numbers from 1 to T.

    Args:
        vocab_size: ids 0 .. vocab_size - 1 (72: ``data.sequences.CHARACTER_VOCABULARY_SIZE``).
        num_classes: output units.
        embedding_dim: size of each character's vector.
        hidden_size: the recurrent state's size per direction.
        num_layers: stacked recurrent layers.
        cell: "lstm" or "gru".
        bidirectional: add a layer that reads each text backward.
        dropout: dropout before the output layer (and between stacked layers).
        padding_idx: the padding id.
        rng: numpy Generator for the initialization and the dropout masks.

    Shape:
        ids (N, T) int -> logits (N, num_classes).
    """

    def __init__(self, vocab_size: int = 72, num_classes: int = 4, embedding_dim: int = 32,
                 hidden_size: int = 128, num_layers: int = 1, cell: str = "lstm",
                 bidirectional: bool = False, dropout: float = 0.0, padding_idx: int = 0, *,
                 rng=None):
        super().__init__()
        rnn_cls = _check_cell("TextRNN", cell)
        self.cell, self.padding_idx = cell, padding_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx, rng=rng)
        self.rnn = rnn_cls(embedding_dim, hidden_size, num_layers, batch_first=True,
                           dropout=dropout if num_layers > 1 else 0.0,
                           bidirectional=bidirectional, rng=rng)
        self.dropout = nn.Dropout(dropout, rng=rng)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes, rng=rng)

    def forward(self, x, lengths=None):
        """Logits of a padded batch ``x`` (N, T); ``lengths`` default to the ids before padding."""
        if not isinstance(x, Tensor) or x.ndim != 2 or x.dtype.kind not in "iu":
            raise ValueError("TextRNN: input must be an int Tensor of ids, shape (N, T), got "
                             f"{getattr(x, 'dtype', type(x).__name__)} "
                             f"{getattr(x, 'shape', '')}")
        xp = get_array_module(x._data)
        if x.shape[1] == 0:  # only empty texts (pad_batch([""])): each one padding step
            x = Tensor(xp.full((x.shape[0], 1), self.padding_idx, dtype=x.dtype))
        if lengths is None:
            real = x._data != self.padding_idx
            last = x.shape[1] - xp.argmax(real[:, ::-1], axis=1)
            lengths = xp.where(real.any(axis=1), last, 1)
            lengths = lengths.get() if hasattr(lengths, "get") else lengths
        else:
            lengths = get_array_module().asarray(getattr(lengths, "data", lengths))
            if lengths.shape != x.shape[:1] or (lengths.size and not (
                    1 <= lengths.min() and lengths.max() <= x.shape[1])):  # not ignored
                raise ValueError(f"TextRNN: lengths must be {x.shape[0]} numbers from 1 to "
                                 f"T={x.shape[1]}, one per text of ids {tuple(x.shape)}, got "
                                 f"{lengths.tolist()!r:.80}")
        if not lengths.size or int(lengths.min()) == x.shape[1]:  # packing would change nothing
            _, h = self.rnn(self.embedding(x))
        else:
            _, h = self.rnn(nn.utils.rnn.pack_padded_sequence(
                self.embedding(x), lengths, batch_first=True, enforce_sorted=False))
        h = h[0] if self.cell == "lstm" else h
        last = concat([h[-2], h[-1]], axis=-1) if self.rnn.bidirectional else h[-1]
        return self.fc(self.dropout(last))


@register("char_lm", summary="LSTM character language model (truncated BPTT, sampling at a "
          "temperature)", source="Graves 2013; Karpathy's char-rnn 2015")
class CharLM(nn.Module):
    """Predict each next character of a text from the characters before it.

    The vocabulary is part of the model (a str of its characters, stored in the checkpoint's
    config), so a saved model can sample text on its own.

    Args:
        vocabulary: the characters, e.g. ``data.sequences.CharVocabulary.of(text).characters``.
        embedding_dim: size of each character's vector.
        hidden_size: the LSTM's state size.
        num_layers: stacked LSTM layers.
        dropout: dropout between stacked layers and before the output layer.
        rng: numpy Generator for the initialization and the dropout masks.

    Shape:
        ids (N, T) -> logits (N, T, len(vocabulary)), and the final state ``(h, c)``.
    """

    def __init__(self, vocabulary: str, embedding_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 2, dropout: float = 0.0, *, rng=None):
        super().__init__()
        if not isinstance(vocabulary, str) or not vocabulary or \
                len(set(vocabulary)) != len(vocabulary):
            shown = vocabulary[:40] if isinstance(vocabulary, str) else vocabulary
            raise ValueError("CharLM: vocabulary must be a non-empty str of distinct characters, "
                             f"got {shown!r}")
        self.vocabulary = vocabulary
        self.embedding = nn.Embedding(len(vocabulary), embedding_dim, rng=rng)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0, rng=rng)
        self.dropout = nn.Dropout(dropout, rng=rng)
        self.fc = nn.Linear(hidden_size, len(vocabulary), rng=rng)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embedding(x), state)
        return self.fc(self.dropout(out)), state

    def sample(self, length: int, *, prime: str = "", temperature: float = 1.0, rng=None,
               top_k: int | None = None) -> str:
        """``length`` characters drawn one at a time after ``prime``, at ``temperature``.

        Each character is drawn from softmax(logits / temperature): below 1 the likelier
        characters gain, above 1 the distribution flattens. ``top_k``: draw only among the
        ``top_k`` likeliest characters (those tied with the k-th too; more than the vocabulary
        is all of it; 1 is greedy decoding), as nanoGPT's ``generate``. The same ``rng`` seed
        gives the same text. An empty ``prime`` starts from a character drawn uniformly from
        the vocabulary.

        Raises:
            ValueError: a non-positive length, temperature or top_k, or a prime character
                outside the vocabulary.

        >>> import numpy as np
        >>> lm = CharLM("ab", 2, 3, 1, rng=np.random.default_rng(0))
        >>> lm.sample(4, prime="a", top_k=1) == lm.sample(4, prime="a", temperature=1e-9)
        True
        """
        def step(ids, new, state):  # the LSTM reads only the new characters, its state the rest
            logits, state = self(Tensor(xp.asarray([ids[-new:]], dtype=xp.int64)), state)
            return logits[0, -1], state

        xp = get_array_module(self.fc.weight._data)
        return sample_characters(self, "CharLM.sample", step, length, prime, temperature, rng,
                                 top_k)


def sample_characters(model, who, step, length, prime, temperature, rng, top_k=None) -> str:
    """``length`` characters after ``prime`` from a character model (``model.vocabulary``).

    ``step(ids, new, state) -> (logits of the next character, state)`` runs the model after the
    ids so far, of which the last ``new`` are not yet read (``state``: what the model carries
    between calls, None at first). Each character is drawn from softmax(logits / temperature)
    with ``rng``, among the ``top_k`` likeliest only (and those tied with the k-th) unless
    ``top_k`` is None; an empty ``prime`` starts from a uniformly drawn character.
    """
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 1:
        raise ValueError(f"{who}: length must be a positive int, got {length!r}")
    if (isinstance(temperature, bool) or not isinstance(temperature, numbers.Real)
            or not math.isfinite(temperature) or temperature <= 0):
        raise ValueError(f"{who}: temperature must be a number > 0, got {temperature!r} "
                         "(for greedy decoding pass top_k=1)")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral)
                              or top_k < 1):
        raise ValueError(f"{who}: top_k must be a positive int or None, got {top_k!r}")
    vocabulary = model.vocabulary
    bad = [c for c in prime if c not in vocabulary]
    if bad:
        raise ValueError(f"{who}: prime character {bad[0]!r} is not in the model's vocabulary "
                         f"of {len(vocabulary)} characters")
    rng = resolve_rng(rng, who)
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = [index[c] for c in prime] or [int(rng.integers(len(vocabulary)))]
    out, state, new = [], None, len(ids)
    with eval_mode(model):  # each module's own mode back after (a dropout switched off stays so)
        with no_grad():
            for _ in range(length):
                logits, state = step(ids, new, state)
                z = logits.numpy().astype("float64")  # / 1e308 in float32 overflowed: a warning
                if float(abs(z).max()) < temperature * 1e300:
                    p = softmax(Tensor(z / temperature), axis=-1).numpy()
                else:  # z / temperature would overflow (nan probabilities drew id 0
                    p = (z == z.max()).astype("float64")  # every time): the limit, argmax
                if top_k is not None and top_k < len(p):  # nanoGPT's: below the k-th, none
                    kth = z.copy()
                    kth.partition(len(p) - top_k)
                    p = p * (z >= kth[len(p) - top_k])
                # the first cumulative sum above the draw: an entry of p 0 is never drawn
                cum = p.cumsum()
                nxt = min(int(cum.searchsorted(rng.random() * cum[-1], side="right")), len(p) - 1)
                out.append(vocabulary[nxt])
                ids.append(nxt)
                new = 1
    return "".join(out)
