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

# An alert without a firing case may never fire, one without a quiet case may
# never stop, and one without its annotations leaves the operator guessing.
# /usr/bin/python3 is the one Debian's docker-compose runs on, so has PyYAML.
check "every alert has summary, description, a firing and a quiet test case" \
    /usr/bin/python3 - deploy/prometheus/rules/*.yml -- "${tests[@]}" <<'PY'
import sys, yaml
args = sys.argv[1:]
rule_files, test_files = args[:args.index("--")], args[args.index("--") + 1:]
alerts, problems = [], []
for path in rule_files:
    for group in yaml.safe_load(open(path))["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                alerts.append(rule["alert"])
                for key in ("summary", "description"):
                    if not rule.get("annotations", {}).get(key, "").strip():
                        problems.append(f"{rule['alert']}: no {key} annotation")
firing, quiet = set(), set()
for path in test_files:
    for test in yaml.safe_load(open(path)).get("tests", []):
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
for alert in alerts:
    if alert not in firing:
        problems.append(f"{alert}: no test case where it fires")
    if alert not in quiet:
        problems.append(f"{alert}: no test case where it stays quiet")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY

echo "$passed passed, $failed failed"
((failed == 0))
