"""Whisper pseudo-labels for the segments of one recording, with faster-whisper / CTranslate2.

``label_recording(model, audios, options)`` labels ALL segments (each <= 30 s) of ONE recording,
and nothing else: a segment's label (text, scores, detected and pooled language) is a function of
its recording's segments and the options only. ``batch_size``, the order of the segments, which
other recordings a worker labels, in-process or multi-process: none changes a bit of the result.
That rests on three rules, each measured (``benchmarks/batch_invariance.py``):

* **Nothing is padded to a neighbour.** A segment's encoder input is the segment plus
  ``context_pad_s`` seconds of silence, in whole seconds (``context_seconds``), a function of
  its own length. A sub-batch only holds segments with the SAME context, so no segment is padded
  to the longest one beside it (the old length buckets did, and a neighbour changed the label).
* **CTranslate2 is batch-invariant for equal-length inputs.** On CPU (int8, as ``load_whisper``
  loads it; oneDNN, and MKL forced with ``CT2_USE_MKL=1``) ``encode``, ``detect_language`` and
  ``generate`` return bit-identical outputs for a segment alone, in a batch of 3, 16 or 32, in
  any position, with 1 or 2 threads (tiny.en and base). So sub-batches are encoded and decoded
  whole: the fastest variant, and exactly invariant. The kernels are NOT the same across CPU
  backends or ISAs (oneDNN vs MKL, AVX2 vs AVX: encoder outputs differ by up to ~7), so labels
  are reproducible on one kind of worker (CPU family, ``CT2_*`` environment, CTranslate2
  version), not across a mixed fleet. GPUs were not measured.
* **The language is pooled over the whole recording**, weighted by duration, in a canonical
  order (the votes are sorted before they are summed, so float addition order does not depend on
  the order the segments arrive in).

Why labelling is cheaper than ``WhisperModel.transcribe`` (``benchmarks/throughput.py``):

* **Trimmed encoder context.** The encoder is most of the CPU time and its cost grows with the
  number of input frames (attention quadratically). A 10 s segment does not need 30 s of
  padding: ``context_pad_s`` seconds of silence after the speech are enough for the model to end
  the transcript cleanly (with none, WER explodes). On the speech-eval set this is faster *and* no
  worse in WER than full windows (``benchmarks/quality.py``).
* **Batched decoding** of the sub-batches of equal context.
* **Language pooled per recording.** Whisper's per-segment language detection is noisy on short
  or conversational speech (an English earnings call was read as Welsh); every segment is decoded
  in the recording's pooled language. When even the pooled vote is unsure (a 3.7 s Spanish clip
  read as Malay at p = 0.40) and the caller knows the transcript's language (``hint``), that
  language is used. Each result also keeps the segment's own distribution.

Memory. A multilingual model without a forced language needs two passes: every segment's
language must be known before any is decoded. Encoder outputs are cached between the LID pass and
the decode pass up to ``encoder_cache_mb`` (float32, ``frames x d_model``: ~100 KB per second of
context for base, ~77 KB for tiny.en, ~256 KB for large); the rest are encoded again. 256 MB holds
~40 min of base context: a typical recording is encoded once, a 4-hour one (~1.5 GB of base
encoder output) re-encodes ~80 % of its segments instead of holding gigabytes. Re-encoding every
segment cost +53 % wall time on a 2-minute recording with base at beam 5
(``benchmarks/batch_invariance.py --models base --cache-tradeoff``), so ~+40 % for 4 hours.
Re-encoding is bit-identical, so the bound never changes a result.
English-only models and a forced language take one pass (encode + decode per sub-batch) and
cache nothing.

No Beam here: ``pipelines/stages/asr.py`` wraps this.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from filters.lid_policy import pool_language_probs

log = logging.getLogger(__name__)
SAMPLE_RATE = 16_000
MAX_SECONDS = 30
MAX_SAMPLES = MAX_SECONDS * SAMPLE_RATE
# Floats in AsrResult are rounded to this many decimals (None: raw). Safe: the raw values are
# bit-identical however the recording is batched, and rounding is a function of them; it is not
# what makes results reproducible (a value a hair from a rounding boundary would still differ).
ROUND_DIGITS: int | None = 4


@dataclass(frozen=True)
class LabelOptions:
    """How ``label_recording`` labels one recording's segments."""

    beam_size: int = 5  # beam width as in Whisper's paper; 1 = greedy
    language: str = ""  # forced decoding language ("" = detect, pooled over the recording)
    context_pad_s: float = 5.0  # silence after a segment in the encoder input (0: full 30 s)
    hint: str = ""  # the recording's transcript language ("" = none)
    hint_below_prob: float = 0.5  # pooled audio LID under this: decode in the hint's language
    batch_size: int = 16  # segments per encoder/decoder call: a throughput knob, never a result
    encoder_cache_mb: float = 256  # encoder outputs kept between the LID and the decode pass
    lid_top_k: int = 5  # language candidates kept in AsrResult (pooled and own)
    normalise_level: bool = True  # scale the recording's speech to -20 dBFS before Whisper
    max_passes: int = 3  # decodes per segment: the first, then seeks past the last timestamp
    seek_min_speech_s: float = 0.5  # VAD speech left after the last timestamp that seeks on
    coverage_tolerance_s: float = 0.3  # VAD speech this close to a decoded span counts covered
    vad_aggressiveness: int = 2  # webrtcvad mode for the coverage measure (on normalised audio)
    word_times: bool = True  # word start/end times by cross-attention alignment (ctranslate2 align)
    # also decode Whisper's X->en translation (task=translate) when the recording is decoded in
    # another language than English (multilingual models only): the evidence a translation pair
    # (English text on non-English audio) is verified against in decide
    translate: bool = False

    def validate(self) -> None:
        checks = (
            ("beam_size", self.beam_size >= 1, "must be >= 1"),
            ("context_pad_s", 0 <= self.context_pad_s <= MAX_SECONDS, "must be in [0, 30]"),
            ("hint_below_prob", 0 <= self.hint_below_prob <= 1, "must be in [0, 1]"),
            ("batch_size", self.batch_size >= 1, "must be >= 1"),
            ("encoder_cache_mb", self.encoder_cache_mb >= 0, "must be >= 0"),
            ("lid_top_k", self.lid_top_k >= 1, "must be >= 1"),
            ("max_passes", self.max_passes >= 1, "must be >= 1"),
            ("seek_min_speech_s", self.seek_min_speech_s > 0, "must be > 0"),
            ("coverage_tolerance_s", self.coverage_tolerance_s >= 0, "must be >= 0"),
            ("vad_aggressiveness", self.vad_aggressiveness in (0, 1, 2, 3), "must be 0..3"),
        )
        for name, ok, message in checks:
            if not ok:
                raise ValueError(f"LabelOptions.{name} {message} (got {getattr(self, name)!r})")


Probs = tuple[tuple[str, float], ...]
Words = tuple[tuple[str, float, float], ...]  # (word, start s, end s)


@dataclass(frozen=True)
class AsrResult:
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    language: str  # the language decoded in ("en" for English-only models)
    detected_language: str  # pooled audio LID over the recording's segments ("" if not detected)
    detected_prob: float  # its pooled probability (0.0 when not detected)
    language_probs: Probs  # top pooled candidates, best first ((), if not detected)
    own_language_probs: Probs = ()  # this segment's own LID, top candidates ((), if not detected)
    coverage: float = 1.0  # share of the segment's VAD speech inside decoded timestamp spans
    uncovered_s: float = 0.0  # seconds of VAD speech no decoded span covers
    passes: int = 1  # decodes: 1, plus one per seek past the last timestamp
    words: Words = ()  # the label's words with times (s, segment-relative); () without word_times
    source_words: Words = ()  # the source text's words force-aligned to the audio (() if none)
    translation: str | None = None  # Whisper's X->en translation (None: not decoded)
    translation_text: str | None = None  # the English text scored against the audio
    translation_score: float | None = None  # its PMI under task=translate (reference_scores)


def load_whisper(model_dir: str, device: str = "auto", compute_type: str = "auto",
                 cpu_threads: int = 0) -> Any:
    """Load a CTranslate2 Whisper model once per worker."""
    import ctranslate2
    from faster_whisper import WhisperModel

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    threads = cpu_threads or len(os.sched_getaffinity(0))
    log.info("loading Whisper from %s on %s (%s, %d threads)", model_dir, device, compute_type,
             threads)
    return WhisperModel(str(model_dir), device=device, compute_type=compute_type,
                        cpu_threads=threads)


def _tokenizer(model: Any, language: str | None, task: str = "transcribe") -> Any:
    from faster_whisper.tokenizer import Tokenizer

    multilingual = model.model.is_multilingual
    return Tokenizer(model.hf_tokenizer, multilingual, task=task if multilingual else "transcribe",
                     language=(language or "en") if multilingual else None)


def context_seconds(n_samples: int, context_pad_s: float) -> int:
    """Whole seconds of encoder input for a clip: its length plus the pad, at most 30.

    ``context_pad_s <= 0`` keeps Whisper's full 30 s window."""
    if context_pad_s <= 0:
        return MAX_SECONDS
    return min(MAX_SECONDS, max(1, math.ceil(n_samples / SAMPLE_RATE + context_pad_s)))


def context_batches(contexts: Sequence[int], max_size: int) -> list[list[int]]:
    """Indices in sub-batches of at most ``max_size`` that share ONE context length.

    Shortest context first, indices ascending within a context. No segment is ever padded to a
    neighbour, so (CTranslate2 being batch-invariant for equal shapes) how segments are grouped
    changes no result."""
    by_context: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(contexts):
        by_context[c].append(i)
    return [ids[k:k + max_size] for _c, ids in sorted(by_context.items())
            for k in range(0, len(ids), max_size)]


def _canonical_votes(probs: Iterable[dict[str, float]], weights: Iterable[float]
                     ) -> list[tuple[Probs, float]]:
    """Votes sorted by content: summing them gives the same floats in any arrival order."""
    votes = [(float(w), tuple(sorted(p.items()))) for p, w in zip(probs, weights, strict=True)]
    return [(p, w) for w, p in sorted(votes)]


def pool_recording(probs: Sequence[dict[str, float]], weights: Sequence[float]
                   ) -> dict[str, float]:
    """Duration-weighted mean language distribution of one recording's segments (order-free)."""
    return pool_language_probs(_canonical_votes(probs, weights))


def pool_languages(probs: Sequence[dict[str, float]], weights: Sequence[float],
                   groups: Sequence[object]) -> list[dict[str, float]]:
    """Per clip, the weighted mean language distribution of all clips in its group."""
    members: dict[object, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    if len(probs) != len(groups) or len(weights) != len(groups):
        raise ValueError("probs, weights and groups must have the same length")
    pooled = {g: pool_recording([probs[i] for i in ids], [weights[i] for i in ids])
              for g, ids in members.items()}
    return [pooled[g] for g in groups]


def recording_gain(clips: Sequence[np.ndarray]) -> float:
    """One gain for all segments of a recording: their loud frames (95th percentile of 30 ms
    frame RMS over every segment) to ``filters.vad.LEVEL_TARGET_DBFS``, capped.

    Whisper's log-mel input is not level-invariant (a 1e-10 power floor and a fixed offset), so
    speech at -70 dBFS decodes worse than at -20. A percentile of the multiset of frames does
    not depend on the order or batching of the segments. No dynamics guard: the segments are
    VAD speech already, and digital silence (below the floor) is never boosted."""
    from filters.vad import LEVEL_FLOOR_DBFS, LEVEL_MAX_GAIN_DB, LEVEL_TARGET_DBFS, frame_levels_db

    db = np.concatenate([frame_levels_db(c) for c in clips]) if clips else np.zeros(0)
    if len(db) == 0:
        return 1.0
    loud = float(np.percentile(db, 95))
    if loud < LEVEL_FLOOR_DBFS:
        return 1.0
    gain_db = min(LEVEL_MAX_GAIN_DB, max(-LEVEL_MAX_GAIN_DB, LEVEL_TARGET_DBFS - loud))
    return float(10.0 ** (gain_db / 20.0))


def _features(model: Any, audio: np.ndarray, seconds: int) -> np.ndarray:
    """Log-mel features of the clip zero-padded to ``seconds`` (as Whisper pads to 30 s)."""
    clip = audio[:MAX_SAMPLES].astype(np.float32, copy=False)
    padded = np.zeros(seconds * SAMPLE_RATE, dtype=np.float32)
    padded[:len(clip)] = clip[:len(padded)]
    return model.feature_extractor(padded)[..., :seconds * 100]


def _top(probs: dict[str, float], k: int) -> Probs:
    return tuple(sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))[:k])


def decoding_language(pooled: dict[str, float], hint: str, hint_below_prob: float,
                      known: set[str]) -> str:
    """The pooled audio language, or the hint (the transcript's language) when audio is unsure."""
    best = max(sorted(pooled), key=pooled.__getitem__)
    if hint and hint in known and pooled[best] < hint_below_prob:
        return hint
    return best


def _round(x: float) -> float:
    return float(x) if ROUND_DIGITS is None else round(float(x), ROUND_DIGITS)


def _rounded(probs: Probs) -> Probs:
    return tuple((lang, _round(p)) for lang, p in probs)


def _encode(model: Any, audios: Sequence[np.ndarray], ids: Sequence[int], seconds: int,
            to_cpu: bool = False) -> Any:
    """Encoder output (a StorageView) of the clips ``ids``, all of context ``seconds``."""
    import ctranslate2

    feats = np.ascontiguousarray(np.stack([_features(model, audios[i], seconds) for i in ids]))
    return model.model.encode(ctranslate2.StorageView.from_array(feats), to_cpu=to_cpu)


class _EncoderCache:
    """Encoder outputs (float32, one array per segment) kept up to a byte budget."""

    def __init__(self, budget_mb: float):
        self.budget = int(budget_mb * 1024 * 1024)
        self.used = 0
        self.arrays: dict[int, np.ndarray] = {}

    def offer(self, ids: Sequence[int], encoded: Any) -> None:
        """Keep as many of the batch's outputs as fit (first come, first kept)."""
        if self.used >= self.budget:
            return
        batch = np.asarray(encoded)  # a view of the StorageView's host memory
        for j, i in enumerate(ids):
            if self.used + batch[j].nbytes > self.budget:
                return
            self.arrays[i] = batch[j].copy()
            self.used += batch[j].nbytes

    def take(self, i: int) -> np.ndarray | None:
        arr = self.arrays.pop(i, None)
        if arr is not None:
            self.used -= arr.nbytes
        return arr


def _detect_pass(model: Any, audios: Sequence[np.ndarray], contexts: Sequence[int],
                 batches: Sequence[Sequence[int]], cache: _EncoderCache
                 ) -> list[dict[str, float]]:
    """Every segment's own language distribution; encoder outputs offered to the cache."""
    own: list[dict[str, float]] = [{} for _ in audios]
    for ids in batches:
        encoded = _encode(model, audios, ids, contexts[ids[0]], to_cpu=cache.budget > 0)
        for i, candidates in zip(ids, model.model.detect_language(encoded), strict=True):
            own[i] = {tok.strip("<|>"): float(p) for tok, p in candidates}
        if cache.budget > 0:
            cache.offer(ids, encoded)
    return own


TIME_PRECISION = 0.02  # seconds per Whisper timestamp token
MAX_INITIAL_TIMESTAMP_INDEX = 50  # the first timestamp is at most 1.0 s (as faster-whisper)
VAD_FRAME_MS = 30
HOP_LENGTH = 160  # samples per mel frame


@dataclass(frozen=True)
class TimedRuns:
    """One decode's text runs between timestamp tokens (times relative to the decoded clip)."""

    runs: tuple[tuple[float, float, tuple[int, ...]], ...]  # closed: (start, end, text tokens)
    unfinished: tuple[float, tuple[int, ...]] | None  # trailing text without an end timestamp


def timed_runs(tokens: Sequence[int], timestamp_begin: int, eot: int) -> TimedRuns:
    """Split a timestamped Whisper decode into runs of text tokens and their times.

    ``<|0.00|> a b <|2.40|><|2.40|> c <|4.00|>`` gives (0.0, 2.4, a b) and (2.4, 4.0, c); text
    after the last timestamp (cut off by ``max_length``, or ended without one) is unfinished,
    as Whisper's long-form decoding treats it: the next pass seeks to its start."""
    runs: list[tuple[float, float, tuple[int, ...]]] = []
    opened, text = 0.0, []
    for tok in tokens:
        if tok >= timestamp_begin:
            t = (tok - timestamp_begin) * TIME_PRECISION
            if text:
                runs.append((opened, max(t, opened), tuple(text)))
                text = []
            opened = t
        elif tok < eot:
            text.append(tok)
    return TimedRuns(tuple(runs), (opened, tuple(text)) if text else None)


def speech_coverage(flags: np.ndarray, spans: Sequence[tuple[float, float]],
                    tolerance_s: float) -> tuple[float, float]:
    """(share of VAD speech frames inside ``spans`` widened by ``tolerance_s``, uncovered s).

    A segment without VAD speech is fully covered (1.0, 0.0)."""
    frame_s = VAD_FRAME_MS / 1000.0
    total = int(np.sum(flags))
    if total == 0:
        return 1.0, 0.0
    centres = (np.arange(len(flags)) + 0.5) * frame_s
    inside = np.zeros(len(flags), dtype=bool)
    for a, b in spans:
        inside |= (centres >= a - tolerance_s) & (centres <= b + tolerance_s)
    covered = int(np.sum(flags & inside))
    return covered / total, (total - covered) * frame_s


WORD_MEDIAN_FILTER = 7  # frames of median filtering of the attention weights (faster-whisper)
PREPEND_PUNCTUATION = "\"'“¿([{-"  # merged into the next word (faster-whisper's defaults)
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"  # merged into the previous word


@dataclass(frozen=True)
class TimedWord:
    """A word of an aligned token sequence: its text, times (s) and how many tokens it spans."""

    word: str
    start: float
    end: float
    n_tokens: int


def align_words(model: Any, tokenizer: Any, encoded: Any, token_lists: Sequence[Sequence[int]],
                num_frames: Sequence[int]) -> list[list[TimedWord]]:
    """Word times of each token list against its row of ``encoded`` (one ``align`` call).

    CTranslate2 forces the tokens through the decoder and runs DTW over the alignment heads'
    cross-attention, exactly as faster-whisper's ``word_timestamps``; punctuation is merged into
    its word as there. Times are relative to the start of the encoder input. A row without
    tokens gets a one-token placeholder so the batch stays whole, and no words."""
    from faster_whisper.transcribe import merge_punctuations

    out: list[list[TimedWord]] = [[] for _ in token_lists]
    if not any(token_lists):
        return out
    filler = [tokenizer.encode(" .")[0]]
    results = model.model.align(encoded, tokenizer.sot_sequence,
                                [list(t) or filler for t in token_lists],
                                [max(1, int(n)) for n in num_frames],
                                median_filter_width=WORD_MEDIAN_FILTER)
    per_second = model.tokens_per_second
    for k, (tokens, res) in enumerate(zip(token_lists, results, strict=True)):
        if not tokens:
            continue
        words, word_tokens = tokenizer.split_to_word_tokens(list(tokens) + [tokenizer.eot])
        if len(word_tokens) <= 1:
            continue
        text_idx = np.array([a for a, _b in res.alignments])
        time_idx = np.array([b for _a, b in res.alignments])
        jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
        jump_times = time_idx[jumps] / per_second
        bounds = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
        starts, ends = jump_times[bounds[:-1]], jump_times[bounds[1:]]
        timing = [{"word": w, "tokens": list(t), "start": float(a), "end": float(b)}
                  for w, t, a, b in zip(words, word_tokens, starts, ends, strict=False)]
        merge_punctuations(timing, PREPEND_PUNCTUATION, APPEND_PUNCTUATION)
        out[k] = [TimedWord(t["word"], t["start"], t["end"], len(t["tokens"]))
                  for t in timing if t["tokens"]]
    return out


def _text_tokens(tokens: Sequence[int], eot: int) -> list[int]:
    return [t for t in tokens if t < eot]


Decoded = tuple[str, list[int], Any, list[TimedWord], list[TimedWord]]


def _decode_pass(model: Any, audios: Sequence[np.ndarray], contexts: Sequence[int],
                 batches: Sequence[Sequence[int]], language: str, beam_size: int,
                 cache: _EncoderCache | None, word_times: bool = False,
                 source_tokens: Sequence[Sequence[int]] | None = None, task: str = "transcribe",
                 keep_cached: bool = False) -> list[Decoded]:
    """(text, tokens, CTranslate2 result, words, source words) per segment, all decoded in
    ``language``. With ``word_times`` the decoded text tokens, and ``source_tokens`` (a
    transcript's tokens per segment, or none) are aligned on the same encoder output, in the
    same sub-batch: no second encoder pass. ``task="translate"`` decodes Whisper's X->en
    translation, without timestamps (text only); ``keep_cached`` reads cached encoder outputs
    without using them up (a later pass needs them too)."""
    import ctranslate2
    from faster_whisper.transcribe import get_suppressed_tokens

    tokenizer = _tokenizer(model, language, task)
    suppress = list(get_suppressed_tokens(tokenizer, [-1]))
    translate = task == "translate"
    prompt = model.get_prompt(tokenizer, previous_tokens=[], without_timestamps=translate)
    out: list[Decoded] = [("", [], None, [], [])] * len(audios)
    if not batches:
        return out
    for ids in batches:
        if cache is None:
            cached = dict.fromkeys(ids)
        else:
            cached = {i: cache.arrays.get(i) if keep_cached else cache.take(i) for i in ids}
        missing = [i for i in ids if cached[i] is None]
        if len(missing) == len(ids):
            encoded = _encode(model, audios, ids, contexts[ids[0]])
        else:
            if missing:
                fresh = np.array(_encode(model, audios, missing, contexts[ids[0]], True))
                cached.update(zip(missing, fresh, strict=True))
            encoded = ctranslate2.StorageView.from_array(
                np.ascontiguousarray(np.stack([cached[i] for i in ids])))
        results = model.model.generate(
            encoded, [prompt] * len(ids), beam_size=beam_size, max_length=model.max_length,
            suppress_blank=True, suppress_tokens=suppress, return_scores=True,
            return_no_speech_prob=True, sampling_temperature=1.0,
            max_initial_timestamp_index=MAX_INITIAL_TIMESTAMP_INDEX,
        )
        words: list[list[TimedWord]] = [[] for _ in ids]
        source_words: list[list[TimedWord]] = [[] for _ in ids]
        if word_times:
            frames = [min(len(audios[i]), contexts[i] * SAMPLE_RATE) // HOP_LENGTH for i in ids]
            words = align_words(model, tokenizer, encoded,
                                [_text_tokens(r.sequences_ids[0], tokenizer.eot)
                                 for r in results], frames)
            if source_tokens is not None and any(source_tokens[i] for i in ids):
                source_words = align_words(model, tokenizer, encoded,
                                           [source_tokens[i] for i in ids], frames)
        for k, (i, res) in enumerate(zip(ids, results, strict=True)):
            tokens = res.sequences_ids[0]
            out[i] = (tokenizer.decode(tokens).strip(), tokens, res, words[k], source_words[k])
    return out


def _kept_words(words: Sequence[TimedWord], n_tokens: int, offset: float, clip_end: float
                ) -> list[tuple[str, float, float]]:
    """The words of a pass's first ``n_tokens`` text tokens (the kept runs), clip-relative."""
    out, seen = [], 0
    for w in words:
        if seen >= n_tokens:
            break
        seen += w.n_tokens
        text = w.word.strip()
        if text:
            start = min(clip_end, offset + w.start)
            out.append((text, _round(start), _round(max(start, min(clip_end, offset + w.end)))))
    return out


def _decode_with_seeks(model: Any, clips: Sequence[np.ndarray], contexts: Sequence[int],
                       batches: Sequence[Sequence[int]], language: str, options: LabelOptions,
                       cache: _EncoderCache, source_texts: Sequence[str | None] | None = None,
                       ) -> list[tuple[str, float, float, float, float, int, Words, Words]]:
    """Decode every clip with timestamps; where VAD speech remains after the last timestamp,
    decode the rest of the clip from there (Whisper's long-form seek), up to ``max_passes``.

    Per clip: (text, avg_logprob, no_speech_prob, coverage, uncovered_s, passes). The clips
    that seek in a pass, and where, are a function of each clip's own earlier decodes, and the
    rests are batched by their own context only: batching still changes nothing. With
    ``options.word_times`` each pass's kept words are aligned on that pass's encoder output, and
    ``source_texts`` (a segment's transcript text, when it has one) on the first pass's."""
    from filters.vad import speech_frames

    tokenizer = _tokenizer(model, language)
    ts_begin, eot = tokenizer.timestamp_begin, tokenizer.eot
    source_tokens = None
    if options.word_times and source_texts is not None:
        source_tokens = [tokenizer.encode(" " + " ".join(t.split())) if t and t.strip() else []
                         for t in source_texts]
    words: list[list[tuple[str, float, float]]] = [[] for _ in clips]
    source_words: list[Words] = [() for _ in clips]
    flags = [speech_frames(c, options.vad_aggressiveness, VAD_FRAME_MS) for c in clips]
    frame_s = VAD_FRAME_MS / 1000.0
    text_tokens: list[list[int]] = [[] for _ in clips]
    spans: list[list[tuple[float, float]]] = [[] for _ in clips]
    scores: list[list[tuple[float, int]]] = [[] for _ in clips]  # (avg_logprob, tokens + 1)
    no_speech = [0.0] * len(clips)
    passes = [0] * len(clips)
    pending = [(i, 0) for i in range(len(clips))]  # (clip, seek in samples)
    for pass_no in range(options.max_passes):
        if not pending:
            break
        if pass_no == 0:
            decoded = _decode_pass(model, clips, contexts, batches, language,
                                   options.beam_size, cache, options.word_times, source_tokens)
            work = [(i, 0, decoded[i]) for i in range(len(clips))]
        else:
            rests = [clips[i][seek:] for i, seek in pending]
            rest_ctx = [context_seconds(len(r), options.context_pad_s) for r in rests]
            decoded = _decode_pass(model, rests, rest_ctx,
                                   context_batches(rest_ctx, options.batch_size), language,
                                   options.beam_size, None, options.word_times)
            work = [(i, seek, decoded[k]) for k, (i, seek) in enumerate(pending)]
        last_pass = pass_no == options.max_passes - 1
        pending = []
        for i, seek, (_text, tokens, res, pass_words, pass_source) in work:
            passes[i] += 1
            offset = seek / SAMPLE_RATE
            clip_end = len(clips[i]) / SAMPLE_RATE
            parsed = timed_runs(tokens, ts_begin, eot)
            kept = [(offset + a, min(clip_end, offset + b), toks) for a, b, toks in parsed.runs]
            decoded_end = kept[-1][1] if kept else offset
            seek_to = None
            if parsed.unfinished is not None:
                start, toks = parsed.unfinished
                if not last_pass and start > 0:
                    seek_to = offset + start  # drop the unfinished text, decode it again
                    decoded_end = offset + start
                else:  # nothing more to seek: keep it, reaching to the end of the clip
                    kept.append((offset + start, clip_end, toks))
                    decoded_end = clip_end
            n_tokens = sum(len(toks) for _a, _b, toks in kept)
            words[i].extend(_kept_words(pass_words, n_tokens, offset, clip_end))
            if pass_no == 0:
                no_speech[i] = float(res.no_speech_prob)
                source_words[i] = tuple(_kept_words(
                    pass_source, sum(w.n_tokens for w in pass_source), 0.0, clip_end))
            if res.scores and (n_tokens or pass_no == 0):
                n = len(tokens)
                scores[i].append((res.scores[0] * n / (n + 1), n + 1))
            for a, b, toks in kept:
                text_tokens[i].extend(toks)
                spans[i].append((a, b))
            if seek_to is None and kept:
                after = int(math.ceil((decoded_end + options.coverage_tolerance_s) / frame_s))
                if float(np.sum(flags[i][after:])) * frame_s >= options.seek_min_speech_s:
                    seek_to = decoded_end
            # progress: a seek must move forward and leave at least a second to decode
            if (seek_to is not None and not last_pass and seek_to > offset
                    and clip_end - seek_to >= 1.0):
                pending.append((i, int(round(seek_to * SAMPLE_RATE))))
    out = []
    for i in range(len(clips)):
        text = tokenizer.decode(text_tokens[i]).strip()
        weight = sum(w for _s, w in scores[i])
        avg = sum(s * w for s, w in scores[i]) / weight if weight else 0.0
        coverage, uncovered = speech_coverage(flags[i], spans[i], options.coverage_tolerance_s)
        out.append((text, avg, no_speech[i], coverage, uncovered, passes[i], tuple(words[i]),
                    source_words[i]))
    return out


MAX_REFERENCE_TOKENS = 440  # a scored text is cut to what Whisper's decoder window holds


def reference_scores(model: Any, clips: Sequence[np.ndarray], contexts: Sequence[int],
                     batches: Sequence[Sequence[int]], language: str,
                     texts: Sequence[str | None], cache: _EncoderCache | None = None
                     ) -> list[float | None]:
    """How much the audio supports each English text as its translation: the mean per-token
    log-probability of the text under Whisper's ``translate`` task given the clip, minus the
    same given silence of the same length (pointwise mutual information, nats per token).

    Raw log-probabilities mostly measure how ordinary a sentence is; subtracting the text's
    probability without the audio leaves what the audio adds. On speech-eval (Whisper base),
    hand-written translations score 0.5-2.8 and English texts of other clips -0.2-0.1, also
    for ja/ko where Whisper's own translation is too poor to compare words with
    (``benchmarks/translation.py``). A clip without a text scores None. Cached encoder outputs
    are read, not used up."""
    import ctranslate2

    tokenizer = _tokenizer(model, language, "translate")
    out: list[float | None] = [None] * len(clips)
    silence: dict[int, np.ndarray] = {}
    for ids in batches:
        todo = [i for i in ids if (texts[i] or "").strip()]
        if not todo:
            continue
        seconds = contexts[ids[0]]
        enc = {i: cache.arrays.get(i) for i in todo} if cache is not None else {}
        missing = [i for i in todo if enc.get(i) is None]
        if missing:
            enc.update(zip(missing, np.array(_encode(model, clips, missing, seconds, True)),
                           strict=True))
        if seconds not in silence:
            quiet = [np.zeros(seconds * SAMPLE_RATE, dtype=np.float32)]
            silence[seconds] = np.array(_encode(model, quiet, [0], seconds, True))[0]
        tokens = [tokenizer.encode(" " + " ".join((texts[i] or "").split()))
                  [:MAX_REFERENCE_TOKENS] for i in todo]
        frames = [min(len(clips[i]) // 160, seconds * 100) for i in todo]
        heard = ctranslate2.StorageView.from_array(np.ascontiguousarray(
            np.stack([enc[i] for i in todo])))
        unheard = ctranslate2.StorageView.from_array(np.ascontiguousarray(
            np.stack([silence[seconds]] * len(todo))))
        with_audio = model.model.align(heard, tokenizer.sot_sequence, tokens, frames,
                                       median_filter_width=7)
        without = model.model.align(unheard, tokenizer.sot_sequence, tokens, frames,
                                    median_filter_width=7)
        for i, a, b in zip(todo, with_audio, without, strict=True):
            out[i] = _round(_mean_log(a.text_token_probs) - _mean_log(b.text_token_probs))
    return out


def _mean_log(probs: Sequence[float]) -> float:
    return sum(math.log(max(float(p), 1e-12)) for p in probs) / max(1, len(probs))


def _prepared(audios: Sequence[np.ndarray], options: LabelOptions
              ) -> tuple[list[np.ndarray], list[int], list[list[int]]]:
    """A recording's clips as Whisper hears them (cut to 30 s, level-normalised), each clip's
    encoder context and the sub-batches of equal context."""
    clips = [np.asarray(a, dtype=np.float32)[:MAX_SAMPLES] for a in audios]
    if options.normalise_level:  # ASR input only: the caller's audio stays as decoded
        gain = np.float32(recording_gain(clips))
        clips = [c * gain for c in clips]
    contexts = [context_seconds(len(c), options.context_pad_s) for c in clips]
    return clips, contexts, context_batches(contexts, options.batch_size)


def score_references(model: Any, audios: Sequence[np.ndarray], language: str,
                     texts: Sequence[str | None], options: LabelOptions = LabelOptions()
                     ) -> list[float | None]:
    """:func:`reference_scores` of other texts on one recording's segments, prepared exactly as
    ``label_recording`` prepares them (benchmarks and tests that try several texts on one
    analysis use it; the pipeline scores inside ``label_recording``)."""
    clips, contexts, batches = _prepared(audios, options)
    return reference_scores(model, clips, contexts, batches, language, texts)


def label_recording(model: Any, audios: Sequence[np.ndarray],
                    options: LabelOptions = LabelOptions(),
                    source_texts: Sequence[str | None] | None = None,
                    references: Callable[[list[str | None]], list[str | None]] | None = None,
                    ) -> list[AsrResult]:
    """Pseudo-label ALL segments of ONE recording (16 kHz float32, each <= 30 s), in order.

    With a multilingual model and no forced language, every segment's language is detected on
    its encoder output, the distributions are pooled over all segments weighted by duration, and
    every segment is decoded in the pooled language (or in ``options.hint`` when the pooled
    probability is below ``options.hint_below_prob``). Each result is a function of ``audios``
    (as a multiset: their order does not matter) and ``options`` other than ``batch_size`` and
    ``encoder_cache_mb`` only. Segments longer than 30 s are cut to their first 30 s.

    With ``options.translate`` and a decoding language other than English, each result also
    holds Whisper's X->en translation (one more decoder pass over the same encoder outputs,
    cached ones reused) and, when ``references`` maps those translations to the English texts
    to verify (a cue per segment, or an untimed text sliced by them), each text's
    :func:`reference_scores`.

    With ``options.word_times`` every result carries its label's words with times; a segment
    whose ``source_texts`` entry is a transcript also gets that transcript's words force-aligned
    to its audio by the same model (``source_words``), so whichever label decide chooses, each
    of its words has a time."""
    from faster_whisper.transcribe import get_compression_ratio

    options.validate()
    if not len(audios):
        return []
    clips, contexts, batches = _prepared(audios, options)
    multilingual = model.model.is_multilingual
    no_lid: Probs = ()
    if multilingual and not options.language:
        cache = _EncoderCache(options.encoder_cache_mb)
        own = _detect_pass(model, clips, contexts, batches, cache)
        pooled = pool_recording(own, [max(len(c), 1) for c in clips])
        language = decoding_language(pooled, options.hint, options.hint_below_prob, set(own[0]))
        pooled_top = _rounded(_top(pooled, options.lid_top_k))
        own_top = [_rounded(_top(p, options.lid_top_k)) for p in own]
    else:
        cache = _EncoderCache(0)
        language = options.language if multilingual else "en"
        pooled_top, own_top = no_lid, [no_lid] * len(clips)
    if source_texts is not None and len(source_texts) != len(clips):
        raise ValueError("source_texts needs one entry per segment")
    translations: list[str | None] = [None] * len(clips)
    english: list[str | None] = [None] * len(clips)
    scores: list[float | None] = [None] * len(clips)
    if options.translate and multilingual and language != "en":
        # before the transcribe pass, which uses the cached encoder outputs up
        translated = _decode_pass(model, clips, contexts, batches, language, options.beam_size,
                                  cache, task="translate", keep_cached=True)
        translations = [decoded_pass[0] for decoded_pass in translated]
        if references is not None:
            english = list(references(translations))
            scores = reference_scores(model, clips, contexts, batches, language, english, cache)
    decoded = _decode_with_seeks(model, clips, contexts, batches, language, options, cache,
                                 source_texts)
    results = []
    for (text, avg_logprob, no_speech_prob, coverage, uncovered, passes, words,
         source_words), own_probs, translation, reference, score in zip(
            decoded, own_top, translations, english, scores, strict=True):
        results.append(AsrResult(
            text=text,
            avg_logprob=_round(avg_logprob),
            no_speech_prob=_round(no_speech_prob),
            compression_ratio=_round(get_compression_ratio(text)) if text else 0.0,
            language=language,
            detected_language=pooled_top[0][0] if pooled_top else "",
            detected_prob=pooled_top[0][1] if pooled_top else 0.0,
            language_probs=pooled_top,
            own_language_probs=own_probs,
            coverage=_round(coverage),
            uncovered_s=_round(uncovered),
            passes=passes,
            words=words,
            source_words=source_words,
            translation=translation,
            translation_text=reference,
            translation_score=score,
        ))
    return results


def transcribe_batch(model: Any, audios: Sequence[np.ndarray], beam_size: int = 5,
                     language: str = "", lid_top_k: int = 5,
                     groups: Sequence[object] | None = None,
                     context_pad_s: float = 5.0, hints: Sequence[str] | None = None,
                     hint_below_prob: float = 0.5,
                     normalise_level: bool = True) -> list[AsrResult]:
    """Compatibility wrapper: ``label_recording`` once per group of ``groups``.

    Kept for callers that still batch segments across recordings (``pipelines/stages/asr.py``).
    Each group is labelled as if it were a whole recording, so its language is pooled over the
    clips of the group in THIS call only: only a caller that passes all of a recording's
    segments together gets reproducible labels. A group's hint is its first non-empty one."""
    n = len(audios)
    groups = list(groups) if groups is not None else list(range(n))
    hints = list(hints) if hints is not None else [""] * n
    if len(groups) != n or len(hints) != n:
        raise ValueError("groups and hints need one entry per clip")
    members: dict[object, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    out: list[AsrResult | None] = [None] * n
    for ids in members.values():
        options = LabelOptions(beam_size=beam_size, language=language,
                               context_pad_s=context_pad_s,
                               hint=next((hints[i] for i in ids if hints[i]), ""),
                               hint_below_prob=hint_below_prob, lid_top_k=lid_top_k,
                               normalise_level=normalise_level)
        for i, res in zip(ids, label_recording(model, [audios[i] for i in ids], options),
                          strict=True):
            out[i] = res
    return [r for r in out if r is not None]
