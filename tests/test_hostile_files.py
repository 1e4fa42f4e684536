"""Hostile and damaged files fail with one clear ValueError, in bounded memory.

Each case builds its file cheaply here and reads it in a fresh interpreter, which reports the
error and its peak RSS (``ru_maxrss``, and the kernel's VmHWM beside it); every case must stay
under 300 MB.
"""

import gzip
import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

LIMIT_MB = 300
_CLASSES = [str(i) for i in range(10)]

_RUNNER = """
import json, resource, sys
try:
    {call}
    outcome = "no error"
except Exception as err:
    outcome = type(err).__name__ + ": " + str(err)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
hwm = [int(line.split()[1]) / 1024 for line in open("/proc/self/status")
       if line.startswith("VmHWM:")]
print(json.dumps({{"error": outcome, "rss_mb": rss, "hwm_mb": hwm[0] if hwm else rss}}))
"""


def run_isolated(call: str, tmp_path) -> dict:
    """Run ``call`` (one Python statement) in a fresh interpreter: its error and peak RSS (MB).

    The interpreter is started by a shell that forks it: a process exec'd straight from this
    one would inherit this process's RSS as its starting ``ru_maxrss`` (Linux keeps the high
    water mark across execve, and Python's subprocess may vfork).
    """
    script = tmp_path / "isolated_run.py"
    script.write_text(_RUNNER.format(call=call))
    out = subprocess.run(["/bin/sh", "-c", '"$0" "$1"; status=$?; exit $status',
                          sys.executable, str(script)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


_MANY_RUNNER = """
import importlib, json, os, re, resource, sys
calls = json.loads(open(sys.argv[1]).read())
for module in sorted({m for call in calls for m in re.findall(r"from ([\\w.]+) import", call)}):
    importlib.import_module(module)
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
results = []
for call in calls:
    read, write = os.pipe()
    before = resident()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            # A fork maps the shared libraries' pages only when touched: add what it did not
            # inherit of this process's resident memory, as a fresh interpreter would hold it.
            unmapped = max(0.0, before - resident())
            os.close(read)
            try:
                exec(call, {})
                outcome = "no error"
            except Exception as err:
                outcome = type(err).__name__ + ": " + str(err)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + unmapped
            hwm = [int(line.split()[1]) / 1024 + unmapped for line in open("/proc/self/status")
                   if line.startswith("VmHWM:")]
            os.write(write, json.dumps({"error": outcome, "rss_mb": rss,
                                        "hwm_mb": hwm[0] if hwm else rss}).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        printed = pipe.read()
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    results.append(json.loads(printed) if status == 0 else
                   {"error": f"the call's process ended with {status}", "rss_mb": -1, "hwm_mb": -1})
print(json.dumps(results))
"""


def run_isolated_many(calls: list[str], tmp_path) -> list[dict]:
    """``run_isolated`` for several calls, paying the interpreter's start and imports once.

    One fresh interpreter (started as run_isolated starts it) imports the modules the calls
    import from, then runs each call in a fork of itself: a child starts with only that small
    process's memory, never with another call's, and counts all of it in its peak (what it
    inherited resident, plus what of the parent's resident pages it did not), so its measure
    is if anything larger than a fresh interpreter's.
    """
    script, listed = tmp_path / "isolated_many.py", tmp_path / "isolated_calls.json"
    script.write_text(_MANY_RUNNER)
    listed.write_text(json.dumps(calls))
    out = subprocess.run(["/bin/sh", "-c", '"$0" "$1" "$2"; status=$?; exit $status',
                          sys.executable, str(script), str(listed)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _png_of_size(path, width, height):
    """A constant 1-bit PNG of any size, written by hand: tiny on disk, huge when decoded."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte, then the packed pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))
    return path


def _forged_npy(path, shape):
    """A .npy file whose header claims ``shape`` (float32) and that holds 16 bytes of data."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * (-(len(header) + 11) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
                     + b"\x00" * 16)
    return path


def _gzip_idx(path, shape, zero_mb):
    """A gzipped IDX file: a uint8 header for ``shape``, then ``zero_mb`` MB of zeros.

    The zeros are 1 MB gzip members repeated (a valid multi-member gzip file): a file of a few
    hundred KB that expands to ``zero_mb`` MB.
    """
    header = bytes([0, 0, 0x08, len(shape)]) + np.asarray(shape, ">u4").tobytes()
    member = gzip.compress(b"\x00" * 2**20, 9)
    path.write_bytes(gzip.compress(header) + member * zero_mb)
    return path


def _run_folder(tmp_path, sizes):
    """A run folder whose model.safetensors holds an mlp [64, 16, 10] but whose config says
    ``sizes``."""
    from chainrule.io import save_weights
    from chainrule.models import build

    net = build("mlp", sizes=[64, 16, 10], rng=np.random.default_rng(0))
    config = {"model": {"name": "mlp", "kwargs": {"sizes": sizes}}, "dataset": "digits",
              "classes": _CLASSES, "input_shape": [1, 8, 8]}
    folder = tmp_path / "run"
    save_weights(net, folder / "model.safetensors", config=config)
    return folder


def _flipped_exponent(tmp_path):
    """A valid run folder whose first weight has one exponent bit flipped."""
    folder = _run_folder(tmp_path, [64, 16, 10])
    path = folder / "model.safetensors"
    raw = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    begin = 8 + n + header["layers.1.weight"]["data_offsets"][0]
    raw[begin + 3] ^= 0x40  # bit 30 of a little-endian float32: the exponent's top bit
    path.write_bytes(bytes(raw))
    return folder


def _safetensors(path, header: dict, data: bytes, raw_header: bytes | None = None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def _corrupt_case(tmp_path, kind):
    """A damaged weights file for ``nn.Linear(1, 1)`` (a weight (1, 1) and a bias (1,))."""
    path = tmp_path / "model.safetensors"
    weight = {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}
    bias = {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}
    if kind == "truncated":
        from chainrule import nn
        from chainrule.io import save_weights

        save_weights(nn.Linear(64, 10, rng=np.random.default_rng(0)), path)
        path.write_bytes(path.read_bytes()[:-100])
    elif kind == "f8":  # a dtype NumPy cannot hold (BF16 is read, widened to float32)
        _safetensors(path, {"weight": {**weight, "dtype": "F8_E4M3", "data_offsets": [0, 1]},
                            "bias": {**bias, "data_offsets": [1, 5]}}, b"\x00" * 5)
    elif kind == "duplicate":  # two entries of one name: which one is meant?
        entry = json.dumps(bias)
        raw = f'{{"weight": {json.dumps(weight)}, "bias": {entry}, "bias": {entry}}}'
        _safetensors(path, {}, b"\x00" * 8, raw_header=raw.encode())
    return path


def _crowded_header(path):
    """A header just under the 8 MiB limit: 127000 entries of empty tensors (a valid file)."""
    entries = ",".join(f'"t{i}": {{"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}'
                       for i in range(127000))
    return _safetensors(path, {}, b"", raw_header=("{" + entries + "}").encode())


_LOAD_LINEAR = ("from chainrule import nn; from chainrule.io import load_weights; "
                "load_weights(nn.Linear(1, 1), {path!r})")


CASES = {
    # id: (build the file -> path, the call made on it, what the error must say)
    "png-13000x13000": (
        lambda tmp: _png_of_size(tmp / "wide.png", 13000, 13000),
        "from chainrule.data.images import read_image; read_image({path!r}, (1, 28, 28))",
        "image has shape (13000, 13000), the model expects (28, 28)"),
    "png-20000x20000": (
        lambda tmp: _png_of_size(tmp / "bomb.png", 20000, 20000),
        "from chainrule.data.images import read_image; read_image({path!r}, (1, 28, 28))",
        "the image is far too large"),
    "npy-header-1e12-elements": (
        lambda tmp: _forged_npy(tmp / "forged.npy", (1000000, 1000000)),
        "from chainrule.data.images import read_image; read_image({path!r}, (1, 28, 28))",
        "image has shape (1000000, 1000000)"),
    "idx-gzip-bomb-after-header": (
        lambda tmp: _gzip_idx(tmp / "bomb-idx.gz", (10,), 600),
        "from chainrule.data.idx import read_idx; read_idx({path!r})",
        "IDX file has trailing bytes"),
    "idx-gzip-header-claims-1e12-bytes": (
        lambda tmp: _gzip_idx(tmp / "claims-idx.gz", (100000, 100000, 100), 1),
        "from chainrule.data.idx import read_idx; read_idx({path!r})",
        "more than a"),
    "idx-gzip-bomb-consistent-over-max-bytes": (
        lambda tmp: _gzip_idx(tmp / "big-idx.gz", (600 * 2**20,), 600),
        "from chainrule.data.idx import read_idx; read_idx({path!r}, max_bytes=47040000)",
        "more than the 47040000 bytes allowed"),
    "run-folder-sizes-64-4000000-10": (
        lambda tmp: _run_folder(tmp, [64, 4000000, 10]),
        "from chainrule.experiments import load_model; load_model({path!r})",
        "more than its weights hold"),
    "flipped-exponent-bit": (
        _flipped_exponent,
        "from chainrule.experiments import load_model; load_model({path!r})",
        "tensor 'layers.1.weight' does not match its SHA-256 checksum"),
    "safetensors-truncated": (
        lambda tmp: _corrupt_case(tmp, "truncated"),
        "from chainrule.experiments import load_model; load_model({path!r})",
        "truncated or corrupt"),
    "safetensors-f8": (
        lambda tmp: _corrupt_case(tmp, "f8"), _LOAD_LINEAR, "unsupported dtype 'F8_E4M3'"),
    "safetensors-127000-empty-tensors": (
        lambda tmp: _crowded_header(tmp / "model.safetensors"), _LOAD_LINEAR,
        "... and 126982 more"),
    "safetensors-duplicate-key": (
        lambda tmp: _corrupt_case(tmp, "duplicate"), _LOAD_LINEAR, "duplicate key 'bias'"),
}


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory):
    """Every case's file built, then all read by one run_isolated_many: {case: result}."""
    calls = [call.format(path=str(build(tmp_path_factory.mktemp(case))))
             for case, (build, call, _) in CASES.items()]
    return dict(zip(CASES, run_isolated_many(calls, tmp_path_factory.mktemp("runner"))))


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_a_clear_error_in_bounded_memory(hostile_results, case):
    message = CASES[case][2]
    result = hostile_results[case]
    print(f"\n{case}: peak RSS {result['rss_mb']:.0f} MB (VmHWM {result['hwm_mb']:.0f} MB); "
          f"{result['error'][:300]}")
    assert result["error"].startswith("ValueError: "), result["error"]
    assert message in result["error"]
    assert max(result["rss_mb"], result["hwm_mb"]) < LIMIT_MB, result


def test_the_runner_measures_a_large_allocation_and_only_its_own(tmp_path):
    """The measurement is real (touching 400 MB shows) and not inherited (a fresh one is small)."""
    result = run_isolated("import numpy; a = numpy.ones(100 * 2**20, 'float32'); "
                          "raise ValueError(str(a[-1]))", tmp_path)
    assert result["error"] == "ValueError: 1.0" and result["rss_mb"] > 400
    ballast = np.ones(50 * 2**20)  # 400 MB here must not count there
    result = run_isolated("import numpy", tmp_path)
    assert result["rss_mb"] < 200 and ballast[-1] == 1
    # The same of run_isolated_many, whose calls are forks of one process: a call's 400 MB
    # shows in its own peak and not in the next call's, nor does this process's ballast.
    big, small = run_isolated_many(["import numpy; a = numpy.ones(100 * 2**20, 'float32'); "
                                    "raise ValueError(str(a[-1]))", "import numpy"], tmp_path)
    assert big["error"] == "ValueError: 1.0" and big["rss_mb"] > 400 and big["hwm_mb"] > 400
    assert small["error"] == "no error" and max(small["rss_mb"], small["hwm_mb"]) < 200
    assert ballast[-1] == 1


def test_load_model_rebuilds_the_saved_weights_exactly(tmp_path):
    from chainrule.experiments import load_model
    from chainrule.io import save_weights
    from chainrule.models import build

    net = build("small_cnn", in_channels=1, num_classes=10, input_size=8,
                rng=np.random.default_rng(0))
    config = {"model": net.config, "dataset": "digits", "classes": _CLASSES,
              "input_shape": [1, 8, 8]}
    save_weights(net, tmp_path / "model.safetensors", config=config)
    loaded, _ = load_model(tmp_path)
    saved = net.state_dict()
    for key, value in loaded.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), saved[key].numpy())


def test_load_model_config_that_does_not_match_the_weights(tmp_path):
    from chainrule.experiments import load_model

    folder = _run_folder(tmp_path, [64, 8, 10])
    with pytest.raises(ValueError, match=r"(?s)do not fit the model.*layers\.1\.weight: the file "
                                         r"has shape \(16, 64\), the model \(8, 64\)"):
        load_model(folder)


def test_load_model_refuses_non_finite_weights(tmp_path):
    from chainrule.experiments import load_model
    from chainrule.io import save_weights
    from chainrule.models import build

    net = build("mlp", sizes=[64, 16, 10], rng=np.random.default_rng(0))
    net.layers[3].bias.data = np.full(10, np.nan, np.float32)
    config = {"model": net.config, "dataset": "digits", "classes": _CLASSES,
              "input_shape": [1, 8, 8]}
    save_weights(net, tmp_path / "model.safetensors", config=config)
    with pytest.raises(ValueError, match=r"weight 'layers\.3\.bias' holds NaN or infinite"):
        load_model(tmp_path)


@pytest.mark.parametrize("change,message", [
    ({"model": "mlp"}, "no chainrule model config"),
    ({"model": {"name": "mlp", "kwargs": {"sizes": [64, 16, 10], "bogus": 1}}},
     "cannot be rebuilt"),
    ({"model": {"name": "no_such_model", "kwargs": {}}}, "unknown model 'no_such_model'"),
    ({"classes": ["a", "b"]}, "the model gives (10,) outputs per image but the config names 2"),
    ({"input_shape": [1, 8]}, "'input_shape' entry is [1, 8], expected [channels, height, width]"),
    ({"classes": "0123456789"}, "'classes' entry is '0123456789'"),
])
def test_predict_refuses_a_damaged_run_config(tmp_path, change, message):
    from chainrule.experiments import predict_images
    from chainrule.io import save_weights
    from chainrule.models import build

    net = build("mlp", sizes=[64, 16, 10], rng=np.random.default_rng(0))
    config = {"model": net.config, "dataset": "digits", "classes": _CLASSES,
              "input_shape": [1, 8, 8], **change}
    save_weights(net, tmp_path / "model.safetensors", config=config)
    np.save(tmp_path / "x.npy", np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError) as err:
        predict_images(tmp_path, [tmp_path / "x.npy"])
    assert message in str(err.value) and str(tmp_path) in str(err.value), str(err.value)


def test_generate_from_a_run_whose_config_is_forged(tmp_path):
    from chainrule.experiments.generative import generate_images
    from chainrule.io import save_weights
    from chainrule.models import build

    net = build("cgan", latent_dim=4, num_classes=3, arch="mlp", image_shape=(1, 8, 8),
                rng=np.random.default_rng(0))
    config = {"model": net.config, "dataset": "digits", "classes": ["a"],
              "input_shape": [1, 8, 8]}
    save_weights(net, tmp_path / "model.safetensors", config=config)
    result = generate_images(tmp_path, n=2, label=2, out=tmp_path / "g.png")
    assert result["label"] == 2  # a class list shorter than the model's classes: the number
    huge = {**config, "model": {**net.config, "kwargs": {**net.config["kwargs"],
                                                        "latent_dim": 10**7}}}
    save_weights(net, tmp_path / "model.safetensors", config=huge)
    with pytest.raises(ValueError, match="more than its weights hold"):
        generate_images(tmp_path, n=2, label=2, out=tmp_path / "g.png")


def test_generate_refuses_a_huge_count_before_loading_anything(tmp_path):
    from chainrule.experiments.generative import MAX_GRID_IMAGES, generate_images

    with pytest.raises(
        ValueError, match=r"generate_images: n must be an int in \[1, 4096\], got 100000000"
    ):
        generate_images(tmp_path / "no-run-here", n=10**8, out=tmp_path / "g.png")
    assert MAX_GRID_IMAGES == 4096 and not (tmp_path / "g.png").exists()
