"""chainrule.compile and PyTorch's determinism, cuDNN and matmul-precision switches: accepted,
recorded, and without effect on any result."""

import inspect

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def restore_switches():
    yield
    cr.use_deterministic_algorithms(False)
    cr.set_float32_matmul_precision("highest")
    cr.backends.cudnn.deterministic = cr.backends.cudnn.benchmark = False


def test_compile_returns_the_model_and_changes_no_result():
    net = cr.nn.Sequential(cr.nn.Linear(3, 4, rng=np.random.default_rng(0)), cr.nn.Tanh())
    x = cr.tensor(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))
    before = net(x).numpy()
    assert cr.compile(net) is net
    assert cr.compile(net, mode="max-autotune", fullgraph=True, dynamic=True) is net
    assert cr.compile(backend="eager")(net) is net
    np.testing.assert_array_equal(cr.compile(net)(x).numpy(), before)


def test_compile_as_a_decorator_with_and_without_arguments():
    def f(x):
        return x + 1

    assert cr.compile(f) is f
    assert cr.compile(options={"trace.enabled": True})(f) is f

    @cr.compile
    def g(x):
        return x * 3

    assert g(cr.tensor([2.0])).tolist() == [6.0]
    assert cr.compiler.is_compiling() is False
    assert cr.compiler.disable(f) is f and cr.compiler.disable()(f) is f


def test_compile_refuses_what_torch_refuses():
    with pytest.raises(TypeError, match="compile: model must be a callable .*, got int"):
        cr.compile(3)
    with pytest.raises(RuntimeError, match="either mode or options"):
        cr.compile(lambda x: x, mode="default", options={})
    with pytest.raises(TypeError, match="compile: fullgraph must be True or False, got 1"):
        cr.compile(lambda x: x, fullgraph=1)


def test_deterministic_switch_is_recorded(restore_switches):
    assert cr.are_deterministic_algorithms_enabled() is False
    cr.use_deterministic_algorithms(True, warn_only=True)
    assert cr.are_deterministic_algorithms_enabled() is True
    assert cr.is_deterministic_algorithms_warn_only_enabled() is True
    cr.use_deterministic_algorithms(False)
    assert not cr.are_deterministic_algorithms_enabled()
    assert not cr.is_deterministic_algorithms_warn_only_enabled()
    with pytest.raises(TypeError, match="mode must be True or False, got 'yes'"):
        cr.use_deterministic_algorithms("yes")


def test_matmul_precision_is_recorded_and_products_stay_float32(restore_switches):
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((8, 8)).astype(np.float32) for _ in range(2))
    full = (cr.tensor(a) @ cr.tensor(b)).numpy()
    cr.set_float32_matmul_precision("medium")
    assert cr.get_float32_matmul_precision() == "medium"
    np.testing.assert_array_equal((cr.tensor(a) @ cr.tensor(b)).numpy(), full)
    with pytest.raises(ValueError, match="'highest', 'high' or 'medium', got 'low'"):
        cr.set_float32_matmul_precision("low")


def test_cudnn_switches_are_accepted(restore_switches):
    cudnn = cr.backends.cudnn
    assert (cudnn.deterministic, cudnn.benchmark, cudnn.enabled) == (False, False, True)
    cudnn.deterministic = True
    cudnn.benchmark = True
    assert cr.backends.cudnn.deterministic and cr.backends.cudnn.benchmark
    assert cudnn.is_available() is False and cudnn.version() is None
    matmul = cr.backends.cuda.matmul
    assert matmul.allow_tf32 is False
    matmul.allow_tf32 = True
    assert cr.backends.cuda.matmul.allow_tf32
    matmul.allow_tf32 = False


@pytest.mark.torch
@pytest.mark.parametrize("name", ["compile", "use_deterministic_algorithms",
                                  "set_float32_matmul_precision"])
def test_signatures_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = inspect.signature(getattr(cr, name)).parameters
    theirs = inspect.signature(getattr(torch, name)).parameters
    assert [(k, p.kind) for k, p in ours.items()] == [(k, p.kind) for k, p in theirs.items()]
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


def test_device_probes_of_a_ported_script_pick_the_cpu_without_a_gpu():
    """The idiom ``"cuda" if torch.cuda.is_available() else "mps" if
    torch.backends.mps.is_available() else "cpu"`` runs and never picks Metal."""
    assert cr.backends.mps.is_available() is False and cr.backends.mps.is_built() is False
    assert cr.backends.cudnn.is_available() is False
    built = cr.backends.cuda.is_built()
    assert isinstance(built, bool)
    if cr.cuda.is_available():
        assert built  # a GPU seen through CuPy means CuPy is there
    device = ("cuda" if cr.cuda.is_available()
              else "mps" if cr.backends.mps.is_available() else "cpu")
    assert device in ("cuda", "cpu")
    assert str(cr.zeros(2, device=device).device) == device


def test_cuda_is_built_says_whether_cupy_is_installed(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "cupy" else real(name, *a))
    assert cr.backends.cuda.is_built() is False
