"""Takedown rules: which recordings must never be published (opt-out and erasure requests).

A rule names recordings by URL prefix, by domain or by recording id. A recording matches when
its media URL (``source_uri``) or the page/feed it was found on (``page_url``) matches:

* ``url_prefixes``: the URL starts with the prefix after both are normalised the way the crawler
  canonicalises URLs (scheme and host lower-cased, IDNA, default port dropped, an empty path is
  ``/``); the path is compared as written (a prefix is not a whole URL, so it is not re-quoted).
  ``file:///data/x`` and ``/data/x`` are the same prefix, so local sources can be taken down too.
  It is a plain prefix: ``https://a.org/pod`` also matches ``https://a.org/podcast/``.
* ``domains``: the URL's host is the domain or any subdomain of it (``example.com`` matches
  ``cdn.example.com``, not ``badexample.com``).
* ``recording_ids``: the 16-hex-digit id (``schemas.keys.recording_id_for``).

The decision half is :func:`decide_takedown`, a segment-scope filter of the registry
(``filters.registry``): the first filter, so a taken-down segment is dropped with reason
``taken_down`` before any other filter spends work on it, and the books stay balanced. No Beam.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from filters.config_checks import checker
from filters.web.urls import BadUrl, canonical_host
from schemas.reasons import Reason, Stage
from schemas.records import Reject, Segment, Verdict

RECORDING_ID = re.compile(r"^[0-9a-f]{16}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_prefix(value: str) -> str:
    """A URL prefix in the form URLs are compared in (see the module docstring).

    Raises ValueError for an empty prefix or an http(s) URL without a valid host."""
    value = (value or "").strip()
    if not value:
        raise ValueError("empty URL prefix")
    if value.startswith("/"):
        return value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"unparsable URL prefix {value!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme == "file":
        return parts.path or "/"
    if not scheme or not parts.netloc:
        raise ValueError(f"URL prefix {value!r} needs a scheme and a host (https://host/...) "
                         "or an absolute path (/data/...)")
    host = parts.hostname or ""
    if scheme in _DEFAULT_PORTS:
        try:
            host = canonical_host(host, bracketed=parts.netloc.rpartition("@")[2].startswith("["),
                                  url=value)
        except BadUrl as exc:
            raise ValueError(str(exc)) from exc
    else:
        host = host.lower()
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def normalise_domain(value: str) -> str:
    """A domain as hosts are compared (lower case, IDNA, no trailing dot); ValueError if bad."""
    raw = (value or "").strip()
    if "://" in raw:
        raw = urlsplit(raw).hostname or ""
    try:
        return canonical_host(raw)
    except BadUrl as exc:
        raise ValueError(f"not a domain: {value!r} ({exc})") from exc


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        if not parts.hostname:
            return ""
        return canonical_host(parts.hostname,
                              bracketed=parts.netloc.rpartition("@")[2].startswith("["), url=url)
    except (ValueError, BadUrl):
        return ""


def _comparable(url: str) -> str:
    """A recording's URL in the prefix comparison form (never raises: odd URLs stay as is)."""
    try:
        return normalise_prefix(url)
    except ValueError:
        return url or ""


@dataclass(frozen=True)
class TakedownConfig:
    """Recordings never to publish (``curate.takedown``, plus ``RUN/takedown/rules.jsonl``)."""

    url_prefixes: tuple[str, ...] = ()  # media or page URLs starting with one of these
    domains: tuple[str, ...] = ()  # media or page URLs on these hosts or their subdomains
    recording_ids: tuple[str, ...] = ()  # 16-hex-digit recording ids

    def validate(self, where: str) -> None:
        """Raise ValueError naming ``where.field[i]`` for a prefix, domain or id that is bad."""
        need = checker(where)
        for i, prefix in enumerate(self.url_prefixes):
            try:
                normalise_prefix(prefix)
            except ValueError as exc:
                need(False, f"url_prefixes[{i}]", str(exc))
        for i, domain in enumerate(self.domains):
            try:
                normalise_domain(domain)
            except ValueError as exc:
                need(False, f"domains[{i}]", str(exc))
        for i, rid in enumerate(self.recording_ids):
            need(isinstance(rid, str) and bool(RECORDING_ID.match(rid)), f"recording_ids[{i}]",
                 f"must be 16 lower-case hex digits, got {rid!r}")

    def active(self) -> bool:
        return bool(self.url_prefixes or self.domains or self.recording_ids)

    def merged(self, other: TakedownConfig) -> TakedownConfig:
        """Both sets of rules, each value once, in a stable (sorted) order."""
        return TakedownConfig(
            tuple(sorted(set(self.url_prefixes) | set(other.url_prefixes))),
            tuple(sorted(set(self.domains) | set(other.domains))),
            tuple(sorted(set(self.recording_ids) | set(other.recording_ids))))

    def normalised(self) -> TakedownConfig:
        """The same rules in the form they are compared (and recorded) in, so one rule spelt
        two ways is recorded once."""
        return TakedownConfig(tuple(sorted({normalise_prefix(p) for p in self.url_prefixes})),
                              tuple(sorted({normalise_domain(d) for d in self.domains})),
                              tuple(sorted(set(self.recording_ids))))

    def matcher(self) -> Matcher:
        return Matcher(self)


class Matcher:
    """The rules of a :class:`TakedownConfig`, normalised once for fast matching."""

    def __init__(self, config: TakedownConfig):
        self.prefixes = tuple(sorted({normalise_prefix(p) for p in config.url_prefixes}))
        self.domains = frozenset(normalise_domain(d) for d in config.domains)
        self.ids = frozenset(config.recording_ids)

    def match(self, recording_id: str, source_uri: str | None,
              page_url: str | None) -> str | None:
        """The first rule that matches, as ``kind:value`` (for the verdict), or None."""
        if recording_id in self.ids:
            return f"recording_id:{recording_id}"
        for url in (source_uri, page_url):
            if not url:
                continue
            if self.domains:
                host = _host(url)
                labels = host.split(".")
                for i in range(len(labels)):
                    suffix = ".".join(labels[i:])
                    if suffix in self.domains:
                        return f"domain:{suffix}"
            if self.prefixes:
                norm = _comparable(url)
                for prefix in self.prefixes:
                    if norm.startswith(prefix):
                        return f"url_prefix:{prefix}"
        return None

    def matches_row(self, row: dict[str, Any]) -> str | None:
        return self.match(row.get("recording_id") or "", row.get("source_uri"),
                          row.get("page_url"))


# ``RUN/takedown/rules.jsonl`` rows are ``{"kind": KIND, "value": ...}``; KIND -> config field
RULE_KINDS = {"url_prefix": "url_prefixes", "domain": "domains", "recording_id": "recording_ids"}


def rules_config(rules: Any) -> TakedownConfig:
    """The :class:`TakedownConfig` of recorded rule rows (each value once, sorted)."""
    values: dict[str, set[str]] = {name: set() for name in RULE_KINDS.values()}
    for rule in rules:
        values[RULE_KINDS[rule["kind"]]].add(rule["value"])
    return TakedownConfig(**{name: tuple(sorted(v)) for name, v in values.items()})


_MATCHERS: dict[TakedownConfig, Matcher] = {}


def _matcher(config: TakedownConfig) -> Matcher:
    m = _MATCHERS.get(config)
    if m is None:
        m = _MATCHERS[config] = Matcher(config)
    return m


def decide_takedown(seg: Segment, config: TakedownConfig) -> Segment | Reject:
    """Drop a segment whose recording a takedown rule names (reason ``taken_down``).

    A segment no rule names passes unchanged (no verdict), so a kept sample's metadata does not
    depend on which rules exist: ``speechcurate takedown`` removes samples from a shard without
    touching the others, and a later full decide writes the same survivors."""
    rule = _matcher(config).match(seg.recording_id, seg.source_uri, seg.page_url)
    if rule is None:  # no passed verdict: survivors' metadata is the same with or without rules
        return seg
    detail = f"takedown rule {rule}"
    seg = seg.with_verdict(Verdict("takedown", False, Reason.TAKEN_DOWN, detail))
    return Reject.for_segment(seg, Stage.TAKEDOWN, Reason.TAKEN_DOWN, detail)


def redact_reject_row(row: dict[str, Any]) -> dict[str, Any]:
    """A reject row of a taken-down recording as it may be published: ids, reason and timing
    stay (the books and the audit need them), its words go (``text``, ``pseudo_label``)."""
    return {**row, "text": "", "pseudo_label": ""}
