#!/usr/bin/env bash
# The image's size and its own layers' size (the image minus the base image it is built FROM):
#
#   bash deploy/image-size.sh IMAGE [DOCKERFILE]      prints one line of words, then one line of JSON
#
# The base is the Dockerfile's first FROM (python:3.11-slim). Docker reports an image's size with its
# base layers included, so image minus base is what the project's own layers add. Exit status 1 when
# the own layers exceed IMAGE_OWN_LIMIT_MB (default 950, the target in README.md; 0 = no limit).
set -euo pipefail
image=${1:?usage: image-size.sh IMAGE [DOCKERFILE]}
dockerfile=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/Dockerfile}
limit_mb=${IMAGE_OWN_LIMIT_MB:-950}
base=$(awk 'toupper($1) == "FROM" { print $2; exit }' "$dockerfile")
[ -n "$base" ] || { echo "image-size: no FROM line in $dockerfile" >&2; exit 2; }
image_bytes=$(docker image inspect -f '{{.Size}}' "$image")
base_bytes=$(docker image inspect -f '{{.Size}}' "$base")
own_bytes=$((image_bytes - base_bytes))
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }
echo "image $image: $image_bytes bytes ($(mb "$image_bytes")); own layers $own_bytes bytes ($(mb "$own_bytes")) over the base $base ($(mb "$base_bytes"))"
printf '{"image": "%s", "image_bytes": %s, "base_image": "%s", "base_bytes": %s, "own_layers_bytes": %s, "own_layers_limit_mb": %s}\n' \
  "$image" "$image_bytes" "$base" "$base_bytes" "$own_bytes" "$limit_mb"
if [ "$limit_mb" != 0 ] && [ "$own_bytes" -gt $((limit_mb * 1000000)) ]; then
  echo "image-size: the own layers ($(mb "$own_bytes")) exceed IMAGE_OWN_LIMIT_MB=$limit_mb" >&2
  exit 1
fi
