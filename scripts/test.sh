#!/usr/bin/env bash
# The project's test command (CI runs it through .ci/run): system packages, build with tests (no compiler
# warnings in our code), lint, then the whole test suite. Exits non-zero when any step fails.
#
# Set SLUICE_SCRATCH_PATH to build in a scratch directory of your own instead of .build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

scratch=()
if [ -n "${SLUICE_SCRATCH_PATH:-}" ]; then
    scratch=(--scratch-path "$SLUICE_SCRATCH_PATH")
fi
skip_reason="needs root (CI runs as root)"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

if [ "$(id -u)" -eq 0 ]; then
    echo "running as root: privileged tests enabled"
else
    echo "WARNING: not running as root: privileged tests (network namespaces) will be skipped" >&2
fi

# Test namespaces are named sl-<label>-<pid>-<random>; one whose creator is no longer running was leaked.
# Only those are touched: a namespace of a test run still in progress (another terminal) is left alone.
stale_test_namespaces() {
    [ "$(id -u)" -eq 0 ] || return 0
    ip netns list 2>/dev/null | awk '{print $1}' | while read -r name; do
        [[ "$name" =~ ^sl-.*-([0-9]+)-[0-9a-f]+$ ]] || continue
        [ -d "/proc/${BASH_REMATCH[1]}" ] || echo "$name"
    done
}
delete_namespaces() {
    local name
    for name in "$@"; do
        ip netns delete "$name" || true
    done
}

mapfile -t stale < <(stale_test_namespaces)
if [ ${#stale[@]} -gt 0 ]; then
    echo "removing ${#stale[@]} test namespaces leaked by an earlier run: ${stale[*]}"
    delete_namespaces "${stale[@]}"
fi

echo "== build"
swift build --build-tests "${scratch[@]}" 2>&1 | tee "$logs/build"
# Our code must compile without warnings; dependencies' warnings are not ours to fix. (Only files compiled in
# this build report warnings: CI's fresh clone compiles them all.)
grep -E "^$PWD/(Sources|Tests)/[^:]+:[0-9]+:[0-9]+: warning:" "$logs/build" | sort -u >"$logs/warnings" || true
if [ -s "$logs/warnings" ]; then
    echo "error: compiler warnings in Sources/ or Tests/:" >&2
    cat "$logs/warnings" >&2
    exit 1
fi

echo "== lint"
swift format lint --strict --recursive Sources Tests Package.swift Benchmarks

echo "== test"
status=0
swift test "${scratch[@]}" --skip KubeClientTests 2>&1 | tee "$logs/test" || status=$?
# The API client's tests time watches and reconnects on Swift concurrency's thread pool; with every other suite
# running beside them (many block their threads on sockets and processes) two cores starve that pool, so they run
# on their own afterwards.
swift test "${scratch[@]}" --skip-build --filter KubeClientTests 2>&1 | tee -a "$logs/test" || status=$?

# The benchmark harness's smoke run, so it never rots (figures come from full runs, see Benchmarks/README.md).
if [ "$(id -u)" -eq 0 ]; then
    echo "== benchmark smoke run"
    bin=$(swift build "${scratch[@]}" --show-bin-path)
    "$bin/sluice-bench" --quick --output "$logs/bench" || status=1
    "$bin/sluice-bench" policies --quick --output "$logs/bench" || status=1
    "$bin/sluice-bench" routing --quick --output "$logs/bench" || status=1
    "$bin/sluice-bench" cni --quick --output "$logs/bench" || status=1
    "$bin/sluice-bench" overlay --quick --output "$logs/bench" || status=1
    # IPVS mode vs nftables mode, in a VM with IPVS (this kernel has none): one boot.
    "$bin/sluice-bench" ipvs --quick --output "$logs/bench" || status=1
    # The README's main job as a test: three nodes, every expected cell of the connectivity matrix must match.
    echo "== sluice demo (3 nodes, VXLAN)"
    "$bin/sluice" demo --nodes 3 2>&1 | tee "$logs/demo" || status=1
    if ip netns list | grep -q '^sl-demo-'; then
        echo "error: sluice demo left namespaces behind" >&2
        "$bin/sluice" demo --teardown || true
        status=1
    fi
fi

skipped=$(grep -c "$skip_reason" "$logs/test" || true)
if [ "$(id -u)" -eq 0 ]; then
    echo "privileged tests ran as root ($skipped skipped for lack of root)"
else
    echo "WARNING: privileged tests did NOT run: $skipped tests/suites skipped (\"$skip_reason\"); CI runs them" >&2
fi

mapfile -t leaked < <(stale_test_namespaces)
if [ ${#leaked[@]} -gt 0 ]; then
    echo "error: the tests leaked ${#leaked[@]} network namespaces (now removed): ${leaked[*]}" >&2
    delete_namespaces "${leaked[@]}"
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"
