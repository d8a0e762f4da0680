#!/bin/bash
# The naive promotion, as the reference point: per environment, `kubectl apply -k` the overlay,
# then `kubectl rollout status` for each Deployment it applied, one after the other.
# With BENCH_PRE_DEPLOY=1 (an overlay with a pre-deploy migration Job, labelled
# bench.globepay.dev/phase=pre-deploy), the Job is deleted, applied with its ConfigMap and
# waited for first, then the rest is applied. Nothing is checked first and nothing is pruned.
# Usage: baseline.sh PROJECT_ROOT  (BENCH_KUBECTL and BENCH_KUBECONFIG set by the runner)
set -euo pipefail
root=$1
phase=bench.globepay.dev/phase
for env in dev staging prod; do
  kubectl=("$BENCH_KUBECTL" --kubeconfig "$BENCH_KUBECONFIG" --context "globepay-$env"
           --namespace "globepay-$env")
  overlay=$root/k8s/overlays/$env
  echo "$env start $EPOCHREALTIME"
  select=()
  if [[ ${BENCH_PRE_DEPLOY:-} == 1 ]]; then
    "${kubectl[@]}" delete job -l "$phase=pre-deploy" --ignore-not-found --wait=true >/dev/null
    "${kubectl[@]}" apply -k "$overlay" -l "$phase=pre-deploy" >/dev/null
    "${kubectl[@]}" wait --for=condition=complete job -l "$phase=pre-deploy" --timeout=300s \
      >/dev/null
    select=(-l "$phase!=pre-deploy")
  fi
  for ref in $("${kubectl[@]}" apply -k "$overlay" "${select[@]}" -o name | grep '^deployment'); do
    "${kubectl[@]}" rollout status "$ref" --timeout=300s
  done
  echo "$env end $EPOCHREALTIME"
done
