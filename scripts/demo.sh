#!/usr/bin/env bash
# The README's main job: install what is needed, build, compile the example manifests into the Service
# ruleset, and program it with sluiced into a throw-away network namespace, then list what the kernel holds.
# (The virtual multi-node cluster demo replaces this when it lands.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
swift build -c release --product sluice
swift build -c release --product sluiced
bin=$(swift build -c release --show-bin-path)

echo "== sluice compile -f examples/ (what node-a would program)"
"$bin/sluice" compile -f examples/ --node-name node-a --cluster-cidr 10.244.0.0/16

if [ "$(id -u)" -ne 0 ]; then
    echo "(not root: skipping the kernel part; run as root to program a throw-away namespace with sluiced)"
    exit 0
fi
ns="sluice-demo-$$"
ip netns add "$ns"
trap 'ip netns delete "$ns"' EXIT
echo "== sluiced --once in network namespace $ns"
ip netns exec "$ns" "$bin/sluiced" --manifests examples/ --node-name node-a --cluster-cidr 10.244.0.0/16 --once
echo "== nft list table inet sluice (as the kernel holds it)"
ip netns exec "$ns" nft list table inet sluice
