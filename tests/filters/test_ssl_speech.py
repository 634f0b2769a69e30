"""``curate.ssl``: which drops go to ``RUN/ssl/``, decided by the real filter registry over thin
rows (no audio, no models beyond the PII detector), and the books that catch a wrong one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from filters.ssl_speech import (
    DEFAULT_REASONS,
    LABEL_TRUST_REASONS,
    SSL_FIELDS,
    SslConfig,
    ssl_metadata,
    ssl_problem,
)
from filters.takedown import TakedownConfig
from pipelines.config import ConfigError, CurateConfig, RunConfig, parse_config
from pipelines.curate import ssl_ledger
from pipelines.stages.decide import DecideRecording
from schemas import accounting
from schemas.analysis import analysis_segment_row
from schemas.reasons import Reason
from schemas.records import Segment

RID, TAKEN = "a" * 16, "b" * 16
CLEAN = dict(dnsmos=3.6, dnsmos_sig=3.9, dnsmos_bak=4.1, snr_db=30.0, clipping_ratio=0.0,
             dc_offset=0.0, silence_ratio=0.0, loudness_lufs=-23.0, bandwidth_hz=8000.0,
             peak_dbfs=-3.0, speech_ratio=0.9)
SPOKEN = dict(pseudo_label="the weather today will be sunny", avg_logprob=-0.2,
              no_speech_prob=0.01, compression_ratio=1.2)
HEARD_EN = dict(audio_language="en", audio_language_prob=0.99,
                audio_language_probs=(("en", 0.99),))


def seg(rid: str, i: int, **kw) -> Segment:
    return Segment(f"{rid}-{i:05d}", rid, i, f"file:///{rid}.wav", i * 5.0, i * 5.0 + 4.0,
                   **{**CLEAN, **kw})


# Recording RID: one case per segment (index -> what it shows).
CASES = {
    0: seg(RID, 0, **SPOKEN),  # clean speech, no language evidence: lid_low_confidence -> ssl
    1: seg(RID, 1, **SPOKEN, clipping_ratio=0.2),  # the same, clipped audio: not ssl
    2: seg(RID, 2, **SPOKEN, **HEARD_EN),  # kept with its pseudo-label: not ssl
    3: seg(RID, 3, pseudo_label="", avg_logprob=-1.5, no_speech_prob=0.95,
           compression_ratio=1.0, **HEARD_EN),  # no speech (hallucination): not ssl
    4: seg(RID, 4, pseudo_label="please call me on 555-123-4567 tonight", avg_logprob=-0.2,
           no_speech_prob=0.01, compression_ratio=1.2),  # PII in the untrusted text: not ssl
}


def _plan(cfg: CurateConfig, segments: list[Segment], rid: str = RID) -> dict[str, dict]:
    rows = [analysis_segment_row(s, "pack.tar", 0, 1000) for s in segments]
    out = DecideRecording(cfg).process((rid, {"segments": rows, "recording": []}))
    return {r["segment_id"]: r for r in out}


@pytest.fixture(scope="module")
def plan() -> dict[str, dict]:
    cfg = CurateConfig(ssl=SslConfig(enabled=True),
                       takedown=TakedownConfig(recording_ids=(TAKEN,)))
    rows = _plan(cfg, list(CASES.values()))
    rows.update(_plan(cfg, [seg(TAKEN, 0, **SPOKEN)], TAKEN))
    return rows


def test_only_clean_speech_dropped_for_its_label_goes_to_ssl(plan):
    fates = {sid: (r["keep"], r["reject_reason"], r["ssl"]) for sid, r in plan.items()}
    assert fates == {
        f"{RID}-00000": (False, Reason.LID_LOW_CONFIDENCE, True),
        f"{RID}-00001": (False, Reason.LID_LOW_CONFIDENCE, False),
        f"{RID}-00002": (True, "", False),
        f"{RID}-00003": (False, Reason.HALLUCINATION, False),
        f"{RID}-00004": (False, Reason.LID_LOW_CONFIDENCE, False),
        f"{TAKEN}-00000": (False, Reason.TAKEN_DOWN, False),
    }
    assert plan[f"{RID}-00004"]["audio_edits"], "the PII case must have had its words found"


def test_why_not_is_named(plan):
    cfg, quality = SslConfig(enabled=True), CurateConfig().quality
    assert ssl_problem(plan[f"{RID}-00001"], cfg, quality) == "audio: clipping"
    assert ssl_problem(plan[f"{RID}-00004"], cfg, quality) == "pii found"
    assert ssl_problem(plan[f"{TAKEN}-00000"], cfg, quality) == "not only label-trust reasons"
    assert ssl_problem(plan[f"{RID}-00000"], cfg, quality, ("de",)).startswith("audio language")
    assert ssl_problem(plan[f"{RID}-00001"], replace(cfg, check_audio=False), quality) == ""
    # a reason left out of the config rules its drops out
    narrow = SslConfig(enabled=True, reasons=(str(Reason.LABEL_DISAGREEMENT),))
    assert ssl_problem(plan[f"{RID}-00000"], narrow, quality) == "not only label-trust reasons"


def test_off_by_default_marks_nothing():
    rows = _plan(CurateConfig(), [CASES[0]])
    assert not CurateConfig().ssl.enabled
    assert [r["ssl"] for r in rows.values()] == [False]


def test_the_ssl_books_fail_on_a_wrong_or_missing_sample(plan):
    config = RunConfig(sources=(), curate=CurateConfig(
        ssl=SslConfig(enabled=True), takedown=TakedownConfig(recording_ids=(TAKEN,))))
    rows = list(plan.values())
    good = [{"keys": [f"{RID}-00000"]}]
    assert accounting.check([ssl_ledger(rows, good, config)])
    for written in ([], [{"keys": [f"{RID}-00000", f"{RID}-00002"]}],  # missing; a kept one
                    [{"keys": [f"{RID}-00000", f"{TAKEN}-00000"]}]):  # a taken-down one
        with pytest.raises(accounting.AccountingError):
            accounting.check([ssl_ledger(rows, written, config)])
    # a taken-down row marked ssl by mistake is not allowed in either
    forged = [{**r, "ssl": True} if r["segment_id"] == f"{TAKEN}-00000" else r for r in rows]
    with pytest.raises(accounting.AccountingError, match=TAKEN):
        accounting.check([ssl_ledger(forged, [{"keys": [f"{RID}-00000", f"{TAKEN}-00000"]}],
                                     config)])


def test_a_sample_carries_no_text(plan):
    row = {**plan[f"{RID}-00000"], "source_text": "secret words", "text": "secret words"}
    meta = ssl_metadata(row, None)
    assert tuple(meta) == SSL_FIELDS
    assert meta["label_reject_reason"] == Reason.LID_LOW_CONFIDENCE
    assert "secret" not in repr(meta) and "weather" not in repr(meta)


def test_config_is_validated_naming_the_field():
    assert set(DEFAULT_REASONS) < LABEL_TRUST_REASONS
    cfg = parse_config({"sources": [{"type": "local", "path": "/x"}],
                        "curate": {"ssl": {"enabled": True, "reasons": ["lid_mismatch"]}}})
    assert cfg.curate.ssl.reasons == ("lid_mismatch",)
    for bad, where in ((["low_dnsmos"], "curate.ssl.reasons[0]"),
                       (["lid_mismatch", "pii"], "curate.ssl.reasons[1]"),
                       ([], "curate.ssl.reasons")):
        with pytest.raises(ConfigError, match=where.replace("[", r"\[")):
            parse_config({"sources": [{"type": "local", "path": "/x"}],
                          "curate": {"ssl": {"enabled": True, "reasons": bad}}})
