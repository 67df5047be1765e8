#!/bin/sh
# The linker for `sluice-cni` only (Package.swift passes it to the Swift driver with `--ld-path`).
#
# A runtime execs the plugin for every pod and calls VERSION constantly, so start-up is paid on every call. The
# plugin is a fully static executable (`-static-executable`): no dynamic loader, no shared library to map or
# relocate (Benchmarks/README.md, "CNI"). Every library it needs has a static archive in Debian's -dev packages
# except libmnl: the CMnl module still asks for `-lmnl`, and Sources/CNIStaticLink defines the part of libmnl's API
# the plugin and libnftnl use. This wrapper drops that one library and passes everything else to gold unchanged.
set -eu
for arg in "$@"; do
    shift
    case "$arg" in
        -lmnl) ;;
        *) set -- "$@" "$arg" ;;
    esac
done
exec ld.gold "$@"
