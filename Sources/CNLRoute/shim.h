#ifndef SLUICE_CNLROUTE_SHIM_H
#define SLUICE_CNLROUTE_SHIM_H
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/neighbour.h>
#include <linux/veth.h>
#include <linux/neighbour.h>

/// `NLMSG_ERROR` payload's errno, for the error callback: Swift cannot reach into `struct nlmsgerr` portably
/// through libnl's opaque message types, but it can call this.
static inline int sluice_nlmsgerr_errno(const struct nlmsgerr *error) { return -error->error; }
#endif
