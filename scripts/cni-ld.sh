#!/bin/sh
# The linker for `sluice-cni` only (Package.swift passes it to the Swift driver with `--ld-path`).
#
# A runtime execs the plugin for every pod and calls VERSION constantly, so start-up is paid on every call and
# was half of an ADD's CPU time. This wrapper changes three things in the link the Swift driver asks for and
# passes everything else through to gold unchanged (each measured with callgrind and `perf stat`; see
# Benchmarks/README.md, "CNI"):
#
# - libstdc++ (the Swift runtime's C++ dependency), libnl-route-3, libnl-3 and libnftnl come from their static
#   archives (Debian's -dev packages ship them): loading and initialising them cost ~0.9 ms of CPU per exec.
#   libgcc_s is replaced by its static part, libgcc_eh (another ~0.08 ms). libmnl stays shared: Debian ships no
#   libmnl.a; libm and libc too (glibc's static libm needs its static libc).
# - A position-dependent executable (no `-pie`, the non-PIE start files): the dynamic loader no longer applies
#   ~25,000 relative relocations to the 15 MB image on every start. The reference plugins, built with Go, are
#   position-dependent too; shared libraries, the stack and the heap are still randomised.
# - No `-export-dynamic`: nothing resolves symbols of the plugin at run time, and exporting them all turns
#   internal references into symbol lookups at start-up.
# - No `-rpath=$ORIGIN`: the plugin loads no library from its own directory, and the loader probed ~10 paths
#   there (glibc-hwcaps, tls, ...) for each library on every start.
set -eu
for arg in "$@"; do
    shift
    case "$arg" in
        -lstdc++ | -lnl-route-3 | -lnl-3 | -lnftnl) set -- "$@" -Bstatic "$arg" -Bdynamic ;;
        -pie | -export-dynamic | -rpath=*) ;;
        -lgcc_s) set -- "$@" -lgcc_eh ;;
        */Scrt1.o) set -- "$@" "${arg%Scrt1.o}crt1.o" ;;
        */crtbeginS.o) set -- "$@" "${arg%crtbeginS.o}crtbegin.o" ;;
        */crtendS.o) set -- "$@" "${arg%crtendS.o}crtend.o" ;;
        *) set -- "$@" "$arg" ;;
    esac
done
exec ld.gold "$@"
