#!/usr/bin/env bash
# speechcurate on an existing Dask cluster through Beam's DaskRunner. Usage:
#   DASK_ADDRESS=tcp://scheduler:8786 OUT=/shared/runs/r1 infra/runners/dask.sh sources.yaml
#   SCHEDULER_FILE=/shared/scheduler.json OUT=... infra/runners/dask.sh sources.yaml
# Without DASK_ADDRESS or SCHEDULER_FILE, a local cluster with one worker per core is started.
# The workers must be non-daemonic (analyse decodes in a child process): start them with
#   DASK_DISTRIBUTED__WORKER__DAEMON=False dask worker tcp://scheduler:8786 --nthreads 1 ...
# and they need the same code, pins and models as the launcher (same venv or image), and the
# inputs and OUT on storage every worker sees (a shared filesystem, gs://, s3://).
set -euo pipefail
where=()
if [[ -n "${DASK_ADDRESS:-}" ]]; then where=(--dask-address "$DASK_ADDRESS"); fi
if [[ -n "${SCHEDULER_FILE:-}" ]]; then where=(--dask_scheduler_file "$SCHEDULER_FILE"); fi
exec speechcurate run --config "$1" --out "$OUT" --runner DaskRunner "${where[@]}" \
  ${PARTITION_SIZE:+--dask_partition_size "$PARTITION_SIZE"}
