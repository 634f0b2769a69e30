"""Person names: a registry of per-language recognisers.

A recogniser is any object with ``load()`` (called once, where the work runs: heavy imports and
model loads go there) and ``find(text) -> [(start, end)]``. ``register_name_recogniser(language,
factory)`` maps a base language code ("en", "de", ...) to a factory ``(PiiConfig) ->
recogniser``; ``recogniser_for`` picks the language's factory, or ``CueNames`` for a language
with none registered. To add a language with a spaCy pipeline installed:

    register_name_recogniser("fr", lambda cfg: Combined(SpacyNames("fr_core_news_sm", "PER"),
                                                        CueNames("fr")))

English uses spaCy's small English NER (``PiiConfig.ner_model``) plus ``CueNames``: the small
model misses names it has not seen in news text (many South-Asian and West-African names) when
nothing in the sentence marks them, and a name after "my name is" or "Dr." is marked whatever
its origin. ``CueNames`` alone (no model) covers introductions and honorifics in de, fr, es,
it, pt and nl; names said without a cue are not found in those languages unless a model is
registered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from filters.pii.places import multiword_places

Span = tuple[int, int]


class NameRecogniser(Protocol):
    def load(self) -> None: ...

    def find(self, text: str) -> list[Span]: ...


# A capitalised name word (any Latin-script alphabet, apostrophes and hyphens inside) and the
# lower-case particles names carry between words.
_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’-]*[\w]"
_PARTICLE = r"(?:van|von|de|da|del|der|den|di|du|le|la|bin|ibn|al|el|ter|ten|dos|das|y)"
NAME = rf"{_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_WORD}){{0,3}}"
_NOT_NAMES = {
    "i", "i'm", "the", "a", "an", "and", "but", "or", "so", "yes", "no", "okay", "ok", "hello",
    "hi", "thanks", "thank", "please", "sorry", "well", "oh", "um", "uh", "my", "your",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "street", "road", "avenue", "god", "mom", "mum", "dad", "sir",
    "madam", "doctor", "english", "here", "there", "not", "just", "going", "calling", "from",
    "on", "in", "at", "of", "with", "to", "for", "it", "this", "that", "we", "he", "she", "they",
    "email", "e-mail", "mail", "phone", "call", "text", "visa", "mastercard", "card", "iban",
    "ssn", "dni", "cpf", "uid", "aadhaar", "nhs", "ip", "url", "www", "http", "https", "today",
    "tomorrow", "yesterday", "morning", "evening", "night", "christmas", "easter", "lane",
    "drive", "close", "way", "place", "court", "boulevard", "square", "apartment",
    "suite", "flat", "number", "address", "account", "yeah", "right",
}
# spaCy labels of entities that are not people: a capitalised run inside one is not a name.
_OTHER_ENTITIES = {"ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART",
                   "LANGUAGE", "LAW", "DATE", "TIME", "MONEY", "QUANTITY", "CARDINAL",
                   "ORDINAL", "PERCENT"}

# Phrases after which a capitalised word sequence is a person's name, per language.
CUES: dict[str, tuple[str, ...]] = {
    "en": (r"my name is", r"my name's", r"name is", r"i am called", r"i'm called",
           r"call me", r"named", r"called", r"this is", r"i'm", r"i am",
           r"speak(?:ing)? (?:to|with)",
           r"spoke (?:to|with)", r"talk(?:ed|ing)? (?:to|with)", r"ask for", r"asked for",
           r"meet", r"met", r"contact", r"married", r"husband,?", r"wife,?", r"son,?",
           r"daughter,?", r"brother,?", r"sister,?", r"friend,?", r"colleague,?",
           r"mr\.?", r"mrs\.?", r"ms\.?", r"miss", r"dr\.?", r"prof\.?", r"professor",
           r"sir", r"mx\.?", r"dear", r"regards,?", r"signed,?", r"by", r"with", r"from",
           r"thanks,?", r"thank you,?", r"hi,?", r"hello,?", r"hey,?"),
    "de": (r"ich heiße", r"ich heisse", r"mein name ist", r"herr", r"frau", r"dr\.?"),
    "fr": (r"je m'appelle", r"je m’appelle", r"mon nom est", r"m\.", r"mme\.?", r"monsieur",
           r"madame", r"mademoiselle", r"dr\.?"),
    "es": (r"me llamo", r"mi nombre es", r"señor", r"señora", r"sr\.", r"sra\.", r"don",
           r"doña", r"dr\.?"),
    "it": (r"mi chiamo", r"il mio nome è", r"signor", r"signora", r"sig\.", r"sig\.ra",
           r"dottor", r"dottoressa", r"dott\.?"),
    "pt": (r"me chamo", r"meu nome é", r"chamo-me", r"senhor", r"senhora", r"sr\.", r"sra\.",
           r"dona", r"dr\.?"),
    "nl": (r"mijn naam is", r"ik heet", r"meneer", r"mevrouw", r"dhr\.", r"mevr\.", r"dr\.?"),
}
# Cues that are also ordinary words before a capitalised non-name ("this is Amazon", "from
# London"): their name must be two words or more.
_WEAK = {r"this is", r"i'm", r"i am", r"by", r"with", r"from", r"meet", r"met", r"contact",
         r"thanks,?", r"thank you,?", r"hi,?", r"hello,?", r"hey,?", r"called", r"named",
         r"dear", r"don", r"dona", r"sir", r"married", r"call me"}


def _base(language: str) -> str:
    return re.split(r"[-_]", language or "en", maxsplit=1)[0].lower()


class CueNames:
    """Capitalised words after an introduction or an honorific ("my name is Ama Owusu",
    "Dr. Okafor"). No model; works on any cased transcript of a language in ``CUES``."""

    def __init__(self, language: str = "en") -> None:
        cues = CUES.get(_base(language), ())
        strong = [c for c in cues if c not in _WEAK]
        weak = [c for c in cues if c in _WEAK]
        self._strong = re.compile(rf"(?i:\b(?:{'|'.join(strong)}))\s+(?P<name>{NAME})") \
            if strong else None
        two = rf"{_WORD}\s+(?:{_PARTICLE}\s+)?{_WORD}(?:\s+{_WORD}){{0,2}}"
        self._weak = re.compile(rf"(?i:\b(?:{'|'.join(weak)}))\s+(?P<name>{two})") \
            if weak else None

    def load(self) -> None:
        return None

    def find(self, text: str) -> list[Span]:
        out: list[Span] = []
        for rx in (self._strong, self._weak):
            if rx is None:
                continue
            for m in rx.finditer(text):
                span = _trim_name(text, m.start("name"), m.end("name"))
                if span and (rx is self._strong or not _place(text, span)):
                    out.append(span)
        return out


def _trim_name(text: str, start: int, end: int) -> Span | None:
    """Drop leading/trailing words that are not names (sentence words, days, "Street")."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    while words and text[words[0][0]:words[0][1]].lower().strip(",.") in _NOT_NAMES:
        words.pop(0)
    while words and text[words[-1][0]:words[-1][1]].lower().strip(",.") in _NOT_NAMES:
        words.pop()
    return (words[0][0], words[-1][1]) if words else None


# Words right before or after a name that say it is a person's. STRONG context also turns an
# entity the model labelled as an organisation or place into a person ("we interviewed
# Lakshmi", tagged ORG); WEAK context only promotes a capitalised word no entity claimed.
_KIN = (r"colleague|friend|sister|brother|wife|husband|son|daughter|mother|father|mum|mom|dad|"
        r"boss|manager|partner|neighbou?r|uncle|aunt|cousin|teacher|grandma|grandpa|nephew|niece")
_STRONG_BEFORE = re.compile(
    r"(?i:\b(?:my name is|my name's|name is|i'm|i am|this is|call me|named|called|meet|met|"
    r"interviewed|ask(?:ed)? for|asked|told|tell|thanks|thank you|dear|hi|hello|hey|"
    r"(?:say )?hello to|it to|this to|them to|guest(?: today)? is|host is|mr\.?|mrs\.?|ms\.?|"
    r"dr\.?|prof\.?|professor|" + _KIN + r"),?\s+)$")
_WEAK_BEFORE = re.compile(r"(?i:\b(?:with|by|according to|from|and|to|ask|invite|invited|"
                          r"phoned|emailed|texted|visit(?:ed)?|married)\s+)$")
_STRONG_AFTER = re.compile(r"^(?:\s+(?i:is my|was my|and i\b|speaking|here\b|(?:is|was) (?:a|an|"
                           r"the|my|our) (?:" + _KIN + r")))")
_WEAK_AFTER = re.compile(r"^(?:['’]s\b|\s+(?i:said|says|told|asked|called|wrote|"
                         r"will\b|who\b|thinks|thought|agreed|replied|explained|mentioned|"
                         r"emailed|texted|phoned|joined|left|works|worked|lives|lived))")


def _context(text: str, start: int, end: int) -> str:
    """"strong", "weak" or "" person context around ``text[start:end]``."""
    before, after = text[max(0, start - 40):start], text[end:end + 40]
    if _STRONG_BEFORE.search(before) or _STRONG_AFTER.search(after):
        return "strong"
    if _WEAK_BEFORE.search(before) or _WEAK_AFTER.search(after):
        return "weak"
    return ""


class SpacyNames:
    """A spaCy pipeline's person entities, plus runs of two or more capitalised words that the
    model left outside every entity ("Élodie Girard and I went": the small model tags no
    entity there, and a capitalised pair no model claims as a place or an organisation is a
    name far more often than not in speech transcripts), single capitalised words with a
    person context ("Layla called", "my sister Zeynep"), and organisation/place entities with
    a strong person context (the small model labels many non-European names ORG or GPE). A
    PERSON entity that is exactly a multi-word place name (places.py) needs a strong context.

    One capitalised word is weak evidence, so a single-word find with no person context is
    dropped when the tagger reads it as something other than a proper noun ("Shall", "Calls"),
    when the text capitalises line starts (verse, titles: see ``_line_capitalised``), or when
    it follows a preposition of place or medium ("on X", "at X": a platform, a place). The
    tagger runs for that (``tok2vec``, ``tagger`` and ``ner``; the parser and lemmatiser are
    excluded: they cost time and change nothing used here)."""

    def __init__(self, model: str, label: str = "PERSON") -> None:
        self.model = model
        self.label = label
        self._nlp: Any = None

    def load(self) -> None:
        if self._nlp is None:
            import spacy  # heavy: only where the work runs

            self._nlp = spacy.load(self.model, exclude=["parser", "attribute_ruler",
                                                        "lemmatizer", "senter"])
            multiword_places()

    def find(self, text: str) -> list[Span]:
        self.load()
        doc = self._nlp(text)
        verse = _line_capitalised(doc)
        out: list[Span] = []
        for e in doc.ents:
            if e.label_ == self.label:
                span = _trim_name(text, e.start_char, e.end_char)
                if span and (len(e) > 1 or _single_word_name(text, span, e[0], verse)):
                    out.append(span)
        claimed: set[int] = set()
        for e in doc.ents:
            if e.label_ not in _OTHER_ENTITIES:
                continue
            if all(_name_word(t.text) for t in e) and \
                    _context(text, e.start_char, e.end_char) == "strong":
                out.append((e.start_char, e.end_char))  # a person the model took for an org
            claimed.update(t.i for t in e)
        run: list[Any] = []
        for tok in [*doc, None]:
            if tok is not None and tok.i not in claimed and _name_word(tok.text):
                run.append(tok)
                continue
            if run:
                start, end = run[0].idx, run[-1].idx + len(run[-1].text)
                context = _context(text, start, end)
                if context:  # one word: not after "on"/"at", and a proper noun unless strong
                    keep = len(run) >= 2 or not _after_medium(text, start, end) and (
                        context == "strong" or run[0].tag_ in _PROPER_TAGS)
                else:  # a capitalised pair is a name, unless every line is capitalised
                    keep = len(run) >= 2 and not verse
                if keep:
                    out.append((start, end))
            run = []
        # Text without case gives the model no evidence: its lower-case "persons" ("w w w")
        # and all-capitals ones ("ON THE LEFT" in an upper-case transcript) are noise unless a
        # strong person context says otherwise
        return [span for span in out if not _place(text, span)
                and any(c.isupper() for c in text[span[0]:span[1]])
                and (not text[span[0]:span[1]].isupper()
                     or _context(text, *span) == "strong")]


def _place(text: str, span: Span) -> bool:
    """A multi-word place name without a strong person context ("get to São Paulo")."""
    return text[span[0]:span[1]].lower() in multiword_places() and \
        _context(text, *span) != "strong"


# Prepositions of place or medium: "on Zoom", "at Heathrow", "in Leeds". A single capitalised
# word right after one is a platform or a place far more often than a person (a possessive,
# "at Maria's", is kept).
_MEDIUM_BEFORE = re.compile(r"(?i:\b(?:on|in|at|into|onto|via|using|through|inside)\s+)$")
# Penn tags of closed-class words (determiners, conjunctions, prepositions, modals, pronouns,
# adverbs, wh-words): capitalised in the middle of a sentence only where a text capitalises
# its lines.
_CLOSED_TAGS = {"CC", "DT", "EX", "IN", "MD", "PDT", "PRP", "PRP$", "RB", "RBR", "RBS", "TO",
                "WDT", "WP", "WP$", "WRB"}
_PROPER_TAGS = {"NNP", "NNPS"}


def _after_medium(text: str, start: int, end: int) -> bool:
    return bool(_MEDIUM_BEFORE.search(text[max(0, start - 12):start])) and \
        not re.match(r"['’]s\b", text[end:end + 3])


def _line_capitalised(doc: Any) -> bool:
    """Two or more closed-class words capitalised mid-sentence ("thy brow, And dig", "of mine
    Shall sum"): the text capitalises the start of every line (verse, lyrics, titles), so a
    capital letter in it is no evidence of a name."""
    count = 0
    for tok in doc[1:]:
        prev = doc[tok.i - 1].text
        if tok.tag_ in _CLOSED_TAGS and tok.text[:1].isupper() and tok.text != "I" and \
                not tok.text.isupper() and prev[-1:] not in ".!?:\"“‘'…":
            count += 1
    return count >= 2


def _single_word_name(text: str, span: Span, token: Any, verse: bool) -> bool:
    """Keep a one-word PERSON entity of the model? Needs a person context, or else: not at a
    sentence start ("Ping 10.0.0.1", tagged PERSON), tagged a proper noun, in a text with
    ordinary sentence case, and not right after a preposition of place or medium."""
    if _after_medium(text, *span):
        return False
    if _context(text, *span):
        return True
    return not (_sentence_start(text, span[0]) or verse or token.tag_ not in _PROPER_TAGS)


_FILLER = re.compile(r"(?:^|[.!?]\s+)(?:(?:um|uh|so|okay|well|yeah|right|oh)[,.]?\s+)*$", re.I)


def _sentence_start(text: str, start: int) -> bool:
    return bool(_FILLER.search(text[max(0, start - 30):start]))


def _name_word(word: str) -> bool:
    """Title-case, at least two letters, not a sentence word, day, month or street word."""
    return (len(word) > 1 and word[0].isupper() and word[1:].replace("-", "").replace("'", "")
            .isalpha() and not word[1:].isupper() and word.lower() not in _NOT_NAMES)


class Combined:
    """The union of several recognisers' finds."""

    def __init__(self, *parts: NameRecogniser) -> None:
        self.parts = parts

    def load(self) -> None:
        for p in self.parts:
            p.load()

    def find(self, text: str) -> list[Span]:
        return [span for p in self.parts for span in p.find(text)]


Factory = Callable[[Any], NameRecogniser]
_REGISTRY: dict[str, Factory] = {
    "en": lambda cfg: Combined(SpacyNames(cfg.ner_model), CueNames("en")),
}


def register_name_recogniser(language: str, factory: Factory) -> None:
    """Use ``factory(config)`` for ``language`` (base code) from now on, in this process."""
    _REGISTRY[_base(language)] = factory


def recogniser_for(language: str, config: Any) -> NameRecogniser:
    base = _base(language)
    factory = _REGISTRY.get(base)
    return factory(config) if factory else CueNames(base)
