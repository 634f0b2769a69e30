"""Dataflow that would start: every phase's graph constructs with ``--runner DataflowRunner``
options into the portable pipeline proto Dataflow receives (on the worker image of
infra/docker), the options validate, no launcher path is handed to workers, and (with the
``gcp`` extra, which ``make test`` installs) the job description renders offline.

How the job description renders with no credentials and no network (checked under
``unshare -n``): ``--dry_run`` alone is not enough, because ``DataflowRunner`` returns from a
dry run before it builds the job's environment (its JSON is then only name, type and request id).
So the pipeline is constructed and validated with the ``gs://`` locations under ``--dry_run``
(with ``apache-beam[gcp]`` installed, validation otherwise asks GCS for the buckets'
soft-delete policy, and retries without end when offline), then run with ``--no_auth``,
``--template_location`` and the staging and temp locations set to local directories: Beam
stages ``pipeline.pb`` locally and writes the job JSON instead of submitting it.
``run(test_runner_api=False)`` skips Beam's runner-API round trip, which would validate the
local locations again and try to create a default GCS bucket. ``--sdk_location=container``
keeps the launcher's SDK out of staging (the worker image has it).
"""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import cloudpickle
import pytest
from apache_beam.options import pipeline_options
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions
from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner
from apache_beam.transforms import environments

from pipelines.config import parse_config
from pipelines.models import resolve_model

IMAGE = "europe-west4-docker.pkg.dev/speechcurate-test/speechcurate/cpu:1"
BUCKET = "gs://speechcurate-runs"  # the validator checks bucket and project name rules
ARGS = ["--runner=DataflowRunner", "--project=speechcurate-test", "--region=europe-west4",
        f"--temp_location={BUCKET}/tmp", f"--staging_location={BUCKET}/staging",
        f"--sdk_container_image={IMAGE}", "--sdk_location=container",
        "--experiments=use_runner_v2", "--machine_type=n2-standard-8", "--max_num_workers=50",
        "--dry_run=True"]  # validation never contacts GCS (see the module docstring)
RUN = f"{BUCKET}/runs/r1"


def config(tmp_path: Path):
    (tmp_path / "audio").mkdir()
    return parse_config({
        "sources": [{"name": "files", "type": "local", "path": "audio"},
                    {"name": "feed", "type": "rss", "url": "https://feeds.example.org/a.xml"}],
        "curate": {"asr": {"model": "tiny.en"}}}, base_dir=tmp_path)


def phases(p_for, cfg) -> dict[str, beam.Pipeline]:
    """Each phase's pipeline, built as its run_* function builds it (nothing runs)."""
    from pipelines import analyse, decide, publish
    from pipelines.crawl.pipeline import build_crawl
    from pipelines.sources.local import LocalItem

    built = {name: p_for() for name in ("crawl", "analyse", "decide", "publish")}
    build_crawl(built["crawl"], cfg, RUN, "token")
    analyse.build_pipeline(built["analyse"], cfg, f"{RUN}/analysis",
                           [LocalItem(f"{BUCKET}/audio/a.flac", "files")], [f"{RUN}/catalog/x"],
                           frozenset(), 1)
    decide.build_pipeline(built["decide"], cfg, f"{RUN}/analysis", {"r": "pack-1"},
                          f"{RUN}/plan/_parts", decide.REGISTRY)
    publish.build_pipeline(built["publish"], f"{RUN}/analysis", RUN, ["r-00000", "r-00040"],
                           ["r-00007"], [], cfg.curate.shards.flac_compression)
    return built


def dofns(p: beam.Pipeline) -> list:
    found = []

    class Visit(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node) -> None:
            if isinstance(node.transform, beam.ParDo):
                found.append(node.transform.fn)

    p.visit(Visit())
    return found


def test_every_phase_constructs_for_dataflow(tmp_path):
    cfg = config(tmp_path)
    options = PipelineOptions(ARGS)
    assert PipelineOptionsValidator(options, DataflowRunner()).validate() == []
    built = phases(lambda: beam.Pipeline(runner=DataflowRunner(), options=options), cfg)
    env = environments.DockerEnvironment.from_container_image(IMAGE)
    expected = {"crawl": ("Discover", "Fetch", "WriteItems", "WriteRejects", "Finished"),
                "analyse": ("DecodeAndSegment", "PseudoLabel", "MeasureAndCommit", "Finished"),
                "decide": ("ApplyFilters", "ShardStarts", "WriteStarts", "WritePlan", "Finished"),
                "publish": ("ReadShardPlan", "WriteShards", "ReadSslShardPlan",
                            "WriteSslShards", "WriteRejectSamples", "Finished")}
    launcher_model = str(resolve_model("tiny.en")).encode()
    for name, p in built.items():
        proto = p.to_runner_api(default_environment=env)
        labels = {t.unique_name.split("/")[0] for t in proto.components.transforms.values()}
        assert set(expected[name]) <= labels, (name, labels)
        images = {e.payload for e in proto.components.environments.values()}
        assert all(IMAGE.encode() in payload for payload in images), name
        # no launcher path in any DoFn the workers unpickle: models resolve there
        assert not any(launcher_model in cloudpickle.dumps(fn) for fn in dofns(p)), name


def test_dataflow_options_fail_validation_when_incomplete():
    # without --project Beam cannot fall back to a default bucket (which would need GCS)
    bad = PipelineOptions([a for a in ARGS if not a.startswith(("--temp_location",
                                                                "--staging_location",
                                                                "--project"))])
    errors = PipelineOptionsValidator(bad, DataflowRunner()).validate()
    assert any("temp_location" in e for e in errors), errors
    assert any("project" in e for e in errors), errors


def test_the_whisper_handler_carries_the_model_name_not_a_path():
    from pipelines.config import AsrConfig
    from pipelines.stages.asr import WhisperRecordingHandler

    handler = WhisperRecordingHandler(AsrConfig(model="base"))
    assert not any(isinstance(v, str | Path) for v in vars(handler).values())
    assert handler.config.model == "base" and handler.should_skip_batching()


def test_job_description_renders_offline(tmp_path):
    pytest.importorskip("google.auth", reason="apache-beam[gcp] is not installed: "
                        "DataflowRunner.run_pipeline imports apiclient (google-auth, "
                        "google-apitools, google-cloud-*) to render the job")
    cfg = config(tmp_path)
    p = phases(lambda: beam.Pipeline(runner=DataflowRunner(),
                                      options=PipelineOptions([*ARGS, "--no_auth"])),
               cfg)["decide"]
    staging, job_file = tmp_path / "staging", tmp_path / "job.json"
    staging.mkdir()
    cloud = p.options.view_as(GoogleCloudOptions)
    cloud.staging_location = cloud.temp_location = str(staging)
    cloud.template_location = str(job_file)  # written, not submitted
    p.options.view_as(pipeline_options.TestOptions).dry_run = False
    p.run(test_runner_api=False)
    job = json.loads(job_file.read_text())
    assert job["type"] == "JOB_TYPE_BATCH"
    pool = job["environment"]["workerPools"][0]
    assert pool["machineType"] == "n2-standard-8"
    assert pool["autoscalingSettings"]["maxNumWorkers"] == 50
    assert pool["workerHarnessContainerImage"] == IMAGE
    assert {c["containerImage"] for c in pool["sdkHarnessContainerImages"]} == {IMAGE}
    staged = {pkg["name"] for pkg in pool.get("packages", [])}
    assert not any("sdk" in name and name.endswith((".tar.gz", ".whl")) for name in staged)
    assert "use_runner_v2" in job["environment"]["experiments"]
    graph = beam_runner_api_pb2.Pipeline.FromString((staging / "pipeline.pb").read_bytes())
    labels = {t.unique_name.split("/")[0] for t in graph.components.transforms.values()}
    assert {"ApplyFilters", "ShardStarts", "WritePlan"} <= labels
