import Glibc

/// An IPv4 or IPv6 address as one 128-bit number, so that address planning (IPAM ranges, gateways, the next
/// address after the last one handed out) is plain integer arithmetic.
///
/// Named `Inet…` rather than `IP…` so that modules importing both this and KubeAPI (whose `IPAddress` models
/// Kubernetes' text fields) never see two types with one name.
public struct InetAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// True for IPv6 (16 bytes), false for IPv4 (4 bytes).
    public let isIPv6: Bool
    /// The address as a number: IPv4 addresses use the low 32 bits.
    public let value: UInt128

    /// An IPv4 address from its host-order number (10.0.0.1 is `0x0A00_0001`).
    public init(ipv4 value: UInt32) {
        isIPv6 = false
        self.value = UInt128(value)
    }

    /// An IPv6 address from its number.
    public init(ipv6 value: UInt128) {
        isIPv6 = true
        self.value = value
    }

    /// The address of `family` with number `value`; `nil` when the number does not fit the family.
    public init?(isIPv6: Bool, value: UInt128) {
        guard isIPv6 || value <= UInt128(UInt32.max) else {
            return nil
        }
        self.isIPv6 = isIPv6
        self.value = value
    }

    /// Parses dotted-quad IPv4 or any RFC 4291 IPv6 text (`inet_pton`); `nil` when it is neither.
    ///
    /// Inlinable so callers in other modules get it specialized for their string type: the CNI plugin parses
    /// addresses on every exec, and the unspecialized generic path costs it more than the parsing itself.
    @inlinable
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        let isIPv6 = text.utf8.contains(UInt8(ascii: ":"))
        var bytes = [UInt8](repeating: 0, count: isIPv6 ? 16 : 4)
        guard inet_pton(isIPv6 ? AF_INET6 : AF_INET, text, &bytes) == 1 else {
            return nil
        }
        self.init(bytes: bytes)
    }

    /// The address in `bytes`, network order: 4 bytes for IPv4, 16 for IPv6; `nil` for any other length.
    @inlinable
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 || bytes.count == 16 else {
            return nil
        }
        isIPv6 = bytes.count == 16
        value = bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
    }

    /// The address in network byte order, as netlink and nftables carry it.
    public var bytes: [UInt8] {
        let count = isIPv6 ? 16 : 4
        return (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * (count - 1 - $0))) }
    }

    /// The number of bits in this family's addresses: 32 or 128.
    public var bitWidth: Int { isIPv6 ? 128 : 32 }

    /// `AF_INET` or `AF_INET6`.
    public var family: Int32 { isIPv6 ? AF_INET6 : AF_INET }

    /// The address plus `offset`, or `nil` past the end of the family's address space.
    public func advanced(by offset: UInt128) -> InetAddress? {
        let (sum, overflow) = value.addingReportingOverflow(offset)
        return overflow ? nil : InetAddress(isIPv6: isIPv6, value: sum)
    }

    /// Hashes the two 64-bit halves: `UInt128`'s own hashing goes through its generic words and cost ~10k
    /// instructions per address in the CNI plugin's IPAM scan (callgrind).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(isIPv6)
        hasher.combine(UInt64(truncatingIfNeeded: value))
        hasher.combine(UInt64(truncatingIfNeeded: value >> 64))
    }

    /// Addresses order by family (IPv4 first), then numerically.
    public static func < (lhs: InetAddress, rhs: InetAddress) -> Bool {
        (lhs.isIPv6 ? 1 : 0, lhs.value) < (rhs.isIPv6 ? 1 : 0, rhs.value)
    }

    /// The canonical text (`inet_ntop`): `10.0.0.1`, `fd00::1`.
    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(family, bytes, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address with a prefix length, as interfaces carry addresses (`10.244.1.5/24`) and routes name
/// destinations (`0.0.0.0/0`). Host bits may be set: an interface address keeps its own address.
public struct InetPrefix: Sendable, Hashable, CustomStringConvertible {
    /// The address, host bits included.
    public let address: InetAddress
    /// The prefix length, 0…32 for IPv4 and 0…128 for IPv6.
    public let length: Int

    /// Pairs an address with a prefix length; `nil` when the length does not fit the family.
    public init?(address: InetAddress, length: Int) {
        guard (0...address.bitWidth).contains(length) else {
            return nil
        }
        self.address = address
        self.length = length
    }

    /// Parses `address/length`; `nil` when malformed. Inlinable for the same reason as `InetAddress.init(_:)`.
    @inlinable
    public init?(_ text: some StringProtocol) {
        let utf8 = text.utf8
        guard let slash = utf8.firstIndex(of: UInt8(ascii: "/")),
            let address = InetAddress(text[..<slash]),
            case let digits = utf8[utf8.index(after: slash)...],
            !digits.isEmpty, digits.count <= 3,
            digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else {
            return nil
        }
        self.init(address: address, length: digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) })
    }

    /// The mask of the network bits.
    public var mask: UInt128 {
        let width = address.bitWidth
        guard length > 0 else {
            return 0
        }
        let ones: UInt128 = width == 128 ? ~0 : (UInt128(1) << width) - 1
        return ones ^ ((UInt128(1) << (width - length)) - 1)
    }

    /// The network address: host bits cleared.
    public var network: InetAddress {
        InetAddress(isIPv6: address.isIPv6, value: address.value & mask)!
    }

    /// The last address of the prefix (the IPv4 broadcast address).
    public var last: InetAddress {
        let width = address.bitWidth
        let ones: UInt128 = width == 128 ? ~0 : (UInt128(1) << width) - 1
        return InetAddress(isIPv6: address.isIPv6, value: (address.value & mask) | (ones & ~mask))!
    }

    /// The same prefix with host bits cleared (`10.244.1.5/24` → `10.244.1.0/24`).
    public var canonical: InetPrefix { InetPrefix(address: network, length: length)! }

    /// True when `other` lies inside this prefix (same family, same network bits).
    public func contains(_ other: InetAddress) -> Bool {
        other.isIPv6 == address.isIPv6 && other.value & mask == address.value & mask
    }

    /// `address/length`.
    public var description: String { "\(address)/\(length)" }
}

/// A 6-byte Ethernet (MAC) address, as veths, bridges and FDB entries carry it.
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    /// The six bytes in wire order.
    public let bytes: [UInt8]

    /// Wraps six bytes; `nil` for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else {
            return nil
        }
        self.bytes = bytes
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-`); `nil` when malformed.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        guard parts.count == 6, bytes.count == 6 else {
            return nil
        }
        self.bytes = bytes
    }

    /// True for a multicast (or broadcast) address: the low bit of the first byte. Interfaces refuse these.
    public var isMulticast: Bool { bytes[0] & 1 != 0 }

    /// Lower-case colon-separated hex, as `ip link` prints it.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(17)
        for (index, byte) in bytes.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ":")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
