"""PyTorch's ``torch.version`` module (``torch.version.cuda`` in environment checks):
chainrule.version has its public names; the toolkit entries are None as in a CPU-only build."""

import pytest

import chainrule as cr


@pytest.mark.torch
def test_version_module_names_match_torch():
    torch = pytest.importorskip("torch")
    theirs = {n for n in dir(torch.version) if not n.startswith("_") and n != "Optional"}
    ours = {n for n in dir(cr.version) if not n.startswith("_")}
    assert theirs <= ours, theirs - ours
    assert cr.version.__version__ == cr.__version__
    assert isinstance(cr.version.git_version, str) and cr.version.debug is False


def test_version_says_no_gpu_toolkit():
    assert cr.version.cuda is None and cr.version.hip is None and cr.version.rocm is None
    import chainrule.version as v

    assert v is cr.version and "version" in cr.__all__
