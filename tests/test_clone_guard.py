"""The session guard of conftest.py: what a test run must not leave in the clone."""

import shutil
import subprocess

import pytest


def test_the_guard_sees_root_entries_and_runs_folders(tmp_path, load_script):
    guard = load_script("tests/conftest.py")
    (tmp_path / "runs").mkdir()
    before = guard._outputs(tmp_path)
    (tmp_path / "runs" / "mlp-digits-20260101-000000").mkdir()
    (tmp_path / "gan-run").mkdir()
    (tmp_path / ".pytest_cache").mkdir()  # the test tools' own folders are no output
    assert guard._left_behind(before, tmp_path) == ["gan-run", "runs/mlp-digits-20260101-000000"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_guard_sees_untracked_files_git_does_not_ignore(tmp_path, load_script):
    guard = load_script("tests/conftest.py")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "docs").mkdir()
    before = guard._outputs(tmp_path)
    (tmp_path / "docs" / "grid.png").write_bytes(b"png")
    (tmp_path / "docs" / "new_page.md").write_text("a source file someone is writing")
    (tmp_path / "docs" / "debug.log").write_text("ignored by git")
    assert guard._left_behind(before, tmp_path) == ["docs/grid.png"]
