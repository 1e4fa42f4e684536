"""What a run records so that it can be repeated and resumed alike: its split and its threads.

- ``validation_split``: the training images held out for validation (``--val-split``), drawn by a
  stream of the run's seed and stratified by class; config.json records the fraction, both sizes
  and a fingerprint of the held-out indices, so a resume that would split differently is refused.
- ``run_threads``: the BLAS thread count a run uses. The count decides how OpenBLAS splits some
  matrix products, so runs with different counts agree only to rounding; a resumed run therefore
  takes the count recorded in config.json unless ``--threads`` asks for another, which is noted.
"""

from __future__ import annotations

import hashlib

from ..backend import get_num_threads, set_num_threads
from ..data.arguments import check_number
from ..data.split import holdout_split

__all__ = ["run_threads", "validation_split"]


def validation_split(who: str, labels, fraction, rng) -> tuple:
    """``(train, val, record)``: index arrays of the two parts and what config.json keeps of them.

    Raises:
        ValueError: ``fraction`` not in [0, 1), or one that leaves a part empty; the message names
            ``val_split`` and the value received.
    """
    fraction = check_number(who, "val_split", fraction, low=0, below=1)
    try:
        train, val = holdout_split(labels, fraction, rng)
    except ValueError as err:
        raise ValueError(f"{who}: val_split: {err}") from None
    digest = hashlib.sha256(val.astype("<i8").tobytes()).hexdigest()[:16]
    return train, val, {"n_train": len(train), "n_val": len(val), "val_indices_sha256": digest}


def run_threads(run, threads=None) -> tuple[int, str]:
    """Set the BLAS threads of the run in ``run`` (an entered RunFolder); ``(count, note)``.

    Args:
        run: the RunFolder; a resumed run's recorded count is applied unless ``threads`` is given.
        threads: a count or "auto" asked for explicitly (``--threads``), or None.

    Returns:
        The count in use now, to record, and a one-line note ("" if none) when a resumed run
        uses another count than it recorded: its results may then differ in the last bits from
        those of a run that was never stopped.
    """
    recorded = run.recorded_threads if run.resumes else None
    if threads is not None:
        set_num_threads(threads)
    elif recorded is not None:
        set_num_threads(recorded)
    count = get_num_threads()
    if recorded is None or count == recorded:
        return count, ""
    why = f"--threads {threads}" if threads is not None else "the most this BLAS library takes"
    return count, (f"chainrule: note: {run.path} was trained with {recorded} BLAS thread(s) and "
                   f"resumes with {count} ({why}): results may differ in the last bits from "
                   "those of a run never stopped")
