"""torch.Generator's state methods on chainrule's Generator: get_state/set_state, seed,
clone_state (the numbers are NumPy's; the behaviour is PyTorch's)."""

import numpy as np
import pytest

import chainrule as cr


def test_get_set_state_replays_the_same_numbers():
    g = cr.Generator().manual_seed(11)
    cr.rand(5, generator=g)
    state = g.get_state()
    assert state.dtype == np.uint8 and state.shape == (45,)
    first = cr.randn(4, generator=g).numpy()
    assert g.set_state(state) is g
    np.testing.assert_array_equal(cr.randn(4, generator=g).numpy(), first)
    other = cr.Generator().manual_seed(99)
    other.set_state(state)  # one generator's state into another
    np.testing.assert_array_equal(cr.randn(4, generator=other).numpy(), first)


def test_state_is_a_copy_and_the_default_generator_is_untouched():
    g = cr.Generator().manual_seed(1)
    cr.manual_seed(5)
    before = cr.get_rng_state().numpy()
    s = g.get_state()
    cr.rand(3, generator=g)
    assert not np.array_equal(g.get_state().numpy(), s.numpy())
    np.testing.assert_array_equal(cr.get_rng_state().numpy(), before)


def test_clone_state_and_seed():
    g = cr.Generator().manual_seed(3)
    twin = g.clone_state()
    assert twin is not g and twin.initial_seed() == 3
    np.testing.assert_array_equal(cr.rand(6, generator=g).numpy(),
                                  cr.rand(6, generator=twin).numpy())
    s = g.seed()
    assert isinstance(s, int) and s >= 0 and g.initial_seed() == s
    np.testing.assert_array_equal(cr.rand(3, generator=g).numpy(),
                                  cr.rand(3, generator=cr.Generator().manual_seed(s)).numpy())


def test_bad_state_is_a_clear_error():
    g = cr.Generator()
    with pytest.raises(TypeError, match=r"Generator.set_state: new_state must be the uint8 tensor "
                                        r"of 45 entries.*got float32 \(3,\)"):
        g.set_state(cr.zeros(3))


def test_same_calls_work_in_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (torch, cr):
        g = lib.Generator().manual_seed(7)
        state = g.get_state()
        a = lib.rand(3, generator=g)
        assert g.set_state(state) is g
        assert lib.equal(lib.rand(3, generator=g), a)
        twin = g.clone_state()
        assert lib.equal(lib.rand(2, generator=g), lib.rand(2, generator=twin))
        assert isinstance(g.seed(), int)
