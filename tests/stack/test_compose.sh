#!/usr/bin/env bash
# Checks docker-compose.yml without a Docker engine: it is valid, it refuses
# to start without its passwords, and every file it mounts exists.
# Needs Debian's docker-compose (deploy/stack.sh install brings it).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok    $1"; }
fail() { failed=$((failed + 1)); echo "FAIL  $1"; }

# Dummy values: the real ones live outside the repo.
with_passwords() {
    HEARWATCH_CLICKHOUSE_PASSWORD=dummy HEARWATCH_ANALYST_PASSWORD=dummy \
        GRAFANA_ADMIN_PASSWORD=dummy "$@"
}

if ! command -v docker-compose >/dev/null; then
    fail "docker-compose is not installed (run: bash deploy/stack.sh install)"
    echo "$passed passed, $failed failed"
    exit 1
fi

if out=$(with_passwords docker-compose -f docker-compose.yml config -q 2>&1); then
    pass "docker-compose config -q accepts docker-compose.yml"
else
    fail "docker-compose config -q rejects docker-compose.yml: $out"
fi

if env -u HEARWATCH_CLICKHOUSE_PASSWORD -u HEARWATCH_ANALYST_PASSWORD -u GRAFANA_ADMIN_PASSWORD \
    docker-compose -f docker-compose.yml config -q >/dev/null 2>&1; then
    fail "docker-compose.yml is valid without passwords (they must be required)"
else
    pass "docker-compose.yml requires its passwords from the environment"
fi

# Every bind-mounted path exists in the repo (config does not check that).
# /usr/bin/python3 is the one docker-compose itself runs on, so has PyYAML.
if missing=$(with_passwords docker-compose -f docker-compose.yml config 2>/dev/null |
    /usr/bin/python3 -c '
import os, sys, yaml
config = yaml.safe_load(sys.stdin)
for name, service in config["services"].items():
    for volume in service.get("volumes", []):
        source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
        if source.startswith("/") and not os.path.exists(source):
            print(f"{name}: {source}")
'); then
    if [[ -z $missing ]]; then
        pass "every file mounted by docker-compose.yml exists"
    else
        fail "docker-compose.yml mounts missing paths: $missing"
    fi
else
    fail "could not read the output of docker-compose config"
fi

echo "$passed passed, $failed failed"
((failed == 0))
