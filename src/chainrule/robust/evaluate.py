"""Robust accuracy over a dataset, batch by batch, with a progress bar; curves over epsilon."""

from __future__ import annotations

import statistics
import sys
import time

from ..backend import asnumpy, get_array_module
from ..data import ArrayDataset, DataLoader, Dataset
from ..train.progress import bar_line, duration, format_logs
from ._core import check_int, in_eval_mode, predict_labels
from .apgd import apgd
from .apgd_targeted import apgd_targeted
from .attacks import fgsm, pgd
from .minimal import cw_l2, deepfool
from .streams import ExampleStreams, root_seed

__all__ = ["ATTACKS", "accuracy_curve", "get_attack", "robust_accuracy"]

ATTACKS = {"fgsm": fgsm, "pgd": pgd, "apgd": apgd, "apgd-t": apgd_targeted, "cw": cw_l2,
           "deepfool": deepfool}
_INTERVAL = 15.0  # seconds between progress lines when the output is not a terminal


def get_attack(method):
    """An attack function by name (``ATTACKS``) or a callable, returned as is."""
    if callable(method):
        return method
    if method not in ATTACKS:
        raise ValueError(f"unknown attack {method!r}; expected one of {', '.join(ATTACKS)}")
    return ATTACKS[method]


def _loader(who: str, data, batch_size: int) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        data = ArrayDataset(*data)
    if not isinstance(data, Dataset):
        raise TypeError(f"{who}: data must be a DataLoader, a Dataset or a pair (x, y), got "
                        f"{type(data).__name__}")
    return DataLoader(data, batch_size)


class _Progress:
    """A bar redrawn on a terminal, else a plain line every few seconds; nothing when quiet."""

    def __init__(self, title: str, steps: int, verbose: int, out=None):
        self.out = out or sys.stdout
        self.on, self.title, self.steps = bool(verbose), title, steps
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.start = self.last = time.perf_counter()

    def update(self, done: int, logs: dict) -> None:
        now = time.perf_counter()
        if not self.on or (now - self.last < (0.1 if self.tty else _INTERVAL)
                           and done < self.steps):
            return
        self.last = now
        if self.tty:
            self.out.write("\r" + bar_line(self.title, done, self.steps, now - self.start, logs,
                                           79))
        elif done < self.steps:
            print(" - ".join([self.title, f"batch {done}/{self.steps}",
                              duration(now - self.start), *format_logs(logs)]), file=self.out)
        self.out.flush()

    def close(self, logs: dict) -> None:
        if self.on:
            end = "\n" if self.tty else ""
            print(end + " - ".join([self.title, duration(time.perf_counter() - self.start),
                                    *format_logs(logs)]), file=self.out, flush=True)


@in_eval_mode
def robust_accuracy(model, data, method="pgd", *, batch_size: int = 128, verbose: int = 1,
                    limit: int | None = None, out=None, **attack_kwargs) -> dict:
    """Clean and robust accuracy of ``model`` on ``data`` under an attack, batch by batch.

    Each batch is attacked and scored, then dropped: only counts are kept, never a graph or the
    adversarial images, so a whole test set fits in the memory of one batch. An example counts as
    robust when the model is right on it and the attack did not succeed (for a targeted attack:
    did not reach its target, and the model stays right).

    Args:
        model: a classifier (Module) giving logits; it runs in eval mode (its mode is kept).
        data: a DataLoader, a Dataset or a pair ``(x, y)`` of arrays.
        method: an attack name of ``ATTACKS`` ("fgsm", "pgd", "apgd", "apgd-t", "cw",
            "deepfool") or a function ``attack(model, x, y, **attack_kwargs) -> AttackResult``.
        batch_size: for a Dataset or arrays.
        verbose: 0 silent; 1 a progress bar on a terminal (plain lines elsewhere) and a summary.
        limit: attack only the first ``limit`` examples (None: all).
        out: the text file for progress (default sys.stdout).
        **attack_kwargs: passed to the attack (``eps``, ``steps``, ``restarts``, ``rng``...).
            A seeded ``rng`` (an int, or a Generator, which gives one seed) is split into one
            stream per example of ``data`` for the attacks of ``ATTACKS``, so that the random
            starts, and with them the result, do not depend on ``batch_size`` (streams.py);
            an attack function of your own gets ``rng`` as given, once per batch.

    Returns:
        A dict: ``clean_accuracy``, ``robust_accuracy``, ``success_rate`` (over the examples
        the model got right), ``mean_norm`` and ``median_norm`` of the successful perturbations
        (NaN when none), ``n``.
    """
    who = "robust_accuracy"
    attack = get_attack(method)
    check_int(who, "batch_size", batch_size)
    if limit is not None:
        check_int(who, "limit", limit)
    loader = _loader(who, data, batch_size)
    steps = len(loader)
    if limit is not None:
        steps = min(steps, -(-limit // (loader.batch_size or batch_size)))
    name = method if isinstance(method, str) else getattr(method, "__name__", "attack")
    progress = _Progress(f"attack {name}", steps, verbose, out)
    n = clean = robust = 0
    norms = []
    root = root_seed(attack_kwargs.get("rng")) if attack in ATTACKS.values() else None
    for i, batch in enumerate(loader):
        if i >= steps:
            break
        x, y = batch[0], batch[-1]
        if limit is not None and n + len(x) > limit:
            x, y = x[:limit - n], y[:limit - n]
        kwargs = attack_kwargs if root is None else {
            **attack_kwargs, "rng": ExampleStreams(root, n, len(x))}
        res = attack(model, x, y, **kwargs)
        xp = get_array_module(res.adversarial)
        y = xp.asarray(y)
        right = predict_labels(model, xp.asarray(x).astype(res.adversarial.dtype)) == y
        holds = right & (res.predictions == y)
        n, clean, robust = n + len(x), clean + int(right.sum()), robust + int(holds.sum())
        norms.append(asnumpy(res.norms[right & ~holds]))
        progress.update(i + 1, {"clean": clean / n, "robust": robust / n})
    summary = _summary(n, clean, robust, norms)
    progress.close({"clean_accuracy": summary["clean_accuracy"],
                    "robust_accuracy": summary["robust_accuracy"]})
    return summary


def _summary(n, clean, robust, norms) -> dict:
    found = [float(v) for part in norms for v in part]
    return {"clean_accuracy": clean / n if n else float("nan"),
            "robust_accuracy": robust / n if n else float("nan"),
            "success_rate": (clean - robust) / clean if clean else float("nan"),
            "mean_norm": statistics.fmean(found) if found else float("nan"),
            "median_norm": statistics.median(found) if found else float("nan"), "n": n}


def accuracy_curve(model, data, eps_values, method="pgd", *, verbose: int = 0,
                   **kwargs) -> list[dict]:
    """``robust_accuracy`` at each epsilon of ``eps_values`` (a list of dicts with "eps").

    A model that only hides its gradients shows here: its accuracy does not fall steadily with
    epsilon, or stays above chance where no honest model can.
    """
    return [{"eps": float(e), **robust_accuracy(model, data, method, eps=e, verbose=verbose,
                                                 **kwargs)}
            for e in eps_values]
