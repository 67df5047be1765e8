import KubeAPI
import NFTables

/// An inclusive range of addresses of one family, as interval set elements hold them.
///
/// Peers become ranges before they become elements: a pod is a one-address range, an `ipBlock` is its CIDR minus
/// the `except` holes, an empty peer list is the whole family. Addresses are 128-bit integers so IPv4 and IPv6
/// share the arithmetic of splitting and merging.
public struct AddressRange: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let family: AddressFamily
    public let first: UInt128
    public let last: UInt128

    init(family: AddressFamily, first: UInt128, last: UInt128) {
        self.family = family
        self.first = first
        self.last = last
    }

    /// The single address.
    public init(_ address: IPAddress) {
        let value = address.integer
        self.init(family: address.family, first: value, last: value)
    }

    /// Every address of the prefix.
    public init(_ cidr: IPCIDR) {
        let first = cidr.network.integer
        let hostBits = cidr.family.bitWidth - cidr.prefixLength
        let hostMask: UInt128 = hostBits == 0 ? 0 : hostBits >= 128 ? .max : (UInt128(1) << hostBits) - 1
        self.init(family: cidr.family, first: first, last: first | hostMask)
    }

    /// Every address of the family: an empty `from`/`to`.
    public static func all(_ family: AddressFamily) -> AddressRange {
        AddressRange(family: family, first: 0, last: family == .ipv4 ? UInt128(UInt32.max) : .max)
    }

    /// The ranges of `cidr` that remain after cutting out `holes` (of the same family): an ipBlock with `except`.
    public static func ranges(of cidr: IPCIDR, except holes: [IPCIDR]) -> [AddressRange] {
        let whole = AddressRange(cidr)
        var pieces: [AddressRange] = []
        var next: UInt128? = whole.first
        for hole in holes.map(AddressRange.init).filter({ $0.family == whole.family }).sorted() {
            guard let start = next else { break }
            if hole.last < start { continue }
            if hole.first > whole.last { break }
            if hole.first > start {
                pieces.append(AddressRange(family: whole.family, first: start, last: hole.first - 1))
            }
            next = hole.last >= whole.last ? nil : hole.last + 1
        }
        if let start = next, start <= whole.last {
            pieces.append(AddressRange(family: whole.family, first: start, last: whole.last))
        }
        return pieces
    }

    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && (first...last).contains(address.integer)
    }

    /// IPv4 before IPv6, then by first and last address.
    public static func < (lhs: AddressRange, rhs: AddressRange) -> Bool {
        if lhs.family != rhs.family { return lhs.family == .ipv4 }
        return (lhs.first, lhs.last) < (rhs.first, rhs.last)
    }

    /// The range as an interval element field: first and last address as nft values.
    var values: (first: Value, last: Value) {
        (Self.value(first, family), Self.value(last, family))
    }

    public var description: String {
        let (low, high) = values
        return ElementKey(ranges: [(low, high)]).description
    }

    static func value(_ integer: UInt128, _ family: AddressFamily) -> Value {
        switch family {
        case .ipv4: .ipv4(UInt32(truncatingIfNeeded: integer))
        case .ipv6: .ipv6((0..<16).map { UInt8(truncatingIfNeeded: integer >> (120 - 8 * $0)) })
        }
    }
}

extension IPAddress {
    /// The address as an unsigned integer (IPv4 in the low 32 bits), for range arithmetic.
    var integer: UInt128 {
        switch self {
        case .v4(let value): UInt128(value)
        case .v6(let high, let low): UInt128(high) << 64 | UInt128(low)
        }
    }

    /// The address as the nft value a set element or a traced packet holds.
    var value: Value { AddressRange.value(integer, family) }
}
