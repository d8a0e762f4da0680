#!/usr/bin/env bash
# Promote Globepay changes: `all` runs dev -> staging -> prod, a single name promotes that
# environment (its pre-promotion checks still verify the environment before it).
# Extra arguments go to the invoke task unchanged, e.g. --yes --dry-run --report FILE.
# Exits with the task's exit code (0 ok, 1 config/render, 2 rolled back, 3 hook failed,
# 4 rollback failed, 5 locked, 130 interrupted).
set -euo pipefail

usage() {
    echo "usage: $0 all|dev|staging|prod [invoke flags...]" >&2
    echo "  e.g. $0 staging --report promotion-report.json" >&2
    exit 1
}

[[ $# -ge 1 ]] || usage
target=$1
shift

case "$target" in
    all) task=deploy-all ;;
    dev | staging | prod) task="deploy-$target" ;;
    -h | --help) usage ;;
    *)
        echo "error: unknown environment '$target'" >&2
        usage
        ;;
esac

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

if [[ -n "${INVOKE:-}" ]]; then
    invoke_cmd=$INVOKE
elif [[ -x .venv/bin/invoke ]]; then
    invoke_cmd=.venv/bin/invoke
else
    invoke_cmd=invoke
fi

echo "promote-changes: $invoke_cmd $task $*" >&2
exec "$invoke_cmd" "$task" "$@"
