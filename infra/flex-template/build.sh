#!/usr/bin/env bash
# Build and push the worker and launcher images and write the flex-template spec. Usage:
#   PROJECT=p REGION=europe-west4 BUCKET=b TAG=v1 infra/flex-template/build.sh
# Then run it (config and out are gs:// paths; the config is read through fsspec):
#   gcloud dataflow flex-template run speechcurate-$(date +%s) --region "$REGION" \
#     --template-file-gcs-location "gs://$BUCKET/templates/speechcurate.json" \
#     --parameters config=gs://$BUCKET/sources.yaml,out=gs://$BUCKET/runs/r1 \
#     --parameters sdk_container_image=$REPO/cpu:$TAG,sdk_location=container \
#     --parameters experiments=use_runner_v2 --max-workers 50 --worker-machine-type n2-standard-8
set -euo pipefail
REPO="${REGION}-docker.pkg.dev/${PROJECT}/speechcurate"
docker build -f infra/docker/Dockerfile.cpu -t "$REPO/cpu:$TAG" .
docker build -f infra/docker/Dockerfile.gpu -t "$REPO/gpu:$TAG" .
docker build -f infra/flex-template/Dockerfile.launcher --build-arg "WORKER_IMAGE=$REPO/cpu:$TAG" \
  -t "$REPO/launcher:$TAG" .
docker push "$REPO/cpu:$TAG"; docker push "$REPO/gpu:$TAG"; docker push "$REPO/launcher:$TAG"
gcloud dataflow flex-template build "gs://${BUCKET}/templates/speechcurate.json" \
  --image "$REPO/launcher:$TAG" --sdk-language PYTHON \
  --metadata-file infra/flex-template/metadata.json
