import Glibc

/// An IPv4 or IPv6 prefix in CIDR notation (`10.244.1.0/24`, `fd00:10:244:1::/64`), for planning test addresses.
///
/// Topologies number their hosts inside a prefix (gateway `.1`, pods `.2`, `.3`, …) and must stay inside the
/// project's test ranges, so that no test address can ever collide with a real network.
struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    /// The network address, 4 or 16 bytes, host bits zero.
    private let bytes: [UInt8]
    /// The prefix length in bits.
    let length: Int

    /// The only ranges test topologies may use: pod and Service CIDRs of the examples, the benchmarking range
    /// (RFC 2544) and IPv6 unique local addresses.
    static let testRanges = ["10.244.0.0/16", "10.96.0.0/12", "198.18.0.0/15", "fd00::/8"].map { IPPrefix($0)! }

    /// Parses `address/length`; `nil` when malformed or when host bits are set (a typo to report, not to round).
    init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let length = Int(parts[1]) else {
            return nil
        }
        let isIPv6 = parts[0].contains(":")
        var bytes = [UInt8](repeating: 0, count: isIPv6 ? 16 : 4)
        guard inet_pton(isIPv6 ? AF_INET6 : AF_INET, String(parts[0]), &bytes) == 1,
            (0...bytes.count * 8).contains(length)
        else {
            return nil
        }
        self.bytes = bytes
        self.length = length
        guard (0..<bytes.count * 8).allSatisfy({ $0 < length || !isSet(bit: $0, in: bytes) }) else {
            return nil
        }
    }

    var isIPv6: Bool { bytes.count == 16 }

    var description: String { "\(format(bytes))/\(length)" }

    /// True when every address of `other` is inside this prefix.
    func contains(_ other: IPPrefix) -> Bool {
        other.bytes.count == bytes.count && other.length >= length
            && (0..<length).allSatisfy { isSet(bit: $0, in: bytes) == isSet(bit: $0, in: other.bytes) }
    }

    /// True when the prefix lies inside one of ``testRanges``.
    var isTestRange: Bool { Self.testRanges.contains { $0.contains(self) } }

    /// The text of host number `number` (network address plus `number`), or `nil` when it falls outside the prefix
    /// or, for IPv4, on its broadcast address.
    func host(_ number: Int) -> String? {
        guard number > 0 else {
            return nil
        }
        var address = bytes
        var carry = number
        for index in address.indices.reversed() where carry > 0 {
            let sum = Int(address[index]) + carry
            address[index] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        let hostBits = bytes.count * 8 - length
        let isBroadcast = !isIPv6 && (length..<32).allSatisfy { isSet(bit: $0, in: address) }
        guard carry == 0, hostBits >= Int.bitWidth - 1 || number < 1 << hostBits, !isBroadcast else {
            return nil
        }
        return format(address)
    }

    private func format(_ address: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(isIPv6 ? AF_INET6 : AF_INET, address, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Whether bit `index` (0 = most significant bit of the first byte) is set.
private func isSet(bit index: Int, in bytes: [UInt8]) -> Bool {
    bytes[index / 8] & (0x80 >> UInt8(index % 8)) != 0
}
