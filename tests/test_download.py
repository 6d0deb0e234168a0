"""Verified download, mirror, resume and safe extraction, on real files over a loopback HTTP server."""

import functools
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest

from tsad_models.common.errors import ChecksumError, DataError, SourceUnavailable
from tsad_models.data.archives import safe_extract
from tsad_models.data.cards import DatasetCard
from tsad_models.data.download import download_wanted
from tsad_models.data.fetch import fetch, sha256_of
from tsad_models.data.sources.base import Archive, Wanted, WantedFile

PAYLOAD = bytes(range(256)) * 4000  # about 1 MB
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /file; honours Range (416 past the end); /flaky fails the first request;
    /short announces the whole payload but the first response stops half-way."""

    calls = {"flaky": 0, "short": 0}
    ranges: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/flaky":
            self.calls["flaky"] += 1
            if self.calls["flaky"] == 1:
                self.send_error(503)
                return
        if self.path not in ("/file", "/flaky", "/short"):
            self.send_error(404)
            return
        start = 0
        header = self.headers.get("Range")
        RangeHandler.ranges.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            if start >= len(PAYLOAD):
                self.send_error(416)
                return
            self.send_response(206)
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/short":
            self.calls["short"] += 1
            if self.calls["short"] == 1:
                body = body[: len(body) // 2]  # the connection ends early
                self.close_connection = True
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.ranges = []
    RangeHandler.calls["flaky"] = 0
    RangeHandler.calls["short"] = 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_verifies_and_renames(server, tmp_path):
    dest = tmp_path / "data.bin"
    assert fetch(f"{server}/file", dest, PAYLOAD_SHA) == PAYLOAD_SHA
    assert dest.read_bytes() == PAYLOAD and sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
    fetch(f"{server}/file", dest, PAYLOAD_SHA)  # present and verified: no request
    assert RangeHandler.ranges == [None]


def test_a_connection_ending_early_is_resumed_not_trusted(server, tmp_path):
    dest = tmp_path / "d.bin"
    assert fetch(f"{server}/short", dest, None, retries=2) == PAYLOAD_SHA  # unpinned: only the length can tell
    assert RangeHandler.ranges == [None, f"bytes={len(PAYLOAD) // 2}-"] and dest.read_bytes() == PAYLOAD


def test_a_partial_file_past_the_end_is_discarded(server, tmp_path):
    dest = tmp_path / "d.bin"
    (tmp_path / ".d.bin.part").write_bytes(PAYLOAD + b"stale")  # longer than the file: the server says 416
    fetch(f"{server}/file", dest, PAYLOAD_SHA, retries=2)
    assert RangeHandler.ranges == [f"bytes={len(PAYLOAD) + 5}-", None] and dest.read_bytes() == PAYLOAD


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


@pytest.mark.parametrize(
    "bad, message",
    [
        (_file("../escape.txt"), "escape the extraction folder"),
        (_file("/etc/passwd"), "escape the extraction folder"),
        (_file("a/../../escape.txt"), "escape the extraction folder"),
    ],
)
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


# --- errors by type: a checksum error is final, an unavailable route passes to the next ---------


def test_a_checksum_error_from_a_mirror_folder_is_not_retried_from_the_url(server, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "d.bin").write_bytes(PAYLOAD[:-1])  # a truncated copy in the mirror
    with pytest.raises(ChecksumError, match=r"d\.bin: sha256 mismatch"):
        fetch(f"{server}/file", tmp_path / "out/d.bin", PAYLOAD_SHA, mirror=str(mirror), key="d.bin")
    assert RangeHandler.ranges == [] and list((tmp_path / "out").iterdir()) == []


def test_a_checksum_error_from_a_mirror_url_is_not_retried_from_the_url(server, tmp_path):
    with pytest.raises(ChecksumError):
        fetch(f"{server}/file", tmp_path / "d.bin", "0" * 64, mirror=server, key="file")
    assert RangeHandler.ranges == [None]  # the mirror's request only


def test_unavailable_routes_are_their_own_error_type(tmp_path):
    with pytest.raises(SourceUnavailable, match="could not download"):
        fetch("http://127.0.0.1:9/none", tmp_path / "d.bin", PAYLOAD_SHA, retries=1, timeout=2)
    with pytest.raises(SourceUnavailable, match=r"d\.bin: the mirror folder .* has no SMD/d\.bin"):
        fetch(None, tmp_path / "d.bin", PAYLOAD_SHA, mirror=str(tmp_path), key="SMD/d.bin")


# --- the one download routine, on declarations the tests make ---------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _card(tmp_path):
    return DatasetCard(name="toy", source="toy", path=tmp_path / "toy.yaml", fields={})


def _zip_of(path, members: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _left_behind(base):
    return sorted(p.name for p in base.iterdir() if p.name.startswith("."))


def test_an_archive_member_that_fails_its_pin_refuses_them_all(tmp_path):
    _zip_of(tmp_path / "mirror/TOY/toy.zip", {"pkg/a.txt": b"a", "pkg/b.txt": b"changed"})
    wanted = Wanted(
        folder="",
        members=[WantedFile("a.txt", _sha(b"a")), WantedFile("b.txt", _sha(b"b"))],
        archives=[Archive(name="toy.zip", key="TOY/toy.zip", root="pkg/")],
    )
    with pytest.raises(ChecksumError, match=r"b\.txt: sha256 mismatch for the file from .*toy\.zip"):
        download_wanted(_card(tmp_path), wanted, ["e"], tmp_path / "raw", str(tmp_path / "mirror"))
    base = tmp_path / "raw/toy"
    assert not (base / "a.txt").exists() and not (base / "b.txt").exists()  # a.txt passed, yet is not placed
    assert _left_behind(base) == []  # no staging folder, no journal


def test_the_record_lists_what_was_hashed_on_first_use(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "TOY").mkdir(parents=True)
    (mirror / "TOY/pinned.csv").write_bytes(b"p")
    (mirror / "TOY/labels.csv").write_bytes(b"l")
    _zip_of(
        mirror / "TOY/toy.zip",
        {"x/layout/marker.txt": b"", "x/layout/s1/a.txt": b"1", "x/layout/s1/b.txt": b"2", "x/layout/s2/a.txt": b"3"},
    )
    wanted = Wanted(
        folder="data",
        files=[
            WantedFile("pinned.csv", _sha(b"p"), key="TOY/pinned.csv"),
            WantedFile("labels.csv", key="TOY/labels.csv"),
        ],
        members=[WantedFile("s1/*.txt", what="data for s1"), WantedFile("s2/a.txt", _sha(b"3"))],
        archives=[Archive(name="toy.zip", key="TOY/toy.zip", marker="marker.txt")],
    )
    record = download_wanted(_card(tmp_path), wanted, ["s1", "s2"], tmp_path / "raw", str(mirror))
    assert record["unpinned"] == ["labels.csv", "toy.zip"]  # the archive stands for the files taken out of it
    assert record["files"] == {
        "pinned.csv": _sha(b"p"),
        "labels.csv": _sha(b"l"),
        "s1/a.txt": _sha(b"1"),
        "s1/b.txt": _sha(b"2"),
        "s2/a.txt": _sha(b"3"),
    }
    assert record["archives"] == {"toy.zip": sha256_of(mirror / "TOY/toy.zip")}
    assert (tmp_path / "raw/toy/data/s1/b.txt").read_bytes() == b"2" and (tmp_path / "raw/toy/toy.zip").is_file()
    # a rerun keeps what is in place: no archive this time
    (tmp_path / "raw/toy/toy.zip").unlink()
    again = download_wanted(_card(tmp_path), wanted, ["s1", "s2"], tmp_path / "raw", str(mirror))
    assert again["files"] == record["files"] and "archives" not in again
    # still trusted on first use only, and the rerun's record says so
    assert again["unpinned"] == ["labels.csv", "s1/a.txt", "s1/b.txt"]


class FolderHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; records the paths asked for."""

    asked: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        FolderHandler.asked.append(self.path)
        super().do_GET()


@pytest.fixture
def folder_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(FolderHandler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    FolderHandler.asked = []
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_archives_are_tried_in_order_and_a_checksum_error_stops_them(folder_server, tmp_path):
    served, url = folder_server
    archive = _zip_of(served / "data.zip", {"data/train/a.npy": b"a"})
    wanted = Wanted(
        folder="",
        members=[WantedFile("train/a.npy", _sha(b"a"))],
        archives=[
            Archive(name="mirrored.tar.gz", key="M/mirrored.tar.gz", sha256=_sha(b"pinned"), root="M/"),
            Archive(name="data.zip", url=f"{url}/data.zip", sha256=sha256_of(archive), root="data/"),
        ],
    )
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    record = download_wanted(_card(tmp_path), wanted, ["a"], tmp_path / "raw", str(mirror))  # from the URL
    assert record["archives"] == {"data.zip": sha256_of(archive)} and FolderHandler.asked == ["/data.zip"]
    assert (tmp_path / "raw/toy/train/a.npy").read_bytes() == b"a" and record["unpinned"] == []
    # the mirror's archive is there but is not the pinned one: final, the URL is not asked
    (mirror / "M").mkdir()
    (mirror / "M/mirrored.tar.gz").write_bytes(b"not it")
    with pytest.raises(ChecksumError, match=r"mirrored\.tar\.gz: sha256 mismatch"):
        download_wanted(_card(tmp_path), wanted, ["a"], tmp_path / "raw2", str(mirror))
    assert FolderHandler.asked == ["/data.zip"] and _left_behind(tmp_path / "raw2/toy") == []


def test_no_route_names_the_missing_files_and_the_fixes(tmp_path):
    wanted = Wanted(
        folder="",
        members=[WantedFile("train/a.npy"), WantedFile("train/b.npy")],
        archives=[Archive(name="toy.zip", key="TOY/toy.zip", unpacked="TOY/", marker="train")],
        origin="https://example.org/toy",
    )
    with pytest.raises(
        DataError,
        match=r"2 file\(s\) could not be obtained, first train/a\.npy \(toy\.zip: the mirror "
        r"folder .* has no TOY/toy\.zip\).*Get them from https://example\.org/toy .*"
        r"holding TOY/toy\.zip or TOY/\.\.\.train.*`entities`",
    ):
        download_wanted(_card(tmp_path), wanted, ["a", "b"], tmp_path / "raw", str(tmp_path))


def test_a_placement_cut_short_is_undone_by_the_next_run(tmp_path):
    """A run killed while moving a subject's files into place left some of them: the journal
    names them, the next run removes them, and the pattern does not take half a set for all."""
    _zip_of(tmp_path / "mirror/TOY/toy.zip", {"s1/a.txt": b"1", "s1/b.txt": b"2"})
    wanted = Wanted(
        folder="data", members=[WantedFile("s1/*.txt")], archives=[Archive(name="toy.zip", key="TOY/toy.zip")]
    )
    download_wanted(_card(tmp_path), wanted, ["s1"], tmp_path / "raw", str(tmp_path / "mirror"))
    base = tmp_path / "raw/toy"
    (base / "data/s1/b.txt").unlink()  # not moved yet when the run was killed
    (base / ".placing").write_text("data/s1/a.txt\ndata/s1/b.txt\n")
    (base / ".staging-killed/extracted").mkdir(parents=True)
    record = download_wanted(_card(tmp_path), wanted, ["s1"], tmp_path / "raw", str(tmp_path / "mirror"))
    assert sorted(record["files"]) == ["s1/a.txt", "s1/b.txt"] and (base / "data/s1/b.txt").read_bytes() == b"2"
    assert _left_behind(base) == []


def test_a_damaged_archive_is_one_clear_error(tmp_path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("data/a.txt", "x" * 10_000)
    damaged = tmp_path / "damaged.zip"
    data = bytearray(good.read_bytes())
    data[60:80] = b"\0" * 20  # inside the member's compressed bytes: a CRC error on reading
    damaged.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"damaged\.zip: damaged archive .*delete it and rerun"):
        safe_extract(damaged, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.zip", "good.zip"]  # no staging left
