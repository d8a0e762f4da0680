#!/usr/bin/env bash
# Build the integration tests' image (tests/integration/image) once per name:tag listed in
# tests/integration/images.txt and push each to REGISTRY, the GLOBEPAY_TEST_REGISTRY the tests
# then run with (docs/testing.md). Needs docker and a registry the cluster can pull from:
#   scripts/test-images.sh kind-registry:5000/globepay
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

registry=${1:?usage: scripts/test-images.sh REGISTRY (e.g. kind-registry:5000/globepay)}
registry=${registry%/}

sed -e 's/#.*//' -e 's/[[:space:]]//g' tests/integration/images.txt | while read -r image; do
    [[ -n $image ]] || continue
    echo "test-images: $registry/$image"
    docker build --quiet --build-arg "VERSION=$image" --tag "$registry/$image" \
        tests/integration/image >/dev/null
    docker push --quiet "$registry/$image" >/dev/null
done
