"""``speechcurate verify RUN``: re-read a published corpus and check it against its manifests.

Every shard listed in ``manifest/shards.json`` is streamed once (tarfile streaming mode, one
sample in memory at a time) while its size and md5 are computed; every sample's FLAC is decoded
(16 kHz mono, length against the row's ``end - start``, and the FLAC's own MD5 signature), its
JSON is compared field by field with its ``manifest/segments.parquet`` row, and the counts are
checked against ``shards.json`` and ``stats.json``. Tars under ``shards/`` that the index does not
list are reported too, and so is any sample or manifest row of a recording that a takedown rule
(``RUN/takedown/rules.jsonl``) names, or a takedown that was interrupted (``pending.json``).
A run with ``curate.ssl`` on has a second, audio-only shard set, ``ssl/`` (``ssl/shards.json``,
``ssl/segments.parquet``, ``stats.json`` ``ssl.segments``): it is checked the same way, its
shards named ``ssl/shard-NNNNNN.tar`` in the problems.
No Beam: this is a pure module, and ``RUN`` may be any fsspec URL.

Each problem names the shard (the tar's basename, as in the ``shard`` column) and/or the key it
is about, with a stable ``kind`` code (see :class:`Kind`) and a human message.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import posixpath
import sys
import tarfile
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf

from filters.takedown import Matcher, rules_config
from pipelines import io as sio
from schemas.keys import validate_key

SAMPLE_RATE = 16_000
LENGTH_TOLERANCE_S = 0.002
MAX_MEMBER_BYTES = 256 * 1024 * 1024  # far above a 30 s FLAC; bounds memory on a hostile tar
_READ_CHUNK = 1 << 20
_TAIL_WINDOW = 1 << 18  # bytes kept behind the read position; tarfile reads ahead 10 KiB at most
_END_OF_ARCHIVE = 2 * tarfile.BLOCKSIZE


class Kind(StrEnum):
    """Problem codes. Stable strings: scripts may match on them."""

    MISSING_FILE = "missing_file"  # shards.json, segments.parquet or stats.json absent/unreadable
    BAD_INDEX = "bad_index"  # shards.json malformed, or an entry lacks a field / is listed twice
    MISSING_SHARD = "missing_shard"  # listed in shards.json, not on storage
    EXTRA_FILE = "extra_file"  # a tar under shards/ that shards.json does not list
    SIZE_MISMATCH = "size_mismatch"  # bytes on storage != filesize in shards.json
    MD5_MISMATCH = "md5_mismatch"  # same size, different md5 than shards.json
    UNREADABLE_TAR = "unreadable_tar"  # not a tar, or an invalid header part-way through
    TRUNCATED_TAR = "truncated_tar"  # the tar ends inside a member or without its end marker
    UNEXPECTED_MEMBER = "unexpected_member"  # not KEY.flac / KEY.json, or an illegal key
    INCOMPLETE_SAMPLE = "incomplete_sample"  # a key with only one of .flac / .json
    UNDECODABLE_AUDIO = "undecodable_audio"  # FLAC does not decode, or fails its MD5 signature
    WRONG_AUDIO_FORMAT = "wrong_audio_format"  # decodes, but is not 16 kHz mono FLAC
    AUDIO_LENGTH_MISMATCH = "audio_length_mismatch"  # decoded length vs row end - start > 2 ms
    BAD_JSON = "bad_json"  # KEY.json is not a UTF-8 JSON object
    METADATA_MISMATCH = "metadata_mismatch"  # a JSON field differs from the segments.parquet row
    KEY_NOT_IN_MANIFEST = "key_not_in_manifest"  # a sample with no segments.parquet row
    MANIFEST_ROW_NOT_IN_SHARD = "manifest_row_not_in_shard"  # a row whose sample was not found
    WRONG_SHARD = "wrong_shard"  # the row names shard X, the sample is in shard Y
    DUPLICATE_KEY = "duplicate_key"  # a key twice in the tars, or twice in segments.parquet
    COUNT_MISMATCH = "count_mismatch"  # nsamples vs samples read; stats kept.segments vs rows
    TAKEN_DOWN_PUBLISHED = "taken_down_published"  # a sample/row of a taken-down recording
    TAKEDOWN_INCOMPLETE = "takedown_incomplete"  # a takedown started committing, never finished


@dataclass(frozen=True)
class Problem:
    """One precise finding. ``shard`` is a tar basename, ``key`` a sample key; either may be None
    (run-level problems have neither)."""

    kind: Kind
    message: str
    shard: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = " ".join(part for part in (self.shard, self.key) if part)
        return f"{self.kind}: {where}: {self.message}" if where else f"{self.kind}: {self.message}"


@dataclass
class VerifyReport:
    run_dir: str
    problems: list[Problem] = field(default_factory=list)
    shards_checked: int = 0
    samples_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> set[str]:
        return {str(p.kind) for p in self.problems}

    def render(self) -> str:
        if self.ok:
            return (f"verify: OK — {self.shards_checked} shards, "
                    f"{self.samples_checked} samples checked")
        lines = [str(p) for p in self.problems]
        n = len(self.problems)
        lines.append(f"verify: {n} problem{'s' if n != 1 else ''} in {self.run_dir} "
                     f"({self.shards_checked} shards, {self.samples_checked} samples checked)")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# reading


class _HashingReader:
    """Read-only stream over ``fh`` that keeps an md5, a byte count and the last bytes read."""

    def __init__(self, fh: Any):
        self.fh = fh
        self.md5 = hashlib.md5()
        self.size = 0
        self._tail: deque[tuple[int, bytes]] = deque()
        self._tail_bytes = 0

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n) if n is not None and n >= 0 else self.fh.read()
        if data:
            self.md5.update(data)
            self._tail.append((self.size, data))
            self._tail_bytes += len(data)
            self.size += len(data)
            while self._tail and self._tail_bytes - len(self._tail[0][1]) >= _TAIL_WINDOW:
                self._tail_bytes -= len(self._tail.popleft()[1])
        return data

    def since(self, offset: int) -> bytes | None:
        """Bytes already read from ``offset`` on, or None when they left the window."""
        if self._tail and offset < self._tail[0][0]:
            return None
        return b"".join(chunk for _, chunk in self._tail)[max(0, offset - self._tail_start()):]

    def _tail_start(self) -> int:
        return self._tail[0][0] if self._tail else self.size

    def drain(self) -> tuple[int, int | None]:
        """Read to the end; return (bytes read, index of the first non-zero one or None)."""
        n, first_nonzero = 0, None
        while True:
            chunk = self.read(_READ_CHUNK)
            if not chunk:
                return n, first_nonzero
            if first_nonzero is None and any(chunk):
                first_nonzero = n + len(chunk) - len(chunk.lstrip(b"\0"))
            n += len(chunk)


def _resolve(manifest_dir: str, url: str) -> str:
    """A shards.json url (relative to the manifest directory, or absolute) as a URI."""
    if "://" in url or url.startswith("/"):
        return url
    full = sio.join(manifest_dir, url)
    if "://" in full:
        scheme, rest = full.split("://", 1)
        return f"{scheme}://{posixpath.normpath(rest)}"
    return posixpath.normpath(full)


def _read_json(uri: str) -> Any:
    return json.loads(sio.read_bytes(uri).decode("utf-8"))


def _same(a: Any, b: Any) -> bool:
    """Equality that survives a JSON round trip: NaN == NaN, 1 == 1.0, dicts by key."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    if isinstance(a, dict) and isinstance(b, dict):  # structs: Arrow stores a missing field as null
        return all(_same(a.get(k), b.get(k)) for k in a.keys() | b.keys())
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _flac_streaminfo(data: bytes) -> tuple[int, int, bytes] | None:
    """(bits per sample, total samples, md5) from a FLAC STREAMINFO block, or None."""
    if len(data) < 42 or data[:4] != b"fLaC" or data[4] & 0x7F != 0:
        return None
    info = data[8:42]
    packed = int.from_bytes(info[10:18], "big")  # rate:20 channels-1:3 bps-1:5 total:36
    bps = ((packed >> 36) & 0x1F) + 1
    total = packed & ((1 << 36) - 1)
    return bps, total, info[18:34]


def check_audio(flac: bytes) -> tuple[int | None, list[tuple[Kind, str]]]:
    """Decode a sample's FLAC: (frames or None when it did not decode, [(kind, message)])."""
    try:
        with sf.SoundFile(io.BytesIO(flac)) as snd:
            fmt, rate, channels = snd.format, snd.samplerate, snd.channels
            pcm = snd.read(dtype="int16", always_2d=True)
    except Exception as exc:  # libsndfile raises its own error types and RuntimeError
        return None, [(Kind.UNDECODABLE_AUDIO, f"FLAC does not decode: {exc}")]
    problems: list[tuple[Kind, str]] = []
    if fmt != "FLAC" or rate != SAMPLE_RATE or channels != 1:
        problems.append((Kind.WRONG_AUDIO_FORMAT,
                         f"audio is {fmt} {rate} Hz {channels} ch, expected FLAC 16000 Hz mono"))
    info = _flac_streaminfo(flac) if fmt == "FLAC" else None
    if info is not None:
        bps, total, md5 = info
        if total and total != len(pcm):
            problems.append((Kind.UNDECODABLE_AUDIO,
                             f"decoded {len(pcm)} samples, the FLAC header says {total}"))
        elif bps == 16 and any(md5):
            digest = hashlib.md5(np.ascontiguousarray(pcm, dtype="<i2").tobytes()).digest()
            if digest != md5:
                problems.append((Kind.UNDECODABLE_AUDIO,
                                 "decoded audio does not match the FLAC's MD5 signature"))
    return len(pcm), problems


# ---------------------------------------------------------------------------------------------
# verification


@dataclass(frozen=True)
class Layout:
    """Where one shard set of a run lives: its index, its manifest, its tars and the
    ``stats.json`` count of its samples."""

    manifest: str  # folder of shards.json and segments.parquet, relative to RUN
    shards: str  # folder of the tars
    stats_count: tuple[str, str]  # stats.json path of the sample count
    prefix: str = ""  # put before shard names in problems (ssl/ tars share the labelled names)


LABELLED = Layout("manifest", "shards", ("kept", "segments"))
SSL = Layout("ssl", "ssl", ("ssl", "segments"), prefix="ssl/")  # curate.ssl's audio-only set


class _Verifier:
    def __init__(self, run_dir: str, report: VerifyReport, layout: Layout = LABELLED):
        self.run_dir = run_dir.rstrip("/") or run_dir
        self.report = report
        self.layout = layout
        self.where = layout.manifest
        self.table: pa.Table | None = None
        self.key_row: dict[str, int] = {}  # key -> first row index
        self.rows_by_shard: dict[str, list[int]] = defaultdict(list)
        self.row_shard: list[str | None] = []
        self.found: dict[str, str] = {}  # key -> shard it was first read from
        self.listed: set[str] = set()  # shard names in shards.json
        self.takedown: Matcher | None = None  # RUN/takedown/rules.jsonl, when there are rules

    def add(self, kind: Kind, message: str, shard: str | None = None,
            key: str | None = None) -> None:
        if shard is not None and self.layout.prefix:
            shard = f"{self.layout.prefix}{shard}"
        self.report.problems.append(Problem(kind, message, shard, key))

    # -- manifests ---------------------------------------------------------------------------

    def load_index(self) -> list[dict[str, Any]] | None:
        """The shardlist entries with ``name`` and resolved ``uri``; None without an index."""
        uri = sio.join(self.run_dir, self.where, "shards.json")
        try:
            index = _read_json(uri)
        except FileNotFoundError:
            self.add(Kind.MISSING_FILE, f"{self.where}/shards.json not found")
            return None
        except (OSError, ValueError) as exc:
            self.add(Kind.BAD_INDEX, f"{self.where}/shards.json is not readable JSON: {exc}")
            return None
        shardlist = index.get("shardlist") if isinstance(index, dict) else None
        if not isinstance(shardlist, list):
            self.add(Kind.BAD_INDEX, f"{self.where}/shards.json has no 'shardlist' list")
            return None
        manifest_dir = sio.join(self.run_dir, self.where)
        entries, seen = [], set()
        for i, entry in enumerate(shardlist):
            url = entry.get("url") if isinstance(entry, dict) else None
            if not isinstance(url, str) or not url:
                self.add(Kind.BAD_INDEX, f"shardlist[{i}] has no url")
                continue
            name = posixpath.basename(url)
            if name in seen:
                self.add(Kind.BAD_INDEX, "listed more than once in shards.json", name)
                continue
            seen.add(name)
            for fld in ("nsamples", "filesize", "md5sum"):
                if fld not in entry:
                    self.add(Kind.BAD_INDEX, f"shards.json entry has no '{fld}'", name)
            entries.append({**entry, "name": name, "uri": _resolve(manifest_dir, url)})
        return entries

    def load_segments(self) -> None:
        uri = sio.join(self.run_dir, self.where, "segments.parquet")
        try:
            table = pq.read_table(io.BytesIO(sio.read_bytes(uri)))
        except FileNotFoundError:
            self.add(Kind.MISSING_FILE, f"{self.where}/segments.parquet not found")
            return
        except (OSError, pa.ArrowException) as exc:
            self.add(Kind.MISSING_FILE, f"{self.where}/segments.parquet is not readable: {exc}")
            return
        missing = [c for c in ("key", "shard") if c not in table.column_names]
        if missing:
            self.add(Kind.MISSING_FILE,
                     f"{self.where}/segments.parquet has no column(s) {', '.join(missing)}")
            return
        self.table = table
        keys = table.column("key").to_pylist()
        self.row_shard = table.column("shard").to_pylist()
        counts: dict[str, int] = defaultdict(int)
        for i, (key, shard) in enumerate(zip(keys, self.row_shard, strict=True)):
            counts[key] += 1
            if counts[key] == 1:
                self.key_row[key] = i
                self.rows_by_shard[shard].append(i)
        for key, n in counts.items():
            if n > 1:
                self.add(Kind.DUPLICATE_KEY, f"{n} rows in segments.parquet have this key",
                         self.row_shard[self.key_row[key]], key)

    def check_stats(self) -> None:
        uri = sio.join(self.run_dir, "stats.json")
        try:
            stats = _read_json(uri)
        except FileNotFoundError:
            self.add(Kind.MISSING_FILE, "stats.json not found")
            return
        except (OSError, ValueError) as exc:
            self.add(Kind.MISSING_FILE, f"stats.json is not readable JSON: {exc}")
            return
        part, name = self.layout.stats_count
        kept = (stats.get(part) or {}).get(name) if isinstance(stats, dict) else None
        if kept is None:
            self.add(Kind.MISSING_FILE, f"stats.json has no {part}.{name}")
        elif self.table is not None and kept != self.table.num_rows:
            self.add(Kind.COUNT_MISMATCH, f"stats.json {part}.{name} is {kept}, "
                     f"{self.where}/segments.parquet has {self.table.num_rows} rows")

    def load_takedown(self) -> None:
        """The recorded takedown rules, and whether a takedown was left half done."""
        folder = sio.join(self.run_dir, "takedown")
        if self.layout is LABELLED and sio.exists(sio.join(folder, "pending.json")):
            self.add(Kind.TAKEDOWN_INCOMPLETE, "takedown/pending.json: a takedown was "
                     "interrupted; rerun `speechcurate takedown` (any rule) to finish it")
        uri = sio.join(folder, "rules.jsonl")
        if not sio.exists(uri):
            return
        try:
            lines = sio.read_bytes(uri).decode("utf-8").splitlines()
            config = rules_config(json.loads(line) for line in lines if line.strip())
            self.takedown = config.matcher() if config.active() else None
        except (ValueError, KeyError, TypeError) as exc:
            self.add(Kind.BAD_INDEX, f"takedown/rules.jsonl is not readable: {exc}")

    def check_taken_down_rows(self) -> None:
        """No segments.parquet row may belong to a taken-down recording."""
        if self.takedown is None or self.table is None:
            return
        cols = [c for c in ("recording_id", "source_uri", "page_url", "key", "shard")
                if c in self.table.column_names]
        for row in self.table.select(cols).to_pylist():
            rule = self.takedown.matches_row(row)
            if rule:
                self.add(Kind.TAKEN_DOWN_PUBLISHED, f"segments.parquet lists a segment of a "
                         f"taken-down recording ({rule})", row.get("shard"), row.get("key"))

    def _check_taken_down(self, shard: str, key: str, parts: dict[str, bytes],
                          row: dict[str, Any] | None) -> None:
        if self.takedown is None:
            return
        info: dict[str, Any] = dict(row or {})
        if not info and "json" in parts:
            try:
                parsed = json.loads(parts["json"].decode("utf-8"))
                info = parsed if isinstance(parsed, dict) else {}
            except (UnicodeDecodeError, ValueError):
                info = {}
        rule = self.takedown.match(info.get("recording_id") or key.split("-", 1)[0],
                                   info.get("source_uri"), info.get("page_url"))
        if rule:
            self.add(Kind.TAKEN_DOWN_PUBLISHED,
                     f"sample of a taken-down recording is in a shard ({rule})", shard, key)

    def check_extra_files(self, listed: Iterable[str]) -> None:
        fs, path = sio.fs_and_path(sio.join(self.run_dir, self.layout.shards))
        try:
            names = sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))
        except (FileNotFoundError, NotADirectoryError):
            return
        listed = set(listed)
        for name in names:
            if name.endswith(".tar") and name not in listed:
                self.add(Kind.EXTRA_FILE, f"a tar under {self.layout.shards}/ that "
                         f"{self.where}/shards.json does not list", name)

    def check_rows_found(self) -> None:
        for key, i in self.key_row.items():
            if key in self.found:
                continue
            shard = self.row_shard[i]
            if shard in self.listed:
                msg = "segments.parquet row has no sample in its shard (nor in any other)"
            else:
                msg = f"segments.parquet row names shard {shard!r}, which shards.json does not list"
            self.add(Kind.MANIFEST_ROW_NOT_IN_SHARD, msg, shard, key)

    # -- shards ------------------------------------------------------------------------------

    def _row(self, i: int) -> dict[str, Any]:
        assert self.table is not None
        return self.table.slice(i, 1).to_pylist()[0]

    def check_shard(self, entry: dict[str, Any]) -> None:
        name, uri = entry["name"], entry["uri"]
        rows = {}
        if self.table is not None and self.rows_by_shard.get(name):
            for row in self.table.take(self.rows_by_shard[name]).to_pylist():
                rows[row["key"]] = row
        fs, path = sio.fs_and_path(uri)
        try:
            fh = fs.open(path, "rb")
        except FileNotFoundError:
            self.add(Kind.MISSING_SHARD, f"listed in shards.json but not found at {uri}", name)
            return
        except OSError as exc:
            self.add(Kind.UNREADABLE_TAR, f"cannot open {uri}: {exc}", name)
            return
        with fh:
            reader = _HashingReader(fh)
            try:
                nsamples = self._read_tar(name, reader, rows)
                reader.drain()  # the md5 and size cover the whole file, whatever the tar held
            except OSError as exc:  # storage failed part-way: size and md5 are unknown
                self.add(Kind.UNREADABLE_TAR, f"read error after {reader.size} bytes: {exc}",
                         name)
                return
        want_size, want_md5 = entry.get("filesize"), entry.get("md5sum")
        if want_size is not None and reader.size != want_size:
            self.add(Kind.SIZE_MISMATCH,
                     f"{reader.size} bytes on storage, shards.json says {want_size}", name)
        elif want_md5 is not None and reader.md5.hexdigest() != want_md5:
            self.add(Kind.MD5_MISMATCH,
                     f"md5 {reader.md5.hexdigest()}, shards.json says {want_md5}", name)
        want_n = entry.get("nsamples")
        if want_n is not None and nsamples != want_n:
            self.add(Kind.COUNT_MISMATCH,
                     f"read {nsamples} samples, shards.json says nsamples={want_n}", name)

    def _read_tar(self, name: str, reader: _HashingReader, rows: dict[str, dict]) -> int:
        """Stream the tar, checking each sample; return how many samples (keys) it held."""
        n = 0
        current: str | None = None
        parts: dict[str, bytes] = {}
        seen_here: set[str] = set()

        def finish() -> None:
            nonlocal n
            if current is None:
                return
            n += 1
            self._check_sample(name, current, parts, rows, current in seen_here)
            seen_here.add(current)

        try:
            tar = tarfile.open(fileobj=reader, mode="r|")
        except tarfile.TarError as exc:
            kind = Kind.TRUNCATED_TAR if "unexpected end" in str(exc) else Kind.UNREADABLE_TAR
            self.add(kind, f"not a readable tar: {exc}", name)
            return 0
        try:
            with tar:
                for member in tar:
                    base = posixpath.basename(member.name)
                    key, dot, ext = member.name.partition(".")
                    if not member.isreg() or not dot or base != member.name:
                        self.add(Kind.UNEXPECTED_MEMBER,
                                 f"member {member.name!r} is not a KEY.ext file", name)
                        continue
                    try:
                        validate_key(key)
                    except ValueError:
                        self.add(Kind.UNEXPECTED_MEMBER,
                                 f"member {member.name!r} has an illegal key", name)
                        continue
                    if key != current:
                        finish()
                        current, parts = key, {}
                    if ext not in ("flac", "json") or ext in parts:
                        what = "a second" if ext in parts else "an unexpected"
                        self.add(Kind.UNEXPECTED_MEMBER,
                                 f"{what} member {member.name!r}", name, key)
                        continue
                    if member.size > MAX_MEMBER_BYTES:
                        self.add(Kind.UNEXPECTED_MEMBER,
                                 f"member {member.name!r} is {member.size} bytes, over the cap "
                                 f"of {MAX_MEMBER_BYTES}", name, key)
                        continue
                    fobj = tar.extractfile(member)
                    assert fobj is not None
                    parts[ext] = fobj.read()
                # a last sample cut short by a quiet end is not in the shard: do not count it
                if self._check_end(name, tar, reader) or len(parts) == 2:
                    finish()
                current = None
        except tarfile.TarError as exc:
            whole = n + (current is not None and len(parts) == 2)  # the last one read whole?
            if "unexpected end" in str(exc):
                self.add(Kind.TRUNCATED_TAR,
                         f"the tar ends inside a member (after {whole} complete samples): {exc}",
                         name)
            else:
                self.add(Kind.UNREADABLE_TAR, f"tar unreadable after {whole} samples: {exc}", name)
            if whole > n:
                finish()
        return n

    def _check_end(self, name: str, tar: tarfile.TarFile, reader: _HashingReader) -> bool:
        """tarfile stops quietly at a truncated or invalid header, or at a zero block; look at
        what follows where it stopped. True when the tar ends cleanly."""
        end = tar.offset
        seen = reader.since(end)
        rest, rest_nonzero = reader.drain()
        if seen is None:  # cannot happen with tarfile's 10 KiB read-ahead; nothing to judge
            return True
        trailing = len(seen) + rest
        stripped = seen.lstrip(b"\0")
        if stripped:
            first_nonzero: int | None = len(seen) - len(stripped)
        else:
            first_nonzero = None if rest_nonzero is None else len(seen) + rest_nonzero
        if first_nonzero is None:
            if trailing >= _END_OF_ARCHIVE:
                return True
            self.add(Kind.TRUNCATED_TAR,
                     f"the tar stops at byte {end} without its end-of-archive marker", name)
        elif first_nonzero < tarfile.BLOCKSIZE:
            if trailing < tarfile.BLOCKSIZE:
                self.add(Kind.TRUNCATED_TAR, f"the tar stops inside a header at byte {end}", name)
            else:
                self.add(Kind.UNREADABLE_TAR,
                         f"invalid tar header at byte {end}; the {trailing} bytes from there "
                         "on were not read", name)
        else:
            self.add(Kind.UNREADABLE_TAR,
                     f"{trailing - first_nonzero} bytes of data after the end-of-archive marker "
                     f"at byte {end} (from byte {end + first_nonzero}): tar readers stop at the "
                     "marker and never see them", name)
        return False

    def _check_sample(self, shard: str, key: str, parts: dict[str, bytes],
                      rows: dict[str, dict], duplicate: bool) -> None:
        self.report.samples_checked += 1
        duplicate = duplicate or key in self.found
        if duplicate:
            self.add(Kind.DUPLICATE_KEY, f"sample also appears earlier in {self.found[key]}",
                     shard, key)
        else:
            self.found[key] = shard
        for ext in ("flac", "json"):
            if ext not in parts:
                other = "json" if ext == "flac" else "flac"
                self.add(Kind.INCOMPLETE_SAMPLE, f"has {key}.{other} but no {key}.{ext}",
                         shard, key)
        row = rows.get(key)
        if row is None and self.table is not None:  # without a manifest, nothing to compare
            if key in self.key_row:
                i = self.key_row[key]
                row = self._row(i)
                if not duplicate:  # a second copy is reported as the duplicate it is
                    self.add(Kind.WRONG_SHARD,
                             f"segments.parquet puts this key in {self.row_shard[i]}", shard, key)
            else:
                self.add(Kind.KEY_NOT_IN_MANIFEST, "sample has no row in segments.parquet",
                         shard, key)
        self._check_taken_down(shard, key, parts, row)
        if "flac" in parts:
            frames, audio_problems = check_audio(parts["flac"])
            for kind, message in audio_problems:
                self.add(kind, message, shard, key)
            if frames is not None and row is not None:
                self._check_length(shard, key, frames, row)
        if "json" in parts and row is not None:
            self._check_json(shard, key, parts["json"], row)
        elif "json" in parts:
            self._parse_json(shard, key, parts["json"])

    def _check_length(self, shard: str, key: str, frames: int, row: dict[str, Any]) -> None:
        start, end = row.get("start"), row.get("end")
        if not isinstance(start, int | float) or not isinstance(end, int | float):
            return
        seconds = frames / SAMPLE_RATE
        if not abs(seconds - (end - start)) <= LENGTH_TOLERANCE_S:
            self.add(Kind.AUDIO_LENGTH_MISMATCH,
                     f"audio is {seconds:.4f} s, the row's end - start is {end - start:.4f} s",
                     shard, key)

    def _parse_json(self, shard: str, key: str, data: bytes) -> dict[str, Any] | None:
        try:
            meta = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self.add(Kind.BAD_JSON, f"{key}.json is not valid JSON: {exc}", shard, key)
            return None
        if not isinstance(meta, dict):
            self.add(Kind.BAD_JSON, f"{key}.json is a {type(meta).__name__}, not an object",
                     shard, key)
            return None
        return meta

    def _check_json(self, shard: str, key: str, data: bytes, row: dict[str, Any]) -> None:
        meta = self._parse_json(shard, key, data)
        if meta is None:
            return
        expected = {k: v for k, v in row.items() if k != "shard"}
        reported = set()
        for fld in ("key", "segment_id"):  # both must equal the tar key, in JSON and row
            if fld in meta and meta[fld] != key:
                self.add(Kind.METADATA_MISMATCH,
                         f"JSON field {fld!r} is {_short(meta[fld])}, the tar key is {key!r}",
                         shard, key)
                reported.add(fld)
            if fld in expected and expected[fld] != key:
                self.add(Kind.METADATA_MISMATCH,
                         f"segments.parquet {fld!r} is {_short(expected[fld])}, the tar key "
                         f"is {key!r}", shard, key)
                reported.add(fld)
        for fld in sorted((expected.keys() | meta.keys()) - reported):
            if fld not in meta:
                self.add(Kind.METADATA_MISMATCH, f"JSON has no field {fld!r}", shard, key)
            elif fld not in expected:
                self.add(Kind.METADATA_MISMATCH,
                         f"JSON field {fld!r} is not a segments.parquet column", shard, key)
            elif not _same(meta[fld], expected[fld]):
                self.add(Kind.METADATA_MISMATCH,
                         f"JSON field {fld!r} is {_short(meta[fld])}, segments.parquet has "
                         f"{_short(expected[fld])}", shard, key)


def verify_run(run_dir: str, progress: bool = True) -> VerifyReport:
    """Re-read every shard of the run at ``run_dir`` (a path or fsspec URL) and check it against
    ``manifest/shards.json``, ``manifest/segments.parquet`` and ``stats.json`` (and the same for
    ``ssl/`` when the run has one)."""
    from tqdm import tqdm

    report = VerifyReport(run_dir)
    entries: list[dict[str, Any]] = []
    layouts = [LABELLED]
    if sio.exists(sio.join(run_dir, SSL.manifest, "shards.json")):
        layouts.append(SSL)
    for layout in layouts:
        v = _Verifier(run_dir, report, layout)
        found = v.load_index()
        have_index = found is not None
        found = found or []
        entries += [{**e, "name": f"{layout.prefix}{e['name']}"} for e in found]
        v.listed = {e["name"] for e in found}
        v.load_segments()
        v.check_stats()
        v.load_takedown()
        v.check_taken_down_rows()
        with tqdm(found, desc=f"verify {layout.manifest}", unit="shard",
                  disable=None if progress else True, leave=False) as bar:
            for entry in bar:
                v.check_shard(entry)
                report.shards_checked += 1
                bar.set_postfix(samples=report.samples_checked, problems=len(report.problems),
                                refresh=False)
        if have_index:  # without one, every row and tar would be reported as a consequence
            v.check_rows_found()
            v.check_extra_files(v.listed)
    order = {e["name"]: i for i, e in enumerate(entries)}
    report.problems.sort(key=lambda p: (p.shard is not None,
                                        order.get(p.shard or "", len(order)), p.shard or ""))
    return report


# ---------------------------------------------------------------------------------------------
# command line


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory (local path or fsspec URL such as gs://...)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar, and print nothing when the run verifies")


def run_from_args(args: argparse.Namespace) -> int:
    """Run verify for parsed arguments; print the outcome; 0 when OK, 1 when problems."""
    report = verify_run(args.run_dir, progress=not args.quiet)
    if not (report.ok and args.quiet):
        print(report.render())
    return 0 if report.ok else 1


def add_verify_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``verify`` subcommand to an ``add_subparsers()`` object.

    The parser's defaults carry ``func=run_from_args``, so a CLI can dispatch with
    ``return args.func(args)``.
    """
    p = subparsers.add_parser(
        "verify", help="re-read every shard of a run and check it against its manifests",
        description="Re-read every shard listed in RUN_DIR/manifest/shards.json: size and md5, "
                    "every sample's FLAC decodes (16 kHz mono, length matches its row), every "
                    "JSON matches its segments.parquet row, counts match shards.json and "
                    "stats.json, no unlisted tar lies under RUN_DIR/shards and no recording a "
                    "takedown rule names is still published. Exit code 0 "
                    "when the run verifies, 1 otherwise.")
    _add_arguments(p)
    p.set_defaults(func=run_from_args)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="speechcurate verify",
                                     description="Check a run's shards against its manifests.")
    _add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
