"""set_printoptions / get_printoptions (backend/printing.py over chainrule.config.print_options)
against torch.set_printoptions: the options' semantics (profiles, sci_mode reset on every call),
the numbers shown, which elements a summary keeps, line widths, and exact strings
(tests/test_fuzz15_print.py compares the strings over random tensors)."""

import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend.settings import PrintOptions


@pytest.fixture
def both():
    """PyTorch and chainrule, their print options restored afterwards (both are global)."""
    torch = pytest.importorskip("torch")
    from torch._tensor_str import get_printoptions as torch_options

    before = cr.config.print_options
    try:
        yield torch, torch_options
    finally:
        torch.set_printoptions(profile="default")
        cr.config.print_options = before


def _set(torch, **kwargs):
    torch.set_printoptions(**kwargs)
    cr.set_printoptions(**kwargs)


def _shown(text):
    """The numbers a repr shows, in order, and how many '...' it has."""
    body = text.split("dtype=")[0]
    return [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[+-]\d+)?", body)], body.count("...")


def test_the_options_follow_torchs_rules(both):
    torch, torch_options = both
    calls = [dict(precision=3), dict(sci_mode=True, edgeitems=1), dict(linewidth=120),
             dict(profile="short"), dict(profile="full", precision=6), dict(threshold=10),
             dict(profile="default")]
    defaults = cr.get_printoptions()
    for kwargs in calls:
        _set(torch, **kwargs)
        assert cr.get_printoptions() == torch_options(), kwargs
    assert cr.get_printoptions() == defaults
    assert isinstance(cr.config.print_options, PrintOptions)


def test_exact_strings_where_the_formats_coincide(both):
    torch, _ = both
    values = [1.123456, 2.718281, -3.141592]
    for kwargs in (dict(precision=2), dict(precision=3), dict(precision=4, sci_mode=True),
                   dict(precision=2, sci_mode=True)):
        _set(torch, **kwargs)
        assert repr(cr.tensor(values)) == repr(torch.tensor(values)), kwargs
    _set(torch, precision=3, sci_mode=True)
    mixed = [[1e-5, 1.0], [300.0, 2e6]]
    assert repr(cr.tensor(mixed)) == repr(torch.tensor(mixed))


@pytest.mark.parametrize("shape", [(2000,), (40, 30), (3, 20, 20)])
@pytest.mark.parametrize("kwargs", [{}, dict(threshold=50, edgeitems=2), dict(edgeitems=1),
                                    dict(profile="full", precision=2), dict(profile="short")])
def test_summaries_show_the_same_elements(both, shape, kwargs):
    torch, torch_options = both
    values = np.arange(math.prod(shape), dtype="float32").reshape(shape) / 8
    _set(torch, **kwargs)
    ours, theirs = _shown(repr(cr.tensor(values))), _shown(repr(torch.tensor(values)))
    assert ours[1] == theirs[1]
    digits = min(cr.get_printoptions()["precision"], torch_options()["precision"])
    np.testing.assert_allclose(ours[0], theirs[0], rtol=10.0 ** -digits, atol=10.0 ** -digits)


def test_linewidth_and_sci_mode_behave_as_torchs(both):
    torch, _ = both
    values = np.linspace(-1, 1, 40).astype("float32") / 3
    for width in (40, 80, 150):
        _set(torch, linewidth=width, precision=4)
        for text in (repr(cr.tensor(values)), repr(torch.tensor(values))):
            assert max(len(line) for line in text.splitlines()) <= width
    lines = {}
    for width in (40, 150):
        _set(torch, linewidth=width, precision=4)
        lines[width] = [len(repr(t).splitlines()) for t in (cr.tensor(values),
                                                            torch.tensor(values))]
    assert lines[40][0] > lines[150][0] and lines[40][1] > lines[150][1]
    small = [1e-9, 1.0, 2.5]
    _set(torch, sci_mode=False, precision=4)
    sci = re.compile(r"\de[+-]\d")
    assert not sci.search(repr(cr.tensor(small))) and not sci.search(repr(torch.tensor(small)))
    _set(torch, sci_mode=None, precision=4)
    assert sci.search(repr(cr.tensor(small))) and sci.search(repr(torch.tensor(small)))
    _set(torch, sci_mode=True, precision=4)
    assert repr(cr.tensor([1.0, 2.5])) == repr(torch.tensor([1.0, 2.5]))
    z = np.array([1 + 2j, 0.5 - 0.5j], dtype="complex64")
    assert cr.tensor(z).__repr__().startswith("tensor([1.0000e+00+2.0000e+00j, "
                                              "5.0000e-01-5.0000e-01j]")


def test_bad_options_are_refused_and_leave_the_options_alone(both):
    before = cr.get_printoptions()
    for kwargs, message in [(dict(precision=-1), "precision an int >= 0, got -1"),
                            (dict(edgeitems=1.5), "edgeitems an int >= 0, got 1.5"),
                            (dict(threshold="all"), "threshold a number >= 0"),
                            (dict(profile="long"), "profile must be 'default', 'short' or")]:
        with pytest.raises(ValueError, match=f"set_printoptions: .*{re.escape(message)}"):
            cr.set_printoptions(**kwargs)
    assert cr.get_printoptions() == before
