"""SummaryWriter's event files: the byte format checked by a reader written here, then read back by
TensorBoard's own EventAccumulator and compared with torch.utils.tensorboard where installed."""

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.tensorboard import SummaryWriter
from chainrule.utils.tensorboard._records import crc32c, frame_record

# --- an independent reader: bitwise CRC-32C and TFRecord framing -----------------------------


def _crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _unmask(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def _read_records(blob: bytes) -> list[bytes]:
    records, pos = [], 0
    while pos < len(blob):
        if pos + 12 > len(blob):
            raise ValueError("truncated header")
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if _unmask(length_crc) != _crc32c_bitwise(header):
            raise ValueError("bad length crc")
        end = pos + 12 + length
        if end + 4 > len(blob):
            raise ValueError("truncated record")
        data = blob[pos + 12:end]
        if _unmask(struct.unpack("<I", blob[end:end + 4])[0]) != _crc32c_bitwise(data):
            raise ValueError("bad data crc")
        records.append(data)
        pos = end + 4
    return records


def test_crc32c_vectors():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(bytes(range(31, -1, -1))) == 0x113FDB5C
    assert crc32c(b"") == 0
    data = np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes()
    assert crc32c(data) == _crc32c_bitwise(data)


def test_record_framing_and_truncation(tmp_path):
    payloads = [b"", b"a", bytes(range(256)) * 3]
    blob = b"".join(frame_record(p) for p in payloads)
    assert _read_records(blob) == payloads
    assert len(frame_record(b"abc")) == 8 + 4 + 3 + 4
    with pytest.raises(ValueError, match="truncated"):
        _read_records(blob[:-1])
    corrupt = bytearray(blob)
    corrupt[14] ^= 1  # a byte of the second record's data
    with pytest.raises(ValueError, match="bad data crc"):
        _read_records(bytes(corrupt))


def test_event_file_name_and_first_event(tmp_path):
    with SummaryWriter(tmp_path, filename_suffix=".x") as w:
        w.add_scalar("loss", 0.5, 3)
        assert w.get_logdir() == str(tmp_path)
    (path,) = tmp_path.iterdir()
    assert path.name.startswith("events.out.tfevents.") and path.name.endswith(".x")
    records = _read_records(path.read_bytes())
    assert len(records) == 2
    assert b"brain.Event:2" in records[0] and b"loss" in records[1]


def test_buffering_and_flush(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=3, flush_secs=1000)
    (path,) = tmp_path.iterdir()
    size = len(_read_records(path.read_bytes()))
    w.add_scalar("a", 1.0, 0)
    w.add_scalar("a", 2.0, 1)
    assert len(_read_records(path.read_bytes())) == size  # still queued
    w.add_scalar("a", 3.0, 2)  # the third fills the queue
    assert len(_read_records(path.read_bytes())) == size + 3
    w.add_scalar("a", 4.0, 3)
    w.flush()
    assert len(_read_records(path.read_bytes())) == size + 4
    w.close()
    w.add_scalar("a", 5.0, 4)  # reopens a new file, as PyTorch
    w.close()
    assert len(list(tmp_path.iterdir())) == 2


def test_queued_events_are_written_at_exit(tmp_path):
    import subprocess
    import sys

    src = Path(__file__).resolve().parents[2] / "src"
    code = ("from chainrule.utils.tensorboard import SummaryWriter\n"
            f"w = SummaryWriter({str(tmp_path)!r}, max_queue=100)\n"
            "for i in range(5):\n    w.add_scalar('x', i, i)\n")  # no close()
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(src)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    (path,) = tmp_path.iterdir()
    assert len(_read_records(path.read_bytes())) == 1 + 5


def test_default_log_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    logdir = Path(w.get_logdir())
    assert logdir.parent == Path("runs") and logdir.name.endswith("_lr0.1") and logdir.is_dir()


def test_bad_input(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="scalar_value: expected a single value"):
            w.add_scalar("x", np.zeros(3))
        with pytest.raises(TypeError, match="tag: expected a str"):
            w.add_scalar(3, 1.0)
        with pytest.raises(ValueError, match="global_step: expected an integer"):
            w.add_scalar("x", 1.0, 1.5)
        with pytest.raises(ValueError, match="has no element"):
            w.add_histogram("h", np.zeros(0))
        with pytest.raises(ValueError, match="NaN"):
            w.add_histogram("h", np.array([1.0, np.nan]))
        with pytest.raises(ValueError, match="dataformats 'CHW' needs a 3-d image"):
            w.add_image("i", np.zeros((4, 4)))
        with pytest.raises(ValueError, match="dataformats: expected distinct letters"):
            w.add_image("i", np.zeros((3, 4, 4)), dataformats="CCW")
        with pytest.raises(TypeError, match="text_string: expected a str"):
            w.add_text("t", 5)


# --- TensorBoard's own reader ----------------------------------------------------------------


def _accumulator(path):
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    guidance = {k: 0 for k in ("scalars", "histograms", "images", "tensors",
                               "compressedHistograms", "audio")}
    ea = ea_mod.EventAccumulator(str(path), size_guidance=guidance)
    ea.Reload()
    return ea


def test_tensorboard_reads_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    values = [0.0, 1.5, -2.25, 1e-3]
    with SummaryWriter(tmp_path) as w:
        for i, v in enumerate(values):
            w.add_scalar("loss", cr.tensor(v) if i % 2 else v, i * 10, walltime=100.0 + i)
        w.add_scalar("new", np.float64(1 / 3), 7, new_style=True, double_precision=True)
        w.add_scalar("new32", 1 / 3, np.int64(2**40), new_style=True)
        w.add_scalars("acc/x", {"train": 0.5, "val": cr.tensor(0.25)}, 4, walltime=9.0)
    ea = _accumulator(tmp_path)
    got = ea.Scalars("loss")
    assert [e.step for e in got] == [0, 10, 20, 30]
    assert [e.wall_time for e in got] == [100.0, 101.0, 102.0, 103.0]
    assert [e.value for e in got] == [float(np.float32(v)) for v in values]
    (new,) = ea.Tensors("new")
    assert new.step == 7 and list(new.tensor_proto.double_val) == [1 / 3]
    (new32,) = ea.Tensors("new32")
    assert new32.step == 2**40 and list(new32.tensor_proto.float_val) == [np.float32(1 / 3)]
    for run, value in (("acc_x_train", 0.5), ("acc_x_val", 0.25)):
        (ev,) = _accumulator(tmp_path / run).Scalars("acc/x")
        assert (ev.step, ev.wall_time, ev.value) == (4, 9.0, value)


@pytest.mark.parametrize("bins,max_bins", [("tensorflow", None), ("auto", None), (7, None),
                                           ("tensorflow", 20), ([-1.0, 0.0, 0.5, 3.0], None)])
def test_tensorboard_reads_histograms(tmp_path, bins, max_bins):
    pytest.importorskip("tensorboard")
    x = np.random.default_rng(1).standard_normal((20, 30))
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", cr.tensor(x), 5, bins=bins, max_bins=max_bins)
    (ev,) = _accumulator(tmp_path).Histograms("w")
    h = ev.histogram_value
    assert ev.step == 5
    assert (h.min, h.max, h.num) == (x.min(), x.max(), x.size)
    np.testing.assert_allclose([h.sum, h.sum_squares], [x.sum(), (x * x).sum()], rtol=1e-12)
    # The buckets are numpy's counts over the kept edges: right edges, one empty bin on the left.
    limits = np.asarray(h.bucket_limit)
    counts = np.asarray(h.bucket)
    assert counts[0] == 0 and counts.sum() == np.sum((x >= limits[0]) & (x <= limits[-1]))
    inner, _ = np.histogram(x, bins=limits)
    np.testing.assert_array_equal(counts[1:], inner)
    if max_bins is not None:
        assert len(counts) <= max_bins + 1


def test_tensorboard_reads_images_and_text(tmp_path):
    pytest.importorskip("tensorboard")
    image_mod = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(2)
    chw = rng.random((3, 5, 7)).astype(np.float32)
    hwc_u8 = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    batch = rng.random((10, 1, 3, 2))
    with SummaryWriter(tmp_path) as w:
        w.add_image("chw", cr.tensor(chw), 1)
        w.add_image("hwc", hwc_u8, 2, dataformats="HWC")
        w.add_images("batch", batch, 3)
        w.add_text("note", "**bold** ü", 4)
    ea = _accumulator(tmp_path)

    def pixels(tag):
        (ev,) = ea.Images(tag)
        img = np.asarray(image_mod.open(io.BytesIO(ev.encoded_image_string)))
        assert img.shape[:2] == (ev.height, ev.width)
        return img

    expected = (chw.transpose(1, 2, 0) * 255).clip(0, 255).astype(np.uint8)
    np.testing.assert_array_equal(pixels("chw"), expected)
    np.testing.assert_array_equal(pixels("hwc"), hwc_u8)
    grid = pixels("batch")  # 10 images: 8 per row, two rows, grey repeated to RGB
    assert grid.shape == (6, 16, 3)
    tiles = (batch[:, 0].astype(np.float32) * 255).clip(0, 255).astype(np.uint8)
    for i in range(10):
        r, c = divmod(i, 8)
        for ch in range(3):
            np.testing.assert_array_equal(grid[3 * r:3 * r + 3, 2 * c:2 * c + 2, ch], tiles[i])
    assert not grid[3:, 4:].any()  # the empty cells are black
    (text,) = ea.Tensors("note/text_summary")
    assert text.step == 4 and text.tensor_proto.string_val == ["**bold** ü".encode()]


def test_purge_step(tmp_path):
    pytest.importorskip("tensorboard")
    with SummaryWriter(tmp_path) as w:
        for i in range(6):
            w.add_scalar("x", float(i), i)
    with SummaryWriter(tmp_path, purge_step=3) as w:
        w.add_scalar("x", 30.0, 3)
    assert [(e.step, e.value) for e in _accumulator(tmp_path).Scalars("x")] == \
        [(0, 0.0), (1, 1.0), (2, 2.0), (3, 30.0)]


@pytest.mark.torch
def test_same_events_as_torch(tmp_path):
    pytest.importorskip("tensorboard")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    event_pb2 = pytest.importorskip("tensorboard.compat.proto.event_pb2")
    x = np.random.default_rng(3).standard_normal(500)
    img = np.random.default_rng(4).random((3, 4, 5))

    def log(writer_cls, path):
        with writer_cls(str(path)) as w:
            w.add_scalar("loss", 0.75, 2, walltime=1.0)
            w.add_scalar("s", 0.5, 3, walltime=2.0, new_style=True)
            w.add_histogram("h", x, 4, walltime=3.0)
            w.add_histogram("h20", x, 4, walltime=3.0, bins="fd", max_bins=20)
            w.add_image("i", img, 5, walltime=4.0)
            w.add_text("t", "hi", 6, walltime=5.0)
            w.add_images("grid", batch, 7, walltime=6.0)
            w.add_images("grid_nhwc", batch[:3, :1].transpose(0, 2, 3, 1), 8, walltime=7.0,
                         dataformats="NHWC")
            w.add_scalars("m/a", {"x": 1.5, "y": -2.0}, 9, walltime=8.0)
        files = sorted(path.rglob("events.out.tfevents.*"), key=lambda f: str(f.parent))
        return {str(f.parent.relative_to(path)): [event_pb2.Event.FromString(r)
                                                  for r in _read_records(f.read_bytes())[1:]]
                for f in files}

    batch = np.random.default_rng(5).random((11, 3, 2, 3)).astype(np.float32)
    ours = log(SummaryWriter, tmp_path / "ours")
    theirs = log(torch_tb.SummaryWriter, tmp_path / "torch")
    assert list(ours) == list(theirs) == [".", "m_a_x", "m_a_y"]
    assert [len(v) for v in ours.values()] == [len(v) for v in theirs.values()] == [8, 1, 1]
    for run in ours:
        for a, b in zip(ours[run], theirs[run], strict=True):
            assert a == b


@pytest.mark.torch
@pytest.mark.parametrize("name", ["__init__", "add_scalar", "add_scalars", "add_histogram",
                                  "add_image", "add_images", "add_text", "add_hparams", "flush",
                                  "close", "get_logdir"])
def test_signatures_match_torch(name):
    import inspect

    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    ours = inspect.signature(getattr(SummaryWriter, name))
    theirs = inspect.signature(getattr(torch_tb.SummaryWriter, name))
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]


@pytest.mark.torch
def test_hparams_same_events_as_torch(tmp_path):
    pytest.importorskip("tensorboard")
    torch = pytest.importorskip("torch")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    event_pb2 = pytest.importorskip("tensorboard.compat.proto.event_pb2")

    def log(writer_cls, path, tensor):
        hp = {"lr": 0.1, "layers": 3, "opt": "adam", "bn": True, "zero": 0.0, "skip": None,
              "wd": tensor([1e-4])}
        with writer_cls(str(path)) as w:
            w.add_hparams(hp, {"hparam/acc": 0.9, "hparam/loss": 0.0},
                          hparam_domain_discrete={"opt": ["adam", "sgd"], "layers": [2, 3]},
                          run_name="r1", global_step=7)
        (path_,) = (path / "r1").iterdir()
        events = [event_pb2.Event.FromString(r) for r in _read_records(path_.read_bytes())[1:]]
        for e in events:
            e.wall_time = 0.0  # torch's writer takes its own clock here
        return events

    plugin_data_pb2 = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")

    def parsed_content(event):
        # The hyperparameter map's entries may come in any order: compare parsed messages.
        if not event.summary.value or not event.summary.value[0].HasField("metadata"):
            return None
        data = event.summary.value[0].metadata.plugin_data
        content = plugin_data_pb2.HParamsPluginData.FromString(data.content)
        data.content = b""
        return content

    ours = log(SummaryWriter, tmp_path / "ours", cr.tensor)
    theirs = log(torch_tb.SummaryWriter, tmp_path / "torch", torch.tensor)
    assert len(ours) == len(theirs) == 5
    contents = []
    for a, b in zip(ours, theirs, strict=True):
        contents.append(parsed_content(a))
        assert contents[-1] == parsed_content(b)
        assert a == b
    start = contents[1].session_start_info.hparams
    assert start["bn"].number_value == 1.0 and start["opt"].string_value == "adam"  # as PyTorch
    assert "skip" not in start and start["wd"].number_value == np.float32(1e-4)
    ea = _accumulator(tmp_path / "ours" / "r1")
    assert [(e.step, e.value) for e in ea.Scalars("hparam/acc")] == [(7, np.float32(0.9))]
    with SummaryWriter(tmp_path / "bad") as w:
        with pytest.raises(ValueError, match=r"hparam_dict\['f'\]: expected an int"):
            w.add_hparams({"f": [1, 2]}, {})
        with pytest.raises(TypeError, match=r"hparam_domain_discrete\['lr'\]"):
            w.add_hparams({"lr": 0.1}, {}, hparam_domain_discrete={"lr": ["a"]})
