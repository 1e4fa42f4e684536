"""Fuzz wave 24, ``chainrule.compile`` against ``torch.compile`` 2.13: the model runs eagerly, but
what PyTorch refuses when it is called is refused too.

What this wave found (fixed): a ``mode`` PyTorch does not know (the typo
``mode="reduce_overhead"``), an unknown ``backend`` name and a non-bool ``dynamic`` were accepted
silently; PyTorch raises ``RuntimeError: Unrecognized mode=...``, ``InvalidBackend`` (a
RuntimeError) and ``AssertionError: Expected enable to be a bool``.
"""

from __future__ import annotations

import pytest

import chainrule as cr

REFUSED = [
    ({"mode": "reduce_overhead"}, RuntimeError, "unrecognized mode='reduce_overhead', should be"),
    ({"mode": 3}, RuntimeError, "unrecognized mode=3"),
    ({"backend": "INDUCTOR"}, RuntimeError, "invalid backend 'INDUCTOR'; PyTorch's are"),
    ({"dynamic": 1}, TypeError, "dynamic must be True, False or None, got 1"),
    ({"backend": 3}, TypeError, "backend must be a backend's name or a callable, got int 3"),
]
TAKEN = [
    {"mode": m}
    for m in ("default", "lite", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
] + [
    {"backend": "eager"},
    {"backend": "aot_eager"},
    {"backend": "inductor", "dynamic": False},
    {"backend": lambda gm, example_inputs: gm, "dynamic": True},
]


def test_what_torch_compile_refuses_is_refused():
    """PyTorch's own verdicts on these were read once (importing its compiler takes seconds):
    each REFUSED case raises there (``backend=3`` at the first call, chainrule at once), each
    TAKEN one compiles."""
    net = cr.nn.Linear(2, 2)
    for kwargs, error, match in REFUSED:
        with pytest.raises(error, match="^compile: " + match):
            cr.compile(net, **kwargs)
        with pytest.raises(error, match=match):
            cr.compile(**kwargs)
    for kwargs in TAKEN:
        assert cr.compile(net, **kwargs) is net
        assert cr.compile(**kwargs)(net) is net
