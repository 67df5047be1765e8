#ifndef SLUICE_CNAMESPACECALLS_SHIM_H
#define SLUICE_CNAMESPACECALLS_SHIM_H
/*
 * glibc declares setns(2) and unshare(2) in <sched.h> only under _GNU_SOURCE, which the Swift Glibc module is not
 * built with. Declaring them here (the signatures are the kernel's and glibc's since 2.14) lets NetNamespace call
 * them directly: no symbol lookup at run time, and a static `sluice-cni` needs no dynamic loader for them.
 */
extern int setns(int fd, int nstype);
extern int unshare(int flags);
#endif
