"""Anomaly detection (``detect_anomaly``): NaN gradients named by node, forward stacks in the
warning, the mode's state, and PyTorch as the oracle for which node fails and how it is worded."""

from __future__ import annotations

import inspect
import threading
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.anomaly_mode import AnomalyError

torch = pytest.importorskip("torch")

SLOW = "Anomaly Detection has been enabled"
TRACE = "Traceback of forward call that caused the error:"


def detect(lib=cr, **kwargs):
    """``lib.autograd.detect_anomaly(**kwargs)``, its slowness warning checked and consumed."""
    with pytest.warns(UserWarning, match=SLOW):
        return lib.autograd.detect_anomaly(**kwargs)


def here() -> int:
    """The line number of the caller's next line."""
    return inspect.currentframe().f_back.f_lineno + 1


def failure(lib, program):
    """Run ``program(lib)`` under anomaly mode: (the error's message or None, warning texts)."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            with lib.autograd.detect_anomaly():
                program(lib)
        except RuntimeError as err:
            message = str(err)
        else:
            message = None
    return message, [str(w.message) for w in caught]


def _zeros(lib, *shape):
    dtype = cr.float64 if lib is cr else torch.float64
    return lib.zeros(*shape, dtype=dtype, requires_grad=True)


def _custom(lib):
    """A custom Function (tensor, int, tensor) whose backward gives 0/0 for its second tensor."""

    class ZeroOverZero(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k, b):
            ctx.save_for_backward(b)
            return a * k + b

        @staticmethod
        def backward(ctx, g):
            (b,) = ctx.saved_tensors
            return g, None, g * b / b

    return ZeroOverZero


PROGRAMS = {
    # program(lib); chainrule's node name, PyTorch's; the gradient's index in both
    "sqrt at 0 times 0": (lambda L: (L.sqrt(_zeros(L, 3)) * 0).sum().backward(),
                          "Sqrt", "SqrtBackward0", 0),
    "log of 0 times 0": (lambda L: (L.log(_zeros(L, 3)) * 0).sum().backward(),
                         "Log", "LogBackward0", 0),
    "0/0 in a custom backward": (lambda L: _custom(L).apply(_zeros(L, 2) + 1, 3, _zeros(L, 2))
                                 .sum().backward(), "ZeroOverZeroBackward",
                                 "ZeroOverZeroBackward", 1),
    "division by a zero norm": (lambda L: (lambda x: (x / x.norm()).sum().backward())(
                                _zeros(L, 3)), "Div", "DivBackward0", 1),
    "sqrt of a zero sum of squares": (lambda L: (lambda x: L.sqrt((x * x).sum()).backward())(
                                      _zeros(L, 3)), "Mul", "MulBackward0", 0),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_the_same_node_fails_as_in_pytorch(name):
    program, ours, theirs, index = PROGRAMS[name]
    message, texts = failure(cr, program)
    expected, torch_texts = failure(torch, program)
    assert expected == f"Function '{theirs}' returned nan values in its {index}th output."
    assert message == f"Function '{ours}' returned nan values in its {index}th output."
    assert any(f"Error detected in {ours}. {TRACE}" in t for t in texts)
    assert any(f"Error detected in {theirs}. {TRACE}" in t for t in torch_texts)


def test_the_error_is_a_runtime_error_and_the_warning_shows_the_forward_line():
    x = cr.zeros(3, requires_grad=True)
    with detect(), np.errstate(all="ignore"):
        line = here()
        y = cr.log(x) * 0  # the offending forward statement
        loss = y.sum()
        with pytest.warns(UserWarning, match=TRACE) as caught, pytest.raises(AnomalyError):
            loss.backward()
    assert issubclass(AnomalyError, RuntimeError)
    text = next(str(w.message) for w in caught if TRACE in str(w.message))
    assert text.startswith(f"Error detected in Log. {TRACE}\n")
    assert f'File "{__file__}", line {line}, in ' in text
    assert "y = cr.log(x) * 0  # the offending forward statement" in text
    assert "autograd/function.py" not in text  # the engine's own frames are left out


def test_disabled_mode_changes_nothing():
    assert not cr.is_anomaly_enabled()
    x = cr.zeros(3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of ours either
        with np.errstate(all="ignore"):
            y = cr.sqrt(x) * 0
            y.sum().backward()
    assert np.isnan(x.grad.numpy()).all()  # the silent NaN anomaly mode exists to catch
    assert not hasattr(y.grad_fn, "_anomaly")  # no stack recorded


def test_check_nan_false_only_records_stacks():
    x = cr.zeros(3, requires_grad=True)
    with detect(check_nan=False), np.errstate(all="ignore"):
        assert cr.is_anomaly_enabled() and not cr.is_anomaly_check_nan_enabled()
        y = cr.sqrt(x) * 0
        stack, parent = y.grad_fn._anomaly  # where it was made; no backward was running
        assert any(f.line == "y = cr.sqrt(x) * 0" for f in stack) and parent is None
        y.sum().backward()  # no error: check_nan is off
    assert np.isnan(x.grad.numpy()).all()
    assert cr.is_anomaly_check_nan_enabled()


class Failing(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        raise ValueError("Some error in backward")


def test_any_backward_error_warns_with_the_forward_stack_and_propagates_unchanged():
    x = cr.ones(3, requires_grad=True)
    with detect(check_nan=False):
        line = here()
        y = Failing.apply(x)
        with pytest.warns(UserWarning, match=TRACE) as caught, \
                pytest.raises(ValueError, match="Some error in backward"):
            y.sum().backward()
    (text,) = [str(w.message) for w in caught if TRACE in str(w.message)]
    assert text.startswith(f"Error detected in FailingBackward. {TRACE}")
    assert f"line {line}, in " in text and "y = Failing.apply(x)" in text
    with pytest.raises(ValueError, match="Some error in backward"):  # off: no warning
        Failing.apply(x).sum().backward()


def test_a_node_made_before_the_mode_was_on_says_so():
    x = cr.ones(3, requires_grad=True)
    y = Failing.apply(x)
    with detect(), pytest.warns(UserWarning, match="No forward pass information available"), \
            pytest.raises(ValueError):
        y.sum().backward()


def test_grad_and_hooks_are_checked():
    x = cr.ones(3, requires_grad=True)
    with detect(), np.errstate(all="ignore"):
        y = x * 2
        y.register_hook(lambda g: g * float("nan"))
        with pytest.warns(UserWarning, match=TRACE), \
                pytest.raises(AnomalyError, match="Function 'Mul' returned nan values in its 0th"):
            cr.autograd.grad(y.sum(), x)
        z = x * 3
        z.register_hook(lambda g: 1 / 0)  # an error in a hook names the node it belongs to
        with pytest.warns(UserWarning, match=f"Error detected in Mul. {TRACE}"), \
                pytest.raises(ZeroDivisionError):
            z.sum().backward()


@pytest.mark.torch
def test_create_graph_names_the_node_and_the_calculation_that_induced_it():
    def program(lib):
        x = _zeros(lib, 1)
        (g,) = lib.autograd.grad(x.pow(3).sum(), x, create_graph=True)
        lib.autograd.grad(lib.sqrt(g).sum(), x)

    message, texts = failure(cr, program)
    expected, torch_texts = failure(torch, program)
    assert expected == "Function 'PowBackward0' returned nan values in its 0th output."
    assert message == "Function 'Pow' returned nan values in its 0th output."
    induced = "Previous calculation was induced by {}. Traceback of forward call that induced"
    assert any(induced.format("PowBackward0") in t for t in torch_texts)
    (text,) = [t for t in texts if induced.format("Pow") in t]
    assert "x.pow(3).sum()" in text  # the forward line of the node whose backward made it


def test_state_functions_nesting_and_restoring():
    assert (cr.is_anomaly_enabled(), cr.is_anomaly_check_nan_enabled()) == (False, True)
    assert (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()) == (False, True)
    assert cr.autograd.anomaly_mode.detect_anomaly is cr.autograd.detect_anomaly
    outer = detect()
    with outer:
        with cr.autograd.set_detect_anomaly(False):
            assert not cr.is_anomaly_enabled()
            with detect(check_nan=False):
                assert cr.autograd.is_anomaly_enabled()
                assert not cr.autograd.is_anomaly_check_nan_enabled()
            assert not cr.is_anomaly_enabled() and cr.is_anomaly_check_nan_enabled()
        assert cr.is_anomaly_enabled()
        with pytest.raises(KeyError), outer:  # re-entered, left by an error
            raise KeyError("x")
        assert cr.is_anomaly_enabled()
    assert not cr.is_anomaly_enabled()
    switch = cr.autograd.set_detect_anomaly(True, check_nan=False)  # a plain call sets it
    assert cr.is_anomaly_enabled() and not cr.is_anomaly_check_nan_enabled()
    switch.__exit__(None, None, None)
    assert (cr.is_anomaly_enabled(), cr.is_anomaly_check_nan_enabled()) == (False, True)
    cr.set_anomaly_enabled(True)
    assert cr.is_anomaly_enabled()
    cr.set_anomaly_enabled(False)
    assert not cr.is_anomaly_enabled()


def test_bad_arguments_are_type_errors():
    with pytest.raises(TypeError, match="enabled must be True or False, got 'yes'"):
        cr.set_anomaly_enabled("yes")
    with pytest.raises(TypeError, match="check_nan must be True or False, got 1"):
        cr.autograd.set_detect_anomaly(True, 1)
    with pytest.raises(TypeError, match="check_nan must be True or False, got None"):
        cr.autograd.detect_anomaly(None)
    assert not cr.is_anomaly_enabled()


def test_the_slowness_warning_is_pytorchs():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr.autograd.detect_anomaly()
        torch.autograd.detect_anomaly()
    assert str(caught[0].message) == str(caught[1].message)
    assert caught[0].filename == __file__  # it points at the caller


def test_decorator_form():
    @detect()
    def step(x):
        assert cr.is_anomaly_enabled()
        return (cr.sqrt(x) * 0).sum().backward()

    x = cr.zeros(2, requires_grad=True)
    with np.errstate(all="ignore"), pytest.warns(UserWarning, match=TRACE), \
            pytest.raises(AnomalyError, match="'Sqrt'"):
        step(x)
    assert not cr.is_anomaly_enabled()


def test_the_mode_is_thread_local():
    seen = {}

    def other(key, turn_on):
        if turn_on:
            cr.set_anomaly_enabled(True, False)
        seen[key] = (cr.is_anomaly_enabled(), cr.is_anomaly_check_nan_enabled())

    with detect(check_nan=False):
        t = threading.Thread(target=other, args=("inside", False))
        t.start()
        t.join()
    t = threading.Thread(target=other, args=("set there", True))
    t.start()
    t.join()
    assert seen == {"inside": (False, True), "set there": (True, False)}
    assert (cr.is_anomaly_enabled(), cr.is_anomaly_check_nan_enabled()) == (False, True)


@pytest.mark.torch
def test_inf_is_not_flagged():
    for lib in (cr, torch):
        x = _zeros(lib, 2)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly():
                (1 / x).sum().backward()
        assert np.isneginf(np.asarray(x.grad.detach())).all()


def test_in_place_ops_record_their_stack():
    x = cr.ones(3, requires_grad=True)
    with detect(check_nan=False):
        y = x * 1
        y.mul_(2)
        assert isinstance(y.grad_fn._anomaly, tuple)


def test_trainer_fit_under_detect_anomaly():
    from chainrule import nn, optim
    from chainrule.train import Trainer

    def loss(out, target):
        return cr.sqrt(((out - target) * 0) ** 2).mean()  # sqrt's inf at 0, times 0: NaN

    model = nn.Linear(3, 1, rng=np.random.default_rng(0))
    trainer = Trainer(model, loss, optim.SGD(model.parameters(), lr=0.1))
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32)
    with detect(), np.errstate(all="ignore"), pytest.warns(UserWarning, match=TRACE) as caught, \
            pytest.raises(AnomalyError, match="Function 'Pow' returned nan values"):
        trainer.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert any("return cr.sqrt(((out - target) * 0) ** 2).mean()" in str(w.message)
               for w in caught)


def test_cli_train_flag(monkeypatch, capsys):
    import importlib

    from chainrule.cli import main

    main_module = importlib.import_module("chainrule.cli.main")

    def fake_train(*args, **kwargs):
        assert cr.is_anomaly_enabled() and cr.is_anomaly_check_nan_enabled()
        raise AnomalyError("Function 'Sqrt' returned nan values in its 0th output.")

    monkeypatch.setattr(main_module.experiments, "train_classifier", fake_train)
    with pytest.warns(UserWarning, match=SLOW):
        status = main(["train", "mlp", "--detect-anomaly", "--quiet"])
    assert status == main_module.EXIT_DIVERGED
    assert "chainrule: error: Function 'Sqrt' returned nan" in capsys.readouterr().err
    assert not cr.is_anomaly_enabled()


class RawSqrt(cr.autograd.function.Function):
    """sqrt with a backward on raw arrays; ``create_graph`` differentiates ``composite``."""

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, g):
        return cr.Tensor(g._data / (2 * np.sqrt(self.inputs[0]._data)))

    def composite(self, x):
        return cr.sqrt(x)


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_backward_on_raw_arrays_is_checked_on_either_path(create_graph):
    x = cr.zeros(2, dtype=cr.float64, requires_grad=True)
    with detect(), np.errstate(all="ignore"):
        y = (RawSqrt.apply(x) * 0).sum()
        with warnings.catch_warnings(record=True) as caught, \
                pytest.raises(AnomalyError) as err:
            warnings.simplefilter("always")
            cr.autograd.grad(y, x, create_graph=create_graph)
    texts = [str(w.message) for w in caught if "detected" in str(w.message)]
    if not create_graph:  # the node's own backward
        assert str(err.value) == "Function 'RawSqrt' returned nan values in its 0th output."
        assert len(texts) == 1
    else:  # its composite's walk: the sqrt made there, reported once, induced by RawSqrt
        assert str(err.value) == "Function 'Sqrt' returned nan values in its 0th output."
        assert len(texts) == 1 and texts[0].startswith("Error detected in Sqrt.")
        assert any("Previous calculation was induced by RawSqrt." in str(w.message)
                   for w in caught)
