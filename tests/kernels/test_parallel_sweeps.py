"""Sweeps split over chainrule's threads (backend/parallel.py): the same bits as one sweep.

The compiled kernels of ``backend.jit._SPLIT`` run in chunks when their sweep is large and
chainrule has more than one thread. Each item is computed alone, so splitting must not change a
bit; with one thread no pool thread may start. The tests force the split with a small grain.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import jit, parallel

pytest.importorskip("numba")
pytestmark = pytest.mark.fast_kernels

F32 = np.float32


@pytest.fixture
def split(monkeypatch):
    """Every sweep of at least 2 x 64 elements split, into as many chunks as ``threads``."""
    if not jit._kernels:
        jit._load()
    monkeypatch.setattr(jit, "GRAIN", 64)

    def set_threads(n):
        monkeypatch.setattr(parallel, "_count", n)

    set_threads(2)
    return set_threads


def test_split_bounds_cover_the_items_in_aligned_chunks(monkeypatch):
    monkeypatch.setattr(parallel, "_count", 3)
    bounds = parallel.split(1000, 64)
    assert bounds[0][0] == 0 and bounds[-1][1] == 1000 and len(bounds) == 3
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    assert all(lo % 16 == 0 for lo, _ in bounds)
    assert parallel.split(127, 64) is None  # too small for two chunks
    assert parallel.split(200, 64) == [(0, 80), (80, 160), (160, 200)]
    monkeypatch.setattr(parallel, "_count", 1)
    assert parallel.split(10**6, 64) is None


def test_reference_mode_never_splits(monkeypatch):
    monkeypatch.setattr(parallel, "_count", 4)
    with cr.reference_mode():
        assert parallel.sweep_threads() == 1
        assert parallel.split(10**6, 64) is None


def test_assigning_threads_reads_the_count_again(monkeypatch):
    monkeypatch.setattr(parallel, "_count", 7)
    old = cr.config.threads
    try:
        cr.config.threads = 1
        assert parallel.sweep_threads() == 1
    finally:
        cr.config.threads = old
    assert parallel._count is None  # read from BLAS again on next use


def _same_bits(name, make, threads, split):
    """``jit.<name>`` (split) on one copy and the compiled kernel whole on another: same bits."""
    whole, cut = make(), make()
    jit._kernels[name](*whole)
    for n in threads:
        split(n)
        cut = make()
        getattr(jit, name)(*cut)
        for a, b in zip(whole, cut, strict=True):
            if isinstance(a, np.ndarray):
                assert a.tobytes() == b.tobytes(), (name, n)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_split_equals_one_sweep(rng, split, amsgrad):
    n = 1001  # not a multiple of the chunk alignment
    p, g = rng.standard_normal(n).astype(F32), rng.standard_normal(n).astype(F32)
    m, v = rng.standard_normal(n).astype(F32), rng.random(n).astype(F32)
    vmax = rng.random(n).astype(F32) if amsgrad else np.zeros(0, F32)

    def make():
        return [p.copy(), g.copy(), m.copy(), v.copy(), vmax.copy(), F32(0.01), False, False,
                F32(0.1), F32(0.999), F32(0.001), F32(0.5), F32(1e-8), F32(1e-3)]

    _same_bits("adam", make, (2, 3), split)


def test_sgd_rmsprop_adagrad_split_equal_one_sweep(rng, split):
    n = 777
    a = [rng.standard_normal(n).astype(F32) for _ in range(5)]
    a[2], a[3] = np.abs(a[2]), np.abs(a[3])

    def sgd():
        return [a[0].copy(), a[1].copy(), a[4].copy(), F32(0.1), F32(0.9), F32(0.8), F32(0.01),
                False, True, False]

    def rmsprop():
        return [a[0].copy(), a[1].copy(), a[2].copy(), a[4].copy(), a[3].copy(), F32(0.01),
                F32(0.9), F32(0.1), F32(1e-8), F32(0.0), F32(0.5), False]

    def adagrad():
        return [a[0].copy(), a[1].copy(), a[2].copy(), F32(0.1), F32(1e-10), F32(0.01), True]

    for name, make in (("sgd", sgd), ("rmsprop", rmsprop), ("adagrad", adagrad)):
        _same_bits(name, make, (2, 3), split)


def test_relu_grad_and_bias_relu_split_equal_one_sweep(rng, split):
    g, y = rng.standard_normal(900).astype(F32), rng.standard_normal(900).astype(F32)
    _same_bits("relu_grad", lambda: [g.copy(), y.copy(), np.empty_like(g)], (2, 3), split)
    z, b = rng.standard_normal((30, 40)).astype(F32), rng.standard_normal(30).astype(F32)
    _same_bits("bias_relu", lambda: [z.copy(), b.copy()], (2, 3), split)


def test_col2im_and_im2col_split_equal_one_sweep(rng, split):
    cols = rng.standard_normal((6, 3, 3, 5, 5, 8)).astype(F32)
    bias = rng.standard_normal(6).astype(F32)
    _same_bits("col2im", lambda: [cols.copy(), np.empty((6, 11, 11, 8), F32), 2, 2, 1, 1],
               (2, 3), split)
    for b in (bias, bias[:0]):
        _same_bits("col2im_crop", lambda b=b: [np.empty((6, 10, 10, 8), F32), cols.copy(),
                                               b.copy(), 2, 2, 1, 1, 1, 1], (2, 3), split)
    x = rng.standard_normal((6, 10, 10, 8)).astype(F32)
    _same_bits("im2col", lambda: [np.empty((6, 3, 3, 5, 5, 8), F32), x.copy(), 2, 2, 1, 1, 1, 1],
               (2, 3), split)


def test_a_training_step_gives_the_same_bits_split_or_whole(rng, split, monkeypatch):
    """A conv autoencoder's Adam steps (col2im, im2col, bias + ReLU, ReLU masks, Adam all split
    at this grain) give the parameters bit for bit as with one thread."""

    runs = []
    run = parallel.run
    monkeypatch.setattr(parallel, "run", lambda fn, chunks: (runs.append(len(chunks)),
                                                             run(fn, chunks)))

    def train(threads):
        split(threads)
        model = cr.nn.Sequential(
            cr.nn.Conv2d(1, 4, 3, stride=2, padding=1, rng=np.random.default_rng(0)),
            cr.nn.ReLU(),
            cr.nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1,
                                  rng=np.random.default_rng(1)),
            cr.nn.Sigmoid())
        cr.nn.fuse(model)
        opt = cr.optim.Adam(model.parameters(), lr=1e-2)
        x = cr.tensor(np.random.default_rng(2).random((8, 1, 12, 12)).astype(F32))
        for _ in range(3):
            opt.zero_grad()
            cr.F.mse_loss(model(x), x).backward()
            opt.step()
        return [p.numpy().tobytes() for p in model.parameters()]

    assert train(1) == train(2) == train(3)
    assert 2 in runs and 3 in runs  # the sweeps were split


def test_an_error_in_a_chunk_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(parallel, "_count", 2)

    def fails(lo, hi):
        if lo > 0:
            raise ValueError(f"chunk {lo}:{hi} failed")

    with pytest.raises(ValueError, match="chunk 512:1000 failed"):
        parallel.run(fails, parallel.split(1000, 64))
    done = []
    parallel.run(lambda lo, hi: done.append((lo, hi)), parallel.split(1000, 64))
    assert sorted(done) == [(0, 512), (512, 1000)]  # the pool still works


@pytest.mark.parametrize("threads", [1, 2])
def test_one_thread_starts_no_pool(threads):
    """With one thread, a large Adam step runs whole and no thread is started; with two, one
    pool thread (checked in a fresh process, since the pool, once started, stays)."""
    code = (
        "import threading, numpy as np, chainrule as cr\n"
        "p = cr.tensor(np.ones(300000, np.float32), requires_grad=True)\n"
        "opt = cr.optim.Adam([p], lr=0.1)\n"
        "(p * p).sum().backward(); opt.step()\n"
        "from chainrule.backend import parallel\n"
        "print(parallel.sweep_threads(), threading.active_count())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["CHAINRULE_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env).stdout
    assert out.split() == [str(threads), str(threads)]


def test_the_pool_threads_are_daemons(monkeypatch):
    monkeypatch.setattr(parallel, "_count", 2)
    parallel.run(lambda lo, hi: None, parallel.split(1000, 64))
    pool = [t for t in threading.enumerate() if t.name.startswith("chainrule-sweep")]
    assert pool and all(t.daemon for t in pool)
