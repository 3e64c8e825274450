#!/usr/bin/env bash
# Checks the Prometheus configs and alert rules with promtool, and runs the
# rules' unit tests. Needs Debian's prometheus package (deploy/stack.sh
# install brings it).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

passed=0
failed=0

# Runs "$@", counting it as test $1 (the rest is the command).
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name"
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
}

if ! command -v promtool >/dev/null; then
    echo "FAIL  promtool is not installed (run: bash deploy/stack.sh install)"
    echo "0 passed, 1 failed"
    exit 1
fi

for config in deploy/prometheus/prometheus.yml deploy/prometheus/prometheus.compose.yml; do
    check "promtool check config $config" promtool check config "$config"
done

for rules in deploy/prometheus/rules/*.yml; do
    check "promtool check rules $rules" promtool check rules "$rules"
done

shopt -s nullglob
tests=(deploy/prometheus/rules/tests/*.test.yml)
if ((${#tests[@]} == 0)); then
    failed=$((failed + 1))
    echo "FAIL  no rule unit tests in deploy/prometheus/rules/tests/"
fi
for test in "${tests[@]}"; do
    check "promtool test rules $test" promtool test rules "$test"
done

echo "$passed passed, $failed failed"
((failed == 0))
