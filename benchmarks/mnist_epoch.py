"""One MNIST epoch of LeNet-5 through the CLI, wall time against the same epoch in PyTorch.

    python benchmarks/mnist_epoch.py                          # 3 rounds, 2 threads, print only
    python benchmarks/mnist_epoch.py --repeats 5 --out /tmp/mnist_epoch.md
    python benchmarks/mnist_epoch.py --repeats 1 --threads 1  # a quick check of the plumbing

chainrule: ``python -m chainrule train lenet5 --dataset mnist --epochs 1`` with the CLI's defaults
spelled out (modern LeNet-5, batch 64, Adam lr 1e-3, constant schedule, no augmentation, seed 0)
into a temporary run folder. PyTorch: this file with the hidden ``--worker torch``, doing the same
job in a fresh process: read the same IDX .gz files with gzip and NumPy, scale by 1/255 to float32
as ``chainrule.data.transforms.scale`` does, the same LeNet-5 (PyTorch's default init, the scheme
chainrule copies), Adam lr 1e-3, batches of 64 in a new random order, one epoch with the loss and
accuracy of every batch read back (as chainrule's Trainer logs them), then the loss and accuracy
on the 10,000 test images in batches of 64 under no_grad (what ``fit`` does after each epoch).

Rounds interleave the two (chainrule, torch, chainrule, ...). Each child gets the same
OMP/OPENBLAS/MKL thread variables (and torch.set_num_threads). Measured per child: the wall time
from spawn to exit, its peak RSS (``os.wait4``), the epoch (training + test evaluation: for
chainrule the seconds of the CLI's "Epoch 1/1 - N.Ns" line, which also include writing the epoch's
checkpoint and CSV row) and the test accuracy. The table gives medians and chainrule / torch.

Both train on all 60,000 training images (``--val-split 0``: the CLI holds out no validation
images) and evaluate the 10,000 test images once. The CLI evaluates them after its epoch line, so
the "epoch" row compares the training pass of both (PyTorch's ``train_s``), and the test
evaluation falls in the "rest" row for both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARKER = "MNIST-EPOCH-RESULT "
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
# The CLI's defaults for `train lenet5`, passed explicitly so that the PyTorch side mirrors them.
BATCH, LR, SEED = 64, 1e-3, 0
EPOCH_LINE = re.compile(r"^Epoch 1/1 - ([0-9.]+)s - ")


# -- the PyTorch worker (a fresh process) --------------------------------------------------------

def _read_idx_gz(path):
    """An IDX file (gzip-compressed, unsigned bytes) as a NumPy uint8 array of its shape."""
    import gzip

    import numpy as np

    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: expected an IDX file of unsigned bytes (magic 0x0008..), got "
                         f"magic {raw[:4].hex()}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _torch_worker(folder: Path, threads: int) -> dict:
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(SEED)

    def images(name):
        x = _read_idx_gz(folder / name)
        return torch.from_numpy((x.astype(np.float32) / np.float32(255.0))[:, None])

    def labels(name):
        return torch.from_numpy(_read_idx_gz(folder / name).astype(np.int64))

    x_train, y_train, x_test, y_test = (images(FILES[0]), labels(FILES[1]), images(FILES[2]),
                                        labels(FILES[3]))
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 120, 5), nn.ReLU(),
        nn.Flatten(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.functional.cross_entropy
    shuffle = torch.Generator().manual_seed(SEED)

    start = time.perf_counter()
    model.train()
    order = torch.randperm(len(x_train), generator=shuffle)
    loss_sum = correct = 0.0
    for i in range(0, len(x_train), BATCH):
        index = order[i:i + BATCH]
        x, t = x_train[index], y_train[index]
        out = model(x)
        loss = loss_fn(out, t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        # chainrule's Trainer reads the loss and the accuracy of every batch back: so do we.
        loss_sum += loss.item() * len(t)
        correct += (out.argmax(1) == t).sum().item()
    train_s = time.perf_counter() - start
    model.eval()
    test_loss = test_correct = 0.0
    with torch.no_grad():
        for i in range(0, len(x_test), BATCH):
            x, t = x_test[i:i + BATCH], y_test[i:i + BATCH]
            out = model(x)
            test_loss += loss_fn(out, t).item() * len(t)
            test_correct += (out.argmax(1) == t).sum().item()
    epoch_s = time.perf_counter() - start
    return {"epoch_s": epoch_s, "train_s": train_s, "loss": loss_sum / len(x_train),
            "accuracy": correct / len(x_train), "test_loss": test_loss / len(x_test),
            "test_accuracy": test_correct / len(x_test), "torch": torch.__version__}


# -- in the parent -------------------------------------------------------------------------------

def _data_folder(data_dir: str) -> Path:
    """The folder holding the four MNIST files: ``data_dir`` or ``data_dir/mnist`` (as the CLI)."""
    for folder in (Path(data_dir), Path(data_dir) / "mnist"):
        if all((folder / name).is_file() for name in FILES):
            return folder.resolve()
    raise SystemExit(f"mnist_epoch.py: --data-dir {data_dir!r} holds neither the four MNIST files "
                     f"({', '.join(FILES)}) nor a mnist/ folder with them")


def _spawn(cmd, env, timeout: float, log: Path) -> dict:
    """Run ``cmd`` to its end: wall seconds, peak RSS (MiB), exit status and its output."""
    with open(log, "w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        killed = threading.Event()

        def kill():
            killed.set()
            proc.kill()

        killer = threading.Timer(timeout, kill)
        killer.start()
        try:
            # wait4, not RUSAGE_CHILDREN: ru_maxrss of the latter is the maximum over all children.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return {"wall_s": wall, "rss_mib": usage.ru_maxrss / 1024, "status": proc.returncode,
            "output": text, "killed": killed.is_set()}


def _failure(who: str, run: dict, timeout: float) -> str:
    tail = "\n".join(run["output"].strip().splitlines()[-5:]) or "(no output)"
    why = f"killed after {timeout:.0f} s" if run["killed"] else f"exit status {run['status']}"
    return f"{who} failed ({why}):\n{tail}"


def _chainrule_round(folder: Path, env, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="mnist_epoch_") as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "chainrule", "train", "lenet5", "--dataset", "mnist",
               "--model-arg", "variant=modern", "--epochs", "1", "--batch-size", str(BATCH),
               "--optimizer", "adam", "--lr", str(LR), "--schedule", "constant",
               "--augment", "none", "--seed", str(SEED), "--data-dir", str(folder),
               "--val-split", "0", "--no-download", "--out", str(out)]
        run = _spawn(cmd, env, args.timeout, Path(tmp) / "output.txt")
        if run["status"] != 0:
            raise SystemExit(_failure("chainrule", run, args.timeout))
        epoch = [EPOCH_LINE.match(line) for line in run["output"].splitlines()]
        epoch = [float(m.group(1)) for m in epoch if m]
        if not epoch:
            raise SystemExit("chainrule: no 'Epoch 1/1 - N.Ns' line in the CLI's output:\n"
                             + run["output"][-2000:])
        results = json.loads((out / "results.json").read_text())
    return {**run, "epoch_s": epoch[0], "test_accuracy": results["test_accuracy"],
            "command": cmd}


def _torch_round(folder: Path, env, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "torch",
           "--data-dir", str(folder), "--threads", str(args.threads)]
    with tempfile.TemporaryDirectory(prefix="mnist_epoch_") as tmp:
        run = _spawn(cmd, env, args.timeout, Path(tmp) / "output.txt")
    found = [ln for ln in run["output"].splitlines() if ln.startswith(MARKER)]
    if run["status"] != 0 or not found:
        raise SystemExit(_failure("torch", run, args.timeout))
    return {**run, **json.loads(found[-1][len(MARKER):])}


def _median(rounds, key):
    return statistics.median(r[key] for r in rounds)


def report(rounds: dict, args, command: str) -> str:
    """The Markdown results: setup, then one row per quantity with chainrule / torch."""
    import datetime
    import platform

    import numpy as np
    from run import THREAD_VARS, _git, _machine

    cr, th = rounds["chainrule"], rounds["torch"]
    rows = [
        ("whole process: spawn to exit (s)", _median(cr, "wall_s"), _median(th, "wall_s"),
         "{:.2f}"),
        ("epoch: the training pass (s)", _median(cr, "epoch_s"), _median(th, "train_s"),
         "{:.2f}"),
        ("rest: start-up, imports, data, test evaluation, after-training work (s)",
         statistics.median(r["wall_s"] - r["epoch_s"] for r in cr),
         statistics.median(r["wall_s"] - r["train_s"] for r in th), "{:.2f}"),
        ("peak RSS, max over rounds (MiB)", max(r["rss_mib"] for r in cr),
         max(r["rss_mib"] for r in th), "{:.0f}"),
    ]
    lines = [
        "# One MNIST epoch of LeNet-5: chainrule CLI vs PyTorch", "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{command}`",
        f"- machine: {_machine()}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, torch {th[0]['torch']}, "
        f"chainrule at commit {_git()}",
        f"- threads: {args.threads} ({', '.join(THREAD_VARS[:3])}, torch.set_num_threads)",
        f"- chainrule: `{shlex.join(['python', *cr[0]['command'][1:-1]])} TMP/run`",
        f"- torch: the same job in `benchmarks/mnist_epoch.py --worker torch`; rounds: "
        f"{args.repeats} (interleaved chainrule, torch), medians", "",
        "| | chainrule | torch | chainrule / torch |",
        "|---|--:|--:|--:|",
    ]
    for name, a, b, fmt in rows:
        lines.append(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {a / b:.2f} |")
    accuracy = [", ".join(f"{r['test_accuracy']:.4f}" for r in side) for side in (cr, th)]
    lines += [f"| test accuracy after the epoch (each round) | {accuracy[0]} | {accuracy[1]} | |",
              "", f"torch's epoch split: training {_median(th, 'train_s'):.2f} s, test evaluation "
              f"{_median(th, 'epoch_s') - _median(th, 'train_s'):.2f} s (median). chainrule's "
              "epoch comes from its progress line (0.1 s resolution) and includes writing the "
              "epoch checkpoint and CSV row; its whole process also saves the weights, evaluates "
              "the test set once and draws three figures (the CLI's run folder).", ""]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.environ.get("CHAINRULE_DATA") or str(REPO.parent / "shared/data/mnist")
    parser.add_argument("--data-dir", default=default_data,
                        help="folder with the four MNIST .gz files, or its parent "
                             "(default: $CHAINRULE_DATA, else ../shared/data/mnist from the repo)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (fresh processes each)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per process")
    parser.add_argument("--out", default="-", help="Markdown file to write ('-': print only)")
    parser.add_argument("--worker", choices=["torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("repeats", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be > 0 seconds, got {args.timeout}")
    return args


def main(argv=None) -> dict:
    """Run the rounds (or, with the hidden --worker, the PyTorch epoch) and print the table."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.worker:
        print(MARKER + json.dumps(_torch_worker(Path(args.data_dir), args.threads)), flush=True)
        return {}
    sys.path.insert(0, str(HERE))  # run.py's helpers, imported by report()
    folder = _data_folder(args.data_dir)
    from run import THREAD_VARS, publish

    env = {**os.environ, **{var: str(args.threads) for var in THREAD_VARS}}
    rounds = {"chainrule": [], "torch": []}
    for i in range(args.repeats):
        for name, measure in (("chainrule", _chainrule_round), ("torch", _torch_round)):
            r = measure(folder, env, args)
            rounds[name].append(r)
            print(f"round {i + 1}/{args.repeats} {name:9s}: process {r['wall_s']:6.2f} s, epoch "
                  f"{r['epoch_s']:6.2f} s, peak RSS {r['rss_mib']:4.0f} MiB, test accuracy "
                  f"{r['test_accuracy']:.4f}", flush=True)
    command = shlex.join(["python", os.path.relpath(__file__), *argv])
    publish(report(rounds, args, command), args.out)
    return rounds


if __name__ == "__main__":
    main()
