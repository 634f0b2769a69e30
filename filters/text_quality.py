"""Label measures for the quality filter: speaking rate, symbol-only labels, bracketed non-speech
annotations and characters outside the language's script.

They are computed in decide (the label is chosen there), from the label text alone, in
microseconds. Characters are counted without whitespace so a rate means the same in languages
written without spaces; the language's expected scripts come from ``SCRIPTS``.
"""

from __future__ import annotations

import re
import unicodedata

# Bracketed or symbolic non-speech annotations: [music], (applause), <noise>, {laughs}, ♪ ... ♪
_BRACKETED = re.compile(r"\[[^\[\]]{0,40}\]|\([^()]{0,40}\)|<[^<>]{0,40}>|\{[^{}]{0,40}\}")
_NONSPEECH_WORDS = re.compile(
    r"^\W*(music|applause|laughter|laughs?|laughing|noise|silence|inaudible|crosstalk|cheering|"
    r"cheers|coughs?|coughing|sighs?|breathing|background|static|beep|bleep|foreign|unintelligible|"
    r"no speech|speaking foreign language|musique|rires|applaudissements|musik|lachen|applaus|"
    r"música|risas|aplausos|音楽|拍手|笑|音乐|掌声|vocnoise|sil|spn|unk)\W*$", re.IGNORECASE)
_MUSIC_SYMBOLS = re.compile(r"[♪♫♬♩🎵🎶]")

# The scripts a language is written in (Unicode character-name prefixes). Languages missing
# here are not checked. Latin letters are always allowed in the CJK languages' scripts (names,
# acronyms are common), and Latin-script languages share the Latin script.
_LATIN = ("LATIN",)
SCRIPTS: dict[str, tuple[str, ...]] = {
    **{lang: _LATIN for lang in (
        "en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "nb", "nn", "fi", "et", "pl",
        "cs", "sk", "sl", "hr", "bs", "hu", "ro", "tr", "lt", "lv", "is", "ga", "cy", "eu", "ca",
        "gl", "af", "sw", "id", "ms", "tl", "vi", "sq", "mt", "lb", "oc", "br", "haw", "mi", "uz",
        "az", "tk", "so", "yo", "ha", "ln", "sn", "jw", "su", "fo")},
    **{lang: ("CYRILLIC",) for lang in ("ru", "uk", "be", "bg", "mk", "sr", "kk", "ky", "tg",
                                        "mn", "ba", "tt")},
    "el": ("GREEK",),
    **{lang: ("ARABIC",) for lang in ("ar", "fa", "ur", "ps", "sd")},
    **{lang: ("HEBREW",) for lang in ("he", "yi")},
    **{lang: ("DEVANAGARI",) for lang in ("hi", "mr", "ne", "sa")},
    "bn": ("BENGALI",), "as": ("BENGALI",), "pa": ("GURMUKHI",), "gu": ("GUJARATI",),
    "ta": ("TAMIL",), "te": ("TELUGU",), "kn": ("KANNADA",), "ml": ("MALAYALAM",),
    "si": ("SINHALA",), "th": ("THAI",), "lo": ("LAO",), "my": ("MYANMAR",), "km": ("KHMER",),
    "ka": ("GEORGIAN",), "hy": ("ARMENIAN",), "am": ("ETHIOPIC",), "bo": ("TIBETAN",),
    "zh": ("CJK", "LATIN", "FULLWIDTH"), "yue": ("CJK", "LATIN", "FULLWIDTH"),
    "ja": ("CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "LATIN", "FULLWIDTH", "HALFWIDTH"),
    "ko": ("HANGUL", "CJK", "LATIN", "FULLWIDTH", "HALFWIDTH"),
}
# Languages that are written without spaces between words, with dense characters.
DENSE_SCRIPT_LANGUAGES = frozenset({"zh", "yue", "ja", "ko", "th", "lo", "my", "km", "bo"})


def base_language(language: str) -> str:
    return re.split(r"[-_]", language or "", maxsplit=1)[0].lower()


def find_annotations(text: str) -> list[str]:
    """The non-speech annotations in ``text``: bracketed non-speech words and music symbols.

    A bracketed span counts only when its content is a known non-speech word (``[music]``,
    ``(applause)``) or has no letters at all; ``(the Senate)`` is speech and stays."""
    found = []
    for m in _BRACKETED.finditer(text):
        inner = m.group(0)[1:-1]
        if _NONSPEECH_WORDS.match(inner) or not any(c.isalnum() for c in inner):
            found.append(m.group(0))
    found.extend(_MUSIC_SYMBOLS.findall(text))
    return found


def strip_annotations(text: str) -> str:
    """``text`` without its non-speech annotations, whitespace collapsed."""
    for ann in find_annotations(text):
        text = text.replace(ann, " ")
    return " ".join(text.split())


def is_symbol_only(text: str) -> bool:
    """A non-empty label with no letter and no digit (``...``, ``♪♪``, ``-``)."""
    stripped = "".join(text.split())
    return bool(stripped) and not any(c.isalnum() for c in stripped)


def label_chars(text: str) -> int:
    """Characters that are spoken: letters and digits (no spaces or punctuation)."""
    return sum(1 for c in text if c.isalnum())


def chars_per_second(text: str, duration: float) -> float | None:
    if duration <= 0 or not text:
        return None
    return round(label_chars(text) / duration, 3)


def _script_of(ch: str) -> str:
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return ""
    return name.split(" ", 1)[0]


def foreign_script_ratio(text: str, language: str) -> float | None:
    """Share of letters written in a script the language does not use; None when the language
    has no entry in ``SCRIPTS`` or the text has no letters."""
    scripts = SCRIPTS.get(base_language(language))
    if scripts is None:
        return None
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    foreign = sum(1 for c in letters if _script_of(c) not in scripts)
    return round(foreign / len(letters), 4)
