"""The whole ``speechcurate run`` on Beam's DaskRunner against a two-process
``distributed.LocalCluster`` started here: the outputs are byte-identical to the DirectRunner's
(the session's ``curated_run``, same input and config), also when a worker process is killed with
SIGKILL while analyse is running (exactly-once results from at-least-once execution: Dask reruns
the lost task and the analysis pack it was writing is rewritten under the same name).

Compared byte for byte: every shard, ``manifest/{shards.json,segments.parquet,rejects.parquet}``,
``plan/segments.parquet`` and the reject samples; ``stats.json`` except its ``run`` section.
Left out, with the reason: ``stats.json`` ``run`` (runner name, start and finish times, wall
seconds), ``report/index.html`` (shows those same run facts), ``analysis/`` (internal to the run:
its rows hold per-recording timings; everything decided from it is in the plan, compared).

The cluster's workers keep the test process's OMP/MKL/OPENBLAS thread variables
(``pipelines.runners.WORKER_CONFIG``): with Dask's default of 1, CTranslate2 rounds differently
and the labels differ from the DirectRunner's (see ``pipelines/runners.py``, point 7).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pipelines import analysis_store as store
from pipelines.cli import main as cli_main
from tests.pipelines.crawl.test_crawl_pipeline import site  # noqa: F401, F811 - loopback site

pytestmark = pytest.mark.slow
COMPARED = ("shards/*.tar", "manifest/shards.json", "manifest/segments.parquet",
            "manifest/rejects.parquet", "plan/segments.parquet", "samples/rejected/*/*.flac")


def digests(run: Path) -> dict[str, str]:
    out = {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
           for pattern in COMPARED for p in sorted(run.glob(pattern))}
    stats = json.loads((run / "stats.json").read_text())
    stats.pop("run")
    out["stats.json without run"] = hashlib.sha256(
        json.dumps(stats, sort_keys=True).encode()).hexdigest()
    return out


@pytest.fixture(scope="module")
def cluster():
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    from pipelines.runners import WORKER_CONFIG

    # non-daemonic workers with the launcher's thread settings, also those the nannies restart
    with dask.config.set(WORKER_CONFIG):
        local = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                         dashboard_address=None)
        client = distributed.Client(local)
        yield local, client
        client.close()
        local.close()


def run_on_dask(curated_run: Path, address: str, out: Path) -> None:
    config = curated_run.parent / "sources.yaml"
    assert cli_main(["run", "--config", str(config), "--out", str(out), "--asr-model", "tiny.en",
                     "--runner", "DaskRunner", "--dask-address", address]) == 0


def _kill_a_busy_worker(client, analysis: Path, stop: threading.Event, killed: dict) -> None:
    """Once analyse has written audio (a pack being written or committed), SIGKILL a worker
    process that is running a task; the worker's task and results are lost mid-analyse."""
    while not stop.is_set():
        audio = analysis / "audio"
        if audio.is_dir() and any(audio.iterdir()):
            busy = [addr for addr, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                killed.update(address=busy[0], pid=pid, tasks=client.processing()[busy[0]],
                              partial_pack=any(audio.glob(".tmp-*.tar")),
                              committed=len(store.owners(str(analysis))))
                os.kill(pid, signal.SIGKILL)
                print(f"killed worker {killed}")
                return
        time.sleep(0.01)


def test_a_worker_killed_during_analyse_changes_no_byte(curated_run, cluster, tmp_path):
    """One Dask run (two are too slow for the suite) proves both claims: the outputs equal the
    DirectRunner's byte for byte, and they do so although a worker died mid-analyse."""
    local, client = cluster
    out = tmp_path / "killed" / curated_run.name
    killed: dict = {}
    stop = threading.Event()
    killer = threading.Thread(target=_kill_a_busy_worker,
                              args=(client, out / "analysis", stop, killed), daemon=True)
    killer.start()
    try:
        run_on_dask(curated_run, local.scheduler_address, out)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was busy once analyse had written audio: nothing was killed"
    listed = json.loads((out / "stats.json").read_text())["analysis"]
    assert listed["analysed"] == listed["listed"] == len(store.owners(str(out / "analysis")))
    expected = digests(curated_run)
    assert any(k.startswith("shards/") for k in expected)
    assert digests(out) == expected, f"outputs differ after killing {killed}"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["run"]["runner"] == "apache_beam.runners.dask.dask_runner.DaskRunner"


def test_the_crawl_on_dask_writes_the_direct_runners_catalog(site, cluster, tmp_path):  # noqa: F811
    """rss + html + sitemap over a loopback site and a WARC file: the same catalog rows and
    rejects on both runners (times of day left out, the run directory named RUN)."""
    from pipelines.crawl import run_crawl
    from pipelines.crawl.catalog import read_rows
    from tests.pipelines.crawl.test_crawl_pipeline import _config, _warc

    local, _ = cluster
    warc = tmp_path / "a.warc.gz"
    _warc(warc)
    config = _config(site, warc)

    def catalog(run: Path) -> dict[str, list]:
        def timeless(rows):  # blobs are named by content under each run's own directory
            rows = [{k: v.replace(str(run), "RUN") if isinstance(v, str) else v
                     for k, v in r.items() if not k.endswith("_at")} for r in rows]
            return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
        return {kind: timeless(read_rows(str(run), kind)) for kind in ("items", "rejects")}

    run_crawl(config, str(tmp_path / "direct"), [])
    run_crawl(config, str(tmp_path / "dask"), ["--runner", "DaskRunner", "--dask-address",
                                               local.scheduler_address])
    direct, dask = catalog(tmp_path / "direct"), catalog(tmp_path / "dask")
    assert len(direct["items"]) >= 5 and direct["rejects"]
    for kind in ("items", "rejects"):
        missing = [r for r in direct[kind] if r not in dask[kind]]
        extra = [r for r in dask[kind] if r not in direct[kind]]
        assert not missing and not extra, (kind, missing, extra)
