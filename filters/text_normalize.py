"""Text normalisation for comparing labels, and word tokenisation for alignment.

Comparisons use openai-whisper's normalisers (the ones its WER figures are computed with):
``EnglishTextNormalizer`` for English, ``BasicTextNormalizer`` otherwise, splitting letters for
scripts written without spaces. ``whisper.normalizers`` is imported lazily because importing the
``whisper`` package pulls torch.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# Languages written without spaces between words: compared per character, not per word.
NO_SPACE_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue"})

# One CJK ideograph / kana is a token; otherwise a run of letters, digits and marks
# (with inner apostrophes) is a token.
_TOKEN_RE = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
    r"|[^\W_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
    r"(?:['’][^\W_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)*"
)


@lru_cache(maxsize=4)
def _normalizer(kind: str) -> Any:
    import whisper.normalizers as wn  # lazy: the whisper package imports torch

    if kind == "en":
        return wn.EnglishTextNormalizer()
    return wn.BasicTextNormalizer(remove_diacritics=False, split_letters=kind == "split")


def normalize(text: str | None, language: str = "") -> str:
    """Whisper-normalised text: lower case, no punctuation, single spaces.

    English gets the full English normaliser (spelling, numbers, contractions); languages
    without spaces are split into letters so that word-level scores mean character scores.
    """
    if not text:
        return ""
    lang = (language or "").split("-")[0].lower()
    kind = "en" if lang == "en" else ("split" if lang in NO_SPACE_LANGUAGES else "basic")
    return " ".join(_normalizer(kind)(text).split())


def tokens_with_spans(text: str) -> list[tuple[str, int, int]]:
    """Word tokens of ``text`` for alignment: (matching key, start, end) in the original text.

    The key is case-folded with accents kept and apostrophes unified, so that a source text and
    a pseudo-label match word for word regardless of case and punctuation.
    """
    out: list[tuple[str, int, int]] = []
    for m in _TOKEN_RE.finditer(unicodedata.normalize("NFC", text or "")):
        key = m.group(0).casefold().replace("’", "'")
        out.append((key, m.start(), m.end()))
    return out


def word_keys(text: str | None) -> list[str]:
    """Just the matching keys of :func:`tokens_with_spans`."""
    return [k for k, _s, _e in tokens_with_spans(text or "")]
