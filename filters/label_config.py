"""Thresholds of the label decisions, in one frozen dataclass.

Pure (no pipelines import): ``validate`` raises ``ValueError`` naming the field, and the run config
machinery wraps it into a ``ConfigError``. Defaults follow the Whisper paper and openai-whisper's
``transcribe`` (compression ratio 2.4, log-probability -1.0, no-speech 0.6) where one applies.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from filters.config_checks import checker, need_finite_floats
from filters.translation import TranslationConfig

_LANGUAGE_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")


@lru_cache(maxsize=1)
def whisper_languages() -> frozenset[str]:
    """The language codes Whisper knows (``whisper.tokenizer.LANGUAGES``: ISO 639-1 plus ``haw``,
    ``yue``), read without importing the ``whisper`` package (its ``__init__`` imports torch)."""
    loaded = sys.modules.get("whisper.tokenizer")
    if loaded is not None:
        return frozenset(loaded.LANGUAGES)
    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("openai-whisper is not installed; it provides the language list")
    source = (Path(next(iter(spec.submodule_search_locations))) / "tokenizer.py").read_text("utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "LANGUAGES" for t in node.targets):
            return frozenset(ast.literal_eval(node.value))
    raise RuntimeError("whisper/tokenizer.py has no LANGUAGES table")


def language_problem(value: object, region: bool = True) -> str | None:
    """Why ``value`` is not a language code Whisper can use, or None when it is.

    ``region``: also accept a tag with a region or script (``en-GB``, ``pt_BR``); its first part
    must still be one of Whisper's codes. Empty means "not given" and is fine."""
    if value == "":
        return None
    match = _LANGUAGE_TAG.match(value) if isinstance(value, str) else None
    base = match.group(1).lower() if match else ""
    exact = match is not None and value.lower() == base
    if base in whisper_languages() and (exact or region):
        return None
    what = "an ISO 639-1 code Whisper knows" + (" (optionally with a region, e.g. en-GB)"
                                                 if region else "")
    return f"must be {what}, e.g. en, de, fr, ja; got {value!r}"


@dataclass(frozen=True)
class LabelConfig:
    """Every threshold used to decide a segment's language, label and hallucination flags."""

    # --- basic label checks
    min_label_chars: int = 1  # a chosen label with fewer normalised characters is empty_label
    # --- language identification policy (filters/lid_policy.py)
    min_audio_language_prob: float = 0.5  # audio LID below this counts as no audio evidence
    min_text_language_prob: float = 0.5  # text LID below this counts as no text evidence
    lid_agree_min_prob: float = 0.05  # text language agrees if audio LID gives it at least this
    allow_translation: bool = True  # English text on non-English audio becomes task=translate
    min_translation_audio_prob: float = 0.8  # audio LID needed to call a pair a translation
    fallback_language: str = ""  # assumed when no vote is confident ("en" for English-only ASR)
    require_language: bool = True  # reject (lid_low_confidence) when no language is confident
    # --- agreement between source text and pseudo-label (filters/agreement.py)
    max_cer: float = 0.25  # source text is used when its CER vs the pseudo-label is at most this
    # language- and model-aware agreement (filters/agreement.py max_cer_for/max_align_error_for):
    # max_cer and max_align_error are raised to error_margin x the model's expected error for
    # the language (EXPECTED_ERROR), never above the ceilings (swapped transcripts score above)
    asr_model: str = ""  # the pseudo-labelling model ("" = base, the default asr.model)
    error_margin: float = 2.0
    max_cer_ceiling: float = 0.6
    max_align_error_ceiling: float = 0.7
    # --- pseudo-label confidence (filters/label_choice.py)
    min_pseudo_avg_logprob: float = -0.8  # a pseudo-label needs at least this mean log-prob
    # share of the segment's VAD speech the pseudo-label's timestamps must cover (label_coverage,
    # pipelines/whisper.py); under it a pseudo-label is label_incomplete, and a source text it
    # cannot confirm is label_incomplete rather than label_disagreement
    min_label_coverage: float = 0.8
    # a transcript of at least transcript_coverage_min_words of which the kept source labels use
    # less than this share is flagged (transcript_coverage) on the recording's kept segments
    min_transcript_coverage: float = 0.5
    transcript_coverage_min_words: int = 20
    # --- machine-generated transcripts (filters/machine_text.py)
    detect_machine_text: bool = True  # treat machine-looking transcripts as missing
    machine_min_chars: int = 60  # shorter transcripts are too short to judge
    machine_unbroken_chars: int = 500  # this many chars without sentence punctuation is machine
    # --- untimed transcript alignment (filters/alignment.py)
    max_align_error: float = 0.5  # per-segment word edit share vs its slice above which: unaligned
    min_align_matches: int = 1  # a segment needs at least this many exactly matched words
    # --- hallucination flags (filters/hallucination.py)
    max_compression_ratio: float = 2.4  # gzip compression ratio above this is repetitive text
    min_avg_logprob: float = -1.0  # mean token log-probability below this is a flag
    max_no_speech_prob: float = 0.6  # no-speech prob above this AND low log-prob is a flag
    hard_no_speech_prob: float = 0.95  # no-speech prob above this is a flag on its own
    repeat_ngram: int = 3  # length of the word n-grams checked for repetition loops
    max_ngram_repeats: int = 4  # an n-gram occurring this many times or more is a flag
    min_unique_word_share: float = 0.4  # unique words / words below this is a flag ...
    unique_share_min_words: int = 8  # ... only checked on texts with at least this many words
    max_chars_per_second: float = 30.0  # label characters (no spaces) per second above this
    min_chars_per_second: float = 1.5  # fewer label characters per second than this ...
    min_rate_duration_s: float = 3.0  # ... is a flag on segments at least this long
    max_word_chars: int = 25  # a space-delimited word this long or longer is a flag
    check_phrases: bool = True  # flag known hallucination phrases (subtitle credits, outros)
    extra_phrases: tuple[str, ...] = ()  # more phrases to flag, in any language
    min_speech_ratio: float = 0.1  # text on a segment with less VAD speech than this is a flag
    # --- translation pairs (filters/translation.py): chrF thresholds against Whisper's translation
    translation: TranslationConfig = field(default_factory=TranslationConfig)

    def validate(self, where: str) -> None:
        """Raise ValueError naming ``where.field`` for the first out-of-range value."""
        need = checker(where)
        need_finite_floats(self, need)
        for name in ("min_audio_language_prob", "min_text_language_prob", "lid_agree_min_prob",
                     "min_translation_audio_prob", "max_no_speech_prob", "hard_no_speech_prob",
                     "min_unique_word_share", "min_speech_ratio", "min_label_coverage",
                     "min_transcript_coverage"):
            value = getattr(self, name)
            need(0.0 <= value <= 1.0, name, f"must be in [0, 1], got {value!r}")
        need(self.min_label_chars >= 0, "min_label_chars", "must be >= 0")
        need(0 <= self.transcript_coverage_min_words <= 1_000_000,
             "transcript_coverage_min_words", "must be in [0, 1000000]")
        need(self.max_cer >= 0, "max_cer",
             f"must be >= 0 (a character error rate), got {self.max_cer!r}")
        need(self.max_align_error >= 0, "max_align_error", "must be >= 0")
        need(self.error_margin >= 0, "error_margin", "must be >= 0")
        need(self.max_cer_ceiling >= 0, "max_cer_ceiling", "must be >= 0")
        need(self.max_align_error_ceiling >= 0, "max_align_error_ceiling", "must be >= 0")
        need(self.min_align_matches >= 0, "min_align_matches", "must be >= 0")
        need(self.min_pseudo_avg_logprob <= 0, "min_pseudo_avg_logprob",
             f"must be <= 0 (a mean log-probability), got {self.min_pseudo_avg_logprob!r}")
        need(self.min_avg_logprob <= 0, "min_avg_logprob",
             f"must be <= 0 (a mean log-probability), got {self.min_avg_logprob!r}")
        need(self.max_compression_ratio > 0, "max_compression_ratio", "must be > 0")
        need(self.machine_min_chars >= 0, "machine_min_chars", "must be >= 0")
        need(self.machine_unbroken_chars > 0, "machine_unbroken_chars", "must be > 0")
        need(self.repeat_ngram >= 1, "repeat_ngram", "must be >= 1")
        need(self.max_ngram_repeats >= 2, "max_ngram_repeats", "must be >= 2")
        need(self.unique_share_min_words >= 1, "unique_share_min_words", "must be >= 1")
        need(self.max_chars_per_second > 0, "max_chars_per_second", "must be > 0")
        need(self.min_chars_per_second >= 0, "min_chars_per_second", "must be >= 0")
        need(self.min_rate_duration_s >= 0, "min_rate_duration_s", "must be >= 0")
        need(self.max_word_chars >= 2, "max_word_chars", "must be >= 2")
        for i, phrase in enumerate(self.extra_phrases):
            need(isinstance(phrase, str) and bool(phrase.strip()), f"extra_phrases[{i}]",
                 "must be a non-empty phrase (remove the empty entry)")
        self.translation.validate(f"{where}.translation")
        problem = language_problem(self.fallback_language)
        need(problem is None, "fallback_language", f"{problem} (or leave it empty)")
