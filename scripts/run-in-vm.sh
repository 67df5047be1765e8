#!/bin/bash
# Vendored from the build machines' ../shared/tools/run-in-vm.sh so CI's fresh clone has it (Tests/IPVSKernelTests).
# run-in-vm.sh - run an executable as root inside a throw-away qemu VM that
# boots Debian's stock kernel with the IPVS modules loaded.
#
# usage: run-in-vm.sh [-m MODULE]... [-f PATH]... [-e VAR=VALUE]... [-t SECS] [--] EXE [ARGS...]
#   -m MODULE   load an extra kernel module at boot (deps/softdeps/options via host kmod
#               `modprobe -D`), e.g. -m dummy, -m veth
#   -f PATH     also bake PATH (file or directory) into the VM at the same absolute path
#   -e VAR=VAL  set an environment variable for EXE
#   -t SECS     wall-clock limit for the whole VM (default 300); exit 124 when hit
#
# EXE (plus every shared library `ldd` reports) is baked into an initramfs
# together with busybox and the modules; /init loads the modules, brings up lo,
# runs EXE with stdin=/dev/null and stdout+stderr streamed to this script's
# stdout (via a second serial port), then powers off. The script exits with
# EXE's exit code. The VM has no network device.
#
# env: KVER (default: newest /lib/modules/* with ip_vs.ko), VMLINUZ
#      (default /boot/vmlinuz-$KVER), VM_MEM (default 512M), VM_CPUS (default 1),
#      IPVS_MODULES (default "ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh"; all other ip_vs_*
#      schedulers are in the VM too and autoload on first use),
#      VM_ACCEL (kvm|tcg, default: kvm only if kvm_intel/kvm_amd is loaded),
#      VM_CACHE (where the extracted vmlinux is cached, default ~/.cache/run-in-vm),
#      VM_NO_PVH=1 (boot the compressed vmlinuz instead, ~2.3 s slower),
#      VM_APPEND (extra kernel args), VM_QEMU_ARGS (extra qemu args, word-split),
#      VM_VERBOSE=1 (guest console / kernel log to stderr), VM_KEEP=1 (keep work dir).
#
# The current directory is recreated (empty) in the VM; add test data with -f.
set -euo pipefail

die() { echo "run-in-vm: $*" >&2; exit 125; }

extra_mods=() extra_paths=() envs=() timeout_s=300
while [ $# -gt 0 ]; do
  case "$1" in
    -m) extra_mods+=("$2"); shift 2 ;;
    -f) extra_paths+=("$2"); shift 2 ;;
    -e) envs+=("$2"); shift 2 ;;
    -t) timeout_s="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' ; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "usage: $0 [-m MOD] [-f PATH] [-e VAR=VAL] [-t SECS] [--] EXE [ARGS...]"

exe_in="$1"; shift
if [[ "$exe_in" != */* ]]; then exe_in="$(command -v "$exe_in")" || die "not found: $1"; fi
[ -x "$exe_in" ] && [ -f "$exe_in" ] || die "not an executable file: $exe_in"

if [ -z "${KVER:-}" ]; then
  KVER=$(ls -d /lib/modules/*/kernel/net/netfilter/ipvs/ip_vs.ko* 2>/dev/null \
         | sed 's#^/lib/modules/\([^/]*\)/.*#\1#' | sort -V | tail -1)
  [ -n "$KVER" ] || die "no kernel with ip_vs.ko under /lib/modules (apt-get install linux-image-amd64)"
fi
moddir=/lib/modules/$KVER
VMLINUZ=${VMLINUZ:-/boot/vmlinuz-$KVER}
[ -r "$VMLINUZ" ] || die "kernel image not readable: $VMLINUZ"
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || die "need a static busybox (apt-get install busybox-static)"
command -v qemu-system-x86_64 >/dev/null || die "need qemu-system-x86"
command -v cpio >/dev/null || die "need cpio"

work=$(mktemp -d "${TMPDIR:-/tmp}/run-in-vm.XXXXXX")
cleanup() { [ "${VM_KEEP:-0}" = 1 ] && echo "run-in-vm: kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT
root=$work/root
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,dev,proc,sys,tmp,run,etc,root,mnt}
ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/usr/bin/busybox"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"

# copy a host path to the same (symlink-resolved directory) path in the VM
put() {
  local src="$1" d
  d=$(realpath -m "$(dirname "$src")")
  mkdir -p "$root$d"
  cp -a -L "$src" "$root$d/$(basename "$src")"
}

# executable + its shared libs (static binaries: ldd fails, that's fine)
exe=$(realpath -s "$(cd "$(dirname "$exe_in")" && pwd)/$(basename "$exe_in")")
libs_of() { # shared libs + loader of an ELF (nothing for static binaries / scripts)
  ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld[^ ]*\.so/{print $1}'
}
put "$exe"
for lib in $(libs_of "$exe"); do put "$lib"; done
for p in ${extra_paths[@]+"${extra_paths[@]}"}; do
  [ -e "$p" ] || die "no such path: $p"
  ap=$(realpath -m "$p"); mkdir -p "$root$(dirname "$ap")"; cp -a -L "$p" "$root$(dirname "$ap")/"
  while IFS= read -r f; do
    for lib in $(libs_of "$f"); do put "$lib"; done
  done < <(find -L "$p" -type f -perm -u+x)
done

# modules: every IPVS module (+deps, +softdeps) goes into /lib/modules/$KVER of the
# VM with a fresh depmod, so the kernel can autoload e.g. ip_vs_wlc via busybox
# modprobe; the ones in IPVS_MODULES / -m are insmod'ed at boot in kmod's order.
command -v modprobe >/dev/null && command -v depmod >/dev/null || die "need kmod (modprobe, depmod)"
boot_mods=(${IPVS_MODULES:-ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh} ${extra_mods[@]+"${extra_mods[@]}"})
all_mods=("${boot_mods[@]}")
for f in "$moddir"/kernel/net/netfilter/ipvs/*.ko*; do b=$(basename "$f"); all_mods+=("${b%%.ko*}"); done
kolines() { modprobe -D -S "$KVER" "$1" 2>/dev/null | sed -n 's/^insmod //p'; }  # "path [options]"
declare -A seen=()
: > "$root/modules.list"
for m in "${all_mods[@]}"; do
  out=$(modprobe -D -S "$KVER" "$m" 2>&1) || die "module $m: $out"
  while read -r f _; do
    [ -n "${seen[$f]:-}" ] && continue
    seen[$f]=1
    mkdir -p "$root$(dirname "$f")"
    cp "$f" "$root$f"
  done < <(kolines "$m")
done
for m in "${boot_mods[@]}"; do
  while read -r line; do
    grep -qxF "$line" "$root/modules.list" || echo "$line" >> "$root/modules.list"
  done < <(kolines "$m")
  echo "=${m//-/_}" >> "$root/modules.list"   # marker: check this one is loaded
done
cp "$moddir"/modules.order "$moddir"/modules.builtin* "$root$moddir/" 2>/dev/null || true
depmod -b "$root" "$KVER"

# the command, with POSIX single-quoting
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
  echo "cd $(q "$PWD") 2>/dev/null || cd /"
  for e in ${envs[@]+"${envs[@]}"}; do echo "export $(q "$e")"; done
  printf 'exec %s' "$(q "$exe")"
  for a in "$@"; do printf ' %s' "$(q "$a")"; done
  echo
} > "$root/cmd.sh"
mkdir -p "$root$PWD"

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
[ -d /sys/fs/cgroup ] && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
while read -r m; do
  case "$m" in
    =*) [ -d "/sys/module/${m#=}" ] || echo "RUN-IN-VM: module ${m#=} failed to load" >/dev/console ;;
    *)  insmod $m 2>/dev/null ;;   # failures of optional ones (crc32c-intel w/o SSE4.2) are fine
  esac
done < /modules.list
ip link set lo up
echo "RUN-IN-VM-START" >/dev/console
( exec </dev/null >/dev/ttyS1 2>&1; stty -F /dev/ttyS1 raw -echo; exec sh /cmd.sh )
rc=$?
echo "RUN-IN-VM-EXIT=$rc" >/dev/console
poweroff -f
EOF
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet -R 0:0) > "$work/initrd.cpio"

# accelerator: KVM only with hardware virtualization (kvm_intel/kvm_amd); other KVM
# flavours (e.g. kvm_pvm inside a Firecracker VM) run a stock guest far slower than TCG
accel=${VM_ACCEL:-}
if [ -z "$accel" ]; then
  if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then accel=kvm; else accel=tcg; fi
fi
case "$accel" in
  kvm) accel_args=(-accel kvm -cpu host) ;;
  *)   accel_args=(-accel tcg -cpu max) ;;
esac

# Boot the uncompressed vmlinux via PVH when possible: skips the xz decompressor,
# which under TCG costs ~2.3 s. Extracted once per kernel and cached.
kernel="$VMLINUZ"
if [ -z "${VM_NO_PVH:-}" ]; then
  cache=${VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/run-in-vm}
  vmlinux="$cache/vmlinux-$KVER"
  if [ ! -s "$vmlinux" ]; then
    mkdir -p "$cache"
    python3 - "$VMLINUZ" "$vmlinux.tmp.$$" <<'PY' && mv "$vmlinux.tmp.$$" "$vmlinux" || rm -f "$vmlinux.tmp.$$"
import sys, lzma, zlib, subprocess
d = open(sys.argv[1], 'rb').read()
def ok(b): return b[:4] == b'\x7fELF'
for magic, dec in ((b'\xfd7zXZ\x00', lambda x: lzma.LZMADecompressor().decompress(x)),
                   (b'\x28\xb5\x2f\xfd', lambda x: subprocess.run(['zstd', '-dcq'], input=x, capture_output=True).stdout),
                   (b'\x1f\x8b\x08', lambda x: zlib.decompressobj(31).decompress(x))):
    i = d.find(magic)
    while i >= 0:
        try:
            out = dec(d[i:])
            if ok(out):
                open(sys.argv[2], 'wb').write(out); sys.exit(0)
        except Exception:
            pass
        i = d.find(magic, i + 1)
sys.exit(1)
PY
  fi
  [ -s "$vmlinux" ] && kernel="$vmlinux"
fi

exec 3>&1
set +e
timeout -k 5 "$timeout_s" qemu-system-x86_64 "${accel_args[@]}" \
  -m "${VM_MEM:-512M}" -smp "${VM_CPUS:-1}" \
  -nodefaults -no-user-config -display none -no-reboot -nic none \
  -kernel "$kernel" -initrd "$work/initrd.cpio" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 oops=panic rdinit=/init mitigations=off nokaslr audit=0 ${VM_APPEND:-}" \
  -chardev file,id=con,path="$work/console.log" -serial chardev:con \
  -chardev stdio,id=out,signal=off -serial chardev:out \
  -monitor none ${VM_QEMU_ARGS:-} </dev/null >&3 2>"$work/qemu.log"
qrc=$?
set -e
exec 3>&-

console=$(tr -d '\r' < "$work/console.log" 2>/dev/null || true)
if [ "${VM_VERBOSE:-0}" = 1 ]; then
  { echo "---- qemu ($accel) ----"; cat "$work/qemu.log"; echo "---- guest console ----"; echo "$console"; } >&2
fi
rc=$(printf '%s\n' "$console" | sed -n 's/^RUN-IN-VM-EXIT=\([0-9]*\)$/\1/p' | tail -1)
if [ -z "$rc" ]; then
  { echo "run-in-vm: no exit code from VM (qemu rc=$qrc; 124 = timeout)"
    [ "${VM_VERBOSE:-0}" = 1 ] || { cat "$work/qemu.log"; echo "$console" | tail -50; }; } >&2
  [ "$qrc" = 124 ] && exit 124
  exit 125
fi
printf '%s\n' "$console" | grep '^RUN-IN-VM: ' >&2 || true
if [ "${VM_VERBOSE:-0}" != 1 ] && printf '%s\n' "$console" | grep -qE 'BUG:|WARNING:|Oops|Call Trace|general protection'; then
  { echo "run-in-vm: kernel reported problems:"; printf '%s\n' "$console"; } >&2
fi
exit "$rc"
