"""Fuzz wave 25: clear errors where the data package failed inside NumPy or Python: a
RandomSampler asked for samples of an empty data source, a download given a digest that is no
SHA-256 (an int failed inside, a mistyped one only after the whole download), and a mirror's
truncated response (http.client.IncompleteRead escaped, the next mirror untried)."""

import hashlib
import http.client
import io
from pathlib import Path

import pytest

from chainrule.data import RandomSampler
from chainrule.data import download as downloads
from chainrule.data.download import RemoteFile, download, fetch


@pytest.mark.parametrize("replacement", [True, False])
def test_random_sampler_over_an_empty_source_says_so(replacement):
    sampler = RandomSampler([], replacement=replacement, num_samples=3)
    assert len(sampler) == 3
    with pytest.raises(ValueError, match="cannot draw num_samples=3 indices from an empty"):
        iter(sampler)  # before: NumPy's "high <= 0", or a ZeroDivisionError


@pytest.mark.parametrize("digest", [5, "abc", ["0" * 63], (), "g" * 64])
def test_a_digest_that_is_no_sha256_is_refused_before_downloading(tmp_path, digest):
    source = tmp_path / "src.bin"
    source.write_bytes(b"hello")
    target = tmp_path / "out" / "x.bin"
    with pytest.raises(ValueError, match="sha256 must be None, a SHA-256 hex digest"):
        download(source.as_uri(), str(target), digest)
    assert not target.parent.exists()  # nothing was fetched


def test_digests_in_a_list_or_upper_case_still_verify(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"hello")
    good = hashlib.sha256(b"hello").hexdigest()
    for i, digest in enumerate([[good.upper()], ("0" * 64, good)]):
        path = download(source.as_uri(), str(tmp_path / f"{i}.bin"), digest)
        assert Path(path).read_bytes() == b"hello"


class _Response(io.BytesIO):
    def __init__(self, body, cut):
        super().__init__(body)
        self.cut = cut

    def read(self, n=-1):
        if self.cut and self.tell():
            raise http.client.IncompleteRead(b"he", 3)
        return super().read(2 if self.cut else n)


def test_a_truncated_response_tries_the_next_mirror(tmp_path, monkeypatch):
    served = []

    def urlopen(url, timeout=None):
        served.append(url)
        return _Response(b"hello", cut=url.startswith("http://a/"))

    monkeypatch.setattr(downloads.urllib.request, "urlopen", urlopen)
    wanted = RemoteFile("f.bin", hashlib.sha256(b"hello").hexdigest(), ("http://a/", "http://b/"))
    paths = fetch("ds", [wanted], tmp_path)
    assert served == ["http://a/f.bin", "http://b/f.bin"]
    assert Path(paths["f.bin"]).read_bytes() == b"hello"
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["f.bin"]  # no partial file
