"""Fuzz wave 24, ``SummaryWriter`` against ``torch.utils.tensorboard`` 2.13: the same calls give
the same events.

What this wave found (fixed): ``add_image`` refused a two-channel image (grey and alpha:
``expected 1, 3 or 4 channels``); PyTorch's writes it as a grey-and-alpha PNG. The other edge
cases tried (0-d and one-element Tensors, NumPy scalars, ints, bools, nan and inf as scalars;
histograms of ints, bools, one value, empty, with each bin rule; images of every dtype, layout
and value range) already gave the same events; a NaN or inf in a histogram is refused (see
docs/pytorch.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.utils.tensorboard import SummaryWriter

from .utils.test_tensorboard import _read_records


@pytest.mark.torch
def test_a_two_channel_image_gives_torchs_events(tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("PIL")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    event_pb2 = pytest.importorskip("tensorboard.compat.proto.event_pb2")
    img = np.random.default_rng(0).random((2, 4, 5))

    def log(writer_cls, path):
        with writer_cls(str(path)) as w:
            w.add_image("la", img, 1, walltime=1.0)
            w.add_image(
                "la_hwc",
                (img * 255).astype(np.uint8).transpose(1, 2, 0),
                2,
                walltime=2.0,
                dataformats="HWC",
            )
        (events,) = path.glob("events.out.tfevents.*")
        return [event_pb2.Event.FromString(r) for r in _read_records(events.read_bytes())[1:]]

    ours, theirs = (
        log(SummaryWriter, tmp_path / "ours"),
        log(torch_tb.SummaryWriter, tmp_path / "torch"),
    )
    assert len(ours) == len(theirs) == 2
    assert ours == theirs
    assert ours[0].summary.value[0].image.colorspace == 2
    with (
        SummaryWriter(str(tmp_path / "five")) as w,
        pytest.raises(
            ValueError, match=r"add_image: expected 1 to 4 channels, got shape \(5, 4, 5\)"
        ),
    ):
        w.add_image("five", np.zeros((5, 4, 5)))
