#ifndef SLUICE_CNI_STATIC_LINK_H
#define SLUICE_CNI_STATIC_LINK_H
/*
 * What a fully static `sluice-cni` needs beyond the archives Debian ships, linked into that executable only.
 *
 * A runtime execs the plugin for every pod and calls VERSION constantly; without a dynamic loader an exec costs
 * about half (Benchmarks/README.md, "CNI"). Two things stand in the way of `-static-executable`:
 *
 * - Debian ships libmnl as a shared library only. mnl.c is Sluice's own implementation of the part of libmnl's
 *   API that libnftnl and NFTablesNetlink call; the declarations are libmnl's header from libmnl-dev, so the
 *   contract is its documented API.
 * - glibc's name service and dynamic loading need shared libraries at run time even in a static binary, and the
 *   linker warns wherever they are referenced. no_dynamic.c defines the few that libnl's archive and the Swift
 *   runtime reference but the plugin never calls, so those parts of glibc stay out of the link.
 */
#include <libmnl/libmnl.h>

#endif
