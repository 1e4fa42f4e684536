"""Training steps of the text models against PyTorch, in the same run: the char-CNN and an LSTM.

    python benchmarks/text_models.py                       # all workloads, 20 timed steps each
    python benchmarks/text_models.py --quick               # 2 timed steps: a check of the plumbing
    python benchmarks/text_models.py --threads 1 --clock process_time

Workloads (issue 19 asks for chainrule at <= 0.9x PyTorch's time on the first, <= 1.0x on the
second):

- ``charcnn``: one SGD (momentum 0.9, lr 0.01) step of Zhang et al.'s small char-CNN on a batch of
  128 one-hot texts of 1,014 x 70 (``models.CharCNN("small")``, ReLUs fused with the pooling as
  the Trainer does, against the same layers in torch.nn);
- ``lstm``: one Adam step of an LSTM text classifier, batch 64, length 100, hidden 256, 64-wide
  character embeddings over 72 ids, 4 classes (``models.TextRNN``), against an Embedding +
  torch.nn.LSTM (PyTorch's fused kernel) + Linear on the final hidden state;
- ``gru``: the same classifier with a GRU (``TextRNN(cell="gru")`` against torch.nn.GRU); no
  target in the issue, measured beside the LSTM.

Each (framework, workload) runs in its own fresh process with ``--threads`` BLAS/OpenMP threads:
warm-up steps, then ``--repeats`` timed steps; the table gives the median seconds per step and the
process's peak resident memory (ru_maxrss: the framework, the model, its optimizer state and the
step's arrays). The parent also builds both models in one process with the same weights
and checks that one step's loss agrees (1e-4 relative), so a faster wrong step is never reported
(the check runs after the timed processes, so that they do not inherit its memory peak).
``--clock process_time`` times CPU seconds instead of wall seconds (for a machine shared with
other work; label such figures as CPU time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
MARKER = "TEXT-BENCH "
WORKLOADS = ("charcnn", "lstm", "gru")
CHARS, LENGTH, CNN_BATCH, CLASSES = 70, 1014, 128, 4
LSTM_BATCH, LSTM_STEPS, HIDDEN, EMBED, VOCAB = 64, 100, 256, 64, 72


def _data(workload: str, rng):
    if workload == "charcnn":
        idx = rng.integers(0, CHARS + 1, (CNN_BATCH, LENGTH))  # CHARS: outside the alphabet
        x = (np.arange(CHARS)[None, :, None] == idx[:, None, :]).astype(np.float32)
        return x, rng.integers(0, CLASSES, CNN_BATCH)
    return rng.integers(1, VOCAB, (LSTM_BATCH, LSTM_STEPS)), rng.integers(0, CLASSES, LSTM_BATCH)


def _chainrule(workload: str, dropout: float):
    sys.path.insert(0, str(SRC))
    import chainrule as cr

    rng = np.random.default_rng(0)
    if workload == "charcnn":
        model = cr.models.CharCNN("small", dropout=dropout, rng=rng)
        cr.nn.fuse(model)
        opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        model = cr.models.TextRNN(VOCAB, CLASSES, EMBED, HIDDEN, cell=workload, rng=rng)
        opt = cr.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = cr.ops.cross_entropy(model(cr.tensor(x)), cr.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    return step, state


def _torch(workload: str, dropout: float, state=None):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if workload == "charcnn":
        def conv(i, k):
            return nn.Conv1d(i, 256, k)
        model = nn.Sequential(
            nn.Sequential(conv(CHARS, 7), nn.ReLU(), nn.MaxPool1d(3), conv(256, 7), nn.ReLU(),
                          nn.MaxPool1d(3), conv(256, 3), nn.ReLU(), conv(256, 3), nn.ReLU(),
                          conv(256, 3), nn.ReLU(), conv(256, 3), nn.ReLU(), nn.MaxPool1d(3)),
            nn.Sequential(nn.Flatten(), nn.Linear(256 * 34, 1024), nn.ReLU(), nn.Dropout(dropout),
                          nn.Linear(1024, 1024), nn.ReLU(), nn.Dropout(dropout),
                          nn.Linear(1024, CLASSES)))
        if state is not None:  # chainrule's keys: features.N / classifier.N, same indices
            model.load_state_dict({k.replace("features", "0").replace("classifier", "1"):
                                   torch.tensor(v) for k, v in state.items()})
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        forward = model
    else:
        rnn = (nn.LSTM if workload == "lstm" else nn.GRU)(EMBED, HIDDEN, batch_first=True)
        emb, fc = nn.Embedding(VOCAB, EMBED, 0), nn.Linear(HIDDEN, CLASSES)
        model = nn.ModuleDict({"embedding": emb, "rnn": rnn, "fc": fc})
        if state is not None:
            model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})

        def forward(x):
            _, h = rnn(emb(x))
            return fc((h[0] if workload == "lstm" else h)[-1])
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = nn.functional.cross_entropy(forward(torch.as_tensor(x)), torch.as_tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _child(framework: str, workload: str, warmup: int, repeats: int, clock: str) -> dict:
    import resource

    step = _chainrule(workload, 0.5)[0] if framework == "chainrule" else _torch(workload, 0.5)
    x, y = _data(workload, np.random.default_rng(1))
    tick = time.process_time if clock == "process_time" else time.perf_counter
    for _ in range(warmup):
        step(x, y)
    times = []
    for _ in range(repeats):
        start = tick()
        step(x, y)
        times.append(tick() - start)
    return {"median_s": statistics.median(times), "min_s": min(times),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _check(workload: str) -> float:
    """One step's loss in both frameworks from the same weights (dropout off): the relative gap."""
    step, state = _chainrule(workload, 0.0)
    theirs = _torch(workload, 0.0, state)
    x, y = _data(workload, np.random.default_rng(1))
    a, b = step(x, y), theirs(x, y)
    return abs(a - b) / abs(b)


def _env(threads: int) -> dict:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "CHAINRULE_NUM_THREADS"):
        env[name] = str(threads)
    return env


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    p.add_argument("--repeats", type=int, default=20, help="timed steps per process")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="BLAS/OpenMP threads")
    p.add_argument("--clock", choices=["perf_counter", "process_time"], default="perf_counter")
    p.add_argument("--quick", action="store_true", help="1 warm-up and 2 timed steps")
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.add_argument("--child", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.warmup, args.repeats = 1, 2
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        print(MARKER + json.dumps(_child(*args.child, args.warmup, args.repeats, args.clock)))
        return 0
    rows = {}
    for workload in args.workloads:
        row = {}
        # The children first: a child inherits the parent's peak RSS as its own starting peak,
        # so the parent stays small (NumPy only) until they are done.
        for framework in ("chainrule", "torch"):
            cmd = [sys.executable, __file__, "--child", framework, workload, "--threads",
                   str(args.threads), "--warmup", str(args.warmup), "--repeats",
                   str(args.repeats), "--clock", args.clock]
            done = subprocess.run(cmd, capture_output=True, text=True, env=_env(args.threads),
                                  check=True)
            line = [s for s in done.stdout.splitlines() if s.startswith(MARKER)][-1]
            row[framework] = json.loads(line[len(MARKER):])
        row["ratio"] = row["chainrule"]["median_s"] / row["torch"]["median_s"]
        rows[workload] = row
    for workload, row in rows.items():
        row["loss_gap"] = gap = _check(workload)
        if gap > 1e-4:
            print(f"{workload}: chainrule's and PyTorch's losses differ by {gap:.2e} (relative); "
                  "the timings compare different computations", file=sys.stderr)
            return 1
    for workload, row in rows.items():
        print(f"{workload:8s} chainrule {row['chainrule']['median_s'] * 1e3:8.1f} ms "
              f"({row['chainrule']['peak_rss_mib']:6.0f} MiB)  torch "
              f"{row['torch']['median_s'] * 1e3:8.1f} ms ({row['torch']['peak_rss_mib']:6.0f} "
              f"MiB)  ratio {row['ratio']:.2f}x  [{args.clock}, {args.threads} thread(s), "
              f"median of {args.repeats}; losses agree to {row['loss_gap']:.1e}]")
    if args.out:
        Path(args.out).write_text(json.dumps({"settings": vars(args), "results": rows},
                                             indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
