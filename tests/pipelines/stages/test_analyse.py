"""What the ASR stage knows about a segment's language before Whisper listens."""

from __future__ import annotations

from pipelines.config import DecodeConfig, LidConfig, SegmentConfig
from pipelines.stages.analyse import AnalyseRecording, _transcript_text
from pipelines.stages.asr import language_hint
from schemas.records import Cue, Recording, Segment


def seg(**kw) -> Segment:
    return Segment(segment_id="r-00000", recording_id="r", index=0, source_uri="a.wav",
                   start=0.0, end=3.0, **kw)


def test_hint_is_the_confident_text_language_else_the_declared_one():
    assert language_hint(seg(text_language="es", text_language_prob=0.97)) == "es"
    assert language_hint(seg(text_language="pt", text_language_prob=0.3,
                             declared_language="es-MX")) == "es"
    assert language_hint(seg()) == ""


def test_a_transcript_is_identified_once_per_recording():
    stage = AnalyseRecording(DecodeConfig(), SegmentConfig(), LidConfig(), isolate=False)
    stage.setup()
    untimed = Recording(recording_id="r", source_uri="a.wav", audio_uri="a.wav",
                        transcript_text="Las arenas son blanquecinas, de grano medio, y tiene "
                                        "muy poca asistencia.")
    lang, prob = stage._language(_transcript_text(untimed))
    assert lang == "es" and prob > 0.9
    timed = Recording(recording_id="r", source_uri="a.wav", audio_uri="a.wav",
                      cues=(Cue(0.0, 3.0, "Las arenas son blanquecinas, de grano medio."),
                            Cue(3.0, 6.0, "Y tiene muy poca asistencia.")))
    assert _transcript_text(timed).startswith("Las arenas son blanquecinas")
    lang, _ = stage._language(_transcript_text(timed))  # cues joined: one vote per recording
    assert lang == "es"
    assert stage._language("corto") == ("", 0.0)  # under lid.min_text_chars: no evidence
