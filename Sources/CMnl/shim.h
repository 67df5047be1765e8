#ifndef SLUICE_CMNL_SHIM_H
#define SLUICE_CMNL_SHIM_H
#include <stdint.h>
#include <netinet/in.h>
#include <errno.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

/// The netlink error payload of an NLMSG_ERROR message (a macro-free accessor for Swift).
static inline int sluice_nlmsg_error_code(const struct nlmsghdr *nlh) {
    const struct nlmsgerr *err = (const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh);
    return err->error;
}
#endif
