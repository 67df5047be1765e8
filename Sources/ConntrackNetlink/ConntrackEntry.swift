internal import CMnl
import Glibc

/// One conntrack flow as the kernel reports it (`conntrack -L`): both directions, its mark and status.
///
/// The reply tuple is what reveals NAT: after DNAT to an endpoint, the reply's source is the endpoint while the
/// original destination is still the Service IP.
public struct ConntrackEntry: Sendable, Hashable, CustomStringConvertible {
    /// The flow's address family.
    public var family: ConntrackFamily
    /// The layer-4 protocol number (17 UDP, 6 TCP, 132 SCTP, 1 ICMP, 58 ICMPv6).
    public var l4proto: UInt8
    /// The direction the first packet travelled, as the client addressed it.
    public var original: ConntrackTuple
    /// The direction replies are expected from, after NAT.
    public var reply: ConntrackTuple
    /// The connection mark (`CTA_MARK`); 0 when unset.
    public var mark: UInt32
    /// The kernel's status bits (`CTA_STATUS`).
    public var status: ConntrackStatus
    /// The conntrack zone (`CTA_ZONE`); 0 is the default zone, which is all Sluice uses.
    public var zone: UInt16

    /// Creates an entry; `ConntrackConnection.list(_:)` is the usual source.
    public init(
        family: ConntrackFamily, l4proto: UInt8, original: ConntrackTuple, reply: ConntrackTuple,
        mark: UInt32 = 0, status: ConntrackStatus = [], zone: UInt16 = 0
    ) {
        self.family = family
        self.l4proto = l4proto
        self.original = original
        self.reply = reply
        self.mark = mark
        self.status = status
        self.zone = zone
    }

    /// `udp 198.18.0.1:40000 -> 198.18.100.1:53 reply 198.18.0.2:5353 -> 198.18.0.1:40000 mark 0 [CONFIRMED]`.
    public var description: String {
        var text = "\(Self.protocolName(l4proto)) \(original) reply \(reply) mark \(mark) \(status)"
        if zone != 0 { text += " zone \(zone)" }
        return text
    }

    static func protocolName(_ number: UInt8) -> String {
        switch number {
        case 1: "icmp"
        case 6: "tcp"
        case 17: "udp"
        case 58: "icmpv6"
        case 132: "sctp"
        default: "proto \(number)"
        }
    }
}

/// One direction of a flow: addresses (raw network-order bytes) and, for port-based protocols, ports.
public struct ConntrackTuple: Sendable, Hashable, CustomStringConvertible {
    /// Source address, 4 or 16 bytes.
    public var source: [UInt8]
    /// Destination address, 4 or 16 bytes.
    public var destination: [UInt8]
    /// Source port; `nil` for protocols without ports (ICMP).
    public var sourcePort: UInt16?
    /// Destination port; `nil` for protocols without ports (ICMP).
    public var destinationPort: UInt16?

    /// Creates a tuple from raw addresses and host-order ports.
    public init(source: [UInt8], destination: [UInt8], sourcePort: UInt16? = nil, destinationPort: UInt16? = nil) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    /// `198.18.0.1:40000 -> 198.18.0.2:5000`, or `[fd00::1]:40000 -> …` for IPv6.
    public var description: String {
        "\(Self.endpoint(source, sourcePort)) -> \(Self.endpoint(destination, destinationPort))"
    }

    private static func endpoint(_ address: [UInt8], _ port: UInt16?) -> String {
        let text = presentation(address)
        guard let port else { return text }
        return address.count == 16 ? "[\(text)]:\(port)" : "\(text):\(port)"
    }

    /// The usual text form of an address (`inet_ntop`); other lengths print as hex.
    static func presentation(_ address: [UInt8]) -> String {
        let family: Int32
        switch address.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return address.map { String($0, radix: 16) }.joined(separator: ":")
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = address.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The status bits of a flow (`enum ip_conntrack_status`, `IPS_*`), e.g. whether a reply was ever seen.
///
/// A UDP flow to a Service without endpoints stays without `seenReply`: that is the stale entry kube-proxy
/// clears when endpoints appear.
public struct ConntrackStatus: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// `IPS_EXPECTED`: the flow was expected by a helper (e.g. FTP data).
    public static let expected = Self(bit: IPS_EXPECTED_BIT)
    /// `IPS_SEEN_REPLY`: packets went both ways; without it `conntrack -L` prints `[UNREPLIED]`.
    public static let seenReply = Self(bit: IPS_SEEN_REPLY_BIT)
    /// `IPS_ASSURED`: the flow is established enough not to be evicted early.
    public static let assured = Self(bit: IPS_ASSURED_BIT)
    /// `IPS_CONFIRMED`: the flow is in the table (its first packet left the stack).
    public static let confirmed = Self(bit: IPS_CONFIRMED_BIT)
    /// `IPS_SRC_NAT`: the source was rewritten (masquerade, SNAT).
    public static let sourceNAT = Self(bit: IPS_SRC_NAT_BIT)
    /// `IPS_DST_NAT`: the destination was rewritten (a Service DNAT to an endpoint).
    public static let destinationNAT = Self(bit: IPS_DST_NAT_BIT)
    /// `IPS_DYING`: the flow is being removed.
    public static let dying = Self(bit: IPS_DYING_BIT)

    private init(bit: ip_conntrack_status) {
        self.init(rawValue: 1 << bit.rawValue)
    }

    private static let names: [(Self, String)] = [
        (.expected, "EXPECTED"), (.seenReply, "SEEN_REPLY"), (.assured, "ASSURED"), (.confirmed, "CONFIRMED"),
        (.sourceNAT, "SRC_NAT"), (.destinationNAT, "DST_NAT"), (.dying, "DYING"),
    ]

    /// The set bits by their `IPS_` names, e.g. `[CONFIRMED,DST_NAT]`; unnamed bits print as hex.
    public var description: String {
        var parts = Self.names.filter { contains($0.0) }.map(\.1)
        let unnamed = rawValue & ~Self.names.reduce(0) { $0 | $1.0.rawValue }
        if unnamed != 0 { parts.append("0x" + String(unnamed, radix: 16)) }
        return "[" + parts.joined(separator: ",") + "]"
    }
}
