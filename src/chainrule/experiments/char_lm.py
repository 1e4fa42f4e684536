"""Train a character language model on a text file, and sample text from it.

Training is truncated backpropagation through time: the text (less its last ``val_fraction``,
kept for validation) is cut into ``batch_size`` parallel streams read ``bptt`` characters at a
time (``data.sequences.bptt_chunks``). The LSTM's (``char_lm``) state at the end of one chunk
starts the next, detached, so the gradient reaches back at most ``bptt`` steps while the state
remembers further; the causal-attention model (``char_transformer``) carries no state, each chunk
being its whole context.
The gradient's norm is clipped to ``clip`` before each Adam step. Validation reports bits per
character (cross-entropy in base 2) over the held-out end of the text, read the same way.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from .. import optim
from ..autograd import Tensor, no_grad
from ..backend.files import write_atomically, write_json
from ..data import as_generator
from ..data.arguments import check_int, check_number
from ..data.sequences import CharVocabulary, bptt_chunks
from ..io import save_weights
from ..nn.utils import clip_grad_norm_
from ..ops import cross_entropy
from .checks import build_model
from .classify import load_model
from .runs import RunFolder, run_path

__all__ = ["LANGUAGE_MODELS", "MAX_TEXT_BYTES", "read_text", "sample_text", "train_char_lm"]

MAX_TEXT_BYTES = 64 * 2**20
LANGUAGE_MODELS = ("char_lm", "char_transformer")


def read_text(path) -> str:
    """A UTF-8 text file's content (less a byte-order mark), refused when empty, not text or over
    ``MAX_TEXT_BYTES``."""
    path = Path(path)
    with open(path, "rb") as f:  # at most one byte too many: /dev/zero's size reads as 0
        data = f.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        size = path.stat().st_size
        raise ValueError(f"--text {path}: {size if size > MAX_TEXT_BYTES else 'more'} bytes, more "
                         f"than the {MAX_TEXT_BYTES} a character model reads here; cut it (e.g. "
                         "head -c 5M)")
    try:
        # utf-8-sig: a byte-order mark is no character of the text (it was one of the vocabulary)
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")  # as text mode
    except UnicodeDecodeError as err:
        raise ValueError(f"--text {path}: not UTF-8 text ({err.reason} at byte {err.start})") \
            from None
    if len(text) < 100:
        raise ValueError(f"--text {path}: {len(text)} characters; a language model needs at "
                         "least 100")
    return text


def _bits_per_character(net, chunks) -> float:
    """Mean cross-entropy in bits over ``chunks``, the state carried from chunk to chunk."""
    total, count, state = 0.0, 0, None
    net.eval()
    with no_grad():
        for x, y in chunks:
            logits, state = net(Tensor(x), state)
            loss = cross_entropy(logits.reshape(-1, logits.shape[-1]), Tensor(y.reshape(-1)))
            total, count = total + loss.item() * y.size, count + y.size
    net.train()
    return total / count / math.log(2)


def _write(path: Path, text: str) -> None:
    write_atomically(str(path), text.encode("utf-8"), make_folder=True)


def train_char_lm(text_path, *, hidden_size: int = 256, num_layers: int = 2,
                  embedding_dim: int = 64, dropout: float = 0.0, batch_size: int = 32,
                  bptt: int = 100, epochs: int = 1, max_steps: int | None = None,
                  lr: float = 2e-3, clip: float = 5.0, val_fraction: float = 0.05,
                  seed: int = 0, out=None, verbose: int = 1, sample_length: int = 500,
                  temperature: float = 0.8, model: str = "char_lm",
                  model_kwargs: dict | None = None) -> dict:
    """Train ``model`` (``char_lm`` or ``char_transformer``) on the text in ``text_path`` and
    write a run folder.

    ``hidden_size``, ``num_layers``, ``embedding_dim`` and ``dropout`` are the LSTM's;
    ``model_kwargs`` are the constructor arguments of ``char_transformer`` (``d_model``,
    ``num_layers``, ``nhead``, ``dropout``; its ``block`` defaults to ``bptt``).

    The folder holds config.json, metrics.csv (step, loss in bits per character),
    model.safetensors (weights and vocabulary), results.json and sample.txt: a passage of the
    validation text beside ``sample_length`` characters sampled at ``temperature`` after the
    same first 40 characters. ``max_steps`` stops training early (None: all ``epochs``).
    """
    who = "train_char_lm"
    hidden_size, num_layers, embedding_dim, batch_size, bptt, epochs, sample_length = (
        check_int(who, name, value) for name, value in (
            ("hidden_size", hidden_size), ("num_layers", num_layers),
            ("embedding_dim", embedding_dim), ("batch_size", batch_size), ("bptt", bptt),
            ("epochs", epochs), ("sample_length", sample_length)))
    if max_steps is not None:
        max_steps = check_int(who, "max_steps", max_steps)
    seed = check_int(who, "seed", seed, low=0)
    lr = check_number(who, "lr", lr, above=0)
    clip = check_number(who, "clip", clip, above=0)
    val_fraction = check_number(who, "val_fraction", val_fraction, above=0, below=0.5)
    dropout = check_number(who, "dropout", dropout, low=0, below=1)
    temperature = check_number(who, "temperature", temperature, above=0)
    if model not in LANGUAGE_MODELS:
        raise ValueError(f"{who}: model must be one of {', '.join(LANGUAGE_MODELS)}, got "
                         f"{model!r}")
    if model_kwargs and model == "char_lm":
        raise ValueError(f"{who}: char_lm takes hidden_size, num_layers, embedding_dim and "
                         f"dropout, not model_kwargs {sorted(model_kwargs)}")
    lstm_only = {name: value for name, value, default in (
        ("hidden_size", hidden_size, 256), ("num_layers", num_layers, 2),
        ("embedding_dim", embedding_dim, 64), ("dropout", dropout, 0.0)) if value != default}
    if lstm_only and model != "char_lm":  # they would be ignored
        raise ValueError(f"{who}: {', '.join(f'{k}={v!r}' for k, v in lstm_only.items())} set "
                         f"the char_lm's LSTM; {model} takes its sizes in model_kwargs (d_model, "
                         "num_layers, nhead, dropout)")
    text = read_text(text_path)
    out = run_path(out, f"{model}-{Path(text_path).stem}", False)
    vocab = CharVocabulary.of(text)
    ids = vocab.encode(text)
    cut = len(ids) - max(int(len(ids) * val_fraction), 2)
    chunks = bptt_chunks(ids[:cut], batch_size, bptt)
    val_chunks = bptt_chunks(ids[cut:], 1, bptt)
    model_rng, sample_rng = as_generator(seed).spawn(2)
    if model == "char_lm":
        kwargs = {"embedding_dim": embedding_dim, "hidden_size": hidden_size,
                  "num_layers": num_layers, "dropout": dropout}
    else:
        kwargs = {"block": bptt, **(model_kwargs or {})}
    net = build_model(model, {"vocabulary": vocab.characters, **kwargs}, model_rng, where=who)
    opt = optim.Adam(net.parameters(), lr=lr)
    settings = {"model": model, "text": str(text_path), "characters": len(text),
                "train_characters": int(cut), "val_characters": int(len(ids) - cut),
                "vocabulary_size": len(vocab), **kwargs,
                "parameters": sum(p.numel() for p in net.parameters()),
                "batch_size": batch_size, "bptt": bptt, "epochs": epochs,
                "max_steps": max_steps, "lr": lr, "clip": clip, "seed": seed}
    config = {"model": net.config, "kind": "char_lm"}
    rows, step, every = ["step,epoch,train_bits_per_character"], 0, max(len(chunks) // 20, 1)
    with RunFolder(out, settings, resume=False):
        write_json(out / "config.json", settings)
        start, cpu = time.perf_counter(), time.process_time()
        running = []
        for epoch in range(epochs):
            state = None
            for x, y in chunks:
                logits, state = net(Tensor(x), state)
                if state is not None:  # the LSTM's: carried, not backpropagated
                    state = tuple(s.detach() for s in state)
                loss = cross_entropy(logits.reshape(-1, len(vocab)), Tensor(y.reshape(-1)))
                opt.zero_grad()
                loss.backward()
                clip_grad_norm_(net.parameters(), clip)
                opt.step()
                value = loss.item()
                if not math.isfinite(value):
                    raise ValueError(f"{who}: the loss became {value} at step {step}; lower "
                                     f"--lr (now {lr}) or --clip (now {clip})")
                running.append(value / math.log(2))
                step += 1
                if step % every == 0:
                    mean = sum(running) / len(running)
                    rows.append(f"{step},{epoch},{mean:.4f}")
                    running = []
                    if verbose:
                        print(f"step {step}/{len(chunks) * epochs} epoch {epoch}: "
                              f"{mean:.3f} bits/char ({time.perf_counter() - start:.0f} s)",
                              flush=True)
                if max_steps is not None and step >= max_steps:
                    break
            if max_steps is not None and step >= max_steps:
                break
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        val_bpc = _bits_per_character(net, val_chunks)
        save_weights(net, out / "model.safetensors", config=config)
        _write(out / "metrics.csv", "\n".join(rows) + "\n")
        real = text[cut:cut + sample_length + 40]
        generated = net.sample(sample_length, prime=real[:40], temperature=temperature,
                               rng=sample_rng)
        _write(out / "sample.txt", f"--- real (validation text) ---\n{real}\n\n--- generated "
               f"(first 40 characters as the prime, temperature {temperature}, seed {seed}) "
               f"---\n{real[:40]}{generated}\n")
        results = {"val_bits_per_character": round(val_bpc, 4), "steps": step,
                   "vocabulary_size": len(vocab), "train_seconds": round(wall, 1),
                   "train_cpu_seconds": round(cpu, 1), "out": str(out)}
        write_json(out / "results.json", results)
    return results


def sample_text(run, *, length: int = 500, temperature: float = 1.0, prime: str = "",
                seed: int = 0, top_k: int | None = None) -> str:
    """``length`` characters from the char_lm saved in ``run`` (a run folder or its
    model.safetensors), after ``prime``, at ``temperature``, among the ``top_k`` likeliest
    characters (None: all); the same seed gives the same text."""
    net, config = load_model(run)
    if config.get("kind") != "char_lm" or not hasattr(net, "sample"):
        raise ValueError(f"{run}: not a character language model (train one with `chainrule "
                         "train char_lm --text FILE`)")
    length = check_int("sample", "length", length)
    seed = check_int("sample", "seed", seed, low=0)
    temperature = check_number("sample", "temperature", temperature, above=0)
    return net.sample(length, prime=prime, temperature=temperature, rng=as_generator(seed),
                      top_k=top_k)
