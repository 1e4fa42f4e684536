"""Every command-line test runs in its own temporary folder, so that a default output path
(``runs/MODEL-DATASET-TIME``, ``grid.png``) never lands in the clone."""

import pytest


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
