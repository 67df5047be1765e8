#!/usr/bin/env bash
# The README's main job: install what is needed, build, and run `sluice demo` — a virtual multi-node cluster in
# network namespaces (real sluiced on every node, pods through the real sluice-cni, the example manifests
# applied) with its connectivity matrix checked against the NetworkPolicies. Exits non-zero when any connection
# did not behave as expected. Extra arguments go to `sluice demo` (e.g. --nodes 3, --overlay host-gw, --keep).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/demo.sh needs root: it installs packages and the demo creates network namespaces (try: sudo $0)" >&2
    exit 77
fi
bash scripts/install-deps.sh
for product in sluice sluiced sluice-cni; do
    swift build -c release --product "$product"
done
bin=$(swift build -c release --show-bin-path)
"$bin/sluice" demo "$@"
