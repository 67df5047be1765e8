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

/* ctnetlink (conntrack over netlink), used by ConntrackNetlink. */
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>

/// Starts a ctnetlink request in `buf`: the netlink header (type `NFNL_SUBSYS_CTNETLINK << 8 | command`) followed
/// by the `nfgenmsg` naming the address family, so Swift needs neither the struct layout nor the macros.
static inline struct nlmsghdr *sluice_ctnetlink_put_header(
    void *buf, uint8_t command, uint16_t flags, uint32_t seq, uint8_t family) {
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | command;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    struct nfgenmsg *nfg = (struct nfgenmsg *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    return nlh;
}

/// The address family of a ctnetlink message (its `nfgenmsg`).
static inline uint8_t sluice_ctnetlink_family(const struct nlmsghdr *nlh) {
    const struct nfgenmsg *nfg = (const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh);
    return nfg->nfgen_family;
}

#endif
