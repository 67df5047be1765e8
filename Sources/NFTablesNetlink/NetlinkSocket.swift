internal import CMnl
import Glibc

/// A netfilter netlink socket bound in the namespace of the thread that opened it.
///
/// Every system call goes through `retrying`, which retries `EINTR` and turns `errno` into `NetlinkError`.
final class NetlinkSocket {
    private let handle: OpaquePointer
    let portID: UInt32
    private var sendBufferSize = 0
    private var receiveBufferSize = 0

    init() throws(NetlinkError) {
        guard let h = mnl_socket_open(NETLINK_NETFILTER) else {
            throw NetlinkError.system(operation: "open netfilter netlink socket", errno: errno)
        }
        handle = h
        if mnl_socket_bind(h, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let code = errno
            mnl_socket_close(h)
            throw NetlinkError.system(operation: "bind netlink socket", errno: code)
        }
        portID = mnl_socket_get_portid(h)
        var on: Int32 = 1
        // Extended acks name the failing attribute (which element); capped acks keep error replies small.
        _ = mnl_socket_setsockopt(h, NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(h, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        try? ensureBuffers(send: 1 << 20, receive: 1 << 22)
    }

    deinit { mnl_socket_close(handle) }

    var fd: Int32 { mnl_socket_get_fd(handle) }

    /// Grows the kernel-side buffers (ignoring `rmem_max` as root) so one batch fits one `sendmsg` and all of
    /// its acks fit the receive queue; an overflowing queue would lose acks (`ENOBUFS`).
    func ensureBuffers(send: Int, receive: Int) throws(NetlinkError) {
        if send > sendBufferSize {
            try setBuffer(SO_SNDBUFFORCE, SO_SNDBUF, send)
            sendBufferSize = send
        }
        if receive > receiveBufferSize {
            try setBuffer(SO_RCVBUFFORCE, SO_RCVBUF, receive)
            receiveBufferSize = receive
        }
    }

    private func setBuffer(_ forced: Int32, _ plain: Int32, _ size: Int) throws(NetlinkError) {
        var value = Int32(clamping: size)
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, forced, &value, length) == 0 { return }
        if setsockopt(fd, SOL_SOCKET, plain, &value, length) == 0 { return }
        throw NetlinkError.system(operation: "set socket buffer to \(size) bytes", errno: errno)
    }

    func send(_ bytes: [UInt8]) throws(NetlinkError) {
        let sent = try retrying("send netlink batch of \(bytes.count) bytes") {
            bytes.withUnsafeBytes { mnl_socket_sendto(handle, $0.baseAddress, $0.count) }
        }
        if sent != bytes.count {
            throw NetlinkError.system(operation: "send netlink batch (short write \(sent)/\(bytes.count))", errno: EIO)
        }
    }

    /// Reads one datagram; `nil` when nothing is queued and `wait` is false.
    func receive(into buffer: inout [UInt8], wait: Bool) throws(NetlinkError) -> Int? {
        let fd = self.fd
        do {
            return try retrying("receive from netlink socket") {
                buffer.withUnsafeMutableBytes {
                    Glibc.recv(fd, $0.baseAddress, $0.count, wait ? 0 : Int32(MSG_DONTWAIT))
                }
            }
        } catch .system(_, let code) where code == EAGAIN || code == EWOULDBLOCK {
            return nil
        }
    }
}

/// Runs a system call, retrying `EINTR` and throwing the rest as a typed error naming the operation.
func retrying(_ operation: @autoclosure () -> String, _ call: () -> Int) throws(NetlinkError) -> Int {
    while true {
        let result = call()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw NetlinkError.system(operation: operation(), errno: code)
    }
}

/// Failures of the netlink layer, each naming what it was doing or which object the kernel refused.
public enum NetlinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed.
    case system(operation: String, errno: Int32)
    /// The kernel rejected an object of a batch; the whole batch was rolled back.
    case rejected(object: String, errno: Int32, message: String?)
    /// The transaction was invalid before anything was sent.
    case invalid(String)
    /// Acks were lost (`ENOBUFS`) and the generation check could not tell whether the batch applied.
    case outcomeUnknown(String)

    public var errno: Int32? {
        switch self {
        case .system(_, let e), .rejected(_, let e, _): e
        case .invalid, .outcomeUnknown: nil
        }
    }

    public var description: String {
        switch self {
        case .system(let op, let e):
            return "\(op): \(String(cString: strerror(e))) (errno \(e))"
        case .rejected(let object, let e, let message):
            let detail = message.map { " (\($0))" } ?? ""
            return "kernel rejected \(object): \(String(cString: strerror(e)))\(detail); nothing was applied"
        case .invalid(let text):
            return "invalid transaction, nothing sent: \(text)"
        case .outcomeUnknown(let text):
            return text
        }
    }
}
