import Glibc
import SluiceTestSupport
import Testing

@testable import ConntrackNetlink

/// Two namespaces joined by a veth, where real UDP flows leave `client` and conntrack tracks them.
///
/// `client` plays a node: conntrack is active there (an `inet` table uses `ct state`) and an `ip nat` table DNATs
/// two Service IPs to endpoints on `server`, as kube-proxy's rules would. `server` owns the endpoint addresses
/// and answers nothing, so every UDP flow stays unreplied, like one to a dead endpoint.
struct FlowLab {
    let client: TestNamespace
    let server: TestNamespace

    static let clientIPv4 = "198.18.0.1"
    static let endpointA = "198.18.0.2"
    static let endpointB = "198.18.0.3"
    /// DNATed to `endpointA` port 5353.
    static let serviceA = "198.18.100.1"
    /// DNATed to `endpointB` port 5353.
    static let serviceB = "198.18.100.2"
    static let clientIPv6 = "fd00:18::1"
    static let endpointIPv6 = "fd00:18::2"

    /// Builds the lab in fresh namespaces, runs `body`, and deletes the namespaces on every exit path.
    static func with(_ body: (FlowLab) throws -> Void) throws {
        try withTestNamespaces("ct-client", "ct-server") { namespaces in
            let lab = FlowLab(client: namespaces[0], server: namespaces[1])
            try lab.build()
            try body(lab)
        }
    }

    private func build() throws {
        try client.addVethPair("veth-c", peer: "veth-s", in: server)
        try client.addAddress("\(Self.clientIPv4)/24", to: "veth-c")
        try server.addAddress("\(Self.endpointA)/24", to: "veth-s")
        try server.addAddress("\(Self.endpointB)/24", to: "veth-s")
        // Without duplicate address detection the IPv6 addresses are usable at once.
        try client.ip("address", "add", "\(Self.clientIPv6)/64", "dev", "veth-c", "nodad")
        try server.ip("address", "add", "\(Self.endpointIPv6)/64", "dev", "veth-s", "nodad")
        try client.setUp("veth-c")
        try server.setUp("veth-s")
        try client.addRoute("198.18.100.0/24", via: Self.endpointA)
        try client.exec(
            ["nft", "-f", "-"],
            stdin: """
                table inet track {
                    chain out { type filter hook output priority 0; ct state new counter; }
                }
                table ip nat {
                    chain out {
                        type nat hook output priority -100;
                        ip daddr \(Self.serviceA) udp dport 53 dnat to \(Self.endpointA):5353
                        ip daddr \(Self.serviceB) udp dport 53 dnat to \(Self.endpointB):5353
                    }
                }
                """)
        // Unreplied UDP flows expire after 30 s by default; a slow test run must not lose them.
        try client.exec(["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_udp_timeout=600"])
    }

    /// Sends one datagram from `client` to `address` (IPv4 or IPv6) and `port` from each of `sourcePorts`.
    func sendUDP(to address: String, port: UInt16, from sourcePorts: [UInt16]) throws {
        try client.run {
            for sourcePort in sourcePorts {
                try Self.sendDatagram(to: address, port: port, from: sourcePort)
            }
        }
    }

    /// Pings `address` once from `client`, which leaves an ICMP flow.
    func ping(_ address: String) throws {
        try client.exec(["ping", "-c", "1", "-W", "1", address])
    }

    /// Opens a conntrack connection in `client` and runs `body` with it on that namespace's thread.
    func withConnection<T: Sendable>(_ body: @Sendable (ConntrackConnection) throws -> T) throws -> T {
        try client.run { try body(try ConntrackConnection()) }
    }

    /// The flows the real `conntrack -L` shows in `client` for `arguments` (e.g. `-f ipv6 -p udp`).
    func conntrackCLI(_ arguments: String...) throws -> Set<FlowKey> {
        let output = try client.exec(["conntrack", "-L"] + arguments)
        return Set(try output.split(separator: "\n").map { try FlowKey(conntrackLine: $0) })
    }

    private static func sendDatagram(
        to address: String, port: UInt16, from sourcePort: UInt16
    )
        throws(SocketFailure)
    {
        let isIPv6 = address.contains(":")
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(operation: "socket", code: errno) }
        defer { close(fd) }
        var (local, length) = socketAddress(nil, port: sourcePort, ipv6: isIPv6)
        var (remote, _) = socketAddress(address, port: port, ipv6: isIPv6)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw SocketFailure(operation: "bind port \(sourcePort)", code: errno) }
        let payload: [UInt8] = Array("x".utf8)
        let sent = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, payload, payload.count, 0, $0, length) }
        }
        guard sent == payload.count else {
            throw SocketFailure(operation: "send to \(address) port \(port)", code: errno)
        }
    }

    /// A socket address for `address` (the wildcard when `nil`) and `port`, and its length.
    private static func socketAddress(_ address: String?, port: UInt16, ipv6: Bool) -> (sockaddr_storage, socklen_t) {
        var storage = sockaddr_storage()
        if ipv6 {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = port.bigEndian
            if let address { _ = inet_pton(AF_INET6, address, &socketAddress.sin6_addr) }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: socketAddress, as: sockaddr_in6.self) }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        if let address { _ = inet_pton(AF_INET, address, &socketAddress.sin_addr) }
        withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: socketAddress, as: sockaddr_in.self) }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
}

/// A socket call of the test's UDP client failed.
struct SocketFailure: Error, CustomStringConvertible {
    var operation: String
    var code: Int32

    var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// What identifies a flow in both `ConntrackConnection.list` and `conntrack -L`, to compare the two.
struct FlowKey: Hashable, CustomStringConvertible {
    var l4proto: UInt8
    var original: ConntrackTuple
    var reply: ConntrackTuple
    var mark: UInt32

    init(_ entry: ConntrackEntry) {
        (l4proto, original, reply, mark) = (entry.l4proto, entry.original, entry.reply, entry.mark)
    }

    /// Parses a `conntrack -L` line such as `udp 17 599 src=198.18.0.1 dst=198.18.0.2 sport=40000 dport=5000
    /// [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=5000 dport=40000 mark=0 use=1`: the first
    /// `src`/`dst`/`sport`/`dport` are the original direction, the second the reply.
    init(conntrackLine line: Substring) throws {
        let words = line.split(separator: " ")
        var tuples: [[String: String]] = [[:], [:]]
        var markText: String?
        for word in words {
            let pair = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "mark" { markText = pair[1] }
            let direction = tuples[0][pair[0]] == nil ? 0 : 1
            tuples[direction][pair[0]] = pair[1]
        }
        l4proto = try #require(words.count > 1 ? UInt8(words[1]) : nil, "protocol number in \(line)")
        original = try Self.tuple(tuples[0], line)
        reply = try Self.tuple(tuples[1], line)
        mark = try #require(markText.flatMap { UInt32($0) }, "mark in \(line)")
    }

    private static func tuple(_ fields: [String: String], _ line: Substring) throws -> ConntrackTuple {
        ConntrackTuple(
            source: try #require(fields["src"].flatMap(addressBytes), "src in \(line)"),
            destination: try #require(fields["dst"].flatMap(addressBytes), "dst in \(line)"),
            sourcePort: fields["sport"].flatMap { UInt16($0) },
            destinationPort: fields["dport"].flatMap { UInt16($0) })
    }

    var description: String { "\(ConntrackEntry.protocolName(l4proto)) \(original) reply \(reply) mark \(mark)" }
}

/// The network-order bytes of an IPv4 or IPv6 address in text form.
func addressBytes(_ text: String) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: 16)
    let isIPv6 = text.contains(":")
    guard inet_pton(isIPv6 ? AF_INET6 : AF_INET, text, &bytes) == 1 else { return nil }
    return Array(bytes.prefix(isIPv6 ? 16 : 4))
}

/// `addressBytes` for the lab's own constants, which are always valid.
func ip(_ text: String) -> [UInt8] {
    addressBytes(text)!
}

/// A tuple of the lab's addresses, written the way `conntrack -L` reads: source, source port, destination, port.
func tuple(
    _ source: String, _ sourcePort: UInt16, to destination: String, _ destinationPort: UInt16
)
    -> ConntrackTuple
{
    ConntrackTuple(
        source: ip(source), destination: ip(destination), sourcePort: sourcePort, destinationPort: destinationPort)
}
