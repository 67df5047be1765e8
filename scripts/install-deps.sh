#!/usr/bin/env bash
# Installs the Debian packages that building and testing Sluice need. Safe to run again: when everything is
# already installed it changes nothing and needs no network.
set -euo pipefail

# The one list of system packages. Add a package here when a target or a test needs a new library or tool.
packages=(
    # C libraries behind the *Netlink targets (found through pkg-config).
    libnftnl-dev libmnl-dev libnl-3-dev libnl-route-3-dev pkg-config
    # Tools the privileged tests drive inside their network namespaces.
    nftables iproute2 conntrack iputils-ping
    # The benchmark loads kube-proxy's iptables-mode layout with iptables-restore (Benchmarks/README.md).
    iptables
    # Container runtimes that drive sluice-cni in Tests/CNIRuntimeTests (podman's CNI backend, containerd's ctr),
    # the OCI runtime they use, busybox as the image, and the reference CNI plugins for side-by-side timings.
    podman containerd runc busybox-static containernetworking-plugins
    # The test API server's CA and certificates are made at test time with the openssl tool (KubeClientTests).
    openssl
    # IPVS tests boot a VM with Debian's kernel (this kernel has no IPVS): qemu, the kernel and its modules, the
    # initramfs tools of scripts/run-in-vm.sh, ipvsadm to cross-check, strip to slim the test binary
    # (Tests/IPVSKernelTests, docs/ipvs.md).
    qemu-system-x86 linux-image-amd64 cpio kmod ipvsadm binutils
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: not root and no sudo; as root, run:" >&2
    echo "    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
