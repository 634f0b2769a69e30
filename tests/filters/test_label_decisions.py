"""The two hooks: decide_segment and decide_recording, on hand-built segments."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from filters.alignment import align_transcript
from filters.label_config import LabelConfig
from filters.label_decisions import decide_recording, decide_segment
from schemas.reasons import Reason, Stage
from schemas.records import Cue, Recording, Reject, Segment

CFG = LabelConfig()
REC = Recording(recording_id="r1", source_uri="file:///a.wav", audio_uri="/a.wav",
                source_name="src")


def seg(i=0, source=None, kind="none", pseudo="Hello there, how are you?", audio="en", ap=0.95,
        text_lang="", tp=0.0, logprob=-0.2, nsp=0.01, cr=1.2, speech=0.8, start=None, dur=3.0,
        **kw) -> Segment:
    start = i * 4.0 if start is None else start
    return Segment(segment_id=f"r1-{i:05d}", recording_id="r1", index=i, source_uri="file:///a.wav",
                   start=start, end=start + dur, source_text=source, source_text_kind=kind,
                   pseudo_label=pseudo, audio_language=audio, audio_language_prob=ap,
                   audio_language_probs=((audio, ap),) if audio else (), text_language=text_lang,
                   text_language_prob=tp, avg_logprob=logprob, no_speech_prob=nsp,
                   compression_ratio=cr, speech_ratio=speech, source_name="src", **kw)


def test_timed_source_that_agrees_is_kept_with_everything_recorded():
    out = decide_segment(seg(source="Hello there, how are you?", kind="timed", text_lang="en",
                             tp=0.9), CFG)
    assert isinstance(out, Segment)
    assert (out.text, out.label_source, out.task, out.language) == (
        "Hello there, how are you?", "source", "transcribe", "en")
    assert out.cer == 0.0 and out.wer == 0.0 and out.language_prob >= 0.9
    names = [v.filter for v in out.verdicts]
    assert names == ["label.lid", "label.hallucination", "label.choice"]
    assert all(v.passed for v in out.verdicts)


def test_lid_mismatch_is_a_lid_stage_reject():
    out = decide_segment(seg(source="Bonjour tout le monde, ça va?", kind="timed", audio="de",
                             ap=0.99, text_lang="fr", tp=0.95), CFG)
    assert isinstance(out, Reject)
    assert (out.stage, out.reason) == (Stage.LID, Reason.LID_MISMATCH)
    assert "audio=de" in out.detail


def test_translation_pair():
    out = decide_segment(seg(source="Good morning, everybody.", kind="timed",
                             pseudo="Guten Morgen zusammen.", audio="de", ap=0.97,
                             text_lang="en", tp=0.9), CFG)
    assert isinstance(out, Segment)
    assert (out.task, out.label_source, out.language, out.text) == (
        "translate", "translation", "de", "Good morning, everybody.")


def test_no_source_uses_confident_pseudo_or_rejects():
    out = decide_segment(seg(), CFG)
    assert isinstance(out, Segment) and out.label_source == "pseudo" and out.cer is None
    low = decide_segment(seg(logprob=-0.9), CFG)
    assert isinstance(low, Reject) and low.reason == Reason.LOW_ASR_CONFIDENCE


def test_hallucination_on_non_speech_is_rejected():
    out = decide_segment(seg(pseudo="Thanks for watching!", speech=0.02, nsp=0.8,
                             logprob=-1.3), CFG)
    assert isinstance(out, Reject) and out.reason == Reason.HALLUCINATION
    assert out.stage == Stage.LABEL and "low_speech_ratio" in out.detail


def test_english_only_model_needs_fallback_language():
    s = seg(audio="", ap=0.0)
    assert isinstance(decide_segment(s, CFG), Reject)
    kept = decide_segment(s, dataclasses.replace(CFG, fallback_language="en"))
    assert isinstance(kept, Segment) and kept.language == "en"


def test_policy_bug_becomes_a_reject_not_a_crash():
    broken = seg(source="Hi there.", kind="timed", text_lang="en", tp=0.9)
    broken = dataclasses.replace(broken, audio_language_probs=(("en", "not a number"),))
    out = decide_segment(broken, CFG)
    assert isinstance(out, Reject) and out.reason == Reason.LABEL_FAILED


def test_untimed_segments_wait_for_the_recording():
    out = decide_segment(seg(kind="untimed"), CFG)
    assert isinstance(out, Segment) and out.label_source == "none" and out.text == ""


TRANSCRIPT = ("It was the first great sorrow of his life. It was not so much the loss of the "
              "cotton itself, but the fantasy, the hopes, the dreams built around it.")


def test_untimed_transcript_is_sliced_across_segments():
    rec = dataclasses.replace(REC, transcript_text=TRANSCRIPT, transcript_format="txt")
    pieces = ["it was the first great sorrow of his life",
              "it was not so much the loss of the cotton itself",
              "but the fantasy the hopes the dreams built around it"]
    segs = [decide_segment(seg(i, kind="untimed", pseudo=p), CFG) for i, p in enumerate(pieces)]
    kept, rejects = decide_recording(rec, segs, CFG)
    assert rejects == []
    # the transcript is human (mixed case, commas): slices of it are the labels
    assert [s.text for s in kept] == [
        "It was the first great sorrow of his life.",
        "It was not so much the loss of the cotton itself,",
        "but the fantasy, the hopes, the dreams built around it."]
    assert all(s.label_source == "source" and s.source_text == s.text for s in kept)
    assert all("label.alignment" in [v.filter for v in s.verdicts] for s in kept)


def test_unaligned_text_is_rejected_not_guessed_and_its_audio_kept():
    rec = dataclasses.replace(REC, transcript_text=TRANSCRIPT)
    pieces = ["it was the first great sorrow of his life",
              "completely unrelated babble about football scores and weather",
              "but the fantasy the hopes the dreams built around it"]
    segs = [seg(i, kind="untimed", pseudo=p, language="en") for i, p in enumerate(pieces)]
    kept, rejects = decide_recording(rec, segs, CFG)
    assert rejects == []
    assert [(s.index, s.label_source) for s in kept] == [(0, "source"), (1, "pseudo"),
                                                         (2, "source")]
    # the text is the reject (a flag verdict decide turns into a transcript reject row)
    (flag,) = [v for v in kept[1].verdicts if v.filter == "label.transcript"]
    assert flag.passed and flag.reason == Reason.UNALIGNED_TEXT
    assert kept[1].text == pieces[1] and not kept[1].source_text
    # an unconfident pseudo-label does not survive on its own either: the audio is dropped
    # for its own reason, with the text's rejection in the evidence
    weak = [dataclasses.replace(s, avg_logprob=-0.95) if s.index == 1 else s for s in segs]
    kept, rejects = decide_recording(rec, weak, CFG)
    assert [(r.id, r.reason) for r in rejects] == [("r1-00001", Reason.LOW_ASR_CONFIDENCE)]
    assert "unaligned_text" in rejects[0].detail
    assert "label.transcript" in [v.filter for v in rejects[0].verdicts]
    assert [s.index for s in kept] == [0, 2]


def test_machine_generated_timed_transcript_switches_to_pseudo_labels():
    text = "IT WAS THE FIRST GREAT SORROW OF HIS LIFE IT WAS NOT SO MUCH THE LOSS OF THE COTTON"
    rec = dataclasses.replace(REC, cues=(Cue(0.0, 3.0, text[:41]), Cue(4.0, 7.0, text[42:])))
    segs = [decide_segment(seg(0, source=text[:41], kind="timed", text_lang="en", tp=0.9,
                               pseudo="It was the first great sorrow of his life."), CFG),
            decide_segment(seg(1, source=text[42:], kind="timed", text_lang="en", tp=0.9,
                               pseudo="It was not so much the loss of the cotton.",
                               logprob=-0.95), CFG)]
    assert all(isinstance(s, Segment) and s.label_source == "source" for s in segs)
    kept, rejects = decide_recording(rec, segs, CFG)
    assert [(s.index, s.label_source, s.text) for s in kept] == [
        (0, "pseudo", "It was the first great sorrow of his life.")]
    assert [(r.id, r.reason) for r in rejects] == [("r1-00001", Reason.LOW_ASR_CONFIDENCE)]
    machine = [v for v in kept[0].verdicts if v.filter == "label.machine_text"]
    assert machine and "all_upper_case" in machine[0].detail


def test_untimed_without_text_falls_back_to_pseudo_labels():
    kept, rejects = decide_recording(REC, [seg(0, kind="untimed")], CFG)
    assert rejects == [] and kept[0].label_source == "pseudo"


def test_untimed_segment_votes_with_its_transcripts_language():
    # audio LID unsure (a short noisy clip read as Malay); the whole transcript is Spanish
    untimed = seg(kind="untimed", pseudo="Las arenas son blanquecinas.", audio="ms", ap=0.4,
                  text_lang="es", tp=0.99)
    out = decide_segment(untimed, CFG)
    assert isinstance(out, Segment) and out.language == "es"
    # without the transcript's language there is no confident vote at all
    out = decide_segment(dataclasses.replace(untimed, text_language="", text_language_prob=0.0),
                         CFG)
    assert isinstance(out, Reject) and out.reason == Reason.LID_LOW_CONFIDENCE


def test_pseudo_label_decoded_off_the_recordings_language_is_dropped():
    # an English recording; one segment was batched alone and read as Welsh
    segs = [seg(0, dur=8.0), seg(1, dur=8.0, start=10.0),
            seg(2, pseudo="Ond y mae hi'n braf heddiw.", audio="cy", ap=0.6, dur=3.0, start=20.0)]
    decided = [decide_segment(s, CFG) for s in segs]
    assert all(isinstance(d, Segment) and d.label_source == "pseudo" for d in decided)
    kept, rejects = decide_recording(REC, decided, CFG)
    assert [s.index for s in kept] == [0, 1]
    assert [(r.id, r.stage, r.reason) for r in rejects] == [
        ("r1-00002", Stage.LID, Reason.LID_MISMATCH)]
    assert "the recording's audio is en" in rejects[0].detail


def test_recording_language_does_not_overrule_source_labels_or_a_mixed_recording():
    # half Spanish, half English audio: no language reaches 0.5 over the recording
    mixed = [seg(0, audio="es", ap=0.9, pseudo="Hola, ¿cómo estás hoy?", dur=5.0),
             seg(1, audio="en", ap=0.9, dur=5.0, start=6.0)]
    kept, rejects = decide_recording(REC, [decide_segment(s, CFG) for s in mixed], CFG)
    assert rejects == [] and len(kept) == 2
    # a timed Spanish cue in an English recording keeps its (agreeing) source label
    timed = [seg(0, dur=8.0), seg(1, audio="es", ap=0.9, pseudo="Hola, ¿cómo estás hoy?",
                                   source="Hola, ¿cómo estás hoy?", kind="timed", text_lang="es",
                                   tp=0.95, start=10.0)]
    kept, rejects = decide_recording(REC, [decide_segment(s, CFG) for s in timed], CFG)
    assert rejects == [] and [s.label_source for s in kept] == ["pseudo", "source"]


words = st.sampled_from("the a cat dog sat ran on under mat hat big small red".split())
sentences = st.lists(words, min_size=0, max_size=12).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(transcript=sentences, pseudos=st.lists(st.one_of(st.none(), sentences), max_size=6),
       kind=st.sampled_from(["untimed", "timed", "none"]), order=st.randoms())
def test_every_segment_leaves_kept_or_rejected(transcript, pseudos, kind, order):
    rec = dataclasses.replace(REC, transcript_text=transcript if kind == "untimed" else None)
    segs = [seg(i, kind=kind, pseudo=p, source=p if kind == "timed" else None)
            for i, p in enumerate(pseudos)]
    order.shuffle(segs)
    kept, rejects = decide_recording(rec, segs, CFG)
    ids_in = sorted(s.segment_id for s in segs)
    ids_out = sorted([s.segment_id for s in kept] + [r.id for r in rejects])
    assert ids_in == ids_out
    assert [s.index for s in kept] == sorted(s.index for s in kept)


def test_alignment_slices_cover_in_order_and_keep_punctuation():
    out = align_transcript("Hello there, my friend. How are you today?",
                           ["hello there my friend", "how are you today"])
    assert [s.text for s in out] == ["Hello there, my friend.", "How are you today?"]
    assert all(s.error_rate == 0 for s in out)


def test_alignment_gap_counts_only_between_adjacent_segments():
    text = "one two three four five six seven eight nine ten eleven twelve"
    labels = ["one two three four", "nine ten eleven twelve"]
    adjacent = align_transcript(text, labels, [True], max_error=0.35)
    assert [s.text for s in adjacent] == [None, None]  # 4 unheard words between neighbours
    dropped_between = align_transcript(text, labels, [False], max_error=0.35)
    assert [s.text for s in dropped_between] == ["one two three four", "nine ten eleven twelve"]


def test_alignment_of_cjk_text_is_per_character():
    out = align_transcript("广州市房地产中介协会分析。", ["广州市房地产", "中介协会分析"])
    assert [s.text for s in out] == ["广州市房地产", "中介协会分析。"]


def test_english_fillers_do_not_count_as_alignment_errors():
    text = "so um this is uh the sick corpus"
    out = align_transcript(text, ["so this is the sick corpus"], language="en")
    assert out[0].error_rate == 0 and out[0].text == text
    strict = align_transcript(text, ["so this is the sick corpus"])
    assert strict[0].error_rate > 0
