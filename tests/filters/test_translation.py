"""Translation pairs (issue 19): the decision logic on hand-built segments, in milliseconds.

English text on German audio is kept as ``task: translate`` only when its score against the audio
(computed in analyse under Whisper's translate task) reaches the thresholds, per segment and
pooled per recording; otherwise the text is the reject and the audio goes on with its German
pseudo-label. The same fallback holds for every
text rejected against its audio. Real speech: ``test_translation_real_speech.py``.
"""

from __future__ import annotations

import dataclasses

import pytest

from filters.label_config import LabelConfig
from filters.label_decisions import TRANSCRIPT_VERDICT, decide_recording, decide_segment
from filters.translation import (
    TranslationConfig,
    pooled_score,
    segment_chrf,
    slice_english,
    summarise_pairs,
)
from pipelines.config import ConfigError, parse_config
from pipelines.curate import transcript_ledger
from pipelines.stages.decide import DecideRecording, transcript_rejects
from schemas.analysis import analysis_segment_row
from schemas.arrow import recording_row
from schemas.reasons import Reason, Stage
from schemas.records import Cue, Recording, Reject, Segment

CFG = LabelConfig()
GERMAN = "Der Raum hinter diesem Portal wurde als Leichenhalle genutzt."
ENGLISH = "The room lying behind this portal was used as a mortuary."
WHISPER_EN = "The room behind this portal was used as a morgue."  # a plausible X->en decode
OTHER = "A group of children is walking in a river near the bank of the river."
REC = Recording(recording_id="r1", source_uri="file:///a.wav", audio_uri="/a.wav",
                source_name="src")


TRUE, WRONG = 1.6, 0.02  # scores of a real translation and of another clip's text (PMI)


def seg(i=0, source=None, kind="timed", pseudo=GERMAN, translation=WHISPER_EN, logprob=-0.3,
        ap=0.97, dur=4.0, score=None, **kw) -> Segment:
    """A candidate as analyse leaves it: the English text it scored (the cue) and its score."""
    if score is None and source is not None:
        score = TRUE if source == ENGLISH else WRONG
    kw.setdefault("translation_text", source)
    return Segment(segment_id=f"r1-{i:05d}", recording_id="r1", index=i,
                   source_uri="file:///a.wav", start=i * 5.0, end=i * 5.0 + dur,
                   source_text=source, source_text_kind=kind, pseudo_label=pseudo,
                   translation=translation, translation_score=score,
                   audio_language="de", audio_language_prob=ap,
                   audio_language_probs=(("de", ap), ("en", 0.01)), text_language="en",
                   text_language_prob=0.9, avg_logprob=logprob, no_speech_prob=0.01,
                   compression_ratio=1.1, speech_ratio=0.9, source_name="src", **kw)


def decide(segments, rec=REC, config=CFG):
    decided = [decide_segment(s, config) for s in segments]
    kept, rejects = decide_recording(rec, [s for s in decided if isinstance(s, Segment)],
                                     config)
    return kept, rejects + [d for d in decided if isinstance(d, Reject)]


def transcript_flag(s: Segment):
    flags = [v for v in s.verdicts if v.filter == TRANSCRIPT_VERDICT]
    return flags[0] if flags else None


def test_chrf_evidence_and_untimed_slices_and_pooling():
    assert segment_chrf(ENGLISH, WHISPER_EN) > 50 > 25 > segment_chrf(OTHER, WHISPER_EN)
    assert segment_chrf("", WHISPER_EN) == 0.0 and segment_chrf(ENGLISH, None) == 0.0
    # two good translations may share few words: the slices still follow the translations,
    # and the first and last segments take the text's edges
    text = f"So. {ENGLISH} {OTHER} Thanks."
    assert slice_english(text, [WHISPER_EN, "Some children walk in the river by its bank."]) \
        == [f"So. {ENGLISH}", f"{OTHER} Thanks."]
    assert pooled_score([2.0, 0.0], [1.0, 3.0]) == 0.5


def test_a_timed_translation_that_whisper_confirms_is_kept_as_translate():
    (kept,), rejects = decide([seg(source=ENGLISH)])
    assert rejects == []
    assert (kept.task, kept.label_source, kept.text, kept.language, kept.pseudo_label) == (
        "translate", "translation", ENGLISH, "de", GERMAN)
    assert kept.translation_chrf == pytest.approx(segment_chrf(ENGLISH, WHISPER_EN))
    (v,) = [v for v in kept.verdicts if v.filter == "label.translation"]
    assert v.passed and v.value == TRUE and "recording_score" in v.detail
    assert transcript_flag(kept) is None


def test_a_mismatched_english_text_is_the_reject_and_its_audio_is_kept_as_german():
    (kept,), rejects = decide([seg(source=OTHER)])
    assert rejects == []
    assert (kept.task, kept.label_source, kept.text, kept.language) == (
        "transcribe", "pseudo", GERMAN, "de")
    assert kept.source_text == OTHER  # provenance stays; the label is the pseudo-label
    flag = transcript_flag(kept)
    assert flag.passed and flag.reason == Reason.TRANSLATION_MISMATCH
    assert "score=0.02" in flag.detail


def test_a_mismatch_whose_audio_fails_its_own_checks_drops_for_the_audio_s_reason():
    kept, (rej,) = decide([seg(source=OTHER, logprob=-0.95)])
    assert kept == []
    assert (rej.reason, rej.stage) == (Reason.LOW_ASR_CONFIDENCE, Stage.LABEL)
    assert "translation_mismatch" in rej.detail and rej.text == OTHER
    assert TRANSCRIPT_VERDICT in [v.filter for v in rej.verdicts]


def test_one_good_segment_cannot_carry_a_wrong_transcript():
    # pooled over the recording's pairs (by duration): one short match among long unrelated text
    other = "Well, a group of children, it seems, is walking in a river."  # human: commas
    segs = [seg(0, source=ENGLISH, dur=2.0)] + [seg(i, source=other, dur=6.0) for i in (1, 2, 3)]
    kept, rejects = decide(segs)
    assert rejects == [] and [s.label_source for s in kept] == ["pseudo"] * 4
    assert "recording score" in transcript_flag(kept[0]).detail
    relaxed = dataclasses.replace(CFG, translation=TranslationConfig(min_recording_score=-20.0))
    kept, _ = decide(segs, config=relaxed)
    assert [s.label_source for s in kept] == ["translation"] + ["pseudo"] * 3


def test_untimed_english_text_uses_analyse_s_slices_and_scores():
    rec = dataclasses.replace(REC, transcript_text=f"{ENGLISH} {OTHER}", transcript_format="txt")
    segs = [seg(0, kind="untimed", translation_text=ENGLISH, score=TRUE),
            seg(1, kind="untimed", pseudo="Eine Gruppe Kinder läuft im Fluss.",
                translation="Some children walk in the river.", translation_text=OTHER,
                score=TRUE)]
    kept, rejects = decide(segs, rec)
    assert rejects == []
    assert [(s.label_source, s.task, s.text) for s in kept] == [
        ("translation", "translate", ENGLISH), ("translation", "translate", OTHER)]
    assert all("label.alignment" in [v.filter for v in s.verdicts] for s in kept)


def test_untimed_text_of_something_else_keeps_every_segment_s_audio():
    rec = dataclasses.replace(REC, transcript_text="Advertising conveys a false impression.")
    segs = [seg(0, kind="untimed", translation_text="Advertising conveys", score=WRONG),
            seg(1, kind="untimed", translation_text=None)]  # nothing of the text aligned here
    kept, rejects = decide(segs, rec)
    assert rejects == [] and [s.label_source for s in kept] == ["pseudo", "pseudo"]
    assert all(transcript_flag(s).reason == Reason.TRANSLATION_MISMATCH for s in kept)
    assert "not aligned" in transcript_flag(kept[1]).detail


def test_a_candidate_without_a_whisper_translation_is_not_kept_unverified_by_default():
    unscored = seg(source=ENGLISH, translation=None, score=float("nan"))
    unscored = dataclasses.replace(unscored, translation_score=None)
    (kept,), _ = decide([unscored])
    assert kept.label_source == "pseudo"
    assert "no score against the audio" in transcript_flag(kept).detail
    trusting = dataclasses.replace(CFG, translation=TranslationConfig(keep_unverified=True))
    (kept,), _ = decide([unscored], config=trusting)
    assert kept.label_source == "translation" and kept.translation_chrf is None


def test_a_disagreeing_transcript_is_the_reject_not_its_audio():
    english = Segment(
        segment_id="r1-00000", recording_id="r1", index=0, source_uri="file:///a.wav",
        start=0.0, end=4.0, source_text="Completely different words about football.",
        source_text_kind="timed", pseudo_label="Hello there, how are you today?",
        audio_language="en", audio_language_prob=0.98, audio_language_probs=(("en", 0.98),),
        text_language="en", text_language_prob=0.9, avg_logprob=-0.2, no_speech_prob=0.01,
        compression_ratio=1.1, speech_ratio=0.9)
    out = decide_segment(english, CFG)
    assert isinstance(out, Segment) and out.label_source == "pseudo"
    assert out.text == "Hello there, how are you today?"
    assert transcript_flag(out).reason == Reason.LABEL_DISAGREEMENT


def test_plan_rows_give_transcript_rejects_and_balanced_books():
    good, bad, lost = seg(0, source=ENGLISH), seg(1, source=OTHER), seg(
        2, source=OTHER, logprob=-0.95)
    rec = dataclasses.replace(REC, cues=(Cue(0, 4, ENGLISH), Cue(5, 9, OTHER), Cue(10, 14, OTHER)))
    rows = []
    for s in (good, bad, lost):
        rows.append(analysis_segment_row(s, "p.tar", 0, 10))
    fn = DecideRecording(parse_config({"sources": [{"type": "local", "path": "/tmp"}]}).curate)
    relaxed = dataclasses.replace(fn.configs.labels,
                                  translation=TranslationConfig(min_recording_score=-20.0))
    fn.configs = dataclasses.replace(fn.configs, labels=relaxed)
    plan = list(fn.process(("r1", {"segments": rows, "recording": [recording_row(rec)]})))
    by_id = {r["segment_id"]: r for r in plan}
    assert by_id["r1-00000"]["keep"] and by_id["r1-00000"]["label_source"] == "translation"
    assert by_id["r1-00001"]["keep"] and by_id["r1-00001"]["label_source"] == "pseudo"
    assert not by_id["r1-00002"]["keep"]
    texts = {t.id: t for r in plan for t in transcript_rejects(r)}
    assert sorted(texts) == ["r1-00001-transcript", "r1-00002-transcript"]
    t = texts["r1-00001-transcript"]
    assert (t.stage, t.reason, t.duration, t.start, t.text) == (
        Stage.TRANSCRIPT, Reason.TRANSLATION_MISMATCH, 0.0, None, OTHER)
    book = transcript_ledger(plan)
    assert book.problems() == [] and book.summary() == {"in": 2, "kept": 1, "rejected": 1}
    # a rejected text whose segment were still labelled with it would fail the books
    wrong = [dict(r, label_source="translation") if r["segment_id"] == "r1-00001" else r
             for r in plan]
    assert "vanished" in transcript_ledger(wrong).problems()[0]
    stats = summarise_pairs([r for r in plan if r["keep"]],
                            [{"reason": t.reason, "detail": t.detail, "language": t.language}
                             for t in texts.values()])
    assert stats["de-en"]["kept"] == 1 and stats["de-en"]["mismatch"] == 2
    assert stats["de-en"]["kept_score"]["min"] == TRUE
    assert stats["de-en"]["kept_chrf"]["min"] == by_id["r1-00000"]["translation_chrf"]
    assert stats["de-en"]["mismatch_score"] == {"min": WRONG, "median": WRONG, "max": WRONG}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("min_segment_score", 21, "must be in [-20, 20] nats per token"),
    ("min_recording_score", -21.5, "must be in [-20, 20] nats per token"),
    ("min_segment_score", float("nan"), "must be a finite number"),
    ("keep_unverified", "yes", "expected true/false"),
])
def test_bad_translation_config_fails_naming_the_field(field, value, message):
    data = {"sources": [{"type": "local", "path": "/tmp"}],
            "curate": {"labels": {"translation": {field: value}}}}
    with pytest.raises(ConfigError, match=rf"curate\.labels\.translation\.{field}: .*"
                                          + message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(data)


def test_an_english_only_model_s_pseudo_label_does_not_replace_a_foreign_transcript():
    # tiny.en has no audio LID: the German text decided the language, its pseudo-label is English
    german = Segment(
        segment_id="r1-00000", recording_id="r1", index=0, source_uri="file:///a.wav",
        start=0.0, end=4.0, source_text=GERMAN, source_text_kind="timed",
        pseudo_label="There are house and portal with the light and hell.", text_language="de",
        text_language_prob=0.95, avg_logprob=-0.4, no_speech_prob=0.01, compression_ratio=1.1,
        speech_ratio=0.9)
    out = decide_segment(german, dataclasses.replace(CFG, fallback_language="en"))
    assert isinstance(out, Reject) and out.reason == Reason.LABEL_DISAGREEMENT
    assert "no audio language ID" in out.detail
