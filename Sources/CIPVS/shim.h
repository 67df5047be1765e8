#ifndef SLUICE_CIPVS_SHIM_H
#define SLUICE_CIPVS_SHIM_H
/* Generic netlink and the kernel's IPVS interface (IPVS_CMD_*, IPVS_SVC_ATTR_*, IPVS_DEST_ATTR_*), over libmnl.
   Used only by the IPVSNetlink target. */
#include <stdint.h>
#include <errno.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <libmnl/libmnl.h>
#endif
