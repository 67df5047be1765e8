/// The family of an address or prefix. Unlike the manifest field type `IPFamily`, this set is closed:
/// it describes parsed addresses, so compilers can switch over it exhaustively.
public enum AddressFamily: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case ipv4
    case ipv6

    /// Address width in bits: the largest valid prefix length.
    public var bitWidth: Int {
        switch self {
        case .ipv4: 32
        case .ipv6: 128
        }
    }

    public var description: String {
        switch self {
        case .ipv4: "IPv4"
        case .ipv6: "IPv6"
        }
    }
}

/// An IPv4 or IPv6 address as plain integers, so compilers can hash, compare and mask it cheaply and
/// encode it for the kernel without going through text again.
///
/// Parsing is strict, like the API server's current validation: dotted-quad IPv4 without leading
/// zeros (`010.1.1.1` is ambiguous between octal and decimal, so it is rejected), IPv6 in RFC 4291
/// text form with at most one `::` and an optional dotted-quad tail, and no zone (`%eth0`).
/// An IPv4-mapped address such as `::ffff:10.0.0.1` stays IPv6, because that is how it was written.
/// `description` prints the canonical form (RFC 5952 for IPv6).
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    /// An IPv4 address in host byte order (`10.0.0.1` is `0x0A00_0001`).
    case v4(UInt32)
    /// An IPv6 address as its high and low 64 bits in host byte order.
    case v6(high: UInt64, low: UInt64)

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        if bytes.contains(UInt8(ascii: ":")) {
            guard let groups = Self.parseIPv6Groups(bytes[...]) else { return nil }
            self = Self.fromGroups(groups)
        } else {
            guard let value = Self.parseIPv4(bytes[...]) else { return nil }
            self = .v4(value)
        }
    }

    /// Builds an address from network-order bytes: 4 for IPv4, 16 for IPv6 (as netlink delivers them).
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high: high, low: low)
        default:
            return nil
        }
    }

    public var family: AddressFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    /// The address in network byte order, as the kernel and nftables expect it.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            let first = (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            return first + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// The address with all bits after the first `prefixLength` cleared (the network of a prefix).
    public func masked(toPrefixLength prefixLength: Int) -> IPAddress {
        switch self {
        case .v4(let value):
            let mask: UInt32 = prefixLength <= 0 ? 0 : prefixLength >= 32 ? .max : ~(UInt32.max >> prefixLength)
            return .v4(value & mask)
        case .v6(let high, let low):
            let highMask: UInt64 =
                prefixLength <= 0 ? 0 : prefixLength >= 64 ? .max : ~(UInt64.max >> prefixLength)
            let lowMask: UInt64 =
                prefixLength <= 64 ? 0 : prefixLength >= 128 ? .max : ~(UInt64.max >> (prefixLength - 64))
            return .v6(high: high & highMask, low: low & lowMask)
        }
    }

    /// IPv4 sorts before IPv6; within a family, addresses sort numerically.
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let left), .v4(let right)): left < right
        case (.v4, .v6): true
        case (.v6, .v4): false
        case (.v6(let leftHigh, let leftLow), .v6(let rightHigh, let rightLow)):
            (leftHigh, leftLow) < (rightHigh, rightLow)
        }
    }

    public var description: String {
        switch self {
        case .v4(let value):
            return Self.dottedQuad(value)
        case .v6(let high, let low):
            return Self.canonicalIPv6(high: high, low: low)
        }
    }

    // MARK: - Parsing

    private static func parseIPv4(_ text: ArraySlice<UInt8>) -> UInt32? {
        // One pass, no intermediate arrays: endpoints arrive by the hundred thousand.
        var value: UInt32 = 0
        var octets = 0
        var number: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for byte in text {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, octets < 3 else { return nil }
                value = value << 8 | number
                octets += 1
                (number, digits, leadingZero) = (0, 0, false)
            } else {
                guard isDecimalDigit(byte), digits < 3, !leadingZero else { return nil }
                if digits == 0 && byte == UInt8(ascii: "0") { leadingZero = true }
                number = number * 10 + UInt32(byte - UInt8(ascii: "0"))
                guard number <= 255 else { return nil }
                digits += 1
            }
        }
        guard octets == 3, digits > 0 else { return nil }
        return value << 8 | number
    }

    /// Parses the eight 16-bit groups of an IPv6 address, expanding `::`.
    private static func parseIPv6Groups(_ text: ArraySlice<UInt8>) -> [UInt16]? {
        let colon = UInt8(ascii: ":")
        var compression: Range<Int>?
        var index = text.startIndex
        while index < text.endIndex - 1 {
            if text[index] == colon && text[index + 1] == colon {
                guard compression == nil else { return nil }
                compression = index..<(index + 2)
                index += 2
            } else {
                index += 1
            }
        }
        if let compression {
            guard let head = parseGroupList(text[text.startIndex..<compression.lowerBound], allowIPv4Tail: false),
                let tail = parseGroupList(text[compression.upperBound..<text.endIndex], allowIPv4Tail: true),
                head.count + tail.count <= 7
            else { return nil }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard let groups = parseGroupList(text, allowIPv4Tail: true), groups.count == 8 else { return nil }
        return groups
    }

    /// Parses colon-separated hex groups; the last one may be a dotted quad worth two groups.
    private static func parseGroupList(_ text: ArraySlice<UInt8>, allowIPv4Tail: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let fields = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (position, field) in fields.enumerated() {
            if allowIPv4Tail && position == fields.count - 1 && field.contains(UInt8(ascii: ".")) {
                guard let embedded = parseIPv4(field) else { return nil }
                groups.append(UInt16(truncatingIfNeeded: embedded >> 16))
                groups.append(UInt16(truncatingIfNeeded: embedded))
                continue
            }
            guard (1...4).contains(field.count) else { return nil }
            var group: UInt16 = 0
            for character in field {
                guard let digit = hexDigitValue(character) else { return nil }
                group = group << 4 | UInt16(digit)
            }
            groups.append(group)
        }
        return groups
    }

    private static func fromGroups(_ groups: [UInt16]) -> IPAddress {
        let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return .v6(high: high, low: low)
    }

    private static func isDecimalDigit(_ character: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(character)
    }

    private static func hexDigitValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: - Printing

    private static func dottedQuad(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    /// RFC 5952: lowercase hex without leading zeros, the longest run (first on a tie) of two or more
    /// zero groups shortened to `::`, and IPv4-mapped addresses with a dotted-quad tail.
    private static func canonicalIPv6(high: UInt64, low: UInt64) -> String {
        if high == 0 && low >> 32 == 0xffff {
            return "::ffff:" + dottedQuad(UInt32(truncatingIfNeeded: low))
        }
        let groups = (0..<8).map { position -> UInt16 in
            let word = position < 4 ? high : low
            return UInt16(truncatingIfNeeded: word >> (48 - 16 * (position % 4)))
        }
        var bestStart = -1
        var bestLength = 1
        var runStart = 0
        while runStart < 8 {
            guard groups[runStart] == 0 else {
                runStart += 1
                continue
            }
            var runEnd = runStart
            while runEnd < 8 && groups[runEnd] == 0 { runEnd += 1 }
            if runEnd - runStart > bestLength {
                bestStart = runStart
                bestLength = runEnd - runStart
            }
            runStart = runEnd
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        let head = hex[0..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}
