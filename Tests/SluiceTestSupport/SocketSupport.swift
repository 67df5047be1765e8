import Glibc

/// A failed socket call of the test traffic helpers, naming the call, the endpoint and the errno.
///
/// Servers fail to start for environmental reasons (a port already taken, a namespace deleted under them); the
/// message says which call failed on which endpoint, e.g. `bind [::]:8080/tcp failed: Address in use (errno 98)`.
public struct SocketError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The system call that failed (`socket`, `setsockopt(IPV6_V6ONLY)`, `bind`, `listen`, `socketpair`, …).
    public let operation: String
    /// The endpoint involved, e.g. `0.0.0.0:8080/udp`.
    public let endpoint: String
    /// The `errno` value reported.
    public let code: Int32

    init(_ operation: String, endpoint: String, code: Int32) {
        self.operation = operation
        self.endpoint = endpoint
        self.code = code
    }

    public var description: String {
        "\(operation) \(endpoint) failed: \(errorText(code))"
    }
}

/// `strerror` plus the errno number, the form every error message of the traffic helpers uses.
func errorText(_ code: Int32) -> String {
    "\(String(cString: strerror(code))) (errno \(code))"
}

/// Runs one socket system call, retrying `EINTR` and turning `-1`/`errno` into a ``SocketError``.
@discardableResult
func socketCall(_ operation: String, endpoint: String, _ call: () -> Int32) throws(SocketError) -> Int32 {
    while true {
        let result = call()
        if result != -1 {
            return result
        }
        let code = errno
        if code != EINTR {
            throw SocketError(operation, endpoint: endpoint, code: code)
        }
    }
}

/// Sets an integer socket option (`setsockopt`); options of the helpers are all booleans.
func setOption(_ socket: Int32, _ level: Int32, _ option: Int32, _ value: Int32 = 1) -> Int32 {
    var value = value
    return setsockopt(socket, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
}

/// The Glibc module does not import `accept4`, which (like `setns`) glibc declares only under `_GNU_SOURCE`.
///
/// Accepted connections must be close-on-exec from the start: tests spawn `ip` and `nft` concurrently, and a child
/// that inherited a connection would keep it open, so the client would wait for end of stream until that child
/// exits. `accept` followed by `fcntl` leaves exactly that window open.
let accept4: @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32 =
    {
        guard let address = dlsym(dlopen(nil, RTLD_NOW), "accept4") else {
            fatalError("glibc has no accept4(); the traffic helpers need glibc 2.10 or later")
        }
        return unsafeBitCast(
            address,
            to: (@convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) ->
                Int32).self)
    }()

/// An IPv4 or IPv6 socket address (`sockaddr_in` / `sockaddr_in6` in a `sockaddr_storage`), made from and turned
/// back into numeric text.
///
/// Tests speak in addresses like `10.244.1.2` and `fd00:10:96::1`; the family follows from the text, so callers
/// never pick `AF_INET` versus `AF_INET6` themselves.
struct SocketAddress: Sendable {
    private(set) var storage = sockaddr_storage()
    private(set) var length: socklen_t

    /// Parses a numeric IPv4 or IPv6 address; `nil` for anything else (host names are not resolved).
    init?(_ address: String, port: UInt16) {
        length = 0
        if address.contains(":") {
            var ipv6 = sockaddr_in6()
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &ipv6.sin6_addr) == 1 else {
                return nil
            }
            store(ipv6)
        } else {
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &ipv4.sin_addr) == 1 else {
                return nil
            }
            store(ipv4)
        }
    }

    /// The wildcard address (`0.0.0.0` or `::`) of `family` with `port`, for listening and for binding a source port.
    init(anyAddressOf family: Int32, port: UInt16) {
        length = 0
        if family == AF_INET6 {
            var ipv6 = sockaddr_in6()
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = port.bigEndian
            store(ipv6)
        } else {
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = port.bigEndian
            store(ipv4)
        }
    }

    /// An empty address for `accept`/`recvmsg` to fill in through ``withMutableSockaddr(_:)``.
    init() {
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    }

    private mutating func store<Address>(_ address: Address) {
        withUnsafeMutableBytes(of: &storage) { storage in
            withUnsafeBytes(of: address) { storage.copyMemory(from: $0) }
        }
        length = socklen_t(MemoryLayout<Address>.size)
    }

    /// `AF_INET` or `AF_INET6`.
    var family: Int32 { Int32(storage.ss_family) }

    /// The address as numeric text, without the port, e.g. `10.244.1.2` or `fd00:198:18::2`.
    var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        withUnsafeBytes(of: storage) { raw in
            let address =
                family == AF_INET6
                ? UnsafeRawPointer(raw.baseAddress! + MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!)
                : UnsafeRawPointer(raw.baseAddress! + MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!)
            _ = inet_ntop(family, address, &text, socklen_t(text.count))
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Calls `body` with the address as the `sockaddr` pointer and length that `bind`, `connect` and `sendto` take.
    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// Calls `body` with room for a `sockaddr` of either family and its length, as `accept` and `recvmsg` fill in.
    mutating func withMutableSockaddr<Result>(
        _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Result
    ) -> Result {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutableBytes(of: &storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        self.length = length
        return result
    }
}
