/// The type of a set key, map value or selector result, as nft's datatypes name them.
///
/// The kernel only knows lengths; nft needs the type ids (and byte order) to print values, so the same ids
/// are sent over netlink that `nft -f` would send. That is what makes `nft list ruleset` readable for a
/// table Sluice programmed itself.
public enum DataType: String, Sendable, Hashable, CaseIterable, Codable {
    case verdict
    case ipv4Address = "ipv4_addr"
    case ipv6Address = "ipv6_addr"
    case etherAddress = "ether_addr"
    case inetProtocol = "inet_proto"
    case inetService = "inet_service"
    case mark
    case integer32 = "integer"
    case ctState = "ct_state"
    case ctStatus = "ct_status"
    case fibAddressType = "fib_addrtype"
    case interfaceName = "ifname"
    case nfproto = "nf_proto"

    /// nft's datatype id (`TYPE_*` in nft's datatype.h); concatenations combine them 6 bits apiece.
    public var typeID: UInt32 {
        switch self {
        case .verdict: 1
        case .nfproto: 2
        case .integer32: 4
        case .ipv4Address: 7
        case .ipv6Address: 8
        case .etherAddress: 9
        case .inetProtocol: 12
        case .inetService: 13
        case .mark: 19
        case .ctState: 26
        case .ctStatus: 28
        case .fibAddressType: 38
        case .interfaceName: 41
        }
    }

    /// Bytes the value occupies on the wire (before register padding).
    public var byteLength: Int {
        switch self {
        case .verdict: 4
        case .ipv4Address: 4
        case .ipv6Address: 16
        case .etherAddress: 6
        case .inetProtocol, .nfproto: 1
        case .inetService: 2
        case .mark, .integer32, .ctState, .ctStatus, .fibAddressType: 4
        case .interfaceName: 16
        }
    }

    /// Whether values are in network byte order; nft records this in set user data so it can print elements.
    /// Interface names are strings: compared bytewise as stored, never byte-swapped.
    public var isBigEndian: Bool {
        switch self {
        case .ipv4Address, .ipv6Address, .etherAddress, .inetService, .interfaceName: true
        default: false
        }
    }

    /// Bytes the value occupies in a concatenation: every field starts on a 32-bit register boundary.
    public var registerLength: Int { (byteLength + 3) / 4 * 4 }
}

/// The key or data type of a set: one type, or a concatenation such as `ipv4_addr . inet_proto . inet_service`.
public struct TypeSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The concatenated fields in order; a plain type has one.
    public var fields: [DataType]

    public init(_ fields: [DataType]) { self.fields = fields }
    public init(_ field: DataType) { self.fields = [field] }

    public var isConcatenation: Bool { fields.count > 1 }

    /// The length the kernel stores: padded fields for concatenations, the plain length otherwise.
    public var byteLength: Int {
        isConcatenation ? fields.reduce(0) { $0 + $1.registerLength } : fields.first?.byteLength ?? 0
    }

    /// The combined nft type id (`TYPE_BITS` = 6 per field) sent as `NFTA_SET_KEY_TYPE`.
    public var typeID: UInt32 {
        fields.reduce(UInt32(0)) { ($0 << 6) | $1.typeID }
    }

    public var description: String { fields.map(\.rawValue).joined(separator: " . ") }

    /// Whether a key of type `other` can be looked up in a set keyed by `self`: the same fields, where a plain
    /// 32-bit integer (numgen, jhash) may stand for a `mark` — nft needs a fixed-size named type in set
    /// definitions, the kernel compares bytes.
    public func accepts(_ other: TypeSpec) -> Bool {
        guard fields.count == other.fields.count else { return false }
        return zip(fields, other.fields).allSatisfy { a, b in
            a == b || (Set([a, b]) == [.mark, .integer32])
        }
    }
}
