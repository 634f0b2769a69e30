"""The pseudo-labeller: one recording per call, equal-context batches, pooled language, and
labels that do not depend on batching, segment order or the encoder cache."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from pipelines import whisper
from pipelines.whisper import (
    LabelOptions,
    _EncoderCache,
    context_batches,
    context_seconds,
    decoding_language,
    label_recording,
    pool_languages,
    pool_recording,
    transcribe_batch,
)

SR = 16_000


def test_context_is_the_clip_plus_the_pad_in_whole_seconds_at_most_30():
    assert context_seconds(10 * SR, 5.0) == 15
    assert context_seconds(int(10.2 * SR), 5.0) == 16
    assert context_seconds(28 * SR, 5.0) == 30
    assert context_seconds(3 * SR, 0.0) == 30  # 0 keeps Whisper's full window


def test_a_sub_batch_holds_one_context_length_and_every_clip_once():
    contexts = [30, 6, 7, 20, 6, 16, 30, 6, 6, 7]
    batches = context_batches(contexts, max_size=3)
    assert sorted(i for b in batches for i in b) == list(range(len(contexts)))
    assert all(len(b) <= 3 and len({contexts[i] for i in b}) == 1 for b in batches)
    assert batches[:3] == [[1, 4, 7], [8], [2, 9]]  # shortest first, nothing padded
    assert context_batches(contexts, 1) == [[i] for b in batches for i in b]


def test_language_is_pooled_per_recording_weighted_by_duration():
    probs = [{"en": 0.9, "cy": 0.05}, {"cy": 0.45, "en": 0.4}, {"es": 0.95}]
    pooled = pool_languages(probs, weights=[20.0, 23.0, 5.0], groups=["call", "call", "other"])
    assert max(pooled[1], key=pooled[1].get) == "en"  # the segment read as Welsh alone
    assert pooled[0] == pooled[1]
    assert pooled[2] == {"es": 0.95}


def test_pooling_gives_the_same_floats_in_any_segment_order():
    rng = random.Random(7)
    langs = ["en", "cy", "de", "nl", "es"]
    probs = [{lang: rng.random() / 3 for lang in langs} for _ in range(7)]
    weights = [rng.uniform(1, 30) * SR for _ in probs]
    ref = pool_recording(probs, weights)
    for perm in itertools.islice(itertools.permutations(range(len(probs))), 0, 5040, 97):
        got = pool_recording([probs[i] for i in perm], [weights[i] for i in perm])
        assert list(got.items()) == list(ref.items())  # same floats, same order


def test_transcript_language_decides_only_when_the_audio_is_unsure():
    known = {"en", "es", "ms", "gl"}
    assert decoding_language({"ms": 0.40, "es": 0.10}, "es", 0.5, known) == "es"
    assert decoding_language({"es": 0.89, "gl": 0.10}, "gl", 0.5, known) == "es"
    assert decoding_language({"ms": 0.40}, "", 0.5, known) == "ms"
    assert decoding_language({"ms": 0.40}, "tlh", 0.5, known) == "ms"  # not a Whisper language


def test_label_options_are_validated_by_field_name():
    LabelOptions().validate()
    for field, bad in (("batch_size", 0), ("beam_size", 0), ("encoder_cache_mb", -1),
                       ("context_pad_s", 31), ("hint_below_prob", 2), ("lid_top_k", 0)):
        with pytest.raises(ValueError, match=f"LabelOptions.{field}"):
            LabelOptions(**{field: bad}).validate()


def test_the_encoder_cache_keeps_outputs_up_to_its_budget():
    per_segment = np.zeros((3, 450, 512), dtype=np.float32)  # 9 s of base context each
    cache = _EncoderCache(2.0)  # ~2 MiB: two of the 0.88 MiB outputs
    cache.offer([4, 5, 6], per_segment)
    assert sorted(cache.arrays) == [4, 5] and cache.used <= cache.budget
    assert cache.take(5) is not None and cache.take(5) is None and cache.take(6) is None
    assert cache.used == per_segment[0].nbytes


# ---- real models on real speech (../shared/speech-eval) ----------------------------------------

def _load(name: str):
    from pipelines.models import resolve_model
    from pipelines.whisper import load_whisper

    return load_whisper(str(resolve_model(name)), "cpu", "int8", 2)


@pytest.fixture(scope="module")
def tiny_model():
    return _load("tiny.en")


@pytest.fixture(scope="module")
def base_model():
    return _load("base")


def _audio(speech_eval, name: str) -> np.ndarray:
    from filters.audio import decode_audio

    return decode_audio((speech_eval / name).read_bytes(), 60.0).samples


def _cut(audio: np.ndarray, fractions: tuple[float, ...]) -> list[np.ndarray]:
    """A recording's segments: the clip cut at these fractions of its length."""
    edges = [0, *(int(f * len(audio)) for f in fractions), len(audio)]
    return [audio[a:b] for a, b in itertools.pairwise(edges)]


# file -> cut points: pieces of different lengths, and some of equal context (batched together)
ENGLISH = {
    "picovoice_leopard/test.wav": (0.45,),
    "whisper_cpp/jfk.wav": (0.34, 0.67),  # three ~3.7 s pieces: one 9 s context, one sub-batch
    "wenet/librispeech-1995-1837-0001.wav": (0.3, 0.7),
    "mfa/61-70968-0000.flac": (0.55,),
}
MULTILINGUAL = {
    "picovoice_leopard/test_es.wav": (0.3, 0.62),
    "picovoice_leopard/test_de.wav": (0.5,),
}


def _recordings(speech_eval, cuts) -> dict[str, list[np.ndarray]]:
    return {f: _cut(_audio(speech_eval, f), fr) for f, fr in cuts.items()}


def _label_all(model, recordings, options, order=None, shuffle_segments=None):
    """Label every recording in ``order``, segments permuted; results in segment order."""
    out = {}
    for f in order or list(recordings):
        segs = recordings[f]
        perm = list(range(len(segs)))
        if shuffle_segments is not None:
            shuffle_segments.shuffle(perm)
        got = label_recording(model, [segs[i] for i in perm], options)
        out[f] = [got[perm.index(i)] for i in range(len(segs))]
    return out


@pytest.fixture
def raw_floats(monkeypatch):
    """Compare unrounded floats: identity must hold before the 4-decimal rounding."""
    monkeypatch.setattr(whisper, "ROUND_DIGITS", None)


@pytest.mark.slow
def test_labels_do_not_depend_on_batch_size_or_order_tiny_en(speech_eval, tiny_model,
                                                             raw_floats):
    recordings = _recordings(speech_eval, ENGLISH)
    assert any(len(set(map(len, segs))) > 1 for segs in recordings.values())
    one = _label_all(tiny_model, recordings, LabelOptions(batch_size=1))
    sixteen = _label_all(tiny_model, recordings, LabelOptions(batch_size=16),
                         order=list(reversed(recordings)), shuffle_segments=random.Random(1))
    assert one == sixteen  # every field of every AsrResult, bit for bit
    jfk = one["whisper_cpp/jfk.wav"]
    assert "country" in " ".join(r.text for r in jfk).lower()
    assert all(r.language == "en" and r.language_probs == () == r.own_language_probs
               for segs in one.values() for r in segs)


def _label_in_a_fresh_process(segments):
    return label_recording(_load("tiny.en"), segments, LabelOptions(batch_size=3))


@pytest.mark.slow
def test_labels_are_the_same_in_another_process(speech_eval, tiny_model):
    import multiprocessing

    segments = _cut(_audio(speech_eval, "whisper_cpp/jfk.wav"), (0.34, 0.67))
    here = label_recording(tiny_model, segments, LabelOptions(batch_size=1))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        there = pool.apply(_label_in_a_fresh_process, (segments,))
    assert here == there


@pytest.mark.slow
def test_multilingual_labels_ignore_batching_order_and_the_encoder_cache(speech_eval,
                                                                         base_model,
                                                                         raw_floats,
                                                                         monkeypatch):
    hits: list[bool] = []
    take = _EncoderCache.take
    monkeypatch.setattr(_EncoderCache, "take",  # hits of the LID pass's cache (budget > 0)
                        lambda self, i: (self.budget and hits.append(i in self.arrays))
                        or take(self, i))
    recordings = _recordings(speech_eval, MULTILINGUAL)
    beam = 2  # a real beam search, cheaper than 5 on base
    default = _label_all(base_model, recordings, LabelOptions(beam_size=beam))
    variants = {
        # one segment per call, and no cache: every segment is encoded again for decoding
        "batch 1, cache 1 kB": (LabelOptions(beam, batch_size=1, encoder_cache_mb=0.001), None),
        "batch 16, shuffled, other recording first": (LabelOptions(beam, batch_size=16),
                                                      random.Random(3)),
        # room for one 8 s output: a sub-batch mixes a cached and a re-encoded output
        "batch 3, cache 1.5 MB, shuffled": (
            LabelOptions(beam, batch_size=3, encoder_cache_mb=1.5), random.Random(4)),
    }
    assert all(hits), "the default cache holds a short recording: nothing is encoded twice"
    for name, (options, rng) in variants.items():
        order = list(reversed(recordings)) if rng else None
        hits.clear()
        got = _label_all(base_model, recordings, options, order=order, shuffle_segments=rng)
        assert got == default, name
        if "1.5 MB" in name:
            assert any(hits) and not all(hits), hits
    es, de = default["picovoice_leopard/test_es.wav"], default["picovoice_leopard/test_de.wav"]
    assert {r.language for r in es} == {"es"} and {r.language for r in de} == {"de"}
    for segs in default.values():  # one pooled distribution per recording, own ones beside it
        assert len({r.language_probs for r in segs}) == 1
        assert all(r.own_language_probs and len(r.own_language_probs) == 5 for r in segs)
        assert all(r.detected_language == r.language_probs[0][0] for r in segs)


@pytest.mark.slow
def test_the_language_is_pooled_over_the_whole_recording(speech_eval, base_model):
    """Three pieces of a Spanish sentence; alone, base reads the first as Tagalog. Split across
    two cross-recording batches (the old way: ``transcribe_batch`` pools only within its call)
    that piece was decoded in Tagalog; labelled as one recording, every piece is Spanish, with
    one pooled distribution and each piece's own distribution beside it."""
    segments = _cut(_audio(speech_eval, "picovoice_leopard/test_es.wav"), (0.3, 0.62))
    whole = label_recording(base_model, segments, LabelOptions(beam_size=1))
    assert [r.language for r in whole] == ["es"] * 3
    assert len({(r.detected_language, r.detected_prob, r.language_probs) for r in whole}) == 1
    own = [r.own_language_probs[0][0] for r in whole]
    odd = [k for k, lang in enumerate(own) if lang != "es"]
    assert odd, f"expected a piece that alone is not read as Spanish: {own}"
    rest = [s for k, s in enumerate(segments) if k != odd[0]]
    (alone,) = transcribe_batch(base_model, [segments[odd[0]]], beam_size=1, groups=["r"])
    old_rest = transcribe_batch(base_model, rest, beam_size=1, groups=["r"] * len(rest))
    assert alone.language != "es" and {r.language for r in old_rest} == {"es"}


@pytest.mark.slow
def test_trimmed_context_labels_real_speech_as_well_as_full_windows(speech_eval,
                                                                     speech_eval_manifest,
                                                                     base_model):
    from filters.agreement import corpus_error_rates

    files = ["picovoice_leopard/test.wav", "picovoice_leopard/test_es.wav",
             "picovoice_leopard/test_de.wav", "picovoice_leopard/test_fr.wav"]
    rows = [speech_eval_manifest[f] for f in files]
    audios = [_audio(speech_eval, f) for f in files]
    trimmed = [label_recording(base_model, [a], LabelOptions(context_pad_s=5.0))[0]
               for a in audios]
    full = [label_recording(base_model, [a], LabelOptions(context_pad_s=0.0))[0]
            for a in audios]
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
    audio = _audio(speech_eval, "picovoice_leopard/test.wav")
    (forced,) = label_recording(base_model, [audio], LabelOptions(beam_size=1, language="en"))
    assert forced.language == "en" and forced.language_probs == () and "Quilter" in forced.text
    assert forced.own_language_probs == () and forced.detected_language == ""


@pytest.mark.slow
def test_transcript_hint_decides_the_language_only_where_the_audio_is_unsure(speech_eval,
                                                                            base_model):
    noisy = _audio(speech_eval, "picovoice_cheetah/test_es.wav")  # 3.7 s, audio LID ~0.4-0.6
    (plain,) = label_recording(base_model, [noisy], LabelOptions(beam_size=1))
    (hinted,) = label_recording(base_model, [noisy],
                                LabelOptions(beam_size=1, hint="pt", hint_below_prob=0.9))
    assert plain.detected_prob < 0.9 and plain.language == plain.detected_language
    assert hinted.language == "pt"
    # the audio's own vote is recorded unchanged, for the label policy to weigh
    assert (hinted.detected_language, hinted.detected_prob) == (plain.detected_language,
                                                                plain.detected_prob)
    clean = _audio(speech_eval, "picovoice_leopard/test_es.wav")  # es at 0.99: hint can't overrule
    (sure,) = label_recording(base_model, [clean],
                              LabelOptions(beam_size=1, hint="pt", hint_below_prob=0.9))
    assert sure.language == "es" and sure.detected_prob > 0.9


def _at_dbfs(samples: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return (samples * (10 ** (dbfs / 20) / rms)).astype(np.float32)


@pytest.mark.slow
def test_pseudo_labels_do_not_depend_on_the_level(speech_eval, speech_eval_manifest, base_model):
    """Float clips scaled to -20..-70 dBFS RMS: the same WER as at their own level (within 1
    point). Without normalisation mfa/whisper.flac lost 20 points at -60 dBFS and jfk 4.5 at -70."""
    from filters.agreement import corpus_error_rates

    files = ["picovoice_leopard/test_de.wav", "whisper_cpp/jfk.wav", "mfa/whisper.flac"]
    audios = [_audio(speech_eval, f) for f in files]
    rows = [speech_eval_manifest[f] for f in files]

    def wer(clips):
        hyps = [label_recording(base_model, [c], LabelOptions(beam_size=1))[0].text
                for c in clips]
        return [corpus_error_rates([r["transcript"]], [h], r["language"])[1]
                for r, h in zip(rows, hyps, strict=True)]

    ref = wer(audios)
    for dbfs in (-20, -40, -60, -70):
        got = wer([_at_dbfs(a, dbfs) for a in audios])
        assert abs(sum(got) - sum(ref)) / len(got) <= 0.01, (dbfs, got, ref)
    assert max(ref) < 0.35


def test_the_recording_gain_is_one_for_digital_silence_and_order_free():
    from pipelines.whisper import recording_gain

    assert recording_gain([np.zeros(SR, dtype=np.float32)]) == 1.0
    rng = np.random.default_rng(1)
    clips = [(rng.standard_normal(n) * 1e-3).astype(np.float32) for n in (SR, 3 * SR, SR // 2)]
    assert recording_gain(clips) == recording_gain(clips[::-1]) > 10


# ---- a label covers the speech of its segment (issue 10, part 2) -------------------------------

def test_timed_runs_split_text_at_timestamps_and_keep_the_unfinished_tail():
    from pipelines.whisper import timed_runs

    ts = 1000  # timestamp_begin; eot 999

    def t(s):
        return ts + round(s / 0.02)

    parsed = timed_runs([t(0), 1, 2, t(2.4), t(2.4), 3, t(4.0)], ts, 999)
    assert parsed.runs == ((0.0, 2.4, (1, 2)), (2.4, 4.0, (3,))) and parsed.unfinished is None
    cut = timed_runs([t(0), 1, t(1.0), t(1.0), 2, 3], ts, 999)
    assert cut.runs == ((0.0, 1.0, (1,)),) and cut.unfinished == (1.0, (2, 3))


def test_coverage_is_the_share_of_vad_speech_inside_decoded_spans():
    from pipelines.whisper import speech_coverage

    flags = np.zeros(100, dtype=bool)  # 3 s of 30 ms frames
    flags[10:90] = True  # speech 0.3 .. 2.7 s
    assert speech_coverage(flags, [(0.3, 2.7)], 0.0) == (1.0, 0.0)
    share, left = speech_coverage(flags, [(0.3, 1.5)], 0.0)
    assert share == pytest.approx(0.5) and left == pytest.approx(1.2)
    assert speech_coverage(np.zeros(10, dtype=bool), [], 0.3) == (1.0, 0.0)


class _Res:
    def __init__(self, score):
        self.scores, self.no_speech_prob = [score], 0.01


@pytest.fixture
def early_stopping_decoder(monkeypatch):
    """A decoder that stops 4 s into a 10 s segment of speech (as Whisper did, after the first
    sentence), and decodes the 6 s rest fully; a 4 s segment is decoded whole."""
    from types import SimpleNamespace

    import filters.vad

    ts = 1000

    def t(s):
        return ts + round(s / 0.02)

    def decode_pass(model, audios, contexts, batches, language, beam_size, cache,
                    word_times=False, source_tokens=None):
        out = [("", [], None, [], [])] * len(audios)
        for ids in batches:
            for i in ids:
                seconds = round(len(audios[i]) / SR)
                tokens = {10: [t(0), 1, 2, 3, t(4.0)], 6: [t(0), 4, 5, t(5.0)],
                          4: [t(0), 7, t(3.5)]}[seconds]
                out[i] = ("", tokens, _Res(-0.2 if seconds != 6 else -0.5), [], [])
        return out

    def frames(samples, aggressiveness, frame_ms):  # speech wherever the clip is non-zero
        n = len(samples) // (SR * frame_ms // 1000)
        return np.abs(samples[: n * 480].reshape(n, 480)).max(axis=1) > 0

    tokenizer = SimpleNamespace(timestamp_begin=ts, eot=999,
                                decode=lambda toks: " ".join(map(str, toks)))
    monkeypatch.setattr(whisper, "_decode_pass", decode_pass)
    monkeypatch.setattr(whisper, "_tokenizer", lambda model, language: tokenizer)
    monkeypatch.setattr(filters.vad, "speech_frames", frames)


def _speech(seconds, speech_until):
    clip = np.zeros(int(seconds * SR), dtype=np.float32)
    clip[: int(speech_until * SR)] = 0.1
    return clip


def test_speech_after_the_last_timestamp_is_decoded_from_there(early_stopping_decoder):
    clips = [_speech(10, 9.0), _speech(4, 3.5)]

    def run(options, order=(0, 1)):
        got = whisper._decode_with_seeks(
            None, [clips[i] for i in order], [context_seconds(len(clips[i]), 5.0) for i in order],
            context_batches([context_seconds(len(clips[i]), 5.0) for i in order],
                            options.batch_size), "en", options, _EncoderCache(0))
        return [got[order.index(i)] for i in range(len(clips))]

    (text, avg, _nsp, coverage, uncovered, passes, *_words), short = run(LabelOptions())
    assert text == "1 2 3 4 5" and passes == 2 and coverage == 1.0 and uncovered == 0.0
    assert avg == pytest.approx((-0.2 * 5 / 6 * 6 + -0.5 * 4 / 5 * 5) / 11)
    assert short[0] == "7" and short[5] == 1
    # one pass (the old labeller): the label stops at 4 s and says so
    (text1, _a, _n, coverage1, uncovered1, passes1, *_w), _ = run(LabelOptions(max_passes=1))
    assert text1 == "1 2 3" and passes1 == 1
    assert coverage1 == pytest.approx(4.3 / 9.0, abs=0.01)
    assert uncovered1 == pytest.approx(4.7, abs=0.05)
    # seeking keeps batch invariance: any batch size, any order
    for options, order in ((LabelOptions(batch_size=1), (1, 0)), (LabelOptions(batch_size=16),
                                                                  (0, 1))):
        assert run(options, order) == run(LabelOptions())
