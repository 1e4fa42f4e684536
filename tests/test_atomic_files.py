"""Every file chainrule writes goes through ``backend.files.atomic_file`` (eight writers had their
own copies, which differed: some made 0600 files, some did not sync, and all replaced a symbolic
link with a plain file where ``torch.save`` writes through it). Checked here through the public
writers: a link is written through, a failed write leaves the old file and no temporary, the
mode is the umask's, and an OSError names the user's path."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend.files import atomic_file, write_atomically, write_json


def _writers():
    model = cr.nn.Linear(3, 2)
    return {
        "save (chainrule)": lambda p: cr.save({"w": cr.ones(2)}, p),
        "save (torch)": lambda p: cr.save({"w": cr.ones(2)}, p, format="torch"),
        "save_weights": lambda p: cr.io.save_weights(model, p),
        "write_idx": lambda p: cr.data.idx.write_idx(p, np.zeros((2, 3), np.uint8)),
    }


@pytest.mark.parametrize("name", list(_writers()))
def test_a_symbolic_link_is_written_through(name, tmp_path):
    target = tmp_path / "real" / "file.bin"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    _writers()[name](link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() != b"old" and target.stat().st_size > 3
    assert sorted(os.listdir(target.parent)) == ["file.bin"]  # no temporary left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="encoding failed"), atomic_file(path) as f:
        f.write(b"half of the new")
        raise RuntimeError("encoding failed")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["weights.bin"]
    with pytest.raises(TypeError):  # refused by cr.save before anything is written
        cr.save({"w": object()}, path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["weights.bin"]


def test_the_file_mode_is_the_umasks_and_errors_name_the_users_path(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "a.txt", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    missing = tmp_path / "no" / "such" / "folder.txt"
    with pytest.raises(FileNotFoundError) as info:
        write_atomically(missing, b"x")
    assert info.value.filename == str(missing)
    write_atomically(missing, b"x", make_folder=True)
    assert missing.read_bytes() == b"x"


def test_write_json_keeps_numpy_numbers_numbers_and_makes_the_folder(tmp_path):
    # the experiments' results files: a NumPy accuracy was written as the string "0.5" before
    path = tmp_path / "run" / "results.json"
    write_json(path, {"accuracy": np.float32(0.5), "errors": np.int64(3), "per_class":
                      np.array([1, 2]), "loss": cr.tensor(0.25).sum(), "out": tmp_path})
    assert json.loads(path.read_text()) == {"accuracy": 0.5, "errors": 3, "per_class": [1, 2],
                                            "loss": 0.25, "out": str(tmp_path)}
    assert path.read_text().endswith("}\n") and os.listdir(path.parent) == ["results.json"]
