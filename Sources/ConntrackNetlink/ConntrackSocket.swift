internal import CMnl
import Glibc

/// A `NETLINK_NETFILTER` socket bound in the namespace of the thread that opened it.
///
/// Every system call goes through `retrying`, which retries `EINTR` and turns `errno` into `ConntrackError`.
final class ConntrackSocket {
    private let handle: OpaquePointer
    /// The receive queue size the kernel granted, which bounds how many acks one batch of deletes may produce.
    let receiveBufferSize: Int

    init() throws(ConntrackError) {
        guard let socket = mnl_socket_open(NETLINK_NETFILTER) else {
            throw .system(operation: "open netfilter netlink socket", errno: errno)
        }
        handle = socket
        if mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let code = errno
            mnl_socket_close(socket)
            throw .system(operation: "bind netfilter netlink socket", errno: code)
        }
        var on: Int32 = 1
        // Capped acks echo only the header of a refused request, keeping each ack small.
        _ = mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        let fd = mnl_socket_get_fd(socket)
        // Room for the acks of a large batch of deletes; without CAP_NET_ADMIN the kernel's default stays.
        var wanted: Int32 = 4 << 20
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, length) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, length)
        }
        var granted: Int32 = 0
        var grantedLength = length
        _ = getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &grantedLength)
        receiveBufferSize = Int(granted)
    }

    deinit { mnl_socket_close(handle) }

    /// Sends `bytes` (one or more netlink messages) in one `sendmsg`.
    func send(_ bytes: [UInt8], operation: @autoclosure () -> String) throws(ConntrackError) {
        let sent = try retrying(operation()) {
            bytes.withUnsafeBytes { mnl_socket_sendto(handle, $0.baseAddress, $0.count) }
        }
        if sent != bytes.count {
            throw .system(operation: "\(operation()) (short write \(sent) of \(bytes.count) bytes)", errno: EIO)
        }
    }

    /// Waits for one datagram and returns its length.
    func receive(into buffer: inout [UInt8], operation: @autoclosure () -> String) throws(ConntrackError) -> Int {
        try retrying(operation()) {
            buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(handle, $0.baseAddress, $0.count) }
        }
    }
}

/// Runs a system call, retrying `EINTR` and throwing any other failure as an error naming the operation.
func retrying(_ operation: @autoclosure () -> String, _ call: () -> Int) throws(ConntrackError) -> Int {
    while true {
        let result = call()
        if result >= 0 { return result }
        let code = errno
        if code != EINTR { throw .system(operation: operation(), errno: code) }
    }
}
