import Glibc
import Synchronization

/// A tiny TCP and UDP server inside a test namespace that answers every connection and every datagram with
/// `"<name> <peer-ip>\n"`.
///
/// Kernel end-to-end tests of Services and policies must see which endpoint answered (load balancing, affinity,
/// traffic policies) and which source address that endpoint saw (masquerade versus source-IP preservation). A reply
/// naming both shows it without netcat, curl or a scripting language on the build machine.
///
/// The server listens on the wildcard addresses of both families (`0.0.0.0` and `::`, the latter IPv6-only so the
/// peer of an IPv4 client prints as IPv4) on every given port. Its sockets are created inside the namespace (a
/// socket belongs to the namespace it was created in, whichever thread uses it later) and served by one dedicated
/// thread that polls them all, so no run loop or executor is involved and a test may run many servers at once.
///
/// - TCP: each connection is answered as soon as it is accepted and then closed by the server, so a client reads its
///   reply up to end of stream and never has to send anything.
/// - UDP: each datagram is answered from the address it was sent to (`IP_PKTINFO`/`IPV6_PKTINFO`), as a connected
///   client socket and conntrack expect, even in a namespace with several addresses.
///
/// Keep a reference for as long as the server should answer, and ``stop()`` it when done (deinit stops it too, but
/// Swift may release a local that is never used again before the end of its scope).
/// ``NodeTopology/startNameServers(on:tcpPorts:udpPorts:)`` keeps its servers alive until the topology is torn down.
public final class NameServer: Sendable {
    /// The name this server answers with, e.g. the name of its pod.
    public let name: String
    /// The TCP ports listened on (IPv4 and IPv6).
    public let tcpPorts: [UInt16]
    /// The UDP ports listened on (IPv4 and IPv6).
    public let udpPorts: [UInt16]
    /// The listening sockets, the serving loop's wake-up pair and its thread; `nil` once stopped.
    private let running: Mutex<Running?>

    /// What ``stop()`` has to wake, join and close.
    private struct Running {
        let thread: pthread_t
        let sockets: [Int32]
        let wakeReader: Int32
        let wakeWriter: Int32
    }

    /// Starts serving `name` on `tcpPorts` and `udpPorts` inside `namespace`.
    ///
    /// When this returns, every socket is bound and listening, so a client may connect at once.
    ///
    /// - Throws: ``SocketError`` when a socket cannot be created, bound or listened on (e.g. `EADDRINUSE`),
    ///   ``NetNamespace/NetNamespaceError`` when the namespace cannot be entered. Nothing is left open on failure.
    public init(name: String, in namespace: TestNamespace, tcpPorts: [UInt16] = [], udpPorts: [UInt16] = []) throws {
        precondition(!tcpPorts.isEmpty || !udpPorts.isEmpty, "a NameServer needs at least one port")
        self.name = name
        self.tcpPorts = tcpPorts
        self.udpPorts = udpPorts
        let listeners = try namespace.run { () throws(SocketError) in
            try openListeners(tcpPorts: tcpPorts, udpPorts: udpPorts)
        }
        // A socket pair rather than a pipe: it is close-on-exec from the start, so a program spawned meanwhile by
        // another test cannot inherit it.
        var wakeEnds: [Int32] = [0, 0]
        do {
            try socketCall("socketpair", endpoint: "(wake-up of \(name))") {
                socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &wakeEnds)
            }
        } catch {
            listeners.forEach { close($0.socket) }
            throw error
        }
        let loop = ServeLoop(name: name, listeners: listeners, wakeReader: wakeEnds[0])
        let context = Unmanaged.passRetained(loop).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<ServeLoop>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        guard status == 0 else {
            Unmanaged<ServeLoop>.fromOpaque(context).release()
            (listeners.map(\.socket) + wakeEnds).forEach { close($0) }
            throw SocketError("pthread_create", endpoint: "(serving thread of \(name))", code: status)
        }
        running = Mutex(
            Running(
                thread: thread, sockets: listeners.map(\.socket), wakeReader: wakeEnds[0], wakeWriter: wakeEnds[1]))
    }

    deinit {
        stop()
    }

    /// Stops serving: wakes the serving thread, waits for it to exit and closes every socket. Calling it again does
    /// nothing.
    ///
    /// Connections already answered are unaffected; new ones are refused from now on.
    public func stop() {
        guard let running = running.withLock({ $0.take() }) else {
            return
        }
        var byte: UInt8 = 0
        while write(running.wakeWriter, &byte, 1) == -1 && errno == EINTR {}
        pthread_join(running.thread, nil)
        (running.sockets + [running.wakeReader, running.wakeWriter]).forEach { close($0) }
    }
}

/// One listening socket and what it speaks.
private struct Listener: Sendable {
    let socket: Int32
    let isTCP: Bool
    let family: Int32
}

/// Opens an IPv4 and an IPv6 listener per port, in the calling thread's namespace; all or nothing.
private func openListeners(tcpPorts: [UInt16], udpPorts: [UInt16]) throws(SocketError) -> [Listener] {
    var listeners: [Listener] = []
    do throws(SocketError) {
        for (ports, isTCP) in [(tcpPorts, true), (udpPorts, false)] {
            for port in ports {
                for family in [AF_INET, AF_INET6] {
                    listeners.append(try openListener(port: port, isTCP: isTCP, family: family))
                }
            }
        }
        return listeners
    } catch {
        listeners.forEach { close($0.socket) }
        throw error
    }
}

private func openListener(port: UInt16, isTCP: Bool, family: Int32) throws(SocketError) -> Listener {
    let address = SocketAddress(anyAddressOf: family, port: port)
    let endpoint =
        family == AF_INET6 ? "[::]:\(port)/\(isTCP ? "tcp" : "udp")" : "0.0.0.0:\(port)/\(isTCP ? "tcp" : "udp")"
    let type = Int32((isTCP ? SOCK_STREAM : SOCK_DGRAM).rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
    let socket = try socketCall("socket", endpoint: endpoint) { Glibc.socket(family, type, 0) }
    do throws(SocketError) {
        // Restarting a server on the port of one that just stopped must not wait for TIME_WAIT to expire.
        try socketCall("setsockopt(SO_REUSEADDR)", endpoint: endpoint) { setOption(socket, SOL_SOCKET, SO_REUSEADDR) }
        if family == AF_INET6 {
            try socketCall("setsockopt(IPV6_V6ONLY)", endpoint: endpoint) {
                setOption(socket, Int32(IPPROTO_IPV6), IPV6_V6ONLY)
            }
        }
        if !isTCP {
            let (level, option) =
                family == AF_INET6 ? (Int32(IPPROTO_IPV6), IPV6_RECVPKTINFO) : (Int32(IPPROTO_IP), IP_PKTINFO)
            try socketCall("setsockopt(PKTINFO)", endpoint: endpoint) { setOption(socket, level, option) }
        }
        try socketCall("bind", endpoint: endpoint) { address.withSockaddr { Glibc.bind(socket, $0, $1) } }
        if isTCP {
            try socketCall("listen", endpoint: endpoint) { listen(socket, 1024) }
        }
    } catch {
        close(socket)
        throw error
    }
    return Listener(socket: socket, isTCP: isTCP, family: family)
}

/// The serving thread's work: poll every listener and the wake-up socket, answer whatever is ready.
///
/// It only borrows the file descriptors; ``NameServer/stop()`` closes them after the thread has exited, so a
/// descriptor number is never reused while this loop may still poll it.
private final class ServeLoop: Sendable {
    let name: String
    let listeners: [Listener]
    let wakeReader: Int32

    init(name: String, listeners: [Listener], wakeReader: Int32) {
        self.name = name
        self.listeners = listeners
        self.wakeReader = wakeReader
    }

    func run() {
        var polled = (listeners.map(\.socket) + [wakeReader]).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while true {
            if poll(&polled, nfds_t(polled.count), -1) == -1 {
                // Only EINTR is possible with valid descriptors and no timeout.
                continue
            }
            if polled.last!.revents != 0 {
                return
            }
            for (index, listener) in listeners.enumerated() where polled[index].revents != 0 {
                if listener.isTCP {
                    answerConnections(on: listener.socket)
                } else {
                    answerDatagrams(on: listener)
                }
            }
        }
    }

    /// Accepts every pending connection, writes the reply and closes it.
    private func answerConnections(on socket: Int32) {
        while true {
            var peer = SocketAddress()
            var failure: Int32 = 0
            let connection = peer.withMutableSockaddr { name, nameLength in
                let connection = accept4(
                    socket, name, nameLength, Int32(SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue))
                failure = connection == -1 ? errno : 0
                return connection
            }
            if connection == -1 {
                // EAGAIN: all pending connections are answered. ECONNABORTED and EINTR: try the next one. Anything
                // else (EMFILE) cannot be helped here; the client then times out and the test reports it.
                if failure == ECONNABORTED || failure == EINTR {
                    continue
                }
                return
            }
            let reply = Array("\(name) \(peer.host)\n".utf8)
            // A fresh connection's send buffer is empty, so the short reply always fits; a client that already
            // gave up (EPIPE, ECONNRESET) is not the server's problem.
            _ = send(connection, reply, reply.count, Int32(MSG_NOSIGNAL))
            // Closing with unread input would send a reset instead of end of stream, losing the reply.
            var discard = [UInt8](repeating: 0, count: 512)
            while recv(connection, &discard, discard.count, 0) > 0 {}
            close(connection)
        }
    }

    /// Answers every pending datagram, from the address it was sent to.
    private func answerDatagrams(on listener: Listener) {
        var payload = [UInt8](repeating: 0, count: 2048)
        // `UInt64` elements give the control buffer the alignment of `struct cmsghdr`.
        var control = [UInt64](repeating: 0, count: 16)
        while true {
            var peer = SocketAddress()
            var failure: Int32 = 0
            let destination = payload.withUnsafeMutableBytes { payload in
                control.withUnsafeMutableBytes { control in
                    var controlLength = 0
                    let received = withMessage(to: &peer, payload: payload, control: control) { message in
                        let received = recvmsg(listener.socket, &message, 0)
                        failure = received == -1 ? errno : 0
                        controlLength = message.msg_controllen
                        return received
                    }
                    return received == -1
                        ? nil
                        : PacketDestination(
                            control: UnsafeRawBufferPointer(rebasing: control[..<controlLength]),
                            family: listener.family)
                }
            }
            guard let destination else {
                if failure == EINTR {
                    continue
                }
                // EAGAIN: every pending datagram is answered.
                return
            }
            var reply = Array("\(name) \(peer.host)\n".utf8)
            reply.withUnsafeMutableBytes { reply in
                destination.withReplyControl { control in
                    _ = withMessage(to: &peer, payload: reply, control: control) { message in
                        sendmsg(listener.socket, &message, Int32(MSG_NOSIGNAL))
                    }
                }
            }
        }
    }
}

/// Calls `body` with a `struct msghdr` for `recvmsg`/`sendmsg` over one payload buffer, with `address` as the peer
/// and `control` (possibly empty) as the ancillary data.
private func withMessage(
    to address: inout SocketAddress, payload: UnsafeMutableRawBufferPointer, control: UnsafeMutableRawBufferPointer,
    _ body: (inout msghdr) -> Int
) -> Int {
    address.withMutableSockaddr { name, nameLength in
        var vector = iovec(iov_base: payload.baseAddress, iov_len: payload.count)
        return withUnsafeMutablePointer(to: &vector) { vector in
            var message = msghdr()
            message.msg_name = UnsafeMutableRawPointer(name)
            message.msg_namelen = nameLength.pointee
            message.msg_iov = vector
            message.msg_iovlen = 1
            message.msg_control = control.isEmpty ? nil : control.baseAddress
            message.msg_controllen = control.count
            let result = body(&message)
            nameLength.pointee = message.msg_namelen
            return result
        }
    }
}

/// The local address a datagram was sent to, as its `IP_PKTINFO` / `IPV6_PKTINFO` control message tells.
///
/// Swift cannot use the `CMSG_*` macros and the Glibc module lacks `struct in6_pktinfo`, so the control messages are
/// read and written by offset, following the Linux 64-bit layout: `struct cmsghdr` is 16 bytes (`size_t` length,
/// `int` level, `int` type) with its data right after; `struct in_pktinfo` is `{ int ifindex; in_addr spec_dst;
/// in_addr addr; }` and `struct in6_pktinfo` is `{ in6_addr addr; unsigned ifindex; }`.
private struct PacketDestination {
    private static let headerSize = MemoryLayout<cmsghdr>.size
    /// The destination address (4 or 16 bytes), `nil` when the kernel gave none (then routing picks the source).
    private let address: [UInt8]?
    private let family: Int32

    /// Finds the packet-info message of `family` in the control data `recvmsg` returned.
    init(control: UnsafeRawBufferPointer, family: Int32) {
        self.family = family
        let (level, type) =
            family == AF_INET6 ? (Int32(IPPROTO_IPV6), IPV6_PKTINFO) : (Int32(IPPROTO_IP), IP_PKTINFO)
        // The destination is `addr`, at offset 8 of `in_pktinfo` and 0 of `in6_pktinfo`.
        let (offset, size) = family == AF_INET6 ? (0, 16) : (8, 4)
        var found: [UInt8]?
        var start = 0
        while start + Self.headerSize <= control.count {
            let header = control.loadUnaligned(fromByteOffset: start, as: cmsghdr.self)
            guard header.cmsg_len >= Self.headerSize, start + header.cmsg_len <= control.count else {
                break
            }
            if header.cmsg_level == level && header.cmsg_type == type
                && header.cmsg_len >= Self.headerSize + offset + size
            {
                let data = start + Self.headerSize + offset
                found = Array(control[data..<data + size])
            }
            start += (header.cmsg_len + 7) & ~7
        }
        address = found
    }

    /// Calls `body` with the control data that makes `sendmsg` use the destination as the reply's source address
    /// (`ipi_spec_dst` / `ipi6_addr`; interface index 0, so routing picks the interface), or with no control data.
    func withReplyControl<Result>(_ body: (UnsafeMutableRawBufferPointer) -> Result) -> Result {
        guard let address else {
            return body(UnsafeMutableRawBufferPointer(start: nil, count: 0))
        }
        let (level, type, dataSize, offset) =
            family == AF_INET6
            ? (Int32(IPPROTO_IPV6), IPV6_PKTINFO, 20, 0) : (Int32(IPPROTO_IP), IP_PKTINFO, 12, 4)
        var control = [UInt64](repeating: 0, count: (Self.headerSize + dataSize + 7) / 8)
        return control.withUnsafeMutableBytes { control in
            var header = cmsghdr()
            header.cmsg_len = Self.headerSize + dataSize
            header.cmsg_level = level
            header.cmsg_type = type
            control.storeBytes(of: header, as: cmsghdr.self)
            control[(Self.headerSize + offset)...].copyBytes(from: address)
            return body(control)
        }
    }
}
