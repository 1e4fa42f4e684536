"""benchmarks/text_ngram.py stays runnable: its --quick run writes its table and JSON."""

import json
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")
def test_text_ngram_quick_run(tmp_path, load_script, monkeypatch):
    pytest.importorskip("sklearn")
    bench = load_script("benchmarks/text_ngram.py")
    for var in bench.THREAD_VARS:  # the script sets them; leave the test process as it was
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    out = tmp_path / "T.md"
    assert bench.main(["--quick", "--data-dir", str(SHARED), "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    sms = report["datasets"]["sms_spam"]
    assert sms["n_train"] == 3902 and sms["n_test"] == 1114
    assert [r["n_train"] for r in sms["learning_curve"]] == [976, 3902]
    assert sms["chainrule"][-1]["test_accuracy"] > 0.97
    assert "| chainrule Adam | epoch 3 |" in out.read_text()
