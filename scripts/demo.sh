#!/usr/bin/env bash
# A first look at Globepay promotion, against a local simulated cluster (`make demo`).
#   1. start the sandbox cluster (state in .sandbox/, stopped again on exit whatever happens)
#   2. promote dev -> staging -> prod: must succeed
#   3. promote a broken backend image: dev's rollout fails, the run rolls dev back, stops the
#      chain before staging and exits 2
#   4. show the status of every environment
# Exits 0 only if every step behaved as described.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -n "${INVOKE:-}" ]]; then
    invoke_cmd=$INVOKE
elif [[ -x .venv/bin/invoke ]]; then
    invoke_cmd=.venv/bin/invoke
else
    invoke_cmd=invoke
fi

ROLLOUT_SECONDS=${DEMO_ROLLOUT_SECONDS:-4}
TIME_SCALE=${DEMO_TIME_SCALE:-8}
BROKEN_IMAGE=registry.globepay.dev/globepay/backend:1.6.0-broken
SANDBOX_CONFIG=.sandbox/invoke.yaml

step() {
    printf '\n==> %s\n' "$*"
}

sandbox() {
    "$invoke_cmd" -f "$SANDBOX_CONFIG" "$@"
}

stop_sandbox() {
    local rc=$?
    trap - EXIT
    step "Stopping the sandbox cluster"
    "$invoke_cmd" sandbox.down || echo "warning: 'invoke sandbox.down' failed" >&2
    exit "$rc"
}
trap stop_sandbox EXIT
trap 'exit 130' INT TERM

step "Starting a sandbox cluster (rollouts take ${ROLLOUT_SECONDS}s, clock ${TIME_SCALE}x)"
"$invoke_cmd" sandbox.up --rollout-seconds "$ROLLOUT_SECONDS" --time-scale "$TIME_SCALE"

step "Promoting dev -> staging -> prod with the images pinned in k8s/overlays"
if ! sandbox deploy-all --yes; then
    echo "demo: the promotion of the pinned images failed; it should have succeeded" >&2
    exit 1
fi
echo "demo: all three environments were promoted"

step "Promoting a broken backend image ($BROKEN_IMAGE); this must fail"
rc=0
sandbox deploy-all --yes --image "backend=$BROKEN_IMAGE" || rc=$?
if [[ $rc -eq 2 ]]; then
    echo "demo: exit code 2: the broken promotion was stopped and rolled back, as expected;"
    echo "      staging and prod were not touched"
else
    echo "demo: expected exit code 2 (rollout failed, rolled back), got $rc" >&2
    exit 1
fi

step "Status of every environment after the rollback"
sandbox status

step "Demo finished in ${SECONDS}s: every step behaved as expected"
