/*
 * The libmnl API subset `sluice-cni` needs, written for Sluice (see include/CNIStaticLink.h for why).
 *
 * Semantics follow libmnl's documentation: messages and attributes are 4-byte aligned, callbacks return
 * MNL_CB_ERROR (-1), MNL_CB_STOP (0) or MNL_CB_OK (1), failures return -1 or NULL with errno set.
 */
#include "CNIStaticLink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* ---- sockets ---------------------------------------------------------------------------------------------- */

struct mnl_socket {
    int fd;
    struct sockaddr_nl local;
};

struct mnl_socket *mnl_socket_open(int bus) {
    struct mnl_socket *nl = calloc(1, sizeof(*nl));
    if (nl == NULL) return NULL;
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus);
    if (nl->fd < 0) {
        int saved = errno;
        free(nl);
        errno = saved;
        return NULL;
    }
    return nl;
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid) {
    struct sockaddr_nl want = {.nl_family = AF_NETLINK, .nl_groups = groups, .nl_pid = (__u32)pid};
    if (bind(nl->fd, (struct sockaddr *)&want, sizeof(want)) < 0) return -1;
    socklen_t length = sizeof(nl->local);
    if (getsockname(nl->fd, (struct sockaddr *)&nl->local, &length) < 0) return -1;
    if (length != sizeof(nl->local) || nl->local.nl_family != AF_NETLINK) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int mnl_socket_close(struct mnl_socket *nl) {
    int result = close(nl->fd);
    free(nl);
    return result;
}

int mnl_socket_get_fd(const struct mnl_socket *nl) { return nl->fd; }

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl) { return nl->local.nl_pid; }

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req, size_t siz) {
    static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    return sendto(nl->fd, req, siz, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
}

ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz) {
    struct sockaddr_nl from;
    struct iovec vector = {.iov_base = buf, .iov_len = siz};
    struct msghdr message = {
        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &vector, .msg_iovlen = 1,
    };
    ssize_t received = recvmsg(nl->fd, &message, 0);
    if (received < 0) return received;
    if (message.msg_flags & MSG_TRUNC) {
        /* The reply did not fit: the caller's buffer is too small, and the rest of the datagram is gone. */
        errno = ENOSPC;
        return -1;
    }
    if (message.msg_namelen != sizeof(from)) {
        errno = EINVAL;
        return -1;
    }
    return received;
}

int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t len) {
    return setsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

/* ---- messages --------------------------------------------------------------------------------------------- */

static inline char *message_tail(const struct nlmsghdr *nlh) {
    return (char *)nlh + MNL_ALIGN(nlh->nlmsg_len);
}

size_t mnl_nlmsg_size(size_t len) { return len + MNL_NLMSG_HDRLEN; }

size_t mnl_nlmsg_get_payload_len(const struct nlmsghdr *nlh) { return nlh->nlmsg_len - MNL_NLMSG_HDRLEN; }

struct nlmsghdr *mnl_nlmsg_put_header(void *buf) {
    memset(buf, 0, MNL_NLMSG_HDRLEN);
    struct nlmsghdr *nlh = buf;
    nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
    return nlh;
}

void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size) {
    char *start = (char *)nlh + nlh->nlmsg_len;
    size_t padded = MNL_ALIGN(size);
    memset(start, 0, padded);
    nlh->nlmsg_len += (__u32)padded;
    return start;
}

void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh) { return (char *)nlh + MNL_NLMSG_HDRLEN; }

void *mnl_nlmsg_get_payload_offset(const struct nlmsghdr *nlh, size_t offset) {
    return (char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(offset);
}

void *mnl_nlmsg_get_payload_tail(const struct nlmsghdr *nlh) { return message_tail(nlh); }

bool mnl_nlmsg_ok(const struct nlmsghdr *nlh, int len) {
    return len >= (int)sizeof(struct nlmsghdr) && nlh->nlmsg_len >= sizeof(struct nlmsghdr) &&
           (int)nlh->nlmsg_len <= len;
}

struct nlmsghdr *mnl_nlmsg_next(const struct nlmsghdr *nlh, int *len) {
    *len -= (int)MNL_ALIGN(nlh->nlmsg_len);
    return (struct nlmsghdr *)message_tail(nlh);
}

bool mnl_nlmsg_seq_ok(const struct nlmsghdr *nlh, unsigned int seq) {
    return nlh->nlmsg_seq == 0 || seq == 0 || nlh->nlmsg_seq == seq;
}

bool mnl_nlmsg_portid_ok(const struct nlmsghdr *nlh, unsigned int portid) {
    return nlh->nlmsg_pid == 0 || portid == 0 || nlh->nlmsg_pid == portid;
}

/* ---- batches: several messages back to back in one buffer, sent with one sendto ----------------------------- */

struct mnl_nlmsg_batch {
    char *head;       /* the caller's buffer */
    size_t limit;     /* bytes a batch may hold before mnl_nlmsg_batch_next refuses the message being written */
    size_t used;      /* bytes of complete messages */
    bool overflowed;  /* the message at head + used did not fit and waits for mnl_nlmsg_batch_reset */
};

struct mnl_nlmsg_batch *mnl_nlmsg_batch_start(void *buf, size_t limit) {
    struct mnl_nlmsg_batch *batch = calloc(1, sizeof(*batch));
    if (batch == NULL) return NULL;
    batch->head = buf;
    batch->limit = limit;
    return batch;
}

bool mnl_nlmsg_batch_next(struct mnl_nlmsg_batch *b) {
    const struct nlmsghdr *current = (const struct nlmsghdr *)(b->head + b->used);
    if (b->used + current->nlmsg_len > b->limit) {
        b->overflowed = true;
        return false;
    }
    b->used += current->nlmsg_len;
    return true;
}

void mnl_nlmsg_batch_reset(struct mnl_nlmsg_batch *b) {
    if (b->overflowed) {
        /* Keep the message that did not fit: it opens the next batch. */
        const struct nlmsghdr *pending = (const struct nlmsghdr *)(b->head + b->used);
        size_t length = pending->nlmsg_len;
        memmove(b->head, pending, length);
        b->used = length;
        b->overflowed = false;
    } else {
        b->used = 0;
    }
}

void mnl_nlmsg_batch_stop(struct mnl_nlmsg_batch *b) { free(b); }

size_t mnl_nlmsg_batch_size(struct mnl_nlmsg_batch *b) { return b->used; }

void *mnl_nlmsg_batch_head(struct mnl_nlmsg_batch *b) { return b->head; }

void *mnl_nlmsg_batch_current(struct mnl_nlmsg_batch *b) { return b->head + b->used; }

bool mnl_nlmsg_batch_is_empty(struct mnl_nlmsg_batch *b) { return b->used == 0; }

/* ---- attributes ------------------------------------------------------------------------------------------- */

uint16_t mnl_attr_get_type(const struct nlattr *attr) { return attr->nla_type & NLA_TYPE_MASK; }

uint16_t mnl_attr_get_len(const struct nlattr *attr) { return attr->nla_len; }

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr) {
    return (uint16_t)(attr->nla_len - MNL_ATTR_HDRLEN);
}

void *mnl_attr_get_payload(const struct nlattr *attr) { return (char *)attr + MNL_ATTR_HDRLEN; }

uint8_t mnl_attr_get_u8(const struct nlattr *attr) { return *(const uint8_t *)mnl_attr_get_payload(attr); }

uint16_t mnl_attr_get_u16(const struct nlattr *attr) {
    uint16_t value;
    memcpy(&value, mnl_attr_get_payload(attr), sizeof(value));
    return value;
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr) {
    uint32_t value;
    memcpy(&value, mnl_attr_get_payload(attr), sizeof(value));
    return value;
}

uint64_t mnl_attr_get_u64(const struct nlattr *attr) {
    /* Only 4-byte aligned in the message: copy rather than load. */
    uint64_t value;
    memcpy(&value, mnl_attr_get_payload(attr), sizeof(value));
    return value;
}

const char *mnl_attr_get_str(const struct nlattr *attr) { return mnl_attr_get_payload(attr); }

bool mnl_attr_ok(const struct nlattr *attr, int len) {
    return len >= (int)sizeof(struct nlattr) && attr->nla_len >= sizeof(struct nlattr) && (int)attr->nla_len <= len;
}

struct nlattr *mnl_attr_next(const struct nlattr *attr) {
    return (struct nlattr *)((char *)attr + MNL_ALIGN(attr->nla_len));
}

int mnl_attr_type_valid(const struct nlattr *attr, uint16_t maxtype) {
    if (mnl_attr_get_type(attr) > maxtype) {
        errno = EOPNOTSUPP;
        return -1;
    }
    return 1;
}

static int validate_length(const struct nlattr *attr, enum mnl_attr_data_type type, size_t expected) {
    size_t length = mnl_attr_get_payload_len(attr);
    const char *payload = mnl_attr_get_payload(attr);
    if (length < expected) {
        errno = ERANGE;
        return -1;
    }
    switch (type) {
    case MNL_TYPE_FLAG:
        if (length > 0) {
            errno = ERANGE;
            return -1;
        }
        break;
    case MNL_TYPE_NUL_STRING:
        if (length == 0) {
            errno = ERANGE;
            return -1;
        }
        if (payload[length - 1] != '\0') {
            errno = EINVAL;
            return -1;
        }
        break;
    case MNL_TYPE_STRING:
        if (length == 0) {
            errno = ERANGE;
            return -1;
        }
        break;
    case MNL_TYPE_NESTED:
        if (length > 0 && length < MNL_ATTR_HDRLEN) {
            errno = ERANGE;
            return -1;
        }
        break;
    default:
        break;
    }
    if (expected > 0 && length > expected) {
        errno = ERANGE;
        return -1;
    }
    return 0;
}

int mnl_attr_validate2(const struct nlattr *attr, enum mnl_attr_data_type type, size_t len) {
    if (type >= MNL_TYPE_MAX) {
        errno = EINVAL;
        return -1;
    }
    return validate_length(attr, type, len);
}

int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type) {
    size_t expected = 0;
    switch (type) {
    case MNL_TYPE_U8: expected = sizeof(uint8_t); break;
    case MNL_TYPE_U16: expected = sizeof(uint16_t); break;
    case MNL_TYPE_U32: expected = sizeof(uint32_t); break;
    case MNL_TYPE_U64:
    case MNL_TYPE_MSECS: expected = sizeof(uint64_t); break;
    default: break;
    }
    return mnl_attr_validate2(attr, type, expected);
}

int mnl_attr_parse_payload(const void *payload, size_t payload_len, mnl_attr_cb_t cb, void *data) {
    const char *end = (const char *)payload + payload_len;
    for (const struct nlattr *attr = payload; mnl_attr_ok(attr, (int)(end - (const char *)attr));
         attr = mnl_attr_next(attr)) {
        int result = cb(attr, data);
        if (result <= MNL_CB_STOP) return result;
    }
    return MNL_CB_OK;
}

int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset, mnl_attr_cb_t cb, void *data) {
    const char *start = mnl_nlmsg_get_payload_offset(nlh, offset);
    const char *end = message_tail(nlh);
    if (start >= end) return MNL_CB_OK;
    return mnl_attr_parse_payload(start, (size_t)(end - start), cb, data);
}

int mnl_attr_parse_nested(const struct nlattr *attr, mnl_attr_cb_t cb, void *data) {
    return mnl_attr_parse_payload(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr), cb, data);
}

void mnl_attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data) {
    struct nlattr *attr = (struct nlattr *)message_tail(nlh);
    size_t total = MNL_ATTR_HDRLEN + len;
    attr->nla_type = type;
    attr->nla_len = (uint16_t)total;
    char *payload = mnl_attr_get_payload(attr);
    if (len > 0) memcpy(payload, data, len);
    size_t padding = MNL_ALIGN(len) - len;
    if (padding > 0) memset(payload + len, 0, padding);
    nlh->nlmsg_len += (__u32)MNL_ALIGN(total);
}

void mnl_attr_put_u8(struct nlmsghdr *nlh, uint16_t type, uint8_t data) { mnl_attr_put(nlh, type, sizeof(data), &data); }

void mnl_attr_put_u16(struct nlmsghdr *nlh, uint16_t type, uint16_t data) {
    mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t data) {
    mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u64(struct nlmsghdr *nlh, uint16_t type, uint64_t data) {
    mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_str(struct nlmsghdr *nlh, uint16_t type, const char *data) {
    mnl_attr_put(nlh, type, strlen(data), data);
}

void mnl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *data) {
    mnl_attr_put(nlh, type, strlen(data) + 1, data);
}

struct nlattr *mnl_attr_nest_start(struct nlmsghdr *nlh, uint16_t type) {
    struct nlattr *start = (struct nlattr *)message_tail(nlh);
    start->nla_type = NLA_F_NESTED | type;
    start->nla_len = 0;
    nlh->nlmsg_len += MNL_ALIGN(sizeof(struct nlattr));
    return start;
}

void mnl_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *start) {
    start->nla_len = (uint16_t)(message_tail(nlh) - (char *)start);
}

void mnl_attr_nest_cancel(struct nlmsghdr *nlh, struct nlattr *start) {
    nlh->nlmsg_len -= (__u32)(message_tail(nlh) - (char *)start);
}

/* ---- replies ---------------------------------------------------------------------------------------------- */

/* What a control message (type below NLMSG_MIN_TYPE) means to the walk in mnl_cb_run. */
static int control_message(const struct nlmsghdr *nlh) {
    switch (nlh->nlmsg_type) {
    case NLMSG_ERROR: {
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
            errno = EBADMSG;
            return MNL_CB_ERROR;
        }
        const struct nlmsgerr *error = mnl_nlmsg_get_payload(nlh);
        /* An acknowledgement is an error message with code 0: the request succeeded. */
        if (error->error == 0) return MNL_CB_STOP;
        errno = error->error < 0 ? -error->error : error->error;
        return MNL_CB_ERROR;
    }
    case NLMSG_DONE:
        return MNL_CB_STOP;
    default: /* NLMSG_NOOP, NLMSG_OVERRUN and unassigned types */
        return MNL_CB_OK;
    }
}

int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid, mnl_cb_t cb_data,
               void *data) {
    int remaining = (int)numbytes;
    int result = MNL_CB_OK;
    for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, remaining); nlh = mnl_nlmsg_next(nlh, &remaining)) {
        if (!mnl_nlmsg_portid_ok(nlh, portid)) {
            errno = ESRCH;
            return MNL_CB_ERROR;
        }
        if (!mnl_nlmsg_seq_ok(nlh, seq)) {
            errno = EPROTO;
            return MNL_CB_ERROR;
        }
        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
            /* The dump changed while the kernel produced it: the caller must ask again. */
            errno = EINTR;
            return MNL_CB_ERROR;
        }
        if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
            if (cb_data != NULL) result = cb_data(nlh, data);
        } else {
            result = control_message(nlh);
        }
        if (result <= MNL_CB_STOP) return result;
    }
    return result;
}
