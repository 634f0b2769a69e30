"""What the ASR stage knows about a segment's language before Whisper listens."""

from __future__ import annotations

from pipelines.config import DecodeConfig, LidConfig, SegmentConfig
from pipelines.stages.asr import language_hint
from pipelines.stages.decode import DecodeAndSegment
from schemas.records import Cue, Recording, Segment


def seg(**kw) -> Segment:
    return Segment(segment_id="r-00000", recording_id="r", index=0, source_uri="a.wav",
                   start=0.0, end=3.0, **kw)


def test_hint_is_the_confident_text_language_else_the_declared_one():
    assert language_hint(seg(text_language="es", text_language_prob=0.97)) == "es"
    assert language_hint(seg(text_language="pt", text_language_prob=0.3,
                             declared_language="es-MX")) == "es"
    assert language_hint(seg()) == ""


def test_untimed_transcript_language_is_identified_once_per_recording():
    stage = DecodeAndSegment(DecodeConfig(), SegmentConfig(), isolate=False, lid=LidConfig())
    stage.setup()
    untimed = Recording(recording_id="r", source_uri="a.wav", audio_uri="a.wav",
                        transcript_text="Las arenas son blanquecinas, de grano medio, y tiene "
                                        "muy poca asistencia.")
    lang, prob = stage._transcript_language(untimed)
    assert lang == "es" and prob > 0.9
    timed = Recording(recording_id="r", source_uri="a.wav", audio_uri="a.wav",
                      transcript_text=untimed.transcript_text,
                      cues=(Cue(0.0, 3.0, "Las arenas son blanquecinas."),))
    assert stage._transcript_language(timed) == ("", 0.0)  # cues get their own LID per segment
    assert DecodeAndSegment(DecodeConfig(), SegmentConfig(), isolate=False)._transcript_language(
        untimed) == ("", 0.0)
