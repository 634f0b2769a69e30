#!/usr/bin/env bash
# speechcurate on Google Cloud Dataflow. Usage:
#   PROJECT=p REGION=r BUCKET=b IMAGE=.../speechcurate/cpu infra/runners/dataflow.sh sources.yaml RUN
set -euo pipefail
config=$1; run=$2
exec speechcurate run --config "$config" --out "gs://${BUCKET}/runs/${run}" \
  --runner DataflowRunner --project "$PROJECT" --region "$REGION" \
  --temp_location "gs://${BUCKET}/tmp" --staging_location "gs://${BUCKET}/staging" \
  --sdk_container_image "$IMAGE" --sdk_location=container --experiments=use_runner_v2 \
  --machine_type "${MACHINE_TYPE:-n2-standard-8}" --max_num_workers "${MAX_WORKERS:-50}" \
  ${GPU:+--dataflow_service_options "worker_accelerator=type:${GPU};count:1;install-nvidia-driver"} \
  ${GPU:+--experiments=no_use_multiple_sdk_containers}  # one SDK process (one model) per GPU
