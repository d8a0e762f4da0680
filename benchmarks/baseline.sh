#!/bin/bash
# The naive promotion, as the reference point: per environment, `kubectl apply -k` the overlay,
# then `kubectl rollout status` for each Deployment it applied, one after the other.
# Usage: baseline.sh PROJECT_ROOT  (BENCH_KUBECTL and BENCH_KUBECONFIG set by the runner)
set -euo pipefail
root=$1
for env in dev staging prod; do
  kubectl=("$BENCH_KUBECTL" --kubeconfig "$BENCH_KUBECONFIG" --context "globepay-$env"
           --namespace "globepay-$env")
  echo "$env start $EPOCHREALTIME"
  for ref in $("${kubectl[@]}" apply -k "$root/k8s/overlays/$env" -o name | grep '^deployment'); do
    "${kubectl[@]}" rollout status "$ref" --timeout=300s
  done
  echo "$env end $EPOCHREALTIME"
done
