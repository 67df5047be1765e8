import Glibc

/// The little HTTP the agent serves (health check node ports, metrics): a listening socket, the request head,
/// one response. Shared so both servers close connections the same careful way.
enum LocalHTTP {
    /// A listening TCP socket on `port` of `host` (an IPv4 or IPv6 address; `nil` or empty: every address).
    static func listen(host: String?, port: UInt16, what: String) throws -> Int32 {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HealthCheckError.system("socket", errno) }
        var on: Int32 = 1
        var off: Int32 = 0
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        if let host, !host.isEmpty, host != "0.0.0.0", host != "::" {
            let text = host.contains(":") ? host : "::ffff:" + host
            guard inet_pton(AF_INET6, text, &address.sin6_addr) == 1 else {
                close(fd)
                throw HealthCheckError.system("\(what): \(host) is not an address", EINVAL)
            }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw HealthCheckError.system("listen on \(what)", code)
        }
        return fd
    }

    /// Reads the request head (until the blank line), so closing never discards unread bytes: that would make
    /// the kernel answer the client with a reset instead of the response. Returns the request line's path.
    static func readRequestPath(_ client: Int32) -> String {
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < 16384 {
            let n = recv(client, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            request += buffer[0..<n]
            if request.count >= 4 && request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        return line.count >= 2 ? String(line[1].split(separator: "?").first ?? "") : ""
    }

    /// Sends one complete response and ends the connection's sending side.
    static func respond(_ client: Int32, status: String, type: String, body: String) {
        let response =
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nX-Content-Type-Options: nosniff\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        shutdown(client, Int32(SHUT_WR))
    }
}
