"""A seeded generator of ASR-style transcripts with planted PII and known spans.

Each case is a transcript (or a recording's consecutive segments) whose PII was planted by the
generator, so the spans are known exactly. Values are valid where validity exists (phone numbers
valid in their region's plan by ``phonenumbers``, Luhn-valid cards, mod-97 IBANs, national ids
with their check digits) and are rendered the ways ASR output writes them: written forms
(national/international phone formats, grouped cards), spoken forms as a Whisper-like decoder
spells them (digits as words, "oh", "double", pair reading "twelve thirty four", commas and
periods between groups, capitalised or not), and mixed forms ("555, 123, 4567", "John.Smith at
Gmail.com"). Names come from many cultures. Negative sentences carry numbers and capitalised
words that are not PII (years, prices, counts, times, scores, places, organisations).

The renderers are written from how people dictate and how Whisper writes, not from the
detector's patterns: templates, casing, punctuation and fillers vary independently of it.
Used by tests/filters/pii/test_pii_generated.py and benchmarks/pii.py.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

Gold = tuple[int, int, str]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

FIRST_NAMES = {
    "english": ["James", "Emily", "Oliver", "Charlotte", "Harry", "Sophie", "Michael", "Jessica"],
    "hispanic": ["Alejandro", "Lucía", "Mateo", "Valentina", "José", "Camila", "Santiago"],
    "german": ["Lukas", "Johanna", "Maximilian", "Greta", "Friedrich", "Annika"],
    "french": ["Étienne", "Margaux", "Théo", "Camille", "Antoine", "Élodie"],
    "italian": ["Giuseppe", "Chiara", "Lorenzo", "Francesca", "Matteo", "Giulia"],
    "indian": ["Priya", "Arjun", "Ananya", "Vikram", "Lakshmi", "Rohan", "Sanjay", "Deepika"],
    "chinese": ["Wei", "Xiaoling", "Jun", "Mei", "Hao", "Yuxin"],
    "japanese": ["Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina"],
    "korean": ["Minjun", "Seoyeon", "Jiho", "Hayoon"],
    "vietnamese": ["Minh", "Linh", "Tuan", "Huong"],
    "nigerian": ["Chidi", "Ngozi", "Oluwaseun", "Adaeze", "Emeka", "Folasade", "Tunde"],
    "ghanaian": ["Kwame", "Ama", "Kofi", "Akosua"],
    "arabic": ["Fatima", "Omar", "Layla", "Yusuf", "Khalid", "Amira"],
    "turkish": ["Emre", "Elif", "Burak", "Zeynep"],
    "russian": ["Dmitri", "Anastasia", "Sergei", "Ekaterina"],
    "polish": ["Krzysztof", "Agnieszka", "Wojciech", "Małgorzata"],
    "swahili": ["Baraka", "Imani", "Juma", "Zawadi"],
}
LAST_NAMES = {
    "english": ["Thompson", "Walker", "Harris", "Clarke", "Robinson", "Bennett", "Hughes"],
    "hispanic": ["García", "Rodríguez", "Hernández", "Morales", "Castillo", "Ortega"],
    "german": ["Schneider", "Becker", "Hoffmann", "Wagner", "Schulz"],
    "french": ["Lefebvre", "Moreau", "Dubois", "Girard", "Fontaine"],
    "italian": ["Rossi", "Esposito", "Bianchi", "Romano", "Colombo"],
    "indian": ["Sharma", "Raghunathan", "Iyer", "Patel", "Chatterjee", "Reddy", "Nair"],
    "chinese": ["Zhang", "Wang", "Liu", "Chen", "Huang"],
    "japanese": ["Tanaka", "Suzuki", "Takahashi", "Watanabe", "Yamamoto"],
    "korean": ["Kim", "Park", "Choi", "Jung"],
    "vietnamese": ["Nguyen", "Tran", "Pham", "Le"],
    "nigerian": ["Okafor", "Adeyemi", "Obi", "Balogun", "Eze", "Okonkwo"],
    "ghanaian": ["Mensah", "Owusu", "Boateng", "Asante"],
    "arabic": ["Haddad", "Al-Farsi", "Mansour", "Khalil", "Nasser"],
    "turkish": ["Yılmaz", "Demir", "Şahin", "Çelik"],
    "russian": ["Ivanov", "Petrova", "Smirnov", "Volkova"],
    "polish": ["Kowalski", "Nowak", "Wiśniewska", "Zieliński"],
    "swahili": ["Mwangi", "Otieno", "Wanjiru", "Kamau"],
}
PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "IN", "BR", "AU", "CA", "MX", "NL")


@dataclass
class Case:
    """One transcript (``segments`` of one recording; usually one) with gold spans per
    segment. ``kind`` says which generator made it (for per-form breakdowns)."""

    segments: list[str]
    gold: list[list[Gold]]
    kind: str
    forms: list[str] = field(default_factory=list)  # written | spoken | mixed per planted value


class _Builder:
    """Concatenates pieces, recording the span of each planted one."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.gold: list[Gold] = []
        self.pos = 0

    def add(self, text: str, pii_type: str | None = None) -> _Builder:
        if pii_type:
            self.gold.append((self.pos, self.pos + len(text), pii_type))
        self.parts.append(text)
        self.pos += len(text)
        return self

    def text(self) -> str:
        return "".join(self.parts)


# --------------------------------------------------------------------------- spoken renderers


def _digit_word(d: str, rng: random.Random, zero: str | None = None) -> str:
    if d == "0":
        return zero or rng.choice(("zero", "oh", "oh", "o"))
    return DIGIT_WORDS[int(d)]


def _pair_words(two: str) -> str:
    """Read two digits as a number: "12" twelve, "34" thirty four, "05" oh five, "40" forty."""
    a, b = int(two[0]), int(two[1])
    if a == 0:
        return f"oh {DIGIT_WORDS[b]}"
    if a == 1:
        return TEENS[b]
    return TENS[a] + ("" if b == 0 else rng_hyphen() + DIGIT_WORDS[b])


def rng_hyphen() -> str:
    return " "


def speak_digits(digits: str, rng: random.Random, style: str | None = None) -> str:
    """Digits as a speaker dictates them and Whisper writes them (one style per call)."""
    style = style or rng.choice(("each", "each", "double", "pairs", "digits_commas"))
    zero = rng.choice(("zero", "oh", "oh"))
    if style == "digits_commas":  # Whisper writing dictated digits as numerals in groups
        groups = _groups(digits, rng)
        return rng.choice((", ", ". ", " ")).join(groups)
    words: list[str] = []
    i = 0
    while i < len(digits):
        d = digits[i]
        if style == "double" and i + 1 < len(digits) and digits[i + 1] == d:
            n = 3 if i + 2 < len(digits) and digits[i + 2] == d and rng.random() < 0.5 else 2
            words.append(("double " if n == 2 else "triple ") + _digit_word(d, rng, zero))
            i += n
        elif style == "pairs" and i + 1 < len(digits) and i % 2 == len(digits) % 2 \
                and digits[i] != "0":
            words.append(_pair_words(digits[i:i + 2]))
            i += 2
        else:
            words.append(_digit_word(d, rng, zero))
            i += 1
    return rng.choice((" ", " ", ", ")).join(words)


def speak_grouped(digits: str, rng: random.Random) -> str:
    """Groups separated by Whisper's commas or periods, each group dictated."""
    groups = _groups(digits, rng)
    style = rng.choice(("each", "double", "pairs"))
    sep = rng.choice((", ", ", ", ". ", " - ", " "))
    spoken = [speak_digits(g, rng, style) for g in groups]
    if sep == ". ":  # Whisper starts a sentence after a period
        spoken = spoken[:1] + [_cap(g) for g in spoken[1:]]
    return sep.join(spoken)


def _groups(digits: str, rng: random.Random) -> list[str]:
    sizes = rng.choice(((3, 3, 4), (4, 3, 3), (3, 4), (4, 4), (2, 4, 4), (5, 6), (3, 3, 3)))
    out, i = [], 0
    for s in sizes:
        if i >= len(digits):
            break
        out.append(digits[i:i + s])
        i += s
    if i < len(digits):
        out[-1] += digits[i:]
    return out


def speak_number(n: int) -> str:
    """A cardinal in English words (for house numbers, counts, years in negatives)."""
    if n < 10:
        return DIGIT_WORDS[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + DIGIT_WORDS[n % 10])
    if n < 1000:
        rest = n % 100
        return DIGIT_WORDS[n // 100] + " hundred" + ("" if not rest else " and " +
                                                     speak_number(rest))
    rest = n % 1000
    return speak_number(n // 1000) + " thousand" + ("" if not rest else " " + speak_number(rest))


def speak_house_number(n: int, rng: random.Random) -> str:
    if n >= 100 and n % 100 >= 10 and rng.random() < 0.6:  # "two twenty one"
        return f"{DIGIT_WORDS[n // 100]} {speak_number(n % 100)}"
    return speak_number(n)


# --------------------------------------------------------------------------- value makers


def _name(rng: random.Random) -> tuple[str, str]:
    culture = rng.choice(sorted(FIRST_NAMES))
    return rng.choice(FIRST_NAMES[culture]), rng.choice(LAST_NAMES[culture])


def _ascii(s: str) -> str:
    table = str.maketrans("áéíóúàèìòùâêîôûäëïöüçñşıłśńżźćğÉÓÁ",
                          "aeiouaeiouaeiouaeioucnsilsnzzcgEOA")
    return "".join(c for c in s.translate(table).replace("-", "") if c.isascii())


def make_phone(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    kind = rng.choice((PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE))
    example = phonenumbers.example_number_for_type(region, kind) or \
        phonenumbers.example_number(region)
    national = str(example.national_number)
    for _ in range(200):
        keep = max(3, len(national) - 4)
        candidate = national[:keep] + "".join(rng.choice(string.digits)
                                              for _ in range(len(national) - keep))
        num = phonenumbers.parse(candidate, region) if region != "IT" else \
            phonenumbers.parse("0" + candidate if example.italian_leading_zero else candidate,
                               region)
        if phonenumbers.is_valid_number(num):
            return num
    return example


def render_phone(rng: random.Random, region: str) -> tuple[str, str]:
    num = make_phone(rng, region)
    national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
    intl = phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)
    nat_digits = "".join(c for c in national if c.isdigit())
    cc = str(num.country_code)
    form = rng.choice(("national", "intl", "e164", "spoken", "spoken", "spoken_grouped",
                       "spoken_intl", "whisper_digits"))
    if form == "national":
        return national, "written"
    if form == "intl":
        return intl, "written"
    if form == "e164":
        return phonenumbers.format_number(num, PhoneNumberFormat.E164), "written"
    if form == "spoken":
        return speak_digits(nat_digits, rng), "spoken"
    if form == "spoken_grouped":
        return speak_grouped(nat_digits, rng), "spoken"
    if form == "spoken_intl":
        rest = "".join(c for c in intl.split(" ", 1)[1] if c.isdigit())
        return (f"{rng.choice(('plus', 'Plus'))} {speak_digits(cc, rng, 'each')} "
                f"{speak_grouped(rest, rng)}"), "spoken"
    groups = _groups(nat_digits, rng)
    return rng.choice((", ", ". ", "-")).join(groups), "mixed"


DOMAINS = ("gmail.com", "yahoo.co.uk", "outlook.com", "hotmail.fr", "web.de", "gmx.de",
           "protonmail.com", "icloud.com", "uni-bonn.de", "correo.es", "libero.it",
           "example.org", "company.co.in", "mail.ru", "uol.com.br", "acme-corp.net")


def render_email(rng: random.Random) -> tuple[str, str]:
    first, last = _name(rng)
    first, last = _ascii(first).lower(), _ascii(last).lower()
    sep = rng.choice((".", "_", "", "."))
    local = rng.choice((f"{first}{sep}{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}",
                        f"{last}{sep}{first}"))
    domain = rng.choice(DOMAINS)
    form = rng.choice(("written", "spoken", "spoken", "mixed"))
    if form == "written":
        text = f"{local}@{domain}"
        return (text.capitalize() if rng.random() < 0.2 else text), form
    if form == "spoken":
        spoken_local = local.replace(".", " dot ").replace("_", " underscore ")
        spoken_local = "".join(f" {speak_number(int(c))} " if c.isdigit() and rng.random() < 0.5
                               else c for c in spoken_local).strip()
        spoken_local = " ".join(spoken_local.split())
        text = f"{spoken_local} at {domain.replace('.', ' dot ')}"
        if rng.random() < 0.3:
            text = text[0].upper() + text[1:]
        return text, form
    cap = rng.random() < 0.5
    loc = ".".join(p.capitalize() for p in local.split(".")) if cap else local
    dom = domain.capitalize() if cap else domain
    return f"{loc} at {dom}", form


def render_card(rng: random.Random) -> tuple[str, str]:
    prefix, length = rng.choice((("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15),
                                 ("37", 15), ("6011", 16), ("4", 13)))
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        from filters.pii.checksums import luhn_ok
        if luhn_ok(body + check):
            digits = body + check
            break
    form = rng.choice(("grouped", "hyphen", "plain", "spoken", "spoken", "whisper_commas"))
    groups = [digits[i:i + 4] for i in range(0, len(digits), 4)] if length != 15 else \
        [digits[:4], digits[4:10], digits[10:]]
    if form == "grouped":
        return " ".join(groups), "written"
    if form == "hyphen":
        return "-".join(groups), "written"
    if form == "plain":
        return digits, "written"
    if form == "whisper_commas":
        return ", ".join(groups), "mixed"
    return rng.choice((", ", " ", ". ")).join(speak_digits(g, rng, "each") for g in groups), \
        "spoken"


def _iban(rng: random.Random, country: str, length: int) -> str:
    from filters.pii.checksums import mod97_ok
    if country == "GB":
        bban = rng.choice(("WEST", "NWBK", "BARC", "LOYD")) + "".join(
            rng.choice(string.digits) for _ in range(length - 8))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(length - 4))
    for check in range(100):
        iban = f"{country}{check:02d}{bban}"
        if mod97_ok(iban):
            return iban
    raise AssertionError("no IBAN check digits")


def render_iban(rng: random.Random) -> tuple[str, str]:
    country, length = rng.choice((("DE", 22), ("GB", 22), ("FR", 27), ("ES", 24), ("NL", 18),
                                  ("IT", 27), ("BE", 16), ("CH", 21)))
    if country in ("NL", "IT", "FR"):  # these carry letters in the BBAN; keep digits-only ones
        country, length = rng.choice((("DE", 22), ("ES", 24), ("BE", 16)))
    iban = _iban(rng, country, length)
    form = rng.choice(("grouped", "grouped", "plain", "spoken"))
    if form == "grouped":
        return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)), "written"
    if form == "plain":
        return iban, "written"
    groups = [iban[i:i + 4] for i in range(0, len(iban), 4)]
    spoken = [" ".join(speak_digits(c, rng, "each") if c.isdigit() else c for c in g)
              for g in groups]
    return rng.choice((", ", " ")).join(spoken), "spoken"


def render_ip(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.25:
        groups = [f"{rng.randint(0, 65535):x}" for _ in range(rng.choice((3, 4, 8)))]
        text = "2001:db8:" + ":".join(groups[:6]) if len(groups) < 8 else ":".join(groups)
        if len(groups) < 8:
            text = "2001:db8::" + ":".join(groups[:3])
        return text, "written"
    octets = [rng.choice((10, 172, 192, rng.randint(11, 223))), rng.randint(0, 255),
              rng.randint(0, 255), rng.randint(1, 254)]
    if rng.random() < 0.5:
        return ".".join(map(str, octets)), "written"
    style = rng.choice(("each", "number"))
    parts = [speak_digits(str(o), rng, "each") if style == "each" else speak_number(o)
             for o in octets]
    return rng.choice((" dot ", " point ")).join(parts), "spoken"


SITES = ("example.com", "my-bakery.co.uk", "shop.example.de", "portfolio.io", "kwame.dev",
         "citizens-advice.org", "blog.familie-schulz.de", "tienda.es", "photos.example.net")


def render_url(rng: random.Random) -> tuple[str, str]:
    site = rng.choice(SITES)
    path = rng.choice(("", "/contact", "/about-us", "/p/12345", "/en/home"))
    form = rng.choice(("https", "www", "bare", "spoken", "spoken_www"))
    if form == "https":
        return f"https://{rng.choice(('', 'www.'))}{site}{path}", "written"
    if form == "www":
        return f"www.{site}{path}", "written"
    if form == "bare":
        return f"{site}{path}", "written"
    spoken = site.replace(".", " dot ").replace("-", rng.choice((" dash ", " hyphen ", "-")))
    spoken_path = path.replace("/", " slash ").replace("-", " dash ")
    spoken_path = " ".join(spoken_path.split())
    prefix = "" if form == "spoken" else rng.choice(("w w w dot ", "www dot ", "W W W dot "))
    return " ".join(f"{prefix}{spoken} {spoken_path}".split()), "spoken"


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def _dni(rng: random.Random) -> str:
    from filters.pii.checksums import dni_letter
    n = rng.randint(10_000_000, 99_999_999)
    return f"{n}{dni_letter(n)}"


def _nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
        first, second = "A", "B"
    d = "".join(rng.choice(string.digits) for _ in range(6))
    return f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {rng.choice('ABCD')}"


def _aadhaar(rng: random.Random) -> str:
    from filters.pii.checksums import verhoeff_ok
    body = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(10))
    for c in string.digits:
        if verhoeff_ok(body + c):
            return f"{body[:4]} {body[4:8]} {body[8:]}{c}"
    raise AssertionError


def _cpf(rng: random.Random) -> str:
    d = [rng.randint(0, 9) for _ in range(9)]
    for n in (9, 10):
        s = sum(d[i] * (n + 1 - i) for i in range(n))
        d.append(s * 10 % 11 % 10)
    t = "".join(map(str, d))
    return f"{t[:3]}.{t[3:6]}.{t[6:9]}-{t[9:]}"


def render_national_id(rng: random.Random) -> tuple[str, str, str]:
    """(value, form, cue phrase to put before it)."""
    kind = rng.choice(("ssn", "ssn", "nino", "dni", "aadhaar", "cpf"))
    if kind == "ssn":
        ssn = _ssn(rng)
        cue = rng.choice(("my social security number is", "SSN", "social is",
                          "the social security number on file is"))
        form = rng.choice(("hyphen", "spaces", "spoken"))
        if form == "hyphen":
            return f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}", "written", cue
        if form == "spaces":
            return f"{ssn[:3]} {ssn[3:5]} {ssn[5:]}", "written", cue
        return rng.choice((", ", " ")).join(
            speak_digits(g, rng, "each") for g in (ssn[:3], ssn[3:5], ssn[5:])), "spoken", \
            rng.choice(("my social security number is", "social security number"))
    if kind == "nino":
        v = _nino(rng)
        return (v if rng.random() < 0.6 else v.replace(" ", "")), "written", \
            rng.choice(("my national insurance number is", "NI number", "it's"))
    if kind == "dni":
        return _dni(rng), "written", rng.choice(("mi DNI es el", "DNI", "my ID number is"))
    if kind == "aadhaar":
        return _aadhaar(rng), "written", rng.choice(("my Aadhaar number is", "Aadhaar", "UID"))
    return _cpf(rng), "written", rng.choice(("meu CPF é", "CPF", "my CPF is"))


EN_STREETS = ("Baker", "Maple", "Oak", "Church", "Victoria", "Elm", "Kingsley",
              "Martin Luther King", "Park", "High", "Mill", "Ashford", "Queen's", "5th", "Sunset")
EN_TYPES = ("Street", "St.", "Avenue", "Road", "Lane", "Drive", "Boulevard", "Close", "Way",
            "Court", "Terrace", "Place", "street", "road")
CITIES = ("Springfield", "Leeds", "Toronto", "Austin", "Manchester", "Sydney", "Dublin")


def render_address(rng: random.Random, english: bool = False) -> tuple[str, str, str]:
    """(address, form, language)."""
    lang = "en" if english else rng.choice(("en", "en", "en", "de", "fr", "es", "it"))
    n = rng.choice((rng.randint(1, 99), rng.randint(100, 999), rng.randint(1000, 9999)))
    if lang == "en":
        street = f"{rng.choice(EN_STREETS)} {rng.choice(EN_TYPES)}"
        spoken = rng.random() < 0.4 and n < 1000
        num = speak_house_number(n, rng) if spoken else str(n)
        if rng.random() < 0.2 and not spoken:
            num += rng.choice(("B", "a"))
        text = f"{num} {street}"
        if rng.random() < 0.3:
            text += rng.choice((", Apartment 4B", ", Apt 12", " Flat 3", ", Suite 200"))
        return text, ("spoken" if spoken else "written"), "en"
    if lang == "de":
        name = rng.choice(("Haupt", "Bahnhof", "Goethe", "Linden", "Schiller", "Berliner ",
                           "Kirch", "Garten"))
        kind = rng.choice(("straße", "strasse", "weg", "platz", "allee", "gasse"))
        if name.endswith(" "):
            kind = kind.capitalize()
        return f"{name}{kind} {n % 200 + 1}{rng.choice(('', '', 'a'))}", "written", "de"
    if lang == "fr":
        kind = rng.choice(("rue", "avenue", "boulevard", "place", "chemin", "allée"))
        name = rng.choice(("de la Paix", "Victor Hugo", "des Lilas", "du Général Leclerc",
                           "Jean Jaurès", "de Rivoli"))
        return f"{n % 300 + 1}{rng.choice(('', ' bis'))} {kind} {name}", "written", "fr"
    if lang == "es":
        kind = rng.choice(("calle", "Calle", "avenida", "Avenida", "paseo", "plaza"))
        name = rng.choice(("Mayor", "de Alcalá", "del Prado", "Gran Vía", "de la Castellana"))
        return f"{kind} {name}{rng.choice((', ', ' ', ', número '))}{n % 300 + 1}", "written", "es"
    kind = rng.choice(("via", "Via", "viale", "piazza", "corso"))
    name = rng.choice(("Roma", "Garibaldi", "Dante", "della Repubblica", "Vittorio Emanuele"))
    return f"{kind} {name}{rng.choice((', ', ' '))}{n % 300 + 1}", "written", "it"


# --------------------------------------------------------------------------- sentences

FILLERS = ("", "", "", "Um, ", "So ", "Okay, ", "Yeah, ", "Right. ", "Uh, ", "Well, ")
ENDS = (".", ".", "", "?", "!", ". Thanks.", ", okay?")

PHONE_T = ("my number is {}", "you can call me on {}", "call {} after six", "reach me at {}",
           "the office line is {}", "text me at {}", "it's {}", "dial {} and press two",
           "my mobile is {}", "phone {} if you have questions", "{} is the best number",
           "leave a message at {}")
EMAIL_T = ("my email is {}", "send it to {}", "email me at {}", "you can write to {}",
           "it's {}", "contact {} for details", "{} is my address", "drop a line to {}")
CARD_T = ("my card number is {}", "the card is {}", "charge it to {}", "{} expires next year",
          "visa card {}", "card ending, sorry, the full number is {}")
IBAN_T = ("my IBAN is {}", "transfer it to {}", "the account is {}", "IBAN {}",
          "send the money to account {}")
IP_T = ("the server is at {}", "my IP address is {}", "ping {}", "connect to {}",
        "the router's address is {}")
URL_T = ("visit {}", "go to {}", "my website is {}", "check out {}", "it's on {}",
         "the link is {}")
ID_T = ("{} {}", "{}: {}", "{}, {}")
ADDR_T = ("I live at {}", "send it to {}", "we moved to {}", "the shop is on {}", "it's {}",
          "deliver to {}", "our office is at {}")
ADDR_T_OTHER = {"de": ("Ich wohne in der {}", "Die Adresse ist {}", "{}"),
                "fr": ("J'habite au {}", "L'adresse est {}", "{}"),
                "es": ("Vivo en la {}", "La dirección es {}", "{}"),
                "it": ("Abito in {}", "L'indirizzo è {}", "{}")}
PERSON_T = ("my name is {}", "this is {} speaking", "I spoke with {} yesterday",
            "{} called about the invoice", "please forward it to {}", "ask for {}",
            "I'm {} and I'll be your host", "thanks, {}", "{} and I went to the market",
            "Dr. {} will see you now", "according to {}, the meeting moved",
            "we interviewed {} last week", "my colleague {} will follow up",
            "hi, I'm {}", "say hello to {}", "{} is my sister", "our guest today is {}")

EXTRAS = ("I paid $40 for 3 tickets", "it starts at 10:30", "we were five people",
          "back in 2019", "about 2,500 visitors", "on March 3rd", "for twenty minutes",
          "", "", "", "")

NEGATIVES = (
    "In 1998 we sold about 4,500 units, and by 2021 that was up to 12,000.",
    "The tickets cost $49.99 each, so for five people it came to $249.95.",
    "We left at 7:45 and arrived around 10:15.",
    "There were twenty five people at the meeting on Tuesday.",
    "Nineteen ninety nine was a strange year.",
    "The population is 83,200,000 and growing about 0.3 percent a year.",
    "I've got three kids, two dogs and one very tired cat.",
    "Flight 370 left from gate 22.",
    "Room 204 is on the second floor, next to room 206.",
    "The score was three two after extra time.",
    "Chapter twelve starts on page 1,204.",
    "We drove 350 kilometres in about four and a half hours.",
    "It was twenty twenty three when Microsoft released it.",
    "The dot com bubble burst in 2000.",
    "I'll be at home after work, around six.",
    "Count with me: one, two, three, four, five.",
    "Python 3.11 is faster than 3.10 by about 25 percent.",
    "Amazon and Google both opened offices in New York.",
    "The Eiffel Tower is 330 metres tall.",
    "Route 66 runs from Chicago to Santa Monica.",
    "He ran the marathon in 3 hours, 12 minutes and 40 seconds.",
    "Version 2.4.1 fixed the bug from 2.3.",
    "Two thousand and eight was the year of the crisis.",
    "About 1 in 4 adults, that's 25%, said yes.",
    "They won 4-1 in the final in May.",
    "We need 12 eggs, 2 cups of flour and 250 grams of butter.",
    "I was born in nineteen eighty five in a small town.",
    "Call me when you get home, okay?",
    "My number one priority is the kids.",
    "Pick a number between one and a hundred.",
    "Tesla shares rose 8.5 percent to $212.40 on Monday.",
    "The meeting is on the 14th, at 3 pm, in building 5.",
    "She scored 98 out of 100 on the test.",
    "Main Street gets busy on Saturdays.",
    "I read it on the BBC website last year.",
    "The order number was seven, I think, or maybe eight.",
    "It's been oh, two or three years since then.",
    "The Amazon river is about 6,400 kilometres long.",
    "We have 1,500 employees in 12 countries.",
    "Take the 8:15 train and change at platform 9.",
    "In 2010, 2014 and 2018 the team reached the final.",
    "The temperature dropped to minus 5 last night.",
    "A hundred and fifty people signed the petition.",
    "The recipe serves four to six people.",
    "Zoom calls at 9, 11 and 2 every day.",
    "The Great Wall of China is over 21,000 kilometres long.",
    "His time was 9.58 seconds.",
    "We got 3,000 likes in the first hour.",
    "It was, uh, five, six years ago.",
    "Apple's iPhone 15 came out in September.",
    "United sold 1.2 million shirts in 2023.",
    "Monday, Wednesday and Friday work best for me.",
    "The sale runs from the first to the fifteenth.",
    "My grandmother turned ninety two in April.",
    "Interest rates went from 0.5 to 5.25 percent in 18 months.",
)
NEG_TEMPLATES = (
    "we bought {n} {things} for {p} dollars", "in {y} there were {n} {things}",
    "it took {n} hours to get to {place}", "{place} has about {big} people",
    "the {ord} edition came out in {y}", "{n} {things} cost {p} pounds in {place}",
    "between {y} and {y2} prices rose {pct} percent", "I met them at {place} in {y}",
)
THINGS = ("apples", "tickets", "chairs", "books", "people", "boxes", "cars", "houses")
PLACES = ("Paris", "Lagos", "Mumbai", "Toronto", "Berlin", "São Paulo", "Tokyo", "Nairobi",
          "the station", "Amazon", "Google", "the BBC", "Microsoft", "Oxford")


def _cap(s: str) -> str:
    return s[0].upper() + s[1:] if s else s


def _sentence(rng: random.Random, template: str, value: str, pii_type: str,
              b: _Builder) -> None:
    """Plant ``value`` into ``template`` with a random filler, casing and ending."""
    pre, post = template.split("{}", 1)
    filler = rng.choice(FILLERS)
    head = filler + pre
    if not filler:
        head = _cap(head) if rng.random() < 0.85 else head
    if not head and rng.random() < 0.5 and value[0].isalpha():
        value = _cap(value) if pii_type not in ("EMAIL", "URL") else value
    b.add(head)
    b.add(value, pii_type)
    extra = rng.choice(EXTRAS)
    end = rng.choice(ENDS)
    b.add(post + ("" if not extra else rng.choice((", ", " and ")) + extra) + end)


def _negative(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(NEGATIVES)
    t = rng.choice(NEG_TEMPLATES)
    y = rng.randint(1950, 2024)
    spoken = rng.random() < 0.3
    n = rng.randint(2, 60)
    s = t.format(n=speak_number(n) if spoken else n, things=rng.choice(THINGS),
                 p=rng.choice((f"{rng.randint(1, 999)}",
                               f"{rng.randint(1, 99)}.{rng.randint(10, 99)}",
                               f"{rng.randint(1, 9)},{rng.randint(100, 999)}")),
                 y=y, y2=y + rng.randint(1, 20), place=rng.choice(PLACES),
                 big=f"{rng.randint(1, 999)},{rng.randint(100, 999)},{rng.randint(100, 999)}",
                 ord=rng.choice(("first", "second", "10th", "third")),
                 pct=rng.randint(2, 40))
    return _cap(s) + rng.choice((".", ".", "?", ""))


def _plant(rng: random.Random, pii_type: str, b: _Builder,
           english: bool = False) -> tuple[str, str]:
    """Plant one value of ``pii_type`` (``english``: an English sentence even for an
    address); returns (form, language)."""
    if pii_type == "PHONE":
        value, form = render_phone(rng, rng.choice(PHONE_REGIONS))
        _sentence(rng, rng.choice(PHONE_T), value, "PHONE", b)
    elif pii_type == "EMAIL":
        value, form = render_email(rng)
        _sentence(rng, rng.choice(EMAIL_T), value, "EMAIL", b)
    elif pii_type == "CARD":
        value, form = render_card(rng)
        _sentence(rng, rng.choice(CARD_T), value, "CARD", b)
    elif pii_type == "IBAN":
        value, form = render_iban(rng)
        _sentence(rng, rng.choice(IBAN_T), value, "IBAN", b)
    elif pii_type == "IP":
        value, form = render_ip(rng)
        _sentence(rng, rng.choice(IP_T), value, "IP", b)
    elif pii_type == "URL":
        value, form = render_url(rng)
        _sentence(rng, rng.choice(URL_T), value, "URL", b)
    elif pii_type == "NATIONAL_ID":
        value, form, cue = render_national_id(rng)
        template = rng.choice(ID_T).format(cue, "{}")
        _sentence(rng, template, value, "NATIONAL_ID", b)
    elif pii_type == "ADDRESS":
        value, form, lang = render_address(rng, english)
        templates = ADDR_T if lang == "en" else ADDR_T_OTHER[lang]
        _sentence(rng, rng.choice(templates), value, "ADDRESS", b)
        return form, lang
    else:
        first, last = _name(rng)
        value = rng.choice((f"{first} {last}", f"{first} {last}", first if rng.random() < 0.5
                            else f"{first} {last}"))
        template = rng.choice(PERSON_T)
        if template.startswith("Dr."):
            value = last if rng.random() < 0.5 else value
        _sentence(rng, template, value, "PERSON", b)
        form = "written"
    return form, "en"


TYPES = ("PHONE", "EMAIL", "CARD", "IBAN", "IP", "URL", "NATIONAL_ID", "ADDRESS", "PERSON")


def generate(n: int = 320, seed: int = 13) -> list[Case]:
    """``n`` cases: about 70% with one or two planted values (each type equally often), 10%
    split across two segments of one recording (a phone or card dictated over the boundary),
    20% negatives."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.2:
            text = _negative(rng)
            if rng.random() < 0.3:
                text += " " + _negative(rng)
            cases.append(Case([text], [[]], "negative"))
            continue
        if roll < 0.3:
            cases.append(_split_case(rng))
            continue
        b = _Builder()
        form, lang = _plant(rng, TYPES[i % len(TYPES)], b)
        forms = [form]
        if lang == "en":  # a German address stays in a German sentence, alone
            if rng.random() < 0.3:
                b.add(" ")
                forms.append(_plant(rng, rng.choice(TYPES), b, english=True)[0])
            if rng.random() < 0.25:
                b.add(" " + _negative(rng))
        cases.append(Case([b.text()], [b.gold], f"planted:{lang}", forms))
    return cases


def _split_case(rng: random.Random) -> Case:
    """A value dictated across two segments: "... call me on five five five" | "one two
    three four ..."."""
    if rng.random() < 0.7:
        num = make_phone(rng, rng.choice(("US", "GB", "DE", "FR", "IN")))
        digits = "".join(c for c in phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
                         if c.isdigit())
        pii_type, lead = "PHONE", rng.choice(("my number is", "call me on", "you can reach me at"))
    else:
        from filters.pii.checksums import luhn_ok
        body = "4" + "".join(rng.choice(string.digits) for _ in range(14))
        digits = next(body + c for c in string.digits if luhn_ok(body + c))
        pii_type, lead = "CARD", rng.choice(("the card number is", "my card is"))
    cut = rng.randint(3, len(digits) - 3)
    style = rng.choice(("each", "double", "digits_commas"))
    first, second = speak_digits(digits[:cut], rng, style), speak_digits(digits[cut:], rng, style)
    b1, b2 = _Builder(), _Builder()
    b1.add(_cap(rng.choice(FILLERS) + lead) + " ")
    b1.add(first, pii_type)
    b1.add(rng.choice(("", ",", "...")))
    b2.add(_cap(second) if rng.random() < 0.5 else second, pii_type)
    b2.add(rng.choice((".", ", thanks.", " and that's it.", ". Got it?")))
    return Case([b1.text(), b2.text()], [b1.gold, b2.gold], "split", ["spoken"])


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    """Span-overlap counts for one type: a gold span is found when a predicted span of the same
    type shares at least one character with it; a predicted span is correct when it shares a
    character with a gold span of its type."""

    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(cases: list[Case], predictions: list[list[list[Gold]]]) -> dict[str, Score]:
    """Per-type scores; ``predictions[i][j]`` are the (start, end, type) spans predicted for
    segment ``j`` of case ``i``."""
    out = {t: Score() for t in TYPES}
    for case, pred in zip(cases, predictions, strict=True):
        for gold, got in zip(case.gold, pred, strict=True):
            for s, e, t in gold:
                out[t].gold += 1
                out[t].found += any(pt == t and _overlaps((s, e), (ps, pe)) for ps, pe, pt in got)
            for ps, pe, pt in got:
                out[pt].predicted += 1
                out[pt].correct += any(t == pt and _overlaps((s, e), (ps, pe))
                                       for s, e, t in gold)
    return out


def errors(cases: list[Case], predictions: list[list[list[Gold]]]) -> list[str]:
    """Readable misses and false alarms, for a failing test's message."""
    lines = []
    for case, pred in zip(cases, predictions, strict=True):
        for text, gold, got in zip(case.segments, case.gold, pred, strict=True):
            for s, e, t in gold:
                if not any(pt == t and _overlaps((s, e), (ps, pe)) for ps, pe, pt in got):
                    lines.append(f"MISS {t}: {text[s:e]!r} in {text!r}")
            for ps, pe, pt in got:
                if not any(t == pt and _overlaps((s, e), (ps, pe)) for s, e, t in gold):
                    lines.append(f"FALSE {pt}: {text[ps:pe]!r} in {text!r}")
    return lines


def predict(detector, cases: list[Case]) -> list[list[list[Gold]]]:  # noqa: ANN001
    """Run ``detector`` (a PiiDetector) over the cases: ``detect`` for one segment,
    ``detect_recording`` for a split recording; the language is the case's."""
    out = []
    for case in cases:
        lang = case.kind.split(":")[1] if case.kind.startswith("planted:") else "en"
        if len(case.segments) == 1:
            spans = [detector.detect(case.segments[0], lang)]
        else:
            spans = detector.detect_recording(case.segments, lang)
        out.append([[(s.start, s.end, s.type) for s in seg] for seg in spans])
    return out
