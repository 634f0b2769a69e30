"""Every invalid configuration value fails before any work, as ``configuration error: <field>:
<what to do>`` with exit code 2 and no traceback (issue 17)."""

from __future__ import annotations

import dataclasses
import math
import typing

import pytest
import yaml

from filters.label_config import LabelConfig, language_problem, whisper_languages
from pipelines.cli import main as cli_main
from pipelines.config import CurateConfig, load_config, parse_config
from pipelines.config_base import ConfigError
from pipelines.crawl.config import CrawlConfig

# (a sources.yaml document, the field the message must name)
SOURCE = {"type": "local", "path": "audio"}
CASES = [
    ({"curate": {"labels": {"max_cer": -1}}}, "curate.labels.max_cer"),
    ({"curate": {"labels": {"max_cer": float("nan")}}}, "curate.labels.max_cer"),
    ({"curate": {"labels": {"min_avg_logprob": 0.5}}}, "curate.labels.min_avg_logprob"),
    ({"curate": {"labels": {"extra_phrases": [""]}}}, "curate.labels.extra_phrases[0]"),
    ({"curate": {"labels": {"extra_phrases": ["ok", "  "]}}}, "curate.labels.extra_phrases[1]"),
    ({"curate": {"labels": {"fallback_language": "klingon"}}}, "curate.labels.fallback_language"),
    ({"curate": {"decode": {"timeout_s": float("inf")}}}, "curate.decode.timeout_s"),
    ({"curate": {"decode": {"max_duration_s": float("inf")}}}, "curate.decode.max_duration_s"),
    ({"curate": {"decode": {"max_duration_s": -float("inf")}}}, "curate.decode.max_duration_s"),
    ({"curate": {"decode": {"timeout_s": 1e300}}}, "curate.decode.timeout_s"),
    ({"curate": {"decode": {"min_duration_s": 5, "max_duration_s": 4}}},
     "curate.decode.min_duration_s"),
    ({"curate": {"asr": {"compute_type": "bogus"}}}, "curate.asr.compute_type"),
    ({"curate": {"asr": {"language": "zz"}}}, "curate.asr.language"),
    ({"curate": {"asr": {"language": "en-GB"}}}, "curate.asr.language"),
    ({"curate": {"asr": {"model": "tiny.en", "language": "de"}}}, "curate.asr.language"),
    ({"curate": {"lid": {"allowed_languages": ["en", "klingon"]}}},
     "curate.lid.allowed_languages[1]"),
    ({"sources": [{**SOURCE, "language": 5}]}, "sources[0].language"),
    ({"sources": [{**SOURCE, "language": "xx"}]}, "sources[0].language"),
    ({"sources": [{**SOURCE, "roots": [""]}]}, "sources[0].roots[0]"),
    ({"sources": [{**SOURCE, "allow_outside_roots": "yes"}]}, "sources[0].allow_outside_roots"),
    ({"sources": [{"type": "rss", "url": "https://example.org/feed", "language": "klingon"}]},
     "sources[0].language"),
]


def _doc(case: dict) -> dict:
    return {"sources": [SOURCE], **case}


def _write(tmp_path, doc: dict):
    (tmp_path / "audio").mkdir(exist_ok=True)
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")  # nan/inf become .nan/.inf
    return path


@pytest.mark.parametrize("case,field", CASES, ids=[f for _, f in CASES])
def test_invalid_value_is_a_config_error_naming_the_field(tmp_path, case, field):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, _doc(case)))
    message = str(err.value)
    assert f"{field}: " in message
    assert message.startswith(str(tmp_path / "sources.yaml"))


@pytest.mark.parametrize("case,field", CASES, ids=[f for _, f in CASES])
def test_cli_exits_2_with_the_field_and_no_traceback(tmp_path, capsys, case, field):
    out = tmp_path / "run"
    code = cli_main(["run", "--config", str(_write(tmp_path, _doc(case))), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "configuration error: " in err and f"{field}: " in err
    assert "Traceback" not in err
    assert not out.exists()  # nothing started


def test_yaml_nan_and_inf_spellings_are_rejected(tmp_path):
    for spelling in (".nan", ".NaN", ".inf", "-.inf", ".Inf"):
        path = tmp_path / "sources.yaml"
        path.write_text(f"sources:\n  - type: local\n    path: .\n"
                        f"curate:\n  labels:\n    max_cer: {spelling}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"curate\.labels\.max_cer: must be a finite"):
            load_config(path)


# ------------------------------------------------------------------ every numeric field


def _numeric_fields():
    sections = [(f"curate.{f.name}", typing.get_type_hints(CurateConfig)[f.name])
                for f in dataclasses.fields(CurateConfig)] + [("crawl", CrawlConfig)]
    for where, cls in sections:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if hints[f.name] in (int, float):
                yield where, f.name, hints[f.name]


NUMERIC = list(_numeric_fields())


def _section_doc(where: str, name: str, value) -> dict:
    if where == "crawl":
        return {"sources": [SOURCE], "crawl": {name: value}}
    return {"sources": [SOURCE], "curate": {where.split(".")[1]: {name: value}}}


def test_the_table_covers_every_stage_section():
    assert {w for w, _, _ in NUMERIC} >= {"curate.decode", "curate.segment", "curate.lid",
                                          "curate.asr", "curate.labels", "curate.shards", "crawl"}


@pytest.mark.parametrize("where,name,kind", NUMERIC, ids=[f"{w}.{n}" for w, n, _ in NUMERIC])
def test_every_numeric_field_rejects_an_out_of_range_value(where, name, kind):
    """Each number has a range: a huge negative or a huge positive value fails, naming it."""
    field = f"{where}.{name}"
    failed = []
    for value in (-10**9, 10**9):
        value = kind(value)
        try:
            parse_config(_section_doc(where, name, value))
        except ConfigError as exc:
            assert str(exc).startswith(f"{field}: "), str(exc)
            failed.append(value)
    assert failed, f"{field} accepts both -1e9 and 1e9: it has no range check"
    if kind is float:
        for value in (math.nan, math.inf, -math.inf):
            with pytest.raises(ConfigError, match=rf"^{field.replace('.', '[.]')}: must be a fin"):
                parse_config(_section_doc(where, name, value))


def test_label_config_built_directly_rejects_nan():
    with pytest.raises(ValueError, match="max_chars_per_second: must be a finite"):
        LabelConfig(max_chars_per_second=math.nan).validate("labels")


def test_languages_come_from_whisper():
    codes = whisper_languages()
    assert {"en", "de", "ja", "yue", "haw"} <= codes and "zz" not in codes
    assert language_problem("en-GB") is None and language_problem("pt_BR") is None
    assert language_problem("en-GB", region=False) is not None
    assert language_problem("") is None
    for bad in ("zz", "klingon", 5, "english", "e"):
        assert language_problem(bad) is not None, bad


def test_valid_values_still_load(tmp_path):
    cfg = load_config(_write(tmp_path, {"sources": [{**SOURCE, "language": "de-AT"}], "curate": {
        "asr": {"compute_type": "int8_float32", "language": "de"},
        "labels": {"fallback_language": "en", "max_cer": 0}}}))
    assert cfg.curate.asr.compute_type == "int8_float32"
    assert cfg.sources[0].language == "de-AT" and not cfg.sources[0].allow_outside_roots
