/// The address family of conntrack flows (the kernel's `nfgen_family`), as `conntrack -f ipv4|ipv6` selects it.
///
/// Conntrack keeps IPv4 and IPv6 flows apart; every request names one family, so a dual-stack Service is
/// cleaned up with one call per family.
public enum ConntrackFamily: UInt8, Sendable, Hashable, CaseIterable {
    /// `AF_INET`.
    case ipv4 = 2
    /// `AF_INET6`.
    case ipv6 = 10

    /// Bytes in an address of this family: 4 or 16.
    public var addressLength: Int {
        switch self {
        case .ipv4: 4
        case .ipv6: 16
        }
    }
}

/// Which conntrack flows to list or delete: every field that is set must match (AND); `nil` matches anything.
///
/// The fields are those kube-proxy passes to `conntrack -D` when UDP endpoints change:
/// - a Service IP and port: `originalDestination` + `originalDestinationPort` (`--orig-dst IP --dport PORT`);
/// - a removed endpoint: `replySource` (+ `replySourcePort`), because a DNATed flow's reply comes from the
///   endpoint (`--dst-nat IP`);
/// - a NodePort: `originalDestinationPort` alone.
///
/// Addresses are raw network-order bytes (4 or 16), so this target stays independent of other address types.
public struct ConntrackFilter: Sendable, Hashable {
    /// The family to search; conntrack keeps IPv4 and IPv6 flows apart.
    public var family: ConntrackFamily
    /// The layer-4 protocol number: 17 UDP, 6 TCP, 132 SCTP, 1 ICMP, 58 ICMPv6.
    public var l4proto: UInt8?
    /// The destination the client addressed (a Service IP), before any DNAT.
    public var originalDestination: [UInt8]?
    /// The destination port the client addressed (a Service port or NodePort); flows without ports never match.
    public var originalDestinationPort: UInt16?
    /// The source of the reply direction: the endpoint a DNATed flow was sent to.
    public var replySource: [UInt8]?
    /// The source port of the reply direction: the endpoint's port (the target port).
    public var replySourcePort: UInt16?

    /// Creates a filter; leave a field `nil` to match any value.
    public init(
        family: ConntrackFamily,
        l4proto: UInt8? = nil,
        originalDestination: [UInt8]? = nil,
        originalDestinationPort: UInt16? = nil,
        replySource: [UInt8]? = nil,
        replySourcePort: UInt16? = nil
    ) {
        self.family = family
        self.l4proto = l4proto
        self.originalDestination = originalDestination
        self.originalDestinationPort = originalDestinationPort
        self.replySource = replySource
        self.replySourcePort = replySourcePort
    }

    /// Refuses addresses of the wrong length: such a filter would silently match nothing.
    func validate() throws(ConntrackError) {
        for (name, address) in [("originalDestination", originalDestination), ("replySource", replySource)] {
            if let address, address.count != family.addressLength {
                throw .invalidFilter(
                    "\(name) has \(address.count) bytes, an \(family) address has \(family.addressLength)")
            }
        }
    }

    /// True when `entry` satisfies every field that is set.
    func matches(_ entry: ConntrackEntry) -> Bool {
        entry.family == family
            && (l4proto == nil || entry.l4proto == l4proto)
            && (originalDestination == nil || entry.original.destination == originalDestination)
            && (originalDestinationPort == nil || entry.original.destinationPort == originalDestinationPort)
            && (replySource == nil || entry.reply.source == replySource)
            && (replySourcePort == nil || entry.reply.sourcePort == replySourcePort)
    }
}
