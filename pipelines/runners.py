"""Running a phase's Beam pipeline on the runner the user named, DaskRunner included.

Every phase builds its pipeline inside :func:`pipeline`, which runs it, waits for it and closes
what the runner opened. Beam options come from the command line untouched, except for a few
conveniences for Beam's DaskRunner (``apache-beam[dask]``), which is how a Dask cluster — a
laptop's cores, Slurm/PBS through dask-jobqueue, Kubernetes — runs the same pipelines:

* ``--runner DaskRunner`` (or ``dask``) names ``apache_beam.runners.dask.dask_runner.DaskRunner``
  (Beam knows it only by its full path); ``--dask-address ADDR`` is Beam's
  ``--dask_client_address``.
* Without an address, :func:`dask_cluster` starts one ``distributed.LocalCluster`` for the whole
  command (Beam would start a new one for every phase and never close it).
* A Create's partitions are the only parallelism the DaskRunner has (``Reshuffle`` is the
  identity there) and Beam's default is 128 elements a partition, so two recordings would run
  one after the other on one worker. Unless ``--dask_partition_size`` or ``--dask_npartitions``
  is given, every recording (analyse), analysis pack (decide) and shard (publish) is its own
  partition: a dead worker costs one recording, and long recordings spread over workers.

What Beam 2.77's DaskRunner does not do, found by running these pipelines on
``distributed.LocalCluster`` (tests/pipelines/test_dask_runner.py), and how the pipelines avoid it:

1. It computes only the pipeline's last transform and what that depends on: a second sink is
   silently never run. Every pipeline ends in :func:`finish`, which joins all its sinks.
2. It hands every output of a multi-output ParDo (``with_outputs``) to every consumer. The crawl
   yields ``(kind, row)`` records instead and splits them with ``beam.Filter``.
3. It drops whatever a DoFn emits from ``finish_bundle``, such as ``BatchElements``' last batch:
   RunInference skips batching (Whisper takes one recording per call anyway) and the crawl
   batches its catalog files itself (files written in ``finish_bundle`` are side effects, kept).
4. ``setup``/``teardown`` run once per partition, not per worker process: a model loaded in
   ``setup`` would load once per recording with the default partitioning. Models come from a
   process-level cache instead (``pipelines.model_cache``) and decoder children are kept idle
   between tasks (``pipelines.stages.isolated``); :func:`pipeline` releases both at the end of
   each phase, in the launcher and on every Dask worker (:func:`release_process_resources`).
5. Metrics are not collected (``result.metrics()`` raises); nothing here reads them.
6. Dask runs workers as daemonic processes, which may not start children; analyse decodes in a
   child process (``pipelines.stages.isolated``), so workers need
   ``distributed.worker.daemon: false`` (set by :func:`dask_cluster`; for a cluster of your own,
   ``DASK_DISTRIBUTED__WORKER__DAEMON=False`` in the workers' environment). A daemonic worker
   fails analyse's setup with that instruction.
7. Dask's nanny sets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` to 1 in
   every worker; CTranslate2's int8 kernels then round differently from a process without them
   (``avg_logprob`` moved by up to 0.02, one label changed, on the test corpus). Labels are
   reproducible among workers that share those variables; to match another runner bit for bit,
   give both the same (:data:`WORKER_CONFIG` keeps the launcher's).
8. A side input is computed inside every task that reads it, a nested compute from a worker
   thread that resubmits keys already in the graph (on decide's old ``ToList``, whose default
   for empty input is a side input, Dask warned of a changed ``run_spec`` that "can cause
   failures and deadlocks"; a worker thread that blocks on it holds its slot). Decide writes its
   shard starts to a file the launcher reads (``pipelines/decide.py``); nothing uses side inputs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

log = logging.getLogger("speechcurate.runners")
DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
DASK_ALIASES = {"dask", "daskrunner", DASK_RUNNER.lower()}
DASK_PARTITION_OPTIONS = ("--dask_partition_size", "--dask_npartitions")
DASK_ADDRESS_OPTIONS = ("--dask_client_address", "--dask_scheduler_file")
# The Dask settings a LocalCluster started here uses: non-daemonic workers (point 6 of the module
# docstring), and workers that inherit the launcher's OMP/MKL/OPENBLAS_NUM_THREADS instead of
# Dask's default of 1 (point 7), so their Whisper labels equal a DirectRunner run's bit for bit.
WORKER_CONFIG = {"distributed.worker.daemon": False,
                 "distributed.nanny.pre-spawn-environ": {"MALLOC_TRIM_THRESHOLD_": 65536}}
DAEMON_HINT = ("Dask starts its workers as daemonic processes, which may not start the decoder's "
               "child process: run the workers with distributed.worker.daemon: false (environment "
               "DASK_DISTRIBUTED__WORKER__DAEMON=False, or `worker: {daemon: false}` under "
               "`distributed:` in the Dask config)")


def _value(args: list[str], name: str) -> str | None:
    """The value of option ``name`` in ``args`` (``--name V`` or ``--name=V``), else None."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _has(args: list[str], names: tuple[str, ...]) -> bool:
    return any(_value(args, n) is not None for n in names)


def normalise(beam_args: list[str] | None) -> list[str]:
    """Beam options with this project's conveniences applied (see the module docstring)."""
    out: list[str] = []
    args = list(beam_args or [])
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name in ("--runner", "--dask-address"):
            if not eq:
                value = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            if name == "--runner":
                out.append("--runner=" + (DASK_RUNNER if value.lower() in DASK_ALIASES
                                          else value))
            else:
                out.append("--dask_client_address=" + value)
        else:
            out.append(arg)
        i += 1
    if is_dask(out) and not _has(out, DASK_PARTITION_OPTIONS):
        out.append("--dask_partition_size=1")
    return out


def runner_name(beam_args: list[str]) -> str:
    return PipelineOptions(beam_args).view_as(StandardOptions).runner or "DirectRunner"


def is_dask(beam_args: list[str]) -> bool:
    runner = _value(list(beam_args), "--runner") or ""
    return runner.lower() in DASK_ALIASES


@contextlib.contextmanager
def dask_cluster(beam_args: list[str], n_workers: int | None = None) -> Iterator[list[str]]:
    """Yield ``beam_args`` pointing at a Dask scheduler: the one they name, or a LocalCluster
    started here (one worker process per core, one thread each, non-daemonic) and closed on
    exit. Other runners' options pass through unchanged."""
    args = normalise(beam_args)
    if not is_dask(args) or _has(args, DASK_ADDRESS_OPTIONS):
        yield args
        return
    import dask
    from distributed import LocalCluster

    # the nannies read the config again whenever they restart a worker: keep it for the run
    with dask.config.set(WORKER_CONFIG):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        log.info("DaskRunner: started a local Dask cluster at %s with %d worker(s)",
                 cluster.scheduler_address, len(cluster.workers))
        try:
            yield [*args, f"--dask_client_address={cluster.scheduler_address}"]
        finally:
            cluster.close()


@contextlib.contextmanager
def pipeline(beam_args: list[str]) -> Iterator[beam.Pipeline]:
    """``with pipeline(args) as p:`` builds ``p``, then runs it to the end on leaving the block
    (not when the block raised) and closes the Dask client the DaskRunner opened."""
    p = beam.Pipeline(options=PipelineOptions(normalise(beam_args)))
    yield p
    result = p.run()
    client = getattr(result, "client", None)
    try:
        result.wait_until_finish()
    finally:
        release_process_resources()
        if client is not None:
            try:
                client.run(release_process_resources)
            except Exception as exc:  # noqa: BLE001 - cleanup never fails a finished phase
                log.warning("DaskRunner: could not release the workers' models: %s", exc)
            client.close()


def release_process_resources() -> dict[str, int]:
    """Drop this process's cached models and end its idle decoder children (the end of a
    phase: the next phase needs other models, and a Dask worker outlives the phase)."""
    from filters.redaction import clear_detectors
    from pipelines import model_cache
    from pipelines.stages import isolated

    return {"models": model_cache.clear() + clear_detectors(),
            "decoders": isolated.close_idle()}


def finish(*sinks: beam.PCollection) -> beam.PCollection:
    """Join a pipeline's sinks into its last transform (DaskRunner point 1 of the module
    docstring). Apply it last; it passes nothing on."""
    if not sinks:
        raise ValueError("finish() needs the pipeline's sinks")
    p = sinks[0].pipeline
    return (tuple(sinks) | "AllSinks" >> beam.Flatten(pipeline=p)
            | "Finished" >> beam.Filter(lambda _: False))
