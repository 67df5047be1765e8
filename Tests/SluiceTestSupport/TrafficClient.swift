import Glibc

/// What one request of a test client got: a server's reply, or the way it failed.
///
/// Service and policy tests assert on how a connection fails, not only whether it does: a Service without endpoints
/// must reject at once (``refused``), a policy drop shows as silence (``timedOut``), a missing route or an ICMP
/// error as ``unreachable``. Keeping these apart is the point of the type.
public enum ConnectResult: Sendable, Hashable, CustomStringConvertible {
    /// The server's reply line without its trailing newline; a ``NameServer`` answers `"<name> <peer-ip>"`.
    case reply(String)
    /// Actively refused: a TCP reset (`ECONNREFUSED`, `ECONNRESET`) or an ICMP port unreachable.
    case refused
    /// An ICMP destination-unreachable error (host, network, administratively prohibited) or no route at all
    /// (`EHOSTUNREACH`, `ENETUNREACH`, `EACCES` from ICMPv6 "administratively prohibited").
    case unreachable
    /// Nothing came back before the timeout: the typical sign of a drop.
    case timedOut
    /// Anything else, described (an unexpected errno, a connection closed without a reply, a bad address).
    case error(String)

    /// The name a ``NameServer`` answered with (the reply's first word), or `nil` when there was no reply.
    public var serverName: String? {
        guard case .reply(let line) = self else {
            return nil
        }
        return line.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// The client address a ``NameServer`` saw (the reply's second word), or `nil` when there was no reply; tests
    /// compare it with the client's own address to tell source-IP preservation from masquerade.
    public var peerAddress: String? {
        guard case .reply(let line) = self else {
            return nil
        }
        let words = line.split(separator: " ")
        return words.count > 1 ? String(words[1]) : nil
    }

    public var description: String {
        switch self {
        case .reply(let line): "reply \"\(line)\""
        case .refused: "refused"
        case .unreachable: "unreachable"
        case .timedOut: "timed out"
        case .error(let message): "error: \(message)"
        }
    }

    /// Classifies the errno of a failed connect, send or receive.
    init(errno code: Int32) {
        switch code {
        case ECONNREFUSED, ECONNRESET: self = .refused
        case EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EACCES: self = .unreachable
        case ETIMEDOUT: self = .timedOut
        default: self = .error(errorText(code))
        }
    }
}

/// Connects over TCP from inside `namespace` to `address`:`port` and reads the reply up to end of stream.
///
/// The socket is created in `namespace`, so routing, nftables and conntrack see a client in that namespace (a pod,
/// the node, an external host). The client sends nothing: a ``NameServer`` answers on accept. Failures are
/// classified as they happen, so a reset returns ``ConnectResult/refused`` at once instead of waiting for `timeout`.
/// The calling thread blocks until the request is over (a fraction of a millisecond between namespaces on one
/// machine, `timeout` at most), which keeps loops of hundreds of requests simple and fast.
///
/// - Parameters:
///   - sourcePort: binds the client to this local port first (with `SO_REUSEADDR`), e.g. to test session affinity
///     or conntrack entries of a known flow; `nil` lets the kernel pick one.
///   - timeout: how long connecting and reading may take together before the result is ``ConnectResult/timedOut``.
public func tcpRequest(
    from namespace: TestNamespace, to address: String, port: UInt16, sourcePort: UInt16? = nil,
    timeout: Duration = .seconds(2)
) -> ConnectResult {
    request(from: namespace, to: address, port: port, sourcePort: sourcePort, timeout: timeout, isTCP: true)
}

/// Sends one UDP datagram from inside `namespace` to `address`:`port` and waits for one reply datagram.
///
/// The socket is connected, so only a reply from `address`:`port` (after any reverse NAT) is accepted, and
/// `IP_RECVERR`/`IPV6_RECVERR` is set, so every ICMP error for the flow surfaces: port unreachable as
/// ``ConnectResult/refused``, host, network or administratively prohibited as ``ConnectResult/unreachable``.
///
/// - Parameters:
///   - sourcePort: binds the client to this local port first; `nil` lets the kernel pick one.
///   - timeout: how long to wait for the reply before the result is ``ConnectResult/timedOut``.
public func udpRequest(
    from namespace: TestNamespace, to address: String, port: UInt16, sourcePort: UInt16? = nil,
    timeout: Duration = .seconds(2)
) -> ConnectResult {
    request(from: namespace, to: address, port: port, sourcePort: sourcePort, timeout: timeout, isTCP: false)
}

/// Makes `count` requests and counts the outcomes: replies by server name, anything else by its description in
/// brackets (`"[refused]"`, `"[timed out]"`).
///
/// Load-balancing tests assert on the spread (`["web-1": 100, "web-2": 100, "web-3": 100]`); a failure keeps its
/// kind in the same dictionary, so the expectation's diff shows both at once.
///
/// - Parameter request: makes request number `attempt` (0-based), e.g. round-robin over several targets.
public func tally(_ count: Int, _ request: (_ attempt: Int) throws -> ConnectResult) rethrows -> [String: Int] {
    var counts: [String: Int] = [:]
    for attempt in 0..<count {
        let result = try request(attempt)
        counts[result.serverName ?? "[\(result)]", default: 0] += 1
    }
    return counts
}

/// One request, run on a thread inside `namespace` (where the socket must be created).
private func request(
    from namespace: TestNamespace, to address: String, port: UInt16, sourcePort: UInt16?, timeout: Duration,
    isTCP: Bool
) -> ConnectResult {
    guard let destination = SocketAddress(address, port: port) else {
        return .error("not a numeric IP address: \(address)")
    }
    let deadline = ContinuousClock.now + timeout
    do {
        return try namespace.run {
            ClientSocket.exchange(with: destination, sourcePort: sourcePort, isTCP: isTCP, deadline: deadline)
        }
    } catch {
        return .error("cannot enter namespace \(namespace.name): \(error)")
    }
}

/// A nonblocking client socket, closed when the exchange is over.
private struct ClientSocket: ~Copyable {
    let socket: Int32
    let deadline: ContinuousClock.Instant

    deinit {
        close(socket)
    }

    /// Opens a socket in the calling thread's namespace, connects it and reads one reply.
    static func exchange(
        with destination: SocketAddress, sourcePort: UInt16?, isTCP: Bool, deadline: ContinuousClock.Instant
    ) -> ConnectResult {
        let family = destination.family
        let type = Int32((isTCP ? SOCK_STREAM : SOCK_DGRAM).rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        let socket = Glibc.socket(family, type, 0)
        guard socket != -1 else {
            return .error("socket: \(errorText(errno))")
        }
        let client = ClientSocket(socket: socket, deadline: deadline)
        if !isTCP {
            let (level, option) =
                family == AF_INET6 ? (Int32(IPPROTO_IPV6), IPV6_RECVERR) : (Int32(IPPROTO_IP), IP_RECVERR)
            guard setOption(socket, level, option) == 0 else {
                return .error("setsockopt(RECVERR): \(errorText(errno))")
            }
        }
        if let sourcePort {
            let source = SocketAddress(anyAddressOf: family, port: sourcePort)
            guard setOption(socket, SOL_SOCKET, SO_REUSEADDR) == 0,
                source.withSockaddr({ bind(socket, $0, $1) }) == 0
            else {
                return .error("bind source port \(sourcePort): \(errorText(errno))")
            }
        }
        if let failure = client.connect(to: destination) {
            return failure
        }
        return isTCP ? client.readToEnd() : client.exchangeDatagram()
    }

    /// Connects, waiting for a TCP handshake to finish; `nil` on success, otherwise how it failed.
    private func connect(to destination: SocketAddress) -> ConnectResult? {
        if destination.withSockaddr({ Glibc.connect(socket, $0, $1) }) == 0 {
            return nil
        }
        guard errno == EINPROGRESS else {
            return ConnectResult(errno: errno)
        }
        if let failure = wait(for: POLLOUT) {
            return failure
        }
        let pending = pendingError()
        return pending == 0 ? nil : ConnectResult(errno: pending)
    }

    /// Reads a TCP reply until the server closes the connection.
    private func readToEnd() -> ConnectResult {
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count > 0 {
                reply += buffer[..<count]
            } else if count == 0 {
                return reply.isEmpty ? .error("connection closed without a reply") : .reply(line(reply))
            } else if errno == EAGAIN || errno == EINTR {
                if let failure = wait(for: POLLIN) {
                    return failure
                }
            } else {
                return ConnectResult(errno: errno)
            }
        }
    }

    /// Sends one datagram and receives one reply datagram (or the ICMP error the kernel reports instead).
    private func exchangeDatagram() -> ConnectResult {
        let request = Array("?\n".utf8)
        guard send(socket, request, request.count, Int32(MSG_NOSIGNAL)) != -1 else {
            return ConnectResult(errno: errno)
        }
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count >= 0 {
                return .reply(line(buffer[..<count]))
            }
            guard errno == EAGAIN || errno == EINTR else {
                return ConnectResult(errno: errno)
            }
            if let failure = wait(for: POLLIN) {
                return failure
            }
        }
    }

    /// Waits until the socket is ready for `events` or has an error; `nil` when it is ready, otherwise the error
    /// the kernel queued (`SO_ERROR`) or ``ConnectResult/timedOut`` at the deadline.
    private func wait(for events: Int32) -> ConnectResult? {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else {
                return .timedOut
            }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var polled = pollfd(fd: socket, events: Int16(events), revents: 0)
            let ready = poll(&polled, 1, milliseconds)
            if ready == 1 {
                if polled.revents & Int16(POLLERR) != 0 {
                    let pending = pendingError()
                    if pending != 0 {
                        return ConnectResult(errno: pending)
                    }
                }
                return nil
            }
            if ready == -1 && errno != EINTR {
                return .error("poll: \(errorText(errno))")
            }
        }
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`): a failed handshake or an ICMP error.
    private func pendingError() -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(socket, SOL_SOCKET, SO_ERROR, &code, &length) == 0 ? code : errno
    }

    /// The reply as text, without its trailing newline.
    private func line(_ bytes: some Collection<UInt8>) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\n") {
            text.removeLast()
        }
        return text
    }
}
