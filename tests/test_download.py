"""Verified download, mirror, resume and safe extraction, on real files over a loopback HTTP server."""

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest

from tsad_models.data.download import fetch, safe_extract, sha256_of
from tsad_models.common.errors import DataError

PAYLOAD = bytes(range(256)) * 4000  # about 1 MB
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /file; honours Range; /flaky fails the first request."""

    calls = {"flaky": 0}
    ranges: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/flaky":
            self.calls["flaky"] += 1
            if self.calls["flaky"] == 1:
                self.send_error(503)
                return
        if self.path not in ("/file", "/flaky"):
            self.send_error(404)
            return
        start = 0
        header = self.headers.get("Range")
        RangeHandler.ranges.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.ranges = []
    RangeHandler.calls["flaky"] = 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_verifies_and_renames(server, tmp_path):
    dest = tmp_path / "data.bin"
    assert fetch(f"{server}/file", dest, PAYLOAD_SHA) == PAYLOAD_SHA
    assert dest.read_bytes() == PAYLOAD and sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
    fetch(f"{server}/file", dest, PAYLOAD_SHA)          # present and verified: no request
    assert RangeHandler.ranges == [None]


def test_download_resumes_a_partial_file(server, tmp_path):
    dest = tmp_path / "data.bin"
    (tmp_path / ".data.bin.part").write_bytes(PAYLOAD[:300_000])
    fetch(f"{server}/file", dest, PAYLOAD_SHA)
    assert RangeHandler.ranges == ["bytes=300000-"] and dest.read_bytes() == PAYLOAD


def test_download_retries_a_transient_failure(server, tmp_path):
    fetch(f"{server}/flaky", tmp_path / "d.bin", PAYLOAD_SHA, retries=2)
    assert RangeHandler.calls["flaky"] == 2


def test_checksum_mismatch_is_one_clear_error_and_leaves_nothing(server, tmp_path):
    with pytest.raises(DataError, match=r"d\.bin: sha256 mismatch .* expected 0{64}, got " + PAYLOAD_SHA):
        fetch(f"{server}/file", tmp_path / "d.bin", "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_source_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(DataError, match=r"d\.bin: could not download .* set the config key `mirror`"):
        fetch("http://127.0.0.1:9/none", tmp_path / "d.bin", PAYLOAD_SHA, retries=1, timeout=2)


def test_mirror_folder_is_consulted_first_by_canonical_path(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "SMD/train").mkdir(parents=True)
    (mirror / "SMD/train/m.txt").write_bytes(PAYLOAD)
    dest = tmp_path / "out/m.txt"
    fetch("http://127.0.0.1:9/unreachable", dest, PAYLOAD_SHA, mirror=str(mirror), key="SMD/train/m.txt")
    assert sha256_of(dest) == PAYLOAD_SHA
    (mirror / "SMD/train/m.txt").write_bytes(PAYLOAD[:-1])  # a truncated copy in the mirror
    dest.unlink()
    with pytest.raises(DataError, match="sha256 mismatch"):
        fetch("http://127.0.0.1:9/unreachable", dest, PAYLOAD_SHA, mirror=str(mirror), key="SMD/train/m.txt")
    assert not dest.exists()


def test_mirror_url_prefix(server, tmp_path):
    # the "mirror" serves /file: key "file" under the prefix
    fetch("http://127.0.0.1:9/unreachable", tmp_path / "d.bin", PAYLOAD_SHA, mirror=server, key="file")
    assert (tmp_path / "d.bin").read_bytes() == PAYLOAD


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@pytest.mark.parametrize("bad, message", [
    (_file("../escape.txt"), "escape the extraction folder"),
    (_file("/etc/passwd"), "escape the extraction folder"),
    (_file("a/../../escape.txt"), "escape the extraction folder"),
])
def test_archives_with_escaping_paths_are_refused(tmp_path, bad, message):
    archive = tmp_path / "a.tar.gz"
    _tar(archive, [_file("ok/inside.txt"), bad])
    with pytest.raises(DataError, match=message):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.tar.gz"]


def test_archives_with_links_or_devices_are_refused(tmp_path):
    link = tarfile.TarInfo("data/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    device = tarfile.TarInfo("data/dev")
    device.type = tarfile.CHRTYPE
    for member, kind in ((link, "link"), (device, "device")):
        archive = tmp_path / f"{kind}.tar.gz"
        _tar(archive, [_file("data/a.txt"), (member, None)])
        with pytest.raises(DataError, match=f"is a {kind}"):
            safe_extract(archive, tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_zip_slip_is_refused_and_good_archives_extract(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("data/ok.txt", "1")
        z.writestr("../../evil.txt", "2")
    with pytest.raises(DataError, match="escape"):
        safe_extract(bad, tmp_path / "out")
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("data/train/a.npy", "1")
    assert safe_extract(good, tmp_path / "out") == ["data/train/a.npy"]
    assert (tmp_path / "out/data/train/a.npy").read_text() == "1"
    (tmp_path / "junk.tar.gz").write_bytes(b"truncated")
    with pytest.raises(DataError, match="not a tar or zip archive"):
        safe_extract(tmp_path / "junk.tar.gz", tmp_path / "out2")
