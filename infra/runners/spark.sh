#!/usr/bin/env bash
# speechcurate on Apache Spark through Beam's portable SparkRunner. Usage:
#   SPARK_MASTER=spark://host:7077 IMAGE=... OUT=s3://b/runs/r1 infra/runners/spark.sh sources.yaml
set -euo pipefail
exec speechcurate run --config "$1" --out "$OUT" \
  --runner SparkRunner --spark_master_url "$SPARK_MASTER" \
  --environment_type DOCKER --environment_config "$IMAGE"
