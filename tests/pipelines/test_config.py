import pytest

from pipelines.analyse import list_inputs
from pipelines.cli import main as cli_main
from pipelines.config import ConfigError, load_config, parse_config


def write(tmp_path, text):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text,field", [
    ("sources: []\n", "sources"),
    ("sources:\n  - type: ftp\n    path: x\n", "sources[0].type"),
    ("sources:\n  - type: local\n    path: x\n    colour: red\n", "sources[0].colour"),
    ("sources:\n  - type: local\n", "sources[0]"),
    ("sources:\n  - type: local\n    path: x\ncurate:\n  asr:\n    batch_size: 0\n",
     "curate.asr.batch_size"),
    ("sources:\n  - type: local\n    path: x\ncurate:\n  segment:\n    max_s: 45\n",
     "curate.segment.max_s"),
    ("sources:\n  - type: local\n    path: x\ncurate:\n  decode:\n    max_bytes: lots\n",
     "curate.decode.max_bytes"),
    ("sources: [unclosed\n", "not valid YAML"),
])
def test_bad_config_fails_fast_naming_the_field(tmp_path, text, field):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert field in str(err.value)


def test_relative_paths_resolve_from_the_config_file(tmp_path):
    (tmp_path / "audio").mkdir()
    cfg = load_config(write(tmp_path, "sources:\n  - type: local\n    path: audio\n"))
    assert cfg.sources[0].path == str((tmp_path / "audio").resolve())
    assert cfg.sources[0].name == "audio"


def test_missing_directory_is_a_clear_error_naming_the_source(tmp_path):
    cfg = parse_config({"sources": [{"type": "local", "path": str(tmp_path / "nope")}]})
    with pytest.raises(ConfigError) as err:
        list_inputs(cfg, str(tmp_path / "run"))
    assert "sources[0].path" in str(err.value) and "nope" in str(err.value)


def test_cli_reports_config_errors_without_a_traceback(tmp_path, capsys):
    code = cli_main(["run", "--config", str(write(tmp_path, "sources: 3\n")),
                     "--out", str(tmp_path / "run")])
    assert code == 2
    assert "configuration error" in capsys.readouterr().err


def test_help_explains_every_run_option(capsys):
    with pytest.raises(SystemExit):
        cli_main(["run", "--help"])
    out = capsys.readouterr().out
    for option in ("--config", "--out", "--asr-model", "--force", "--runner"):
        assert option in out
