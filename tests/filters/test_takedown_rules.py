"""Takedown rules: what a URL prefix, a domain and a recording id match, and the decide filter."""

from __future__ import annotations

import pytest

from filters.registry import REGISTRY, active
from filters.takedown import (
    TakedownConfig,
    decide_takedown,
    normalise_domain,
    normalise_prefix,
    rules_config,
)
from pipelines.config import ConfigError, CurateConfig, parse_config
from schemas.reasons import Reason, Stage
from schemas.records import Reject, Segment


def _match(config: TakedownConfig, uri: str, page: str = "", rid: str = "0" * 16) -> str | None:
    return config.matcher().match(rid, uri, page)


def test_domain_matches_itself_and_subdomains_only():
    rules = TakedownConfig(domains=("Example.COM.",))
    assert _match(rules, "https://example.com/a.mp3") == "domain:example.com"
    assert _match(rules, "https://cdn.media.example.com/a.mp3") == "domain:example.com"
    assert _match(rules, "https://EXAMPLE.com:8443/a.mp3") == "domain:example.com"
    assert _match(rules, "https://badexample.com/a.mp3") is None
    assert _match(rules, "https://example.com.evil.org/a.mp3") is None
    assert _match(rules, "/data/example.com/a.mp3") is None  # a local path has no host
    # the page the recording was found on counts too
    assert _match(rules, "https://cdn.other.net/a.mp3", "https://www.example.com/feed.xml")


def test_url_prefix_is_normalised_on_both_sides():
    rules = TakedownConfig(url_prefixes=("HTTPS://Media.Example.org:443/Shows/",))
    assert normalise_prefix("HTTPS://Media.Example.org:443/Shows/") == \
        "https://media.example.org/Shows/"
    assert _match(rules, "https://media.example.org/Shows/ep1.mp3")
    assert _match(rules, "https://MEDIA.example.org/Shows/x/y.mp3")
    assert _match(rules, "https://media.example.org/shows/ep1.mp3") is None  # paths keep case
    assert _match(rules, "http://media.example.org/Shows/ep1.mp3") is None  # other scheme
    assert _match(rules, "https://media.example.org:8443/Shows/ep1.mp3") is None  # other port
    bare = TakedownConfig(url_prefixes=("https://Media.Example.org",))
    assert _match(bare, "https://media.example.org/anything.mp3")
    local = TakedownConfig(url_prefixes=("file:///corpus/private/",))
    assert _match(local, "/corpus/private/a.flac")
    assert _match(local, "/corpus/public/a.flac") is None


def test_recording_id_and_rules_file_rows():
    rules = rules_config([{"kind": "recording_id", "value": "0123456789abcdef"},
                          {"kind": "domain", "value": "a.org"},
                          {"kind": "domain", "value": "a.org"}])
    assert rules.domains == ("a.org",) and rules.recording_ids == ("0123456789abcdef",)
    assert _match(rules, "https://b.org/x.mp3", rid="0123456789abcdef") == \
        "recording_id:0123456789abcdef"
    assert _match(rules, "https://b.org/x.mp3", rid="fedcba9876543210") is None


@pytest.mark.parametrize("section, field", [
    ("{domains: ['']}", "curate.takedown.domains[0]"),
    ("{domains: ['exa mple.com']}", "curate.takedown.domains[0]"),
    ("{url_prefixes: ['example.com/x']}", "curate.takedown.url_prefixes[0]"),
    ("{url_prefixes: ['https://']}", "curate.takedown.url_prefixes[0]"),
    ("{recording_ids: ['XYZ']}", "curate.takedown.recording_ids[0]"),
    ("{recording_id: ['0123456789abcdef']}", "curate.takedown.recording_id"),
])
def test_bad_rules_fail_naming_the_field(section, field):
    import yaml

    data = yaml.safe_load(f"sources: [{{type: local, path: /tmp}}]\n"
                          f"curate: {{takedown: {section}}}")
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_config(data)


def _segment(uri: str) -> Segment:
    return Segment("0123456789abcdef-00001", "0123456789abcdef", 1, uri, 1.0, 3.0,
                   source_name="web", page_url="", text="hello there", pseudo_label="hello")


def test_filter_drops_with_its_reason_and_leaves_others_untouched():
    rules = TakedownConfig(domains=("gone.example",))
    out = decide_takedown(_segment("https://www.gone.example/a.mp3"), rules)
    assert isinstance(out, Reject)
    assert (out.stage, out.reason) == (Stage.TAKEDOWN, Reason.TAKEN_DOWN)
    assert "domain:gone.example" in out.detail
    kept = _segment("https://stays.example/a.mp3")
    assert decide_takedown(kept, rules) is kept  # no verdict: survivors' metadata is unchanged


def test_registry_runs_takedown_first_and_only_with_rules():
    assert REGISTRY[0].name == "takedown"
    assert "takedown" not in [f.name for f in active(REGISTRY, CurateConfig())]
    with_rules = CurateConfig(takedown=TakedownConfig(recording_ids=("0123456789abcdef",)))
    assert active(REGISTRY, with_rules)[0].name == "takedown"


def test_normalise_domain_accepts_a_url():
    assert normalise_domain("https://Sub.Example.org/x") == "sub.example.org"
    with pytest.raises(ValueError):
        normalise_domain("")
