"""The python blocks of docs/generative.md run, in order, and print what the text says."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "generative.md"


def test_generative_guide_snippets_run(capsys):
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)
    assert len(blocks) >= 3
    namespace: dict = {"__name__": "generative_guide"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/generative.md block {i}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - report which block failed
            pytest.fail(f"docs/generative.md python block {i} failed: {error!r}\n{block}")
    out = capsys.readouterr().out
    assert "(5, 1, 8, 8) (5, 2)" in out and "True" in out
    assert "['d_fake', 'd_loss', 'd_real', 'g_loss']" in out and "(8, 1, 8, 8)" in out
