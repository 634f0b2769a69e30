#!/usr/bin/env bash
# speechcurate on an Apache Flink cluster through Beam's portable FlinkRunner. Usage:
#   FLINK_MASTER=host:8081 IMAGE=... OUT=s3://b/runs/r1 infra/runners/flink.sh sources.yaml
set -euo pipefail
exec speechcurate run --config "$1" --out "$OUT" \
  --runner FlinkRunner --flink_master "$FLINK_MASTER" \
  --environment_type DOCKER --environment_config "$IMAGE" \
  --parallelism "${PARALLELISM:-16}"
