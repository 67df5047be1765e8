import Glibc
import NetNamespace

/// What a connection attempt in the virtual cluster got.
public enum ProbeResult: Sendable, Hashable, CustomStringConvertible {
    /// The server answered with its name and the client address it saw.
    case answered(server: String, peer: String)
    case refused
    case timedOut
    case failed(String)

    public var isAnswered: Bool {
        if case .answered = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .answered(let server, let peer): "answered by \(server) (saw \(peer))"
        case .refused: "refused"
        case .timedOut: "timed out"
        case .failed(let reason): reason
        }
    }
}

/// The pods' tiny servers and the probe client: one line per connection, `<pod name> <client address>`.
public enum Echo {
    /// Serves `name` on the given TCP ports forever (run inside the pod's namespace, by `sluice demo serve`).
    public static func serve(name: String, ports: [UInt16]) throws -> Never {
        var listeners: [Int32] = []
        for port in ports {
            let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw ClusterError("socket: errno \(errno)") }
            var on: Int32 = 1
            var off: Int32 = 0
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
            guard bound == 0, listen(fd, 128) == 0 else { throw ClusterError("bind :\(port): errno \(errno)") }
            listeners.append(fd)
        }
        var pollSet = listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while true {
            guard poll(&pollSet, nfds_t(pollSet.count), -1) > 0 else { continue }
            for entry in pollSet where entry.revents & Int16(POLLIN) != 0 {
                var peer = sockaddr_in6()
                var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
                let client = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(entry.fd, $0, &length) }
                }
                guard client >= 0 else { continue }
                let reply = "\(name) \(Self.text(peer))\n"
                _ = reply.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }
    }

    /// A TCP connection from inside `namespace` (by path) to `address:port`, read until the server closes.
    public static func probe(
        from namespace: String, to address: String, port: UInt16, timeout: Int32 = 2
    )
        -> ProbeResult
    {
        do {
            return try NetworkNamespace(path: namespace).run { connect(address, port, timeout: timeout) }
        } catch {
            return .failed("\(error)")
        }
    }

    private static func connect(_ address: String, _ port: UInt16, timeout: Int32) -> ProbeResult {
        var storage = sockaddr_storage()
        var length: socklen_t
        let family: Int32
        if address.contains(":") {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &a.sin6_addr) == 1 else { return .failed("bad address \(address)") }
            withUnsafeBytes(of: a) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &a.sin_addr) == 1 else { return .failed("bad address \(address)") }
            withUnsafeBytes(of: a) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: errno \(errno)") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if connected != 0 {
            switch errno {
            case ECONNREFUSED: return .refused
            case EINPROGRESS, ETIMEDOUT, EAGAIN: return .timedOut
            case let code: return .failed("connect: \(String(cString: strerror(code)))")
            }
        }
        var buffer = [UInt8](repeating: 0, count: 512)
        var received: [UInt8] = []
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                received += buffer[0..<n]
            } else if n == 0 {
                break
            } else {
                return errno == EAGAIN ? .timedOut : .failed("recv: errno \(errno)")
            }
        }
        let words = String(decoding: received, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard words.count >= 2 else { return .failed("unexpected reply") }
        return .answered(server: String(words[0]), peer: String(words[1]))
    }

    private static func text(_ peer: sockaddr_in6) -> String {
        var copy = peer.sin6_addr
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &copy, &buffer, socklen_t(buffer.count))
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.hasPrefix("::ffff:") && text.contains(".") ? String(text.dropFirst(7)) : text
    }
}
