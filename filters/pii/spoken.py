"""Spoken forms of PII rewritten to written forms, with a map back to the original characters.

ASR output spells out what a reader would have written as symbols: "my number is five five five,
one two three, four five six seven", "oh two oh seven", "double five", "john dot smith at gmail
dot com", "one nine two dot one six eight dot one dot one", "plus four four". Whisper mixes both
styles ("555, 123, 4567", "5, 5, 5", "twenty twenty three"). Rather than a second set of
detectors for speech, the transcript is rewritten to the written form in two passes and the
written detectors run on the result; ``Mapped`` keeps, for every output character, the original
range it came from, so spans land on the spoken words.

Pass 1, numbers: a run of number words and plain digit tokens becomes digits. Inside a run,
cardinal phrases are parsed ("twenty one" 21, "eight hundred" 800, "two thousand and seven"
2007); a word that cannot continue the phrase starts a new group, and groups are concatenated
the way people dictate ("five five five twelve thirty four" 5551234, "double oh seven" 007).
Punctuation between groups (Whisper's commas) becomes one space, which keeps "555 123 4567"
readable to the phone matcher; single digits are always concatenated ("5, 5, 5" 555). "oh"/"o"
is zero only next to another number, "a" only before hundred/thousand. Digits written with
inner punctuation ("1,000", "555-1234", "192.168.1.1", "$5.99") are left as written.

Pass 2, symbols: inside an email-, URL- or IP-shaped stretch only, "dot"/"point" become ".",
"at" "@", "slash" "/", "colon" ":", "underscore" "_", "dash"/"hyphen" "-", spaced single letters
join ("w w w" www), and "plus" before digits becomes "+". Requiring the whole shape (a known
top-level domain after the last dot, four octets for an IP) keeps "at" and "dot" in ordinary
sentences untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from filters.pii.offsets import Mapped, Replacement

# Number words per language (the language's base code). Dictation is mostly digit by digit, so
# languages other than English carry units (and teens/tens where cheap to list).
UNITS: dict[str, dict[str, int]] = {
    "en": {"zero": 0, "nought": 0, "naught": 0, "one": 1, "two": 2, "three": 3, "four": 4,
           "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9},
    "de": {"null": 0, "eins": 1, "zwei": 2, "zwo": 2, "drei": 3, "vier": 4, "fünf": 5,
           "sechs": 6, "sieben": 7, "acht": 8, "neun": 9},
    "fr": {"zéro": 0, "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4,
           "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9},
    "es": {"cero": 0, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
           "seis": 6, "siete": 7, "ocho": 8, "nueve": 9},
    "it": {"zero": 0, "uno": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6,
           "sette": 7, "otto": 8, "nove": 9},
    "pt": {"zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "tres": 3,
           "quatro": 4, "cinco": 5, "seis": 6, "meia": 6, "sete": 7, "oito": 8, "nove": 9},
    "nl": {"nul": 0, "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6,
           "zeven": 7, "acht": 8, "negen": 9},
}
TEENS: dict[str, dict[str, int]] = {
    "en": {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
           "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19},
}
TENS: dict[str, dict[str, int]] = {
    "en": {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
           "seventy": 70, "eighty": 80, "ninety": 90},
}
SCALES: dict[str, dict[str, int]] = {"en": {"hundred": 100, "thousand": 1000,
                                             "million": 1_000_000}}
REPEATS: dict[str, dict[str, int]] = {
    "en": {"double": 2, "triple": 3, "treble": 3},
    "de": {"doppel": 2, "doppelt": 2}, "fr": {"double": 2, "triple": 3},
}
ZERO_LETTERS = {"en": ("oh", "o")}  # zero only next to another number
AND_WORDS = {"en": "and"}
A_WORDS = {"en": ("a", "an")}

_TOKEN = re.compile(r"(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)|(?P<num>\d+(?:[.,:/-]\d+)*)"
                    r"|(?P<space>\s+)|(?P<punct>.)", re.S)
_SOFT_PUNCT = set(",.;:-–—")


@dataclass(frozen=True)
class _Tok:
    kind: str  # word | num | space | punct
    text: str
    start: int
    end: int


@dataclass
class _Group:
    start: int  # source range of the group's tokens
    end: int
    spoken: bool
    value: str = ""  # fixed digits (digit tokens, zeros, repeats)
    total: int = 0  # cardinal accumulator (spoken phrases)
    current: int = 0
    last: str = ""  # kind of the last word: unit, teen, tens, hundred, scale, and

    def digits(self) -> str:
        return self.value or str(self.total + self.current)


class _Lexicon:
    """The number words of one language (English words always apply: code-switching and
    English loan digits are common in ASR output)."""

    def __init__(self, language: str) -> None:
        base = re.split(r"[-_]", language or "en", maxsplit=1)[0].lower()
        langs = ["en"] if base == "en" or base not in UNITS else [base, "en"]
        self.units = {w: v for lang in langs for w, v in UNITS.get(lang, {}).items()}
        self.teens = {w: v for lang in langs for w, v in TEENS.get(lang, {}).items()}
        self.tens = {w: v for lang in langs for w, v in TENS.get(lang, {}).items()}
        self.scales = {w: v for lang in langs for w, v in SCALES.get(lang, {}).items()}
        self.repeats = {w: v for lang in langs for w, v in REPEATS.get(lang, {}).items()}
        self.zero_letters = {w for lang in langs for w in ZERO_LETTERS.get(lang, ())}
        self.ands = {AND_WORDS[lang] for lang in langs if lang in AND_WORDS}
        self.a_words = {w for lang in langs for w in A_WORDS.get(lang, ())}


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.lastgroup or "punct", m.group(), m.start(), m.end())
            for m in _TOKEN.finditer(text)]


class _NumberPass:
    """Pass 1 over one text: see the module docstring."""

    def __init__(self, text: str, lex: _Lexicon) -> None:
        self.toks = _tokens(text)
        self.lex = lex
        self.at = {t.start: i for i, t in enumerate(self.toks)}  # token index by start offset

    def _word(self, i: int) -> str:
        t = self.toks[i] if 0 <= i < len(self.toks) else None
        return t.text.lower() if t is not None and t.kind == "word" else ""

    def _is_digit_tok(self, i: int) -> bool:
        """A plain digit token, not glued to letters ("5th", "221B", "B12" are words)."""
        return 0 <= i < len(self.toks) and self.toks[i].kind == "num" \
            and self.toks[i].text.isdigit() and not self._glued(i)

    def _glued(self, i: int) -> bool:
        """Token ``i`` touches a word or number token with no space between."""
        t = self.toks[i]
        before = self.toks[i - 1] if i > 0 else None
        after = self.toks[i + 1] if i + 1 < len(self.toks) else None
        return any(n is not None and n.kind in ("word", "num") and (n.end == t.start or
                                                                    n.start == t.end)
                   for n in (before, after))

    def _next_tok(self, i: int, allow_punct: bool) -> tuple[int, bool]:
        """Index of the next non-separator token after ``i`` and whether the separator had
        punctuation; -1 when the separator is not soft (or punctuation is not allowed)."""
        j, punct = i + 1, False
        while j < len(self.toks):
            t = self.toks[j]
            if t.kind == "space":
                j += 1
            elif t.kind == "punct" and t.text in _SOFT_PUNCT:
                if t.text in "-–" and not punct and j == i + 1:  # twenty-one: a joiner
                    j += 1
                    continue
                if t.text == "." and self.toks[j - 1].text == "." and punct:  # "..." pause
                    j += 1
                    continue
                if punct or not allow_punct:
                    return -1, True
                punct = True
                j += 1
            else:
                return j, punct
        return -1, punct

    def _numberish(self, i: int, adjacent: bool, in_run: bool = False) -> bool:
        """Can token ``i`` take part in a number run? ``adjacent``: it follows a number with
        only whitespace between (then a bare "oh" counts); ``in_run``: it follows a number
        across punctuation (then "oh" counts when a number follows it, even after a comma)."""
        w = self._word(i)
        lex = self.lex
        if self._is_digit_tok(i):
            return True
        if w in lex.units or w in lex.teens or w in lex.tens:
            return True
        if w in lex.repeats:
            j, _ = self._next_tok(i, allow_punct=False)
            return j >= 0 and (self._word(j) in lex.units or self._word(j) in lex.zero_letters
                               or (self._is_digit_tok(j) and len(self.toks[j].text) == 1))
        if w in lex.a_words:
            j, _ = self._next_tok(i, allow_punct=False)
            return j >= 0 and self._word(j) in lex.scales and self._word(j) != "million"
        if w in lex.zero_letters:
            if self._glued(i) or self.toks[i].text.isupper() and len(w) > 1:
                return False  # "OH52...", "OH": letters of a code, not a zero
            if adjacent or in_run:  # "five oh", "seven, oh": a dictated zero
                return True
            if any(self._word(k) in ("dot", "point") for k in (i - 2, i + 2)):
                return True  # "ten dot oh dot ..."
            j, punct = self._next_tok(i, allow_punct=in_run)
            return j >= 0 and self._numberish(j, adjacent=not punct, in_run=in_run)
        return False

    def run(self) -> list[Replacement]:
        out: list[Replacement] = []
        i = 0
        while i < len(self.toks):
            if self._numberish(i, adjacent=False):
                i = self._parse_run(i, out)
            else:
                i += 1
        return out

    def _parse_run(self, i: int, out: list[Replacement]) -> int:
        """Parse a run starting at token ``i``; append its replacements; return the index
        after it."""
        lex = self.lex
        groups: list[_Group] = []
        seps: list[tuple[int, int, bool]] = []  # source range between groups, had punctuation
        group: _Group | None = None
        j = i
        while True:
            t = self.toks[j]
            w = self._word(j)
            closed = False
            if self._is_digit_tok(j):
                group = _Group(t.start, t.end, spoken=False, value=t.text)
                closed = True
            elif w in lex.repeats:
                k, _ = self._next_tok(j, allow_punct=False)
                nxt = self.toks[k]
                digit = str(lex.units.get(self._word(k), 0)) if nxt.kind == "word" else nxt.text
                group = _Group(t.start, nxt.end, spoken=True, value=digit * lex.repeats[w])
                j = k
                closed = True
            elif w in lex.zero_letters or lex.units.get(w, -1) == 0:
                group = _Group(t.start, t.end, spoken=True, value="0")
                closed = True
            elif w in lex.a_words:
                group = _Group(t.start, t.end, spoken=True, current=1, last="unit")
            else:
                group = _Group(t.start, t.end, spoken=True)
                self._add_word(group, w)
            # extend the group with words that continue the cardinal phrase
            while not closed:
                k, punct = self._next_tok(j, allow_punct=False)
                if k < 0 or punct:
                    break
                nw = self._word(k)
                if nw in lex.ands and group.last in ("hundred", "scale"):
                    k2, p2 = self._next_tok(k, allow_punct=False)
                    nxt = self._word(k2) if k2 >= 0 and not p2 else ""
                    if nxt in lex.units and lex.units[nxt] > 0 or nxt in lex.teens \
                            or nxt in lex.tens:
                        group.last = "and"
                        j = k
                        continue
                    break
                if not self._continues(group, nw):
                    break
                self._add_word(group, nw)
                group.end = self.toks[k].end
                j = k
            groups.append(group)
            k, punct = self._next_tok(j, allow_punct=True)
            if k < 0:
                break
            if punct:
                strong = self._numberish(k, adjacent=False, in_run=True)
            else:
                strong = self._numberish(k, adjacent=True)
            if not strong:
                break
            seps.append((self.toks[j].end, self.toks[k].start, punct))
            j = k
        j += 1
        for n, g in enumerate(groups):
            if n > 0:
                s0, s1, punct = seps[n - 1]
                prev = groups[n - 1]
                single = len(prev.digits()) == 1 and len(g.digits()) == 1
                # a capitalised number word after no punctuation opens a new sentence
                capital = g.spoken and self.toks[self.at[g.start]].text[:1].isupper()
                concat = single or (not punct and (prev.spoken or g.spoken) and not capital)
                out.append((s0, s1, "" if concat else " "))
            text = self.toks_text(g)
            if g.digits() != text:
                out.append((g.start, g.end, g.digits()))
        return j

    def toks_text(self, g: _Group) -> str:
        """The text of a one-token group ("" for a phrase of several tokens)."""
        t = self.toks[self.at[g.start]]
        return t.text if t.end == g.end else ""

    def _continues(self, g: _Group, w: str) -> bool:
        lex = self.lex
        if g.value:
            return False
        if w in lex.units:
            return lex.units[w] > 0 and g.last in ("tens", "hundred", "scale", "and")
        if w in lex.teens or w in lex.tens:
            return g.last in ("hundred", "scale", "and")
        if w in lex.scales:
            if lex.scales[w] == 100:
                return g.last in ("unit", "teen") and g.current < 100
            return g.last in ("unit", "teen", "tens", "hundred") and g.current > 0
        return False

    def _add_word(self, g: _Group, w: str) -> None:
        lex = self.lex
        if w in lex.units:
            g.current += lex.units[w]
            g.last = "unit"
        elif w in lex.teens:
            g.current += lex.teens[w]
            g.last = "teen"
        elif w in lex.tens:
            g.current += lex.tens[w]
            g.last = "tens"
        elif w in lex.scales:
            scale = lex.scales[w]
            if scale == 100:
                g.current *= 100
                g.last = "hundred"
            else:
                g.total += g.current * scale
                g.current = 0
                g.last = "scale"


# --------------------------------------------------------------------------- pass 2: symbols

# Top-level domains accepted after a spoken "dot". Two-letter ones that are common English
# words (at, in, it, me, no, is, be, to, so, us, ...) are left out: "dot in" is not a domain.
TLDS = ("com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "io", "co", "uk", "de",
        "fr", "es", "nl", "br", "ca", "au", "ru", "jp", "cn", "mx", "ie", "nz", "za", "pl", "pt",
        "ch", "se", "dk", "fi", "gr", "tv", "ai", "app", "dev", "eu", "online", "org", "gmx",
        "be", "ng", "ke", "ph", "sg", "hk", "kr", "tr", "ar", "cl", "cz", "hu", "ro", "ua")
_TLD = "(?:" + "|".join(sorted(set(TLDS) - {"be"}, key=len, reverse=True)) + ")"
_DOT = r"(?:\.|\s+dot\s+|\s+point\s+)"
_CONNECT = r"(?:[._-]|\s+(?:dot|underscore|dash|hyphen)\s+)"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_LOCAL_WORD = r"(?!(?:is|at|me|my|to|email|mail|address|e-mail)\b)[^\W_][\w]*"
_ANY_TLD = r"[a-z]{2,12}"  # after "X at Y dot Z" the shape alone is evidence enough
_SPOKEN_EMAIL = re.compile(
    rf"\b{_LOCAL_WORD}(?:{_CONNECT}[^\W_][\w]*)*(?:\s+\d+)?\s+at\s+{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}"
    rf"{_ANY_TLD}\b", re.I)
_SCHEME = r"(?:h\s?t\s?t\s?p\s?s?|https?)\s*(?:colon|:)\s*(?:(?:forward\s+)?slash|/)\s*" \
          r"(?:(?:forward\s+)?slash|/)\s*"
_WWW = r"(?:w\s?w\s?w|www|double\s+u\s+double\s+u\s+double\s+u)"
_PATH = r"(?:\s*(?:(?:forward\s+)?slash|/)\s*[\w-]+)*"
_STOP_LABEL = r"(?!(?:the|a|an|and|or|of|to|in|on|at|is|it|was|this|that|with|for|be|go)\b)"
_SPOKEN_URL = re.compile(
    rf"(?:\b{_SCHEME})?(?:\b{_WWW}{_DOT})?\b{_STOP_LABEL}{_LABEL}(?:{_DOT}{_LABEL})*"
    rf"\s+dot\s+{_TLD}\b{_PATH}", re.I)
_SPOKEN_IP = re.compile(r"\b\d{1,3}(?:\s*(?:\.|\bdot\b|\bpoint\b)\s*\d{1,3}){3}\b", re.I)
_PLUS = re.compile(r"\bplus\s+(?=\d)", re.I)
_SYMBOL = re.compile(r"\s*\b(?P<w>dot|point|at|forward\s+slash|slash|colon|underscore|dash|"
                     r"hyphen)\b\s*|\s*(?P<p>[.@/:_-])\s*|(?<=\b[a-z])\s+(?=[a-z]\b)"
                     r"|(?<=[a-z0-9])\s+(?=\d+\s+at\b)"
                     r"|\bdouble\s+u\s+double\s+u\s+double\s+u\b", re.I)
_SYMBOLS = {"dot": ".", "point": ".", "at": "@", "slash": "/", "forward slash": "/",
            "colon": ":", "underscore": "_", "dash": "-", "hyphen": "-"}


def _symbolise(text: str, start: int, end: int, out: list[Replacement]) -> None:
    for m in _SYMBOL.finditer(text, start, end):
        if m.group("w"):
            new = _SYMBOLS[re.sub(r"\s+", " ", m.group("w").lower())]
        elif m.group("p"):
            new = m.group("p")
        elif m.group().lower().startswith("double"):
            new = "www"
        else:
            new = ""
        if new != m.group():
            out.append((m.start(), m.end(), new))


def _symbol_pass(text: str) -> list[Replacement]:
    regions: list[tuple[int, int, bool]] = []  # (start, end, symbolise)
    for rx in (_SPOKEN_EMAIL, _SPOKEN_URL, _SPOKEN_IP):
        regions.extend((m.start(), m.end(), True) for m in rx.finditer(text))
    regions.extend((m.start(), m.end(), False) for m in _PLUS.finditer(text))
    regions.sort(key=lambda r: (r[0], -(r[1] - r[0])))
    out: list[Replacement] = []
    last = 0
    for start, end, symbolise in regions:
        if start < last:
            continue
        if symbolise:
            _symbolise(text, start, end, out)
        else:
            out.append((start, end, "+"))
        last = end
    return out


def normalise(text: str, language: str = "en") -> Mapped:
    """``text`` with spoken numbers and spoken email/URL/IP symbols in written form, and the
    per-character map back to ``text`` (see the module docstring)."""
    mapped = Mapped.identity(text)
    mapped = mapped.rewrite(_NumberPass(text, _Lexicon(language)).run())
    return mapped.rewrite(_symbol_pass(mapped.text))
