"""``speechcurate verify``: a small real run (FLAC audio, deterministic tars, Parquet manifests)
verifies clean, and each kind of damage is reported with its exact kind, shard and key."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path

import fsspec
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from filters.audio import SAMPLE_RATE, encode_flac
from filters.shards import write_tar
from pipelines.manifests import compute_stats, write_manifests
from pipelines.verify import Kind, add_verify_parser, check_audio, main, verify_run
from schemas.arrow import segment_row
from schemas.keys import segment_id_for, shard_name
from schemas.records import Segment, Verdict

REC_A, REC_B = "a" * 16, "b" * 16
# (recording, index, start, end): three samples go to shard 0, two to shard 1
LAYOUT = [[(REC_A, 0, 0.5, 1.25), (REC_A, 1, 1.5, 2.0), (REC_A, 2, 2.25, 3.0)],
          [(REC_B, 0, 0.0, 0.8), (REC_B, 1, 1.0, 1.6)]]
SHARD0, SHARD1 = shard_name(0), shard_name(1)


def _audio(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t)
    return (tone + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def _segment(rec: str, index: int, start: float, end: float, shard: str) -> Segment:
    sid = segment_id_for(rec, index)
    return Segment(
        sid, rec, index, f"file:///corpus/{rec}.wav", start, end,
        audio=_audio(end - start, index + (10 if rec == REC_B else 0)),
        source_name="files", licence="CC-BY-4.0", source_text=f"utterance {index}",
        source_text_kind="timed", pseudo_label=f"utterance {index}", text=f"utterance {index}",
        label_source="agreed", language="en", language_prob=0.93, text_language="en",
        text_language_prob=0.9, audio_language="en", audio_language_prob=0.97,
        audio_language_probs=(("en", 0.97), ("de", 0.01)), avg_logprob=-0.21,
        no_speech_prob=0.01, compression_ratio=1.3, cer=0.0, wer=0.0, speech_ratio=0.8,
        snr_db=31.5, clipping_ratio=0.0, loudness_lufs=-23.1, chars_per_second=14.2,
        dnsmos=float("nan"),  # NaN must survive the JSON round trip as "equal"
        pii_spans=((0.0, 0.9, "PERSON", "redact"),), verdicts=(Verdict("snr", True, "", ""),),
        shard=shard, key=sid,
    )


def _write_shard(path: Path, segments: list[Segment], meta_edit=None) -> dict:
    samples = []
    for seg in segments:
        meta = {**seg.sample_metadata(), "key": seg.segment_id}
        if meta_edit is not None:
            meta = meta_edit(seg.segment_id, meta)
        samples.append((seg.segment_id, encode_flac(seg.audio), meta))
    with open(path, "wb") as fh:
        info = write_tar(fh, samples)
    return {"url": f"../shards/{path.name}", "nsamples": info.nsamples,
            "filesize": info.filesize, "md5sum": info.md5sum}


def _index(run: Path) -> dict:
    return json.loads((run / "manifest" / "shards.json").read_text())


def _save_index(run: Path, index: dict) -> None:
    (run / "manifest" / "shards.json").write_text(json.dumps(index, indent=2))


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "shards").mkdir(parents=True)
    shardlist, rows = [], []
    for i, layout in enumerate(LAYOUT):
        segments = [_segment(*spec, shard=shard_name(i)) for spec in layout]
        shardlist.append(_write_shard(run / "shards" / shard_name(i), segments))
        rows.extend(segment_row(s) for s in segments)
    recordings = [{"recording_id": r, "duration": 10.0, "source_name": "files"}
                  for r in (REC_A, REC_B)]
    stats = compute_stats(recordings, rows, [], shardlist, {"name": "run"})
    write_manifests(str(run), rows, [], shardlist, stats)
    return run


def _segments(shard: int) -> list[Segment]:
    return [_segment(*spec, shard=shard_name(shard)) for spec in LAYOUT[shard]]


def _keys(shard: int) -> list[str]:
    return [segment_id_for(rec, idx) for rec, idx, _, _ in LAYOUT[shard]]


def _found(report) -> set[tuple[str, str | None, str | None]]:
    return {(str(p.kind), p.shard, p.key) for p in report.problems}


def test_clean_run_verifies(run, capsys):
    report = verify_run(str(run), progress=False)
    assert report.problems == []
    assert report.ok and (report.shards_checked, report.samples_checked) == (2, 5)
    assert main([str(run)]) == 0
    assert capsys.readouterr().out.strip() == "verify: OK — 2 shards, 5 samples checked"
    assert main([str(run), "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_clean_run_through_an_fsspec_url(run):
    fs = fsspec.filesystem("memory")
    for path in run.rglob("*"):
        if path.is_file():
            fs.pipe(f"/verify-run/{path.relative_to(run)}", path.read_bytes())
    try:
        report = verify_run("memory://verify-run", progress=False)
        assert report.problems == [] and report.samples_checked == 5
    finally:
        fs.rm("/verify-run", recursive=True)


def test_flipped_byte_in_flac_payload(run, capsys):
    key = _keys(0)[1]
    flac = encode_flac(_segments(0)[1].audio)
    tar_path = run / "shards" / SHARD0
    data = bytearray(tar_path.read_bytes())
    at = data.find(flac)
    assert at > 0 and data.find(flac, at + 1) == -1
    data[at + len(flac) // 2] ^= 0x5A
    tar_path.write_bytes(bytes(data))

    report = verify_run(str(run), progress=False)
    assert _found(report) == {("md5_mismatch", SHARD0, None),
                              ("undecodable_audio", SHARD0, key)}
    assert main([str(run), "--quiet"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"md5_mismatch: {SHARD0}") for line in out)
    assert any(line.startswith(f"undecodable_audio: {SHARD0} {key}") for line in out)
    assert out[-1].startswith("verify: 2 problems in ")


def test_truncated_shard(run, capsys):
    tar_path = run / "shards" / SHARD1
    data = tar_path.read_bytes()
    with tarfile.open(tar_path) as tar:
        second_flac = tar.getmember(f"{_keys(1)[1]}.flac")
    tar_path.write_bytes(data[: second_flac.offset_data + 100])  # cut inside the 2nd FLAC

    report = verify_run(str(run), progress=False)
    assert _found(report) == {
        ("size_mismatch", SHARD1, None),
        ("truncated_tar", SHARD1, None),
        ("count_mismatch", SHARD1, None),  # 1 sample read, nsamples=2
        ("manifest_row_not_in_shard", SHARD1, _keys(1)[1]),
    }
    assert report.samples_checked == 4
    assert main([str(run)]) == 1
    assert f"truncated_tar: {SHARD1}" in capsys.readouterr().out


def test_shard_cut_at_a_header_boundary(run):
    """tarfile ends quietly at a missing header; verify notices the missing end marker."""
    tar_path = run / "shards" / SHARD0
    with tarfile.open(tar_path) as tar:
        third = tar.getmember(f"{_keys(0)[2]}.flac")
    tar_path.write_bytes(tar_path.read_bytes()[: third.offset])

    report = verify_run(str(run), progress=False)
    assert _found(report) == {
        ("size_mismatch", SHARD0, None),
        ("truncated_tar", SHARD0, None),
        ("count_mismatch", SHARD0, None),
        ("manifest_row_not_in_shard", SHARD0, _keys(0)[2]),
    }


def test_data_after_the_end_of_archive_marker(run):
    """A second tar concatenated onto a shard is invisible to tar readers: unreadable_tar."""
    tar_path = run / "shards" / SHARD0
    tar_path.write_bytes(tar_path.read_bytes() + (run / "shards" / SHARD1).read_bytes())
    report = verify_run(str(run), progress=False)
    assert _found(report) == {("unreadable_tar", SHARD0, None), ("size_mismatch", SHARD0, None)}
    assert "after the end-of-archive marker" in report.problems[0].message


def test_missing_shard(run, capsys):
    (run / "shards" / SHARD1).unlink()
    report = verify_run(str(run), progress=False)
    assert _found(report) == {("missing_shard", SHARD1, None)} | {
        ("manifest_row_not_in_shard", SHARD1, key) for key in _keys(1)}
    assert report.shards_checked == 2 and report.samples_checked == 3
    assert main([str(run), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert f"missing_shard: {SHARD1}" in out and "verify: 3 problems" in out


def test_extra_sample_appended(run):
    extra = segment_id_for("c" * 16, 0)
    flac = encode_flac(_audio(0.5, 7))
    with tarfile.open(run / "shards" / SHARD0, "a") as tar:  # like `tar -r`
        for name, payload in ((f"{extra}.flac", flac), (f"{extra}.json", b'{"key": "x"}')):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

    report = verify_run(str(run), progress=False)
    assert _found(report) == {
        ("size_mismatch", SHARD0, None),
        ("key_not_in_manifest", SHARD0, extra),
        ("count_mismatch", SHARD0, None),
    }
    count = next(p for p in report.problems if p.kind == Kind.COUNT_MISMATCH)
    assert "read 4 samples" in count.message and "nsamples=3" in count.message


def test_edited_json_field(run):
    """A re-written and re-indexed shard passes md5, but not the JSON-vs-row comparison."""
    key = _keys(1)[0]

    def edit(k, meta):
        return {**meta, "text": "something else"} if k == key else meta

    index = _index(run)
    index["shardlist"][1] = _write_shard(run / "shards" / SHARD1, _segments(1), edit)
    _save_index(run, index)

    report = verify_run(str(run), progress=False)
    assert _found(report) == {("metadata_mismatch", SHARD1, key)}
    assert "'text'" in report.problems[0].message
    assert "'something else'" in report.problems[0].message
    assert main([str(run), "--quiet"]) == 1


def test_extra_tar_under_shards(run):
    (run / "shards" / "shard-000002.tar").write_bytes((run / "shards" / SHARD0).read_bytes())
    report = verify_run(str(run), progress=False)
    assert _found(report) == {("extra_file", "shard-000002.tar", None)}


def test_sample_in_the_wrong_shard_and_duplicate_key(run):
    """Shard 1 also carries shard 0's first sample: that key is now in two tars."""
    moved = _segments(0)[0]
    index = _index(run)
    index["shardlist"][1] = _write_shard(run / "shards" / SHARD1, [moved, *_segments(1)])
    _save_index(run, index)
    report = verify_run(str(run), progress=False)
    assert _found(report) == {("duplicate_key", SHARD1, moved.segment_id)}
    assert SHARD0 in report.problems[0].message

    # now only in shard 1: the row still says shard 0
    index["shardlist"][0] = _write_shard(run / "shards" / SHARD0, _segments(0)[1:])
    _save_index(run, index)
    report = verify_run(str(run), progress=False)
    assert _found(report) == {("wrong_shard", SHARD1, moved.segment_id)}
    assert SHARD0 in report.problems[0].message


def test_audio_length_and_stats_count(run):
    """A row whose end moved by 50 ms (in parquet and JSON alike), and stale stats.json."""
    key = _keys(0)[0]
    table = pq.read_table(run / "manifest" / "segments.parquet")
    rows = table.to_pylist()
    for row in rows:
        if row["key"] == key:
            row["end"] += 0.05
            row["duration"] += 0.05
    pq.write_table(table.from_pylist(rows, schema=table.schema),
                   run / "manifest" / "segments.parquet")

    def edit(k, meta):
        return {**meta, "end": meta["end"] + 0.05, "duration": meta["duration"] + 0.05} \
            if k == key else meta

    index = _index(run)
    index["shardlist"][0] = _write_shard(run / "shards" / SHARD0, _segments(0), edit)
    _save_index(run, index)
    stats = json.loads((run / "stats.json").read_text())
    stats["kept"]["segments"] = 6
    (run / "stats.json").write_text(json.dumps(stats))

    report = verify_run(str(run), progress=False)
    assert _found(report) == {("count_mismatch", None, None),
                              ("audio_length_mismatch", SHARD0, key)}
    assert "stats.json" in report.problems[0].message


def test_bad_json_and_missing_manifest(run):
    key = _keys(0)[2]
    index = _index(run)
    bad = {"text": "x"}  # replaced below by invalid bytes
    index["shardlist"][0] = _write_shard(run / "shards" / SHARD0, _segments(0),
                                         lambda k, m: bad if k == key else m)
    data = (run / "shards" / SHARD0).read_bytes().replace(b'{"text": "x"}', b'{"text": "x"')
    (run / "shards" / SHARD0).write_bytes(data)
    index["shardlist"][0]["filesize"] = len(data)
    index["shardlist"][0]["md5sum"] = hashlib.md5(data).hexdigest()
    _save_index(run, index)
    report = verify_run(str(run), progress=False)
    assert _found(report) == {("bad_json", SHARD0, key)}

    (run / "manifest" / "segments.parquet").unlink()
    report = verify_run(str(run), progress=False)
    assert _found(report) == {("missing_file", None, None), ("bad_json", SHARD0, key)}
    assert "segments.parquet" in report.problems[0].message


def test_check_audio_rejects_wrong_rate_and_channels():
    buf = io.BytesIO()
    sf.write(buf, np.zeros((800, 2), np.float32), 8000, format="FLAC")
    frames, problems = check_audio(buf.getvalue())
    assert frames == 800 and [k for k, _ in problems] == [Kind.WRONG_AUDIO_FORMAT]
    assert check_audio(encode_flac(_audio(0.1, 1))) == (1600, [])


def test_add_verify_parser_wires_a_subcommand(run):
    parser = argparse.ArgumentParser(prog="speechcurate")
    add_verify_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["verify", str(run), "--quiet"])
    assert args.command == "verify" and args.quiet and args.run_dir == str(run)
    assert args.func(args) == 0
