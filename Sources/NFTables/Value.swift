/// A typed constant: a set element field, a comparison operand, a NAT target.
///
/// Stored as the exact bytes the kernel compares (network order for addresses and ports, host order for
/// marks and flags), so encoding is a copy and equality is byte equality — the tracer and the kernel agree.
/// The bytes live inline (no value type the kernel compares is longer than 16 bytes): Service maps hold
/// hundreds of thousands of elements, and a heap array per field was most of the compile time and memory.
public struct Value: Sendable, Hashable, CustomStringConvertible {
    public let type: DataType
    /// Bytes given (a longer input keeps only 16, which validation then reports by this count).
    private let count: UInt8
    /// Bytes 0..<8 and 8..<16, first byte in the most significant position.
    private let high: UInt64
    private let low: UInt64

    /// Wraps raw bytes; the length must match the type (checked by `Transaction` validation).
    public init(type: DataType, bytes: [UInt8]) {
        self.type = type
        count = UInt8(clamping: bytes.count)
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (i, byte) in bytes.prefix(16).enumerated() {
            if i < 8 {
                high |= UInt64(byte) << (56 - 8 * i)
            } else {
                low |= UInt64(byte) << (56 - 8 * (i - 8))
            }
        }
        self.high = high
        self.low = low
    }

    /// Bytes given directly as the two halves (no intermediate array: compilers make millions of values).
    init(type: DataType, count: Int, high: UInt64, low: UInt64 = 0) {
        self.type = type
        self.count = UInt8(count)
        self.high = high
        self.low = low
    }

    /// The bytes, in the order the kernel compares them.
    public var bytes: [UInt8] {
        (0..<min(Int(count), 16)).map(byte(at:))
    }

    /// How many bytes were given; validation compares it with the type's length.
    public var byteCount: Int { Int(count) }

    @inline(__always)
    func byte(at i: Int) -> UInt8 {
        i < 8 ? UInt8(truncatingIfNeeded: high >> (56 - 8 * i)) : UInt8(truncatingIfNeeded: low >> (56 - 8 * (i - 8)))
    }

    /// Appends the bytes (optionally in network order, see `networkOrderBytes`) without an intermediate array.
    public func append(to buffer: inout [UInt8], networkOrder: Bool = false) {
        let n = min(Int(count), 16)
        if networkOrder && !type.isBigEndian && n > 1 {
            for i in stride(from: n - 1, through: 0, by: -1) { buffer.append(byte(at: i)) }
        } else {
            for i in 0..<n { buffer.append(byte(at: i)) }
        }
    }

    public static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> Value {
        Value(type: .ipv4Address, bytes: [a, b, c, d])
    }

    /// An IPv4 address from its 32-bit host-order value (10.0.0.1 is `0x0A00_0001`).
    public static func ipv4(_ address: UInt32) -> Value {
        Value(type: .ipv4Address, count: 4, high: UInt64(address) << 32)
    }

    /// An IPv6 address from its high and low 64 bits (host order, first byte most significant).
    public static func ipv6(high: UInt64, low: UInt64) -> Value {
        Value(type: .ipv6Address, count: 16, high: high, low: low)
    }

    public static func ipv6(_ bytes: [UInt8]) -> Value { Value(type: .ipv6Address, bytes: bytes) }

    /// An IPv6 address from 8 groups, the way it is written (`2001:db8::1` is `[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]`).
    public static func ipv6(groups: [UInt16]) -> Value {
        Value(type: .ipv6Address, bytes: groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] })
    }

    public static func inetProtocol(_ number: UInt8) -> Value {
        Value(type: .inetProtocol, count: 1, high: UInt64(number) << 56)
    }
    public static let tcp = inetProtocol(6)
    public static let udp = inetProtocol(17)
    public static let sctp = inetProtocol(132)
    public static let icmp = inetProtocol(1)
    public static let icmpv6 = inetProtocol(58)

    public static func port(_ port: UInt16) -> Value {
        Value(type: .inetService, count: 2, high: UInt64(port) << 48)
    }

    public static func mark(_ mark: UInt32) -> Value { hostOrder(.mark, mark) }
    public static func integer(_ value: UInt32) -> Value { hostOrder(.integer32, value) }
    public static func ctState(_ state: CtState) -> Value { hostOrder(.ctState, state.rawValue) }
    public static func ctStatus(_ status: CtStatus) -> Value { hostOrder(.ctStatus, status.rawValue) }
    public static func fibAddressType(_ type: FibAddressType) -> Value { hostOrder(.fibAddressType, type.rawValue) }
    public static func nfproto(_ family: TableFamily) -> Value { Value(type: .nfproto, bytes: [family.nfproto]) }

    /// An interface name, NUL-padded to `IFNAMSIZ` as the kernel compares it.
    public static func interfaceName(_ name: String) -> Value {
        var bytes = Array(name.utf8.prefix(15))
        bytes += Array(repeating: 0, count: 16 - bytes.count)
        return Value(type: .interfaceName, bytes: bytes)
    }

    private static func hostOrder(_ type: DataType, _ value: UInt32) -> Value {
        // Little-endian bytes: the lowest byte first, i.e. in the most significant position of `high`.
        Value(type: type, count: 4, high: UInt64(value.byteSwapped) << 32)
    }

    /// The bytes in network order, as range-capable sets (rbtree, pipapo) must hold keys to compare them
    /// bytewise: host-order integers are byte-swapped, everything else is unchanged. (Hosts are little-endian.)
    public var networkOrderBytes: [UInt8] {
        type.isBigEndian || bytes.count < 2 ? bytes : bytes.reversed()
    }

    /// The inverse of `networkOrderBytes`, for values read back from a range-capable set.
    public static func fromNetworkOrder(type: DataType, bytes: [UInt8]) -> Value {
        Value(type: type, bytes: type.isBigEndian || bytes.count < 2 ? bytes : bytes.reversed())
    }

    /// The value as a host-order integer (for ports, marks, protocols, flags).
    public var integerValue: UInt64 {
        if type.isBigEndian { return bytes.reduce(0) { $0 << 8 | UInt64($1) } }
        return bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The value plus one, as an interval end needs it (`nil` when it wraps past the largest value).
    public func successor() -> Value? {
        var out = bytes
        let indices = type.isBigEndian ? Array(out.indices.reversed()) : Array(out.indices)
        for i in indices {
            if out[i] == 0xff {
                out[i] = 0
            } else {
                out[i] += 1
                return Value(type: type, bytes: out)
            }
        }
        return nil
    }

    /// The value minus one (`nil` below zero): turns the kernel's exclusive interval end back into an inclusive one.
    public func predecessor() -> Value? {
        var out = bytes
        let indices = type.isBigEndian ? Array(out.indices.reversed()) : Array(out.indices)
        for i in indices {
            if out[i] == 0 {
                out[i] = 0xff
            } else {
                out[i] -= 1
                return Value(type: type, bytes: out)
            }
        }
        return nil
    }

    /// The network address of a prefix and the last address in it (both inclusive).
    public func prefixRange(length: Int) -> (first: Value, last: Value) {
        var first = bytes
        var last = bytes
        for i in bytes.indices {
            let bitsBefore = i * 8
            let keep = max(0, min(8, length - bitsBefore))
            let mask: UInt8 = keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
            first[i] &= mask
            last[i] = first[i] | ~mask
        }
        return (Value(type: type, bytes: first), Value(type: type, bytes: last))
    }

    /// nft syntax for the value.
    public var description: String {
        switch type {
        case .ipv4Address:
            return bytes.map(String.init).joined(separator: ".")
        case .ipv6Address:
            return Self.formatIPv6(bytes)
        case .etherAddress:
            return bytes.map { hex($0) }.joined(separator: ":")
        case .inetProtocol:
            switch bytes.first ?? 0 {
            case 1: return "icmp"
            case 6: return "tcp"
            case 17: return "udp"
            case 58: return "ipv6-icmp"
            case 132: return "sctp"
            case let n: return String(n)
            }
        case .nfproto:
            switch bytes.first ?? 0 {
            case 2: return "ipv4"
            case 10: return "ipv6"
            case let n: return String(n)
            }
        case .inetService, .integer32, .verdict:
            return String(integerValue)
        case .mark:
            return "0x" + String(integerValue, radix: 16).leftPadded(to: 8)
        case .ctState:
            return CtState(rawValue: UInt32(integerValue)).description
        case .ctStatus:
            return CtStatus(rawValue: UInt32(integerValue)).description
        case .fibAddressType:
            return FibAddressType(rawValue: UInt32(integerValue))?.name ?? String(integerValue)
        case .interfaceName:
            let name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            return "\"\(name)\""
        }
    }

    /// RFC 5952 text: lowercase, zero groups compressed at the longest (first) run of two or more.
    static func formatIPv6(_ bytes: [UInt8]) -> String {
        guard bytes.count == 16 else { return bytes.map { hex($0) }.joined() }
        let groups = (0..<8).map { UInt16(bytes[$0 * 2]) << 8 | UInt16(bytes[$0 * 2 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        let text = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return text.joined(separator: ":") }
        let head = text[..<bestStart].joined(separator: ":")
        let tail = text[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}

private func hex(_ byte: UInt8) -> String {
    String(byte, radix: 16).leftPadded(to: 2)
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Conntrack states as the `ct state` bitmask (`NF_CT_STATE_*_BIT`).
public struct CtState: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let invalid = CtState(rawValue: 1)
    public static let established = CtState(rawValue: 2)
    public static let related = CtState(rawValue: 4)
    public static let new = CtState(rawValue: 8)
    public static let untracked = CtState(rawValue: 64)

    private static let names: [(CtState, String)] = [
        (.invalid, "invalid"), (.established, "established"), (.related, "related"), (.new, "new"),
        (.untracked, "untracked"),
    ]

    public var description: String {
        Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}

/// Conntrack status bits (`IPS_*`) that rules test, e.g. "this flow was DNATed".
public struct CtStatus: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let expected = CtStatus(rawValue: 1 << 0)
    public static let seenReply = CtStatus(rawValue: 1 << 1)
    public static let assured = CtStatus(rawValue: 1 << 2)
    public static let confirmed = CtStatus(rawValue: 1 << 3)
    public static let snat = CtStatus(rawValue: 1 << 4)
    public static let dnat = CtStatus(rawValue: 1 << 5)

    private static let names: [(CtStatus, String)] = [
        (.expected, "expected"), (.seenReply, "seen-reply"), (.assured, "assured"), (.confirmed, "confirmed"),
        (.snat, "snat"), (.dnat, "dnat"),
    ]

    public var description: String {
        Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}

/// Route types as `fib ... type` reports them (`RTN_*`).
public enum FibAddressType: UInt32, Sendable, Hashable, CaseIterable {
    case unspec = 0, unicast, local, broadcast, anycast, multicast, blackhole, unreachable, prohibit

    public var name: String { String(describing: self) }
}
