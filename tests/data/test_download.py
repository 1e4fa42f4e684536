import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.backend.settings import from_environment
from chainrule.data.download import RemoteFile, data_home, download, fetch


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def mirror(tmp_path):
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"hello world")
    (folder / "b.bin").write_bytes(b"\x00\x01" * 1000)
    return folder


def test_file_mirror_download_verifies_and_caches(tmp_path, mirror):
    files = [RemoteFile("a.bin", _digest(b"hello world"), (mirror.as_uri() + "/",)),
             RemoteFile("b.bin", _digest(b"\x00\x01" * 1000), (mirror.as_uri() + "/",))]
    paths = fetch("toy", files, tmp_path / "cache")
    assert Path(paths["a.bin"]).read_bytes() == b"hello world"
    assert paths["b.bin"].startswith(str(tmp_path / "cache" / "toy"))
    (mirror / "a.bin").unlink()  # a second call finds the cached, verified copies
    assert fetch("toy", files, tmp_path / "cache") == paths


def test_http_mirror(tmp_path, mirror):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        path = download(url + "a.bin", str(tmp_path / "out" / "a.bin"), _digest(b"hello world"))
        assert Path(path).read_bytes() == b"hello world"
    finally:
        server.shutdown()
        server.server_close()


def test_checksum_mismatch_leaves_no_file(tmp_path, mirror):
    target = tmp_path / "out" / "a.bin"
    with pytest.raises(ValueError, match="checksum mismatch"):
        download((mirror / "a.bin").as_uri(), str(target), "0" * 64)
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []  # the temporary file was removed too


def test_missing_files_without_network_say_where_to_put_them(tmp_path):
    files = [RemoteFile("x.gz", "0" * 64, ())]
    with pytest.raises(FileNotFoundError, match=r"toy: missing files \['x.gz'\]\. Put them in"):
        fetch("toy", files, tmp_path)


def test_corrupt_local_file_is_reported(tmp_path):
    (tmp_path / "x.gz").write_bytes(b"not the file")
    with pytest.raises(ValueError, match="checksum mismatch"):
        fetch("toy", [RemoteFile("x.gz", "0" * 64)], tmp_path)


def test_data_home_precedence(tmp_path, monkeypatch):
    monkeypatch.setattr(cr.config, "data_dir", tmp_path / "configured")
    assert data_home(tmp_path / "explicit") == str(tmp_path / "explicit")
    assert data_home() == str(tmp_path / "configured")
    env = from_environment({"CHAINRULE_DATA": str(tmp_path / "env"),
                            "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert env.data_dir == str(tmp_path / "env")
    env = from_environment({"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert env.data_dir == str(tmp_path / "cache" / "chainrule")


def test_an_upper_case_digest_accepts_the_right_file(tmp_path, mirror):
    upper = _digest(b"hello world").upper()
    path = download((mirror / "a.bin").as_uri(), str(tmp_path / "out" / "a.bin"), upper)
    assert Path(path).read_bytes() == b"hello world"
    files = [RemoteFile("a.bin", upper, (mirror.as_uri() + "/",))]
    fetch("toy", files, tmp_path / "cache")
    assert fetch("toy", files, tmp_path / "cache")["a.bin"]  # the cached copy verifies too
