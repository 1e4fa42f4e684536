"""Fuzz wave 24: the grad-mode decorators against PyTorch 2.13. On a generator function they
hold for every step of the generator (they held only while it was created, so ``@no_grad()`` on
a batch generator recorded graphs), ``@no_grad``/``@enable_grad`` work without the call, and
``set_grad_enabled`` refuses a mode that is not a bool instead of reading its truthiness."""

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _steps(lib, deco):
    """What a decorated generator sees at each step (sent values and its return value too)."""

    @deco
    def gen(x):
        yield (x * 2).requires_grad, lib.is_grad_enabled()
        sent = yield lib.is_grad_enabled()
        yield sent, lib.is_grad_enabled()
        return "done"

    g = gen(lib.ones(2, requires_grad=True))
    seen = [next(g), lib.is_grad_enabled(), next(g), g.send(7)]
    with pytest.raises(StopIteration) as stop:
        next(g)
    return seen + [stop.value.value, lib.is_grad_enabled()]


DECORATORS = {
    "no_grad()": lambda lib: lib.no_grad(),
    "no_grad": lambda lib: lib.no_grad,
    "enable_grad": lambda lib: lib.enable_grad,
    "inference_mode()": lambda lib: lib.inference_mode(),
    "set_grad_enabled(False)": lambda lib: lib.set_grad_enabled(False),
}


@pytest.mark.parametrize("name", sorted(DECORATORS))
@pytest.mark.parametrize("outer", [True, False])
def test_decorated_generator_runs_each_step_in_the_mode(name, outer):
    results = []
    for lib in (torch, cr):
        with lib.set_grad_enabled(outer):
            results.append(_steps(lib, DECORATORS[name](lib)))
    assert results[1] == results[0]


def test_thrown_and_closed_generators_restore_the_mode():
    for lib in (torch, cr):

        @lib.no_grad()
        def gen():
            try:
                yield 1
            except ValueError:
                yield lib.is_grad_enabled()
            yield 2

        g = gen()
        next(g)
        assert g.throw(ValueError) is False and lib.is_grad_enabled()
        g.close()
        assert lib.is_grad_enabled()


def test_bare_decorators_on_functions():
    x = cr.ones(2, requires_grad=True)
    assert cr.no_grad(lambda t: t * 2)(x).requires_grad is False
    with cr.no_grad():
        assert cr.enable_grad(lambda t: t * 2)(x).requires_grad is True
    with pytest.raises(TypeError, match="no_grad.. takes no arguments .or a function"):
        cr.no_grad(5)


@pytest.mark.parametrize("mode", [0, 1, "no", None])
def test_set_grad_enabled_takes_a_bool(mode):
    with pytest.raises(TypeError):
        torch.set_grad_enabled(mode)
    with pytest.raises(TypeError, match=f"mode must be a bool, got {type(mode).__name__}"):
        cr.set_grad_enabled(mode)
    assert cr.is_grad_enabled()
