"""Hostile local inputs fail closed at listing and reading (issue 17): no merged duplicates, no
hang on a FIFO, no unbounded read of a device, no manifest path outside the allowed roots."""

from __future__ import annotations

import io
import json
import os
import threading
import time

import pytest

from filters.shards import write_tar
from pipelines import io as sio
from pipelines.analyse import list_inputs
from pipelines.config import ConfigError, parse_config
from pipelines.sources.local import load_item
from schemas.keys import recording_id_for
from schemas.reasons import Reason, Stage

WAV = b"RIFF" + b"\x00" * 60  # listing never decodes: any regular file will do


def _listing(tmp_path, *sources):
    config = parse_config({"sources": list(sources)}, base_dir=tmp_path)
    return list_inputs(config, str(tmp_path / "run"))


def _in_time(fn, *args, timeout_s: float = 10):
    """``fn(*args)`` on a daemon thread; fails (instead of hanging the suite) past timeout_s."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        pytest.fail(f"{getattr(fn, '__name__', fn)} still running after {timeout_s}s (it hangs)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _unblock_fifo(path) -> None:
    """Open the FIFO's write end once, so a reader stuck in open() (a regression) returns."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def _by_reason(listing) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in listing.rejects:
        out.setdefault(str(r.reason), []).append(r)
    return out


def _accounting_ok(listing) -> None:
    """What curate's books need: reject ids unique and never a kept recording's id."""
    ids = [r.id for r in listing.rejects]
    assert len(ids) == len(set(ids))
    assert not set(ids) & listing.recording_ids()
    assert len({recording_id_for(i.audio_uri) for i in listing.items}) == len(listing.items)


# ------------------------------------------------------------------ 1. duplicate listings


def test_audio_listed_three_times_in_a_manifest_keeps_the_first_row(tmp_path):
    (tmp_path / "a.wav").write_bytes(WAV)
    (tmp_path / "m.tsv").write_text("audio\ttext\n"
                                    "a.wav\tthe right transcript\n"
                                    "./a.wav\ta wrong transcript\n"
                                    "sub/../a.wav\tanother wrong one\n", encoding="utf-8")
    listing = _listing(tmp_path, {"type": "local", "manifest": "m.tsv"})
    assert [i.inline_text for i in listing.items] == ["the right transcript"]
    rid = recording_id_for(listing.items[0].audio_uri)
    dups = _by_reason(listing)["duplicate_listing"]
    assert [d.id for d in dups] == [f"{rid}-dup1", f"{rid}-dup2"]
    for d in dups:
        assert d.stage == Stage.SOURCE and d.recording_id == rid
        assert "m.tsv row 1" in d.detail  # names the listing that was kept
    assert "row 2" in dups[0].detail and "row 3" in dups[1].detail
    _accounting_ok(listing)


def test_audio_in_a_directory_and_a_manifest_keeps_the_directory_listing(tmp_path):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "a.wav").write_bytes(WAV)
    (tmp_path / "audio" / "a.txt").write_text("sidecar transcript", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text(json.dumps({"audio": "audio/a.wav", "text": "other"}) + "\n",
                                      encoding="utf-8")
    listing = _listing(tmp_path, {"name": "dir", "type": "local", "path": "audio"},
                       {"name": "man", "type": "local", "manifest": "m.jsonl"})
    assert len(listing.items) == 1
    kept = listing.items[0]
    assert kept.source_name == "dir" and kept.transcript_uri.endswith("a.txt")
    (dup,) = listing.rejects
    assert dup.reason == Reason.DUPLICATE_LISTING and dup.source_name == "man"
    assert dup.id == f"{recording_id_for(kept.audio_uri)}-dup1"
    assert "source 'dir'" in dup.detail
    _accounting_ok(listing)


def test_a_shard_refuses_a_repeated_key():
    samples = [("k-00000", b"a", {}), ("k-00001", b"b", {}), ("k-00000", b"c", {})]
    with pytest.raises(ValueError, match="repeated key 'k-00000'"):
        write_tar(io.BytesIO(), samples)
    with pytest.raises(ValueError, match="repeated key"):
        write_tar(io.BytesIO(), [("k", b"a", None), ("k", b"a", None)])


# ------------------------------------------------------------------ 2. FIFOs and other non-files


def test_a_fifo_in_a_directory_is_not_a_file_and_listing_does_not_hang(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "good.wav").write_bytes(WAV)
    os.mkfifo(audio / "pipe.wav")
    (audio / "talk.wav").write_bytes(WAV)
    os.mkfifo(audio / "talk.vtt")  # a FIFO transcript: the audio goes on without it
    os.mkfifo(audio / "lonely.srt")
    (audio / "folder.wav").mkdir()  # a directory named like audio is walked, not listed
    try:
        listing = _in_time(_listing, tmp_path, {"type": "local", "path": "audio"})
    finally:
        for name in ("pipe.wav", "talk.vtt", "lonely.srt"):
            _unblock_fifo(audio / name)
    names = sorted(i.audio_uri.rsplit("/", 1)[1] for i in listing.items)
    assert names == ["good.wav", "talk.wav"]
    assert all(not i.transcript_uri for i in listing.items)
    refused = {r.source_uri.rsplit("/", 1)[1]: r for r in listing.rejects}
    assert set(refused) == {"pipe.wav", "talk.vtt", "lonely.srt"}
    assert {str(r.reason) for r in refused.values()} == {"not_a_file"}
    assert refused["pipe.wav"].stage == Stage.SOURCE and "fifo" in refused["pipe.wav"].detail
    assert refused["talk.vtt"].stage == Stage.TRANSCRIPT
    _accounting_ok(listing)


def test_reading_a_fifo_fails_at_once_instead_of_blocking_in_open(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    try:
        for cap in (None, 1024):
            with pytest.raises(sio.NotAFile, match="fifo"):
                _in_time(sio.read_bytes, str(fifo), cap)
        assert sio.file_kind(str(fifo)) == "fifo"
    finally:
        _unblock_fifo(fifo)


def test_a_fifo_transcript_given_to_load_item_is_a_transcript_reject(tmp_path):
    from pipelines.sources.local import LocalItem

    (tmp_path / "a.wav").write_bytes(WAV)
    os.mkfifo(tmp_path / "a.vtt")
    item = LocalItem(str(tmp_path / "a.wav"), "s", str(tmp_path / "a.vtt"), "vtt")
    try:
        rec, reject = _in_time(load_item, item)
    finally:
        _unblock_fifo(tmp_path / "a.vtt")
    assert reject is not None and reject.reason == Reason.TRANSCRIPT_UNREADABLE
    assert rec.transcript_text is None or rec.transcript_text == ""


def test_a_fifo_manifest_is_a_config_error_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "m.tsv")
    try:
        with pytest.raises(ConfigError, match=r"sources\[0\]\.manifest: .*fifo"):
            _in_time(_listing, tmp_path, {"type": "local", "manifest": "m.tsv"})
    finally:
        _unblock_fifo(tmp_path / "m.tsv")


def test_a_fifo_in_a_manifest_is_not_a_file(tmp_path):
    os.mkfifo(tmp_path / "p.wav")
    (tmp_path / "m.tsv").write_text("audio\np.wav\np.wav\n", encoding="utf-8")
    try:
        listing = _in_time(_listing, tmp_path, {"type": "local", "manifest": "m.tsv"})
    finally:
        _unblock_fifo(tmp_path / "p.wav")
    assert not listing.items
    assert [str(r.reason) for r in listing.rejects] == ["not_a_file", "duplicate_listing"]
    _accounting_ok(listing)


# ------------------------------------------------------------------ 3. size caps, before and while


def test_a_symlink_to_dev_zero_is_refused_without_reading_it(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "zero.wav").symlink_to("/dev/zero")
    listing = _listing(tmp_path, {"type": "local", "path": "audio"})
    (reject,) = listing.rejects
    assert not listing.items
    assert reject.reason == Reason.NOT_A_FILE and "character device" in reject.detail
    t0 = time.monotonic()
    with pytest.raises(sio.NotAFile):
        sio.read_bytes(str(audio / "zero.wav"), 2 * 1024**3)
    assert time.monotonic() - t0 < 1


def test_a_size_cap_is_checked_before_reading(tmp_path):
    sparse = tmp_path / "huge.wav"
    with open(sparse, "wb") as fh:
        fh.truncate(3 * 1024**3)  # 3 GiB, no blocks: reading it would take seconds and memory
    t0 = time.monotonic()
    with pytest.raises(sio.InputTooLarge, match="3221225472 bytes"):
        sio.read_bytes(str(sparse), 2 * 1024**3)
    assert time.monotonic() - t0 < 1


class _Endless(io.RawIOBase):
    """An input whose size lies (0) and that never ends; counts what was read from it."""

    def __init__(self, delay_s: float = 0.0):
        self.served = 0
        self.delay_s = delay_s

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        assert n is not None and n > 0, "an unbounded read of an endless input"
        time.sleep(self.delay_s)
        self.served += n
        return b"\x00" * n


def test_a_size_cap_is_enforced_while_reading(tmp_path):
    endless = _Endless()
    with pytest.raises(sio.InputTooLarge):
        sio.read_capped(endless, "endless", 10 * 1024**2)
    assert endless.served == 10 * 1024**2 + 1  # stops at cap + 1
    with pytest.raises(sio.InputTooLarge):  # a regular file whose size says 0 (procfs)
        sio.read_bytes("/proc/self/status", 16)


def test_a_read_has_a_deadline():
    slow = _Endless(delay_s=0.05)
    t0 = time.monotonic()
    with pytest.raises(sio.ReadTimeout) as err:
        sio.read_capped(slow, "slow", 10**12, deadline=time.monotonic() + 0.3)
    assert isinstance(err.value, OSError)  # stages turn OSError into a reject
    assert time.monotonic() - t0 < 2


def test_ordinary_reads_still_work(tmp_path):
    data = os.urandom(3 * sio.READ_CHUNK + 5)
    (tmp_path / "x.bin").write_bytes(data)
    (tmp_path / "link.bin").symlink_to(tmp_path / "x.bin")
    assert sio.read_bytes(str(tmp_path / "x.bin")) == data
    assert sio.read_bytes(str(tmp_path / "link.bin"), len(data)) == data
    with pytest.raises(sio.InputTooLarge):
        sio.read_bytes(str(tmp_path / "x.bin"), len(data) - 1)
    (tmp_path / "empty").write_bytes(b"")
    assert sio.read_bytes(str(tmp_path / "empty"), 10) == b""
    with pytest.raises(FileNotFoundError):
        sio.read_bytes(str(tmp_path / "absent.bin"), 10)


# ------------------------------------------------------------------ 4. manifest paths and roots


def _outside_corpus(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "a.wav").write_bytes(WAV)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.wav").write_bytes(WAV)
    (data / "sneaky.wav").symlink_to(elsewhere / "b.wav")
    rows = ["audio", "sub/a.wav", "../" * 16 + "etc/passwd", "/etc/hostname", "sneaky.wav",
            str(elsewhere / "b.wav")]
    (data / "m.tsv").write_text("".join(f"{r}\n" for r in rows), encoding="utf-8")
    return data, elsewhere


def test_manifest_paths_outside_the_manifest_directory_are_rejected(tmp_path):
    _outside_corpus(tmp_path)
    listing = _listing(tmp_path, {"type": "local", "manifest": "data/m.tsv"})
    assert [i.audio_uri for i in listing.items] == [str(tmp_path / "data" / "sub" / "a.wav")]
    outside = _by_reason(listing)["path_outside_root"]
    assert [r.source_uri for r in outside] == [
        "/etc/passwd", "/etc/hostname", str(tmp_path / "data" / "sneaky.wav"),
        str(tmp_path / "elsewhere" / "b.wav")]
    assert all(r.stage == Stage.SOURCE and "allow_outside_roots" in r.detail for r in outside)
    assert len(listing.rejects) == 4
    _accounting_ok(listing)


def test_relative_manifest_paths_resolve_against_the_manifest_not_the_cwd(tmp_path, monkeypatch):
    _outside_corpus(tmp_path)
    monkeypatch.chdir(tmp_path / "elsewhere")
    listing = _listing(tmp_path, {"type": "local", "manifest": str(tmp_path / "data/m.tsv")})
    assert listing.items[0].audio_uri == str(tmp_path / "data" / "sub" / "a.wav")


def test_roots_and_allow_outside_roots_widen_what_a_manifest_may_name(tmp_path):
    _outside_corpus(tmp_path)
    with_root = _listing(tmp_path, {"type": "local", "manifest": "data/m.tsv",
                                    "roots": ["elsewhere"]})
    # sub/a.wav, sneaky.wav and elsewhere/b.wav (a link is its own listing; audio dedup later)
    assert len(with_root.items) == 3
    assert sorted(str(r.reason) for r in with_root.rejects) == [
        "path_outside_root", "path_outside_root"]  # /etc stays out
    anywhere = _listing(tmp_path, {"type": "local", "manifest": "data/m.tsv",
                                   "allow_outside_roots": True})
    assert {i.audio_uri for i in anywhere.items} >= {"/etc/passwd", "/etc/hostname"}
    _accounting_ok(with_root)
    _accounting_ok(anywhere)


# ------------------------------------------------------------------ manifest row languages


@pytest.mark.parametrize("language", [5, "5", "klingon", "zz", True])
def test_a_bad_manifest_row_language_rejects_that_row(tmp_path, language):
    (tmp_path / "a.wav").write_bytes(WAV)
    (tmp_path / "b.wav").write_bytes(WAV)
    rows = [{"audio": "a.wav", "language": language}, {"audio": "b.wav", "language": "en-GB"}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                      encoding="utf-8")
    listing = _listing(tmp_path, {"type": "local", "manifest": "m.jsonl"})
    assert [(i.audio_uri.rsplit("/", 1)[1], i.language) for i in listing.items] == [
        ("b.wav", "en-GB")]
    (reject,) = listing.rejects
    assert reject.reason == Reason.MANIFEST_ROW_INVALID
    assert "row 1: `language`" in reject.detail and "ISO 639-1" in reject.detail


def test_a_manifest_row_without_language_takes_the_source_language(tmp_path):
    (tmp_path / "a.wav").write_bytes(WAV)
    (tmp_path / "m.tsv").write_text("audio\tlanguage\na.wav\t\n", encoding="utf-8")
    listing = _listing(tmp_path, {"type": "local", "manifest": "m.tsv", "language": "de"})
    assert listing.items[0].language == "de"
