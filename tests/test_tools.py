"""tools/trace_path.py (issue 16, item 3) runs and prints the table of what one call executes."""

import re

import pytest

import chainrule as cr

ROWS = ["`nn.Linear` forward + backward", "`nn.Conv2d` forward + backward",
        "`(x*2).exp().sum().backward()`", "`Adam.step()`", "one LeNet-5 SGD step"]


@pytest.fixture
def trace_path(load_script):
    return load_script("tools/trace_path.py")


def _table_rows(text):
    """The Markdown table's body: {label: (files, functions, lines)}."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"\| (.+?) \| (\d+) \| (\d+) \| (\d+) \| (.+) \|$", line)
        if match:
            rows[match[1]] = tuple(int(match[i]) for i in (2, 3, 4))
    return rows


def test_smallest_path_counts_chainrule_code(trace_path, capsys):
    jit = cr.config.jit
    assert trace_path.main(["--paths", "adam", "--markdown", "--list"]) == 0
    out = capsys.readouterr().out
    assert "numba off" in out and "warmed up once untraced" in out
    files, functions, lines = _table_rows(out)["`Adam.step()`"]
    assert 0 < files <= functions <= lines
    listed = re.findall(r"^    (\S+\.py):(\S+)$", out, flags=re.M)
    assert len(listed) == functions
    assert any(file.startswith("optim/") for file, _ in listed)
    assert cr.config.jit == jit  # the setting comes back


def test_table_has_a_row_per_path(trace_path):
    results = trace_path.measure()
    rows = _table_rows(trace_path.markdown(results))
    assert list(rows) == ROWS
    assert all(0 < files <= functions <= lines for files, functions, lines in rows.values())
    lenet = results[-1]
    assert "models/lenet.py:LeNet5.forward" in lenet.functions
    assert len(lenet.files) == rows[ROWS[-1]][0]


def test_reference_flag_traces_the_plain_kernels(trace_path, capsys):
    assert trace_path.main(["--paths", "linear", "--reference", "--list"]) == 0
    out = capsys.readouterr().out
    assert "reference mode" in out
    assert "kernels/gemm.py:affine_reference" in out and "kernels/gemm.py:_routed" not in out
    assert not cr.config.reference_mode  # restored
