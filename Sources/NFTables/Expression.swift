/// A packet or state field a rule reads: what nft writes left of a comparison, `vmap` or `map`.
///
/// Each case knows its width and nft spelling; the netlink encoder lowers it to register-level expressions
/// (payload, meta, ct, numgen, hash, fib) and the tracer evaluates it against a packet.
public indirect enum Expression: Sendable, Hashable, CustomStringConvertible {
    /// A field of the network or transport header.
    case payload(PayloadField)
    case meta(MetaKey)
    case ct(CtKey)
    /// `numgen random mod N [offset K]`: uniform pick among N slots.
    case numgenRandom(modulus: UInt32, offset: UInt32 = 0)
    /// `jhash EXPR mod N seed S [offset K]`: the same input always picks the same slot.
    case jhash(Expression, modulus: UInt32, seed: UInt32, offset: UInt32 = 0)
    /// `fib daddr type`: how the routing table classifies the destination (local, unicast…).
    case fibDestinationType
    /// Fields joined into one key, each on its own 32-bit register boundary.
    case concat([Expression])
    /// `KEY map @name`: the value a map holds for the key (DNAT targets, endpoint picks).
    case mapLookup(key: Expression, map: String, resultType: TypeSpec)
    /// A literal, for NAT targets and `set` statements.
    case constant(Value)

    /// The type(s) of the value the expression produces.
    public var type: TypeSpec {
        switch self {
        case .payload(let f): TypeSpec(f.dataType)
        case .meta(let k): TypeSpec(k.dataType)
        case .ct(let k): TypeSpec(k.dataType)
        case .numgenRandom, .jhash: TypeSpec(.integer32)
        case .fibDestinationType: TypeSpec(.fibAddressType)
        case .concat(let parts): TypeSpec(parts.flatMap(\.type.fields))
        case .mapLookup(_, _, let result): result
        case .constant(let v): TypeSpec(v.type)
        }
    }

    /// A map lookup nested in a concatenation reads ambiguously without parentheses (nft has no syntax for it;
    /// the kernel evaluates it register by register).
    public static func parenthesized(_ e: Expression) -> String {
        if case .mapLookup = e { return "(\(e))" }
        return e.description
    }

    /// Whether the expression reads `e` anywhere (e.g. a NAT target chosen by a map keyed on the protocol).
    public func reads(_ e: Expression) -> Bool {
        if self == e { return true }
        switch self {
        case .jhash(let input, _, _, _): return input.reads(e)
        case .concat(let parts): return parts.contains { $0.reads(e) }
        case .mapLookup(let key, _, _): return key.reads(e)
        case .payload, .meta, .ct, .numgenRandom, .fibDestinationType, .constant: return false
        }
    }

    /// The layer-3 families whose headers the expression reads (`ip` and/or `ip6`).
    public var requiredFamilies: Set<TableFamily> {
        switch self {
        case .payload(let f): f.requiredFamily.map { [$0] } ?? []
        case .ct(let k): k.requiredFamily.map { [$0] } ?? []
        case .jhash(let input, _, _, _): input.requiredFamilies
        case .concat(let parts): parts.reduce(into: []) { $0.formUnion($1.requiredFamilies) }
        case .mapLookup(let key, _, _): key.requiredFamilies
        case .meta, .numgenRandom, .fibDestinationType, .constant: []
        }
    }

    public var description: String {
        switch self {
        case .payload(let f): f.rawValue
        case .meta(let k): "meta \(k.rawValue)"
        case .ct(let k): "ct \(k.rawValue)"
        case .numgenRandom(let mod, let offset):
            "numgen random mod \(mod)" + (offset == 0 ? "" : " offset \(offset)")
        case .jhash(let input, let mod, let seed, let offset):
            "jhash \(input) mod \(mod) seed 0x\(String(seed, radix: 16))" + (offset == 0 ? "" : " offset \(offset)")
        case .fibDestinationType: "fib daddr type"
        case .concat(let parts): parts.map(Self.parenthesized).joined(separator: " . ")
        case .mapLookup(let key, let map, _): "\(key) map @\(map)"
        case .constant(let v): v.description
        }
    }
}

/// Header fields, named as nft writes them.
public enum PayloadField: String, Sendable, Hashable, CaseIterable {
    case ipSource = "ip saddr"
    case ipDestination = "ip daddr"
    case ip6Source = "ip6 saddr"
    case ip6Destination = "ip6 daddr"
    /// Transport header ports, valid for TCP, UDP and SCTP alike (the first 4 bytes share a layout).
    case transportSourcePort = "th sport"
    case transportDestinationPort = "th dport"

    public var dataType: DataType {
        switch self {
        case .ipSource, .ipDestination: .ipv4Address
        case .ip6Source, .ip6Destination: .ipv6Address
        case .transportSourcePort, .transportDestinationPort: .inetService
        }
    }

    /// `NFT_PAYLOAD_NETWORK_HEADER` (1) or `NFT_PAYLOAD_TRANSPORT_HEADER` (2).
    public var base: UInt32 {
        switch self {
        case .ipSource, .ipDestination, .ip6Source, .ip6Destination: 1
        case .transportSourcePort, .transportDestinationPort: 2
        }
    }

    public var offset: UInt32 {
        switch self {
        case .ipSource: 12
        case .ipDestination: 16
        case .ip6Source: 8
        case .ip6Destination: 24
        case .transportSourcePort: 0
        case .transportDestinationPort: 2
        }
    }

    /// The layer-3 family the field implies; in `inet` tables a `meta nfproto` check guards it, as nft adds.
    public var requiredFamily: TableFamily? {
        switch self {
        case .ipSource, .ipDestination: .ip
        case .ip6Source, .ip6Destination: .ip6
        case .transportSourcePort, .transportDestinationPort: nil
        }
    }
}

/// `meta` keys Sluice uses.
public enum MetaKey: String, Sendable, Hashable, CaseIterable {
    case l4proto, nfproto, mark, iifname, oifname

    public var dataType: DataType {
        switch self {
        case .l4proto: .inetProtocol
        case .nfproto: .nfproto
        case .mark: .mark
        case .iifname, .oifname: .interfaceName
        }
    }

    /// `NFT_META_*`.
    public var number: UInt32 {
        switch self {
        case .mark: 3
        case .iifname: 6
        case .oifname: 7
        case .nfproto: 15
        case .l4proto: 16
        }
    }
}

/// `ct` keys Sluice uses.
public enum CtKey: String, Sendable, Hashable, CaseIterable {
    case state, status, mark
    /// The destination the connection was opened to, before DNAT: which Service frontend it came through.
    case originalDestination = "original ip daddr"
    case originalDestination6 = "original ip6 daddr"
    case originalDestinationPort = "original proto-dst"

    public var dataType: DataType {
        switch self {
        case .state: .ctState
        case .status: .ctStatus
        case .mark: .mark
        case .originalDestination: .ipv4Address
        case .originalDestination6: .ipv6Address
        case .originalDestinationPort: .inetService
        }
    }

    /// `NFT_CT_*`.
    public var number: UInt32 {
        switch self {
        case .state: 0
        case .status: 2
        case .mark: 3
        case .originalDestinationPort: 12
        case .originalDestination: 20
        case .originalDestination6: 22
        }
    }

    /// Tuple direction for per-direction keys (`IP_CT_DIR_ORIGINAL`), `nil` for connection-wide ones.
    public var direction: UInt8? {
        switch self {
        case .state, .status, .mark: nil
        case .originalDestination, .originalDestination6, .originalDestinationPort: 0
        }
    }

    /// The layer-3 family a tuple address key implies.
    public var requiredFamily: TableFamily? {
        switch self {
        case .originalDestination: .ip
        case .originalDestination6: .ip6
        default: nil
        }
    }
}
