"""Hallucination flags for a segment's pseudo-label (and audio evidence for any label).

Whisper invents text on silence, music and noise, and loops on hard audio. Each check here
returns a named flag with its evidence; the label decision turns flags into rejects with the
``hallucination`` (or ``low_asr_confidence``) reason and records every flag as a verdict, so no
flag is silent. Checks follow openai-whisper's ``transcribe`` fallbacks (compression ratio,
average log-probability, no-speech probability) plus text heuristics used by large pseudo-label
pipelines: repeated n-grams, low unique-word share, implausible characters per second, absurdly
long words, too little text for long audio, known hallucination phrases per language, and text
where VAD finds no speech.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from filters.label_config import LabelConfig
from filters.text_normalize import NO_SPACE_LANGUAGES, word_keys

# Phrases Whisper is known to hallucinate (subtitle credits and video outros from its training
# data), matched on lower-cased text with punctuation collapsed. Keys are ISO 639-1 codes; "*"
# applies to every language.
HALLUCINATION_PHRASES: dict[str, tuple[str, ...]] = {
    "*": ("amara org", "www ", "http"),
    "en": ("thanks for watching", "thank you for watching", "please subscribe",
           "like and subscribe", "subtitles by", "subtitled by", "captions by",
           "transcribed by", "transcript by", "translated by", "see you in the next video",
           "don t forget to subscribe"),
    "de": ("untertitel im auftrag", "untertitel der amara", "untertitelung",
           "vielen dank fürs zuschauen", "danke fürs zuschauen", "copyright wdr",
           "swr 20", "zdf 20"),
    "fr": ("sous titres réalisés", "sous titrage", "merci d avoir regardé",
           "sous titres par", "abonnez vous"),
    "es": ("subtítulos realizados", "subtitulado por", "gracias por ver",
           "suscríbete", "subtítulos por la comunidad"),
    "it": ("sottotitoli creati", "sottotitoli a cura", "grazie per la visione",
           "iscriviti al canale"),
    "pt": ("legendas pela comunidade", "obrigado por assistir", "inscreva se"),
    "nl": ("ondertiteling", "ondertiteld door", "bedankt voor het kijken"),
    "sv": ("undertexter från", "tack för att du tittade", "svensktextning"),
    "ru": ("субтитры сделал", "субтитры создавал", "редактор субтитров",
           "спасибо за просмотр", "продолжение следует", "подписывайтесь на канал"),
    "pl": ("napisy stworzone", "napisy wykonane", "dziękuję za obejrzenie"),
    "ja": ("ご視聴ありがとうございました", "チャンネル登録", "字幕"),
    "zh": ("请不吝点赞", "订阅", "字幕由", "感谢观看", "谢谢观看", "明镜与点点"),
    "ko": ("시청해주셔서 감사합니다", "구독과 좋아요", "자막"),
}

_SPACE_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


class Flag(NamedTuple):
    name: str  # e.g. "compression_ratio", "repeated_ngram", "phrase"
    detail: str  # the evidence
    audio: bool  # True for audio-evidence flags (these reject even a source-text label)


def _simplify(text: str) -> str:
    return " " + " ".join(_SPACE_PUNCT.sub(" ", text.casefold()).split()) + " "


def phrase_hits(text: str, language: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Known hallucination phrases found in ``text`` (for its language and all languages)."""
    simple = _simplify(text)
    lang = (language or "").split("-")[0].lower()
    phrases = (*HALLUCINATION_PHRASES["*"], *HALLUCINATION_PHRASES.get(lang, ()), *extra)
    if not lang:  # unknown language: check every list
        phrases = tuple(p for ps in HALLUCINATION_PHRASES.values() for p in ps) + tuple(extra)
    hits = []
    for phrase in phrases:
        p = _simplify(phrase).strip()
        # Whole words for spaced scripts; plain substring for CJK phrases.
        needle = p if _CJK.search(p) else f" {p} "
        if p and needle in simple:
            hits.append(phrase.strip())
    return hits


def max_ngram_count(words: list[str], n: int) -> tuple[int, str]:
    """The most frequent word n-gram (overlapping occurrences) and its count."""
    if len(words) < n:
        return 0, ""
    counts = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    gram, count = counts.most_common(1)[0]
    return count, " ".join(gram)


def text_flags(text: str, duration: float, language: str, config: LabelConfig) -> list[Flag]:
    """Flags computed from the text alone (plus the segment duration)."""
    flags: list[Flag] = []
    lang = (language or "").split("-")[0].lower()
    words = word_keys(text)
    if not words:
        return flags
    count, gram = max_ngram_count(words, config.repeat_ngram)
    if count >= config.max_ngram_repeats:
        flags.append(Flag("repeated_ngram", f"'{gram}' x{count}", False))
    if len(words) >= config.unique_share_min_words:
        share = len(set(words)) / len(words)
        if share < config.min_unique_word_share:
            flags.append(Flag("unique_word_share", f"{share:.2f} of {len(words)} words", False))
    chars = sum(len(w) for w in words)
    if duration > 0 and chars / duration > config.max_chars_per_second:
        flags.append(Flag("chars_per_second", f"{chars / duration:.1f}/s", False))
    if duration >= config.min_rate_duration_s and chars / duration < config.min_chars_per_second:
        # "Thank you." over 30 s of music: far too little text for the audio.
        flags.append(Flag("chars_per_second", f"{chars / duration:.2f}/s (too few)", False))
    if lang not in NO_SPACE_LANGUAGES:
        longest = max((w for w in text.split()), key=len, default="")
        if len(longest) >= config.max_word_chars:
            flags.append(Flag("long_word", f"{longest[:40]!r} ({len(longest)} chars)", False))
    if config.check_phrases:
        hits = phrase_hits(text, lang, config.extra_phrases)
        if hits:
            flags.append(Flag("phrase", ", ".join(hits), False))
    return flags


def asr_flags(
    avg_logprob: float | None,
    no_speech_prob: float | None,
    compression_ratio: float | None,
    config: LabelConfig,
) -> list[Flag]:
    """Flags from Whisper's own scores, with openai-whisper's transcribe thresholds."""
    flags: list[Flag] = []
    if compression_ratio is not None and compression_ratio > config.max_compression_ratio:
        flags.append(Flag("compression_ratio", f"{compression_ratio:.2f}", False))
    low_logprob = avg_logprob is not None and avg_logprob < config.min_avg_logprob
    if low_logprob:
        flags.append(Flag("avg_logprob", f"{avg_logprob:.2f}", False))
    if no_speech_prob is not None and (
        no_speech_prob > config.hard_no_speech_prob
        or (no_speech_prob > config.max_no_speech_prob and low_logprob)
    ):
        flags.append(Flag("no_speech_prob", f"{no_speech_prob:.2f}", True))
    return flags


def audio_flags(text: str, speech_ratio: float | None, config: LabelConfig) -> list[Flag]:
    """Audio evidence: text on a segment in which VAD found almost no speech."""
    low = speech_ratio is not None and speech_ratio < config.min_speech_ratio
    if low and text and text.strip():
        return [Flag("low_speech_ratio", f"VAD speech {speech_ratio:.2f}", True)]
    return []


def pseudo_label_flags(
    pseudo_label: str | None,
    duration: float,
    language: str,
    avg_logprob: float | None,
    no_speech_prob: float | None,
    compression_ratio: float | None,
    speech_ratio: float | None,
    config: LabelConfig,
) -> list[Flag]:
    """All flags for one segment's pseudo-label."""
    text = pseudo_label or ""
    return [
        *asr_flags(avg_logprob, no_speech_prob, compression_ratio, config),
        *text_flags(text, duration, language, config),
        *audio_flags(text, speech_ratio, config),
    ]
