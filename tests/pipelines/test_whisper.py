"""The batched pseudo-labeller: trimmed encoder context, length buckets, pooled language."""

from __future__ import annotations

import pytest

from pipelines.whisper import (
    context_seconds,
    decoding_language,
    length_buckets,
    pool_languages,
    transcribe_batch,
)

SR = 16_000


def test_context_is_the_clip_plus_the_pad_in_whole_seconds_at_most_30():
    assert context_seconds(10 * SR, 5.0) == 15
    assert context_seconds(int(10.2 * SR), 5.0) == 16
    assert context_seconds(28 * SR, 5.0) == 30
    assert context_seconds(3 * SR, 0.0) == 30  # 0 keeps Whisper's full window


def test_length_buckets_group_similar_lengths_and_cover_every_clip_once():
    contexts = [30, 6, 7, 20, 8, 16, 30]
    buckets = length_buckets(contexts, max_size=2)
    assert sorted(i for b in buckets for i in b) == list(range(len(contexts)))
    assert all(len(b) <= 2 for b in buckets)
    for b in buckets:  # no bucket pads a clip to more than 1.25x its own context
        assert max(contexts[i] for i in b) <= 1.25 * min(contexts[i] for i in b)
    assert buckets[0] == [1, 2]  # shortest first


def test_language_is_pooled_per_recording_weighted_by_duration():
    probs = [{"en": 0.9, "cy": 0.05}, {"cy": 0.45, "en": 0.4}, {"es": 0.95}]
    pooled = pool_languages(probs, weights=[20.0, 23.0, 5.0], groups=["call", "call", "other"])
    assert max(pooled[1], key=pooled[1].get) == "en"  # the segment read as Welsh alone
    assert pooled[0] == pooled[1]
    assert pooled[2] == {"es": 0.95}


def test_transcript_language_decides_only_when_the_audio_is_unsure():
    known = {"en", "es", "ms", "gl"}
    assert decoding_language({"ms": 0.40, "es": 0.10}, "es", 0.5, known) == "es"
    assert decoding_language({"es": 0.89, "gl": 0.10}, "gl", 0.5, known) == "es"
    assert decoding_language({"ms": 0.40}, "", 0.5, known) == "ms"
    assert decoding_language({"ms": 0.40}, "tlh", 0.5, known) == "ms"  # not a Whisper language


@pytest.fixture(scope="module")
def base_model():
    from pipelines.models import resolve_model
    from pipelines.whisper import load_whisper

    return load_whisper(str(resolve_model("base")), "cpu", "int8", 2)


@pytest.mark.slow
def test_trimmed_context_labels_real_speech_as_well_as_full_windows(speech_eval,
                                                                     speech_eval_manifest,
                                                                     base_model):
    from filters.agreement import corpus_error_rates
    from filters.audio import decode_audio

    files = ["picovoice_leopard/test.wav", "picovoice_leopard/test_es.wav",
             "picovoice_leopard/test_de.wav", "picovoice_leopard/test_fr.wav"]
    rows = [speech_eval_manifest[f] for f in files]
    audios = [decode_audio((speech_eval / f).read_bytes(), 60.0).samples for f in files]
    trimmed = transcribe_batch(base_model, audios, beam_size=5, groups=files, context_pad_s=5.0)
    full = transcribe_batch(base_model, audios, beam_size=5, groups=files, context_pad_s=0.0)
    assert [r.language for r in trimmed] == [row["language"] for row in rows]
    wers = []
    for row, t, f in zip(rows, trimmed, full, strict=True):
        _cer, wer_trimmed = corpus_error_rates([row["transcript"]], [t.text], row["language"])
        _cer, wer_full = corpus_error_rates([row["transcript"]], [f.text], row["language"])
        wers.append((wer_trimmed, wer_full))
        assert wer_trimmed < 0.35, (row["file"], t.text)
        assert -1.0 < t.avg_logprob <= 0.0 and 0.0 <= t.no_speech_prob < 0.5
    # one word here or there differs per clip (fr: "conseillers générales"), not on average
    mean_trimmed, mean_full = (sum(w) / len(wers) for w in zip(*wers, strict=True))
    assert mean_trimmed <= mean_full + 0.05, wers


@pytest.mark.slow
def test_forced_language_skips_detection(speech_eval, base_model):
    from filters.audio import decode_audio

    audio = decode_audio((speech_eval / "picovoice_leopard/test.wav").read_bytes(), 60.0).samples
    (forced,) = transcribe_batch(base_model, [audio], beam_size=1, language="en")
    assert forced.language == "en" and forced.language_probs == () and "Quilter" in forced.text


@pytest.mark.slow
def test_transcript_hint_decides_the_language_only_where_the_audio_is_unsure(speech_eval,
                                                                            base_model):
    from filters.audio import decode_audio

    def load(name):
        return decode_audio((speech_eval / name).read_bytes(), 60.0).samples

    noisy = load("picovoice_cheetah/test_es.wav")  # 3.7 s of Spanish, audio LID ~0.4-0.6
    (plain,) = transcribe_batch(base_model, [noisy], beam_size=1)
    (hinted,) = transcribe_batch(base_model, [noisy], beam_size=1, hints=["pt"],
                                 hint_below_prob=0.9)
    assert plain.detected_prob < 0.9 and plain.language == plain.detected_language
    assert hinted.language == "pt"
    # the audio's own vote is recorded unchanged, for the label policy to weigh
    assert (hinted.detected_language, hinted.detected_prob) == (plain.detected_language,
                                                                plain.detected_prob)
    clean = load("picovoice_leopard/test_es.wav")  # audio LID es at 0.99: a hint cannot overrule
    (sure,) = transcribe_batch(base_model, [clean], beam_size=1, hints=["pt"],
                               hint_below_prob=0.9)
    assert sure.language == "es" and sure.detected_prob > 0.9
