"""The Python blocks of the pages no other test runs: README.md, docs/sparse.md, docs/fft.md,
docs/configuration.md and docs/pytorch.md's data-loading examples, run as a reader would, with
what their comments promise checked (the other guides: grep ``run_guide(`` in tests/)."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import datasets

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


def test_readme_tour_runs(capsys, run_guide):
    tour = run_guide("README.md", min_blocks=2)
    assert capsys.readouterr().out.splitlines() == ["(3, 2)"]  # w.grad.shape
    assert (tour["dt"].item(), tour["ddt"].item()) == (27.0, 18.0)  # "# 27.0 and 18.0"
    assert tour["trainer"].metrics and tour["model"][1].weight.shape == (32, 64)


def test_sparse_guide_runs(run_guide):
    page = run_guide("docs/sparse.md", min_blocks=1)
    s = page["s"]
    assert s.to_dense().tolist() == [[0, 0, 3], [9, 0, 0]]
    assert not s.is_coalesced() and s.coalesce().values().tolist() == [3.0, 9.0]
    assert (s._nnz(), s.sparse_dim(), s.dense_dim()) == (3, 2, 0)
    with pytest.raises(RuntimeError, match="coalesce"):  # "indices()/values() need a coalesced"
        s.values()


def test_fft_guide_runs(run_guide):
    page = run_guide("docs/fft.md", min_blocks=1)
    assert page["X"].shape == (8, 33) and page["X"].dtype == cr.complex64  # "(8, 33) complex64"
    assert page["x"].grad.dtype == cr.float32  # "x.grad is real"


@pytest.fixture
def config_restored():
    saved = {name: getattr(cr.config, name) for name in ("reference_mode", "keep_columns_mib")}
    yield
    for name, value in saved.items():
        setattr(cr.config, name, value)


def test_configuration_page_runs(capsys, run_guide, config_restored):
    before = repr(cr.config)  # other tests may have set threads or jit: the page shows defaults
    run_guide("docs/configuration.md", min_blocks=1)
    printed = capsys.readouterr().out
    assert printed == before + "\n"
    assert re.match(r"Config\(threads=\S+, jit=\w+, gpu_kernels=\w+, ", printed)
    assert cr.config.reference_mode is True and cr.config.keep_columns_mib == 0


def test_configuration_page_table_gives_the_defaults():
    """The table's default column, against the settings' own defaults."""
    from chainrule.backend.settings import SETTINGS

    page = (REPO / "docs" / "configuration.md").read_text()
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(
        r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", page, flags=re.M)}
    assert set(rows) == set(SETTINGS)
    for name in ("threads", "jit", "gpu_kernels", "reference_mode", "malloc_tuning",
                 "keep_columns_mib"):
        default = SETTINGS[name].default
        assert rows[name] == (f'`"{default}"`' if isinstance(default, str) else f"`{default}`")
    assert f"`{SETTINGS['print_options'].default!r}`" in rows["print_options"]
    assert rows["default_dtype"] == str(np.dtype(SETTINGS["default_dtype"].default))
    assert rows["default_device"] == SETTINGS["default_device"].default


def _blocks(page):
    return re.findall(r"^```python\n(.*?)^```", (REPO / page).read_text(), flags=re.S | re.M)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="MNIST is not at ../shared/data/mnist")
def test_pytorch_page_mnist_example_runs(monkeypatch):
    monkeypatch.chdir(REPO)  # the example's path, "../shared/data/mnist", is from the clone
    namespace = {"__name__": "pytorch_md"}
    exec(compile(_blocks("docs/pytorch.md")[0], "docs/pytorch.md block 0", "exec"), namespace)
    images, labels = next(iter(namespace["loader"]))
    assert images.shape == (1000, 1, 28, 28) and images.dtype == cr.float32
    assert labels.tolist()[:5] == [7, 2, 1, 0, 4]


def _twelve_images(root, download):
    """Stands in for the 170 MB download: twelve random 32x32 colour images, both splits."""
    assert (root, download) == ("./data", True)  # the example's arguments reach the reader
    rng = np.random.default_rng(0)
    split = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 12)
    return split, split


class _FakeCIFAR10(datasets.CIFAR10):
    _load = staticmethod(_twelve_images)


def test_pytorch_page_cifar10_example_runs():
    """The CIFAR-10 example's dataset class, transforms and loader (two workers), on stand-in
    images."""
    import chainrule as torch
    from chainrule.vision import transforms

    namespace = {"__name__": "pytorch_md", "torch": torch, "transforms": transforms,
                 "datasets": type("datasets", (), {"CIFAR10": _FakeCIFAR10})}
    exec(compile(_blocks("docs/pytorch.md")[1], "docs/pytorch.md block 1", "exec"), namespace)
    images, labels = next(iter(namespace["loader"]))
    assert images.shape == (12, 3, 32, 32) and images.dtype == cr.float32
    assert labels.shape == (12,)


def _quoted_error(start):
    """The error pytorch.md's "What is not supported" table quotes, found by its start."""
    text = (REPO / "docs" / "pytorch.md").read_text()
    return re.search("`(" + re.escape(start) + "[^`]*)`", text).group(1)


def test_pytorch_page_quotes_the_export_and_sparse_errors_the_code_gives():
    pytest.importorskip("onnx")
    import io

    with pytest.raises(cr.onnx.UnsupportedOperatorError) as error:
        cr.onnx.export(lambda x: cr.lgamma(x), cr.rand(3) + 1, io.BytesIO())
    assert f"UnsupportedOperatorError: {error.value}" == _quoted_error(
        "UnsupportedOperatorError: export:")
    with pytest.raises(RuntimeError, match="^export: trace: "):  # "TraceError: export: trace: ..."
        cr.onnx.export(lambda x: x[x > 0].sum(), cr.randn(4), io.BytesIO())
    s = cr.sparse_coo_tensor([[0, 1], [2, 0]], [3.0, 4.0], (2, 3))
    with pytest.raises(TypeError) as error:
        cr.ones(2, 3) * s
    assert f"TypeError: {error.value}" == _quoted_error("TypeError: mul: expected")
    assert (cr.ones(2, 3) + s).tolist() == [[1, 1, 4], [5, 1, 1]]  # `+` is no longer refused


def _says(quoted, error):
    """The error reads as quoted: its type, then the quote's parts ("..." elides) in order."""
    said, at = f"{type(error).__name__}: {error}", 0
    for part in quoted.split("..."):
        found = said.find(part, at)
        assert found >= 0, f"{said!r} does not read as {quoted!r}"
        at = found + len(part)


@pytest.mark.filterwarnings("ignore:`torch.jit.(script|save)` is deprecated:DeprecationWarning")
def test_pytorch_page_quotes_the_errors_of_torch_files_chainrule_does_not_read(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), tmp_path / "module.pt")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "script.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's notes on quantized and sparse tensors
        quantized = torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8)
        torch.save({"q": quantized}, tmp_path / "quantized.pt")
        torch.save({"s": torch.eye(2).to_sparse_bsr(1)}, tmp_path / "bsr.pt")  # COO, CSR, CSC load
    torch.save({"b": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bfloat16.pt")
    for name, start in (("module", "PickleError: load: the file refers"),
                        ("script", "ValueError: load: the file is a TorchScript"),
                        ("quantized", "PickleError: load: the file holds a kind"),
                        ("bsr", "ValueError: load: the file holds a tensor of layout"),
                        ("bfloat16", "ValueError: load: the file holds a bfloat16")):
        with pytest.raises(ValueError) as error:
            cr.load(tmp_path / f"{name}.pt")
        _says(_quoted_error(start), error.value)


def test_fft_page_quotes_the_errors_the_code_gives():
    """fft.md's "Errors name the argument" list, each error of the type the page gives."""
    text = " ".join((REPO / "docs" / "fft.md").read_text().split())
    quotes = re.search(r"Errors name the argument: (.*?)\. \(PyTorch", text).group(1)
    quoted = re.findall(r"`([^`]+)`", quotes)
    x = cr.ones(4, 4)
    calls = {"fft: invalid": (ValueError, lambda: cr.fft.fft(x, n=0)),
             "fft: dim": (IndexError, lambda: cr.fft.fft(x, dim=2)),
             "fft: norm": (ValueError, lambda: cr.fft.fft(x, norm="bad")),
             "rfft:": (TypeError, lambda: cr.fft.rfft(x.to(cr.complex128))),
             "fftn:": (ValueError, lambda: cr.fft.fftn(x, s=(4,), dim=(0, 1)))}
    assert len(quoted) == len(calls)
    for quote in quoted:
        kind, call = next(v for k, v in calls.items() if quote.startswith(k))
        with pytest.raises(kind) as error:
            call()
        assert str(error.value).startswith(quote)


def test_pytorch_page_quotes_the_error_of_a_write_beside_a_live_view():
    """The row's example, `buf[1] = h` after `row = buf[0]`, gives the error it quotes."""
    buf, h = cr.zeros(2, 2), cr.ones(2, requires_grad=True)
    row = buf[0]  # noqa: F841 - the live view
    with pytest.raises(RuntimeError) as error:
        buf[1] = h
    _says(_quoted_error("RuntimeError: __setitem__: the tensor of shape"), error.value)
