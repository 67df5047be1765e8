#!/usr/bin/env bash
# The README's main job: install what is needed, build, and compile the example manifests into an nftables
# ruleset printed as nft text. (The virtual multi-node cluster demo replaces this when it lands.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
swift build -c release --product sluice
.build/release/sluice compile -f examples/
