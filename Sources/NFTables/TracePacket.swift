/// What the tracer knows about a packet: the header fields, metadata and conntrack state that rules can read.
///
/// It holds only what the IR's expressions read, so a trace is a pure function of this value and a `Ruleset`.
/// Hooks that rewrite the packet (NAT, marks) hand a modified copy to the next hook.
public struct TracePacket: Sendable, Hashable {
    /// `.ip` or `.ip6`: which tables see the packet and what `meta nfproto` reads.
    public var family: TableFamily
    /// `ip saddr` / `ip6 saddr`: an `ipv4_addr` or `ipv6_addr` value.
    public var source: Value
    /// `ip daddr` / `ip6 daddr`; rewritten by DNAT.
    public var destination: Value
    /// `meta l4proto`: 6 tcp, 17 udp, 132 sctp, 1 icmp, 58 icmpv6.
    public var l4proto: UInt8
    /// `th sport`; meaningful for TCP, UDP, SCTP, DCCP and UDP-Lite only.
    public var sourcePort: UInt16
    /// `th dport`; rewritten by DNAT to a port.
    public var destinationPort: UInt16
    /// `meta iifname`; `nil` where the kernel has no input device (locally generated packets).
    public var inputInterface: String?
    /// `meta oifname`; `nil` before routing (prerouting, input).
    public var outputInterface: String?
    /// `meta mark`, which rules set to tag packets for later hooks.
    public var mark: UInt32
    public var ctState: CtState
    /// `ct status`; NAT sets `dnat`/`snat` as the kernel does when it changes the tuple.
    public var ctStatus: CtStatus
    public var ctMark: UInt32
    /// `ct original ip daddr` / `ip6 daddr`: where the flow was opened to, before any DNAT. NAT never changes
    /// it, so later hooks can still tell which Service frontend a DNATed packet came through.
    public var originalDestination: Value
    /// `ct original proto-dst`.
    public var originalDestinationPort: UInt16
    /// Addresses of this node: `fib daddr type` answers `local` for them (and `unicast`, `broadcast` or
    /// `multicast` by address class otherwise), standing in for the routing table.
    public var localAddresses: Set<Value>

    /// A packet of the family its source address implies (`ipv6_addr` → `.ip6`, else `.ip`). The conntrack
    /// original destination defaults to the packet's own (a flow's first packet); give it for a packet of an
    /// established, DNATed flow.
    public init(
        source: Value, destination: Value, l4proto: UInt8, sourcePort: UInt16 = 0, destinationPort: UInt16 = 0,
        inputInterface: String? = nil, outputInterface: String? = nil, mark: UInt32 = 0, ctState: CtState = .new,
        ctStatus: CtStatus = [], ctMark: UInt32 = 0, originalDestination: Value? = nil,
        originalDestinationPort: UInt16? = nil, localAddresses: Set<Value> = []
    ) {
        self.family = source.type == .ipv6Address ? .ip6 : .ip
        self.source = source
        self.destination = destination
        self.l4proto = l4proto
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.inputInterface = inputInterface
        self.outputInterface = outputInterface
        self.mark = mark
        self.ctState = ctState
        self.ctStatus = ctStatus
        self.ctMark = ctMark
        self.originalDestination = originalDestination ?? destination
        self.originalDestinationPort = originalDestinationPort ?? destinationPort
        self.localAddresses = localAddresses
    }

    /// Whether the transport header starts with source and destination ports (what `th sport/dport` read).
    public var hasPorts: Bool { [6, 17, 33, 132, 136].contains(l4proto) }
}

extension TracePacket: CustomStringConvertible {
    /// One line: `tcp 10.0.0.1:40000 -> 10.96.0.10:80 iif eth0 mark 0x00004000 ct new`.
    public var description: String {
        func endpoint(_ address: Value, _ port: UInt16) -> String {
            guard hasPorts else { return address.description }
            return address.type == .ipv6Address ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
        var text = "\(Value.inetProtocol(l4proto)) \(endpoint(source, sourcePort)) -> "
        text += endpoint(destination, destinationPort)
        if let inputInterface { text += " iif \(inputInterface)" }
        if let outputInterface { text += " oif \(outputInterface)" }
        if mark != 0 { text += " mark \(Value.mark(mark))" }
        text += " ct \(ctState)"
        if !ctStatus.isEmpty { text += " status \(ctStatus)" }
        if ctMark != 0 { text += " ctmark \(Value.mark(ctMark))" }
        if originalDestination != destination || originalDestinationPort != destinationPort {
            text += " original \(endpoint(originalDestination, originalDestinationPort))"
        }
        return text
    }
}
