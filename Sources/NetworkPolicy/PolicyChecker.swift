import KubeAPI
import NFTables

/// Answers "would this connection be allowed, and why?" from the compiled datapath itself: the verdict is the
/// tracer's walk of the very ruleset the kernel is given, and the reasons are the rules recorded on the set elements
/// that walk matched. `sluice policy check` and `sluice policy matrix` are thin views of it, and kernel tests assert
/// that real packets agree with it cell for cell.
public struct PolicyChecker: Sendable {
    public let enforcer: PolicyEnforcer
    /// What the kernel would hold for the enforcer's node.
    public let ruleset: Ruleset

    /// Compiles whatever the enforcer has pending and builds the ruleset its transactions produce.
    public init(enforcer: PolicyEnforcer) throws(RulesetError) {
        var synced = enforcer
        _ = synced.sync()
        var ruleset = Ruleset()
        try ruleset.apply(synced.fullTransaction())
        self.enforcer = synced
        self.ruleset = ruleset
    }

    /// The cluster-wide view of a manifest set: every pod enforced (as its own node would), rejected policies
    /// failing closed.
    public init(manifests: ManifestSet) throws(RulesetError) {
        var enforcer = PolicyEnforcer(configuration: PolicyConfiguration(nodeName: nil))
        enforcer.replaceAll(
            namespaces: manifests.namespaces, pods: manifests.pods,
            policies: manifests.networkPolicies + manifests.invalidNetworkPolicies,
            rejected: RejectedPolicy.rejected(by: manifests))
        try self.init(enforcer: enforcer)
    }

    /// Judges a new connection from `source` to `destination` on `protocol`/`port`.
    ///
    /// - Parameter family: the address family to use; `nil` picks IPv4 when both ends have an IPv4 address, else
    ///   IPv6.
    public func check(
        from source: PolicyEndpoint, to destination: PolicyEndpoint, protocol: TransportProtocol, port: UInt16,
        family: AddressFamily? = nil
    ) throws(PolicyCheckError) -> PolicyVerdict {
        let sources = try addresses(of: source)
        let destinations = try addresses(of: destination)
        let families = [AddressFamily.ipv4, .ipv6].filter { f in
            sources.contains { $0.family == f } && destinations.contains { $0.family == f }
        }
        guard let chosen = family ?? families.first, families.contains(chosen) else {
            throw PolicyCheckError(
                "\(source) and \(destination) have no \(family?.description ?? "common") address family")
        }
        let from = sources.first { $0.family == chosen }!
        let to = destinations.first { $0.family == chosen }!
        guard let number = Self.protocolNumber(`protocol`) else {
            throw PolicyCheckError("\(`protocol`) is not one of TCP, UDP, SCTP")
        }
        let packet = TracePacket(
            source: from.value, destination: to.value, l4proto: number, sourcePort: 40000, destinationPort: port)
        let outcomes = trace(packet, hook: .forward, in: ruleset)
        let allowed = outcomes.allSatisfy { $0.verdict == .accept }
        let tuple = Tuple(source: from, destination: to, protocol: `protocol`, port: port)
        return PolicyVerdict(
            allowed: allowed, source: source, destination: destination, sourceAddress: from,
            destinationAddress: to, protocol: `protocol`, port: port,
            egress: side(.egress, of: source, at: from, tuple),
            ingress: side(.ingress, of: destination, at: to, tuple),
            trace: outcomes.flatMap { $0.steps.map(\.description) })
    }

    /// The truth table of every ordered pair of distinct pods (all pods policy applies to, unless given) for every
    /// port and protocol, in pod, then port, then protocol order. Pods without an address of `family` are left out.
    public func matrix(
        pods: [ObjectName]? = nil, ports: [UInt16], protocols: [TransportProtocol], family: AddressFamily = .ipv4
    ) throws(PolicyCheckError) -> [PolicyMatrixCell] {
        let names = (pods ?? enforcer.podNames).filter { name in
            enforcer.addresses(of: name)?.contains { $0.family == family } ?? false
        }
        var cells: [PolicyMatrixCell] = []
        for from in names {
            for to in names where to != from {
                for port in ports {
                    for proto in protocols {
                        let verdict = try check(
                            from: .pod(from), to: .pod(to), protocol: proto, port: port, family: family)
                        cells.append(
                            PolicyMatrixCell(from: from, to: to, port: port, protocol: proto, allowed: verdict.allowed))
                    }
                }
            }
        }
        return cells
    }

    private func addresses(of endpoint: PolicyEndpoint) throws(PolicyCheckError) -> [IPAddress] {
        switch endpoint {
        case .address(let address):
            return [address]
        case .pod(let name):
            guard let addresses = enforcer.addresses(of: name) else {
                throw PolicyCheckError(
                    "pod \(name) is unknown, uses the host network, has finished or has no address")
            }
            return addresses
        }
    }

    private struct Tuple {
        var source: IPAddress
        var destination: IPAddress
        var `protocol`: TransportProtocol
        var port: UInt16
    }

    /// One end's part in the verdict, read from the contribution of the pod owning that end's address.
    private func side(
        _ direction: PolicyDirection, of endpoint: PolicyEndpoint, at address: IPAddress, _ tuple: Tuple
    ) -> PolicySide {
        let local = enforcer.localPod(at: address)
        let pod: ObjectName? = if case .pod(let name) = endpoint { name } else { local }
        guard let local, let contribution = enforcer.contribution(of: local),
            let isolating = contribution.isolatedBy[direction]
        else {
            return PolicySide(pod: pod, enforced: local != nil, isolatedBy: [], allowedBy: [], allowed: true)
        }
        let f = PolicyLayout.Family.of(address.family)
        let peer = direction == .ingress ? tuple.source : tuple.destination
        var reasons: Set<PolicyRuleRef> = []
        let anyKey = [address.value, peer.value]
        for (key, refs) in contribution.reasons[f.any(direction)] ?? [:] where key.contains(anyKey) {
            reasons.formUnion(refs)
        }
        if let number = Self.protocolNumber(tuple.protocol) {
            let portKey = anyKey + [.inetProtocol(number), .port(tuple.port)]
            for (key, refs) in contribution.reasons[f.ports(direction)] ?? [:] where key.contains(portKey) {
                reasons.formUnion(refs)
            }
        }
        let rejected = Set(enforcer.rejectedPolicies.keys)
        return PolicySide(
            pod: pod, enforced: true, isolatedBy: isolating, rejectedPolicies: isolating.filter(rejected.contains),
            allowedBy: reasons.sorted(), allowed: !reasons.isEmpty)
    }

    static func protocolNumber(_ proto: TransportProtocol) -> UInt8? {
        switch proto {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        case .unrecognized: nil
        }
    }
}

/// One end of a checked connection: a pod, or an address outside the pod network (for ipBlock rules).
public enum PolicyEndpoint: Sendable, Hashable, CustomStringConvertible {
    case pod(ObjectName)
    case address(IPAddress)

    /// `namespace/pod`, a bare pod name (in `default`), or an IP address.
    public init?(_ text: String) {
        if let address = IPAddress(text) {
            self = .address(address)
        } else if let name = ObjectName(text) {
            self = .pod(name)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .pod(let name): name.description
        case .address(let address): address.description
        }
    }
}

/// The verdict on one connection and the reasons on both ends.
public struct PolicyVerdict: Sendable, Hashable {
    /// What the traced ruleset does with the connection's first packet.
    public var allowed: Bool
    public var source: PolicyEndpoint
    public var destination: PolicyEndpoint
    public var sourceAddress: IPAddress
    public var destinationAddress: IPAddress
    public var `protocol`: TransportProtocol
    public var port: UInt16
    /// Judged at the source: may it send?
    public var egress: PolicySide
    /// Judged at the destination: may it receive?
    public var ingress: PolicySide
    /// The tracer's steps through the policy table, in nft syntax.
    public var trace: [String]
}

/// How one end of a connection judges it.
public struct PolicySide: Sendable, Hashable {
    /// The pod at this end, `nil` for an address that is no pod.
    public var pod: ObjectName?
    /// Whether this node enforces policy for that end (a local pod).
    public var enforced: Bool
    /// The policies isolating the pod in this direction; empty when it is not isolated (everything allowed).
    public var isolatedBy: [ObjectName]
    /// Isolating policies that were rejected: they allow nothing but still isolate.
    public var rejectedPolicies: [ObjectName] = []
    /// The rules allowing the connection.
    public var allowedBy: [PolicyRuleRef]
    public var allowed: Bool
}

/// One cell of `sluice policy matrix`.
public struct PolicyMatrixCell: Sendable, Hashable {
    public var from: ObjectName
    public var to: ObjectName
    public var port: UInt16
    public var `protocol`: TransportProtocol
    public var allowed: Bool

    public init(from: ObjectName, to: ObjectName, port: UInt16, protocol: TransportProtocol, allowed: Bool) {
        self.from = from
        self.to = to
        self.port = port
        self.protocol = `protocol`
        self.allowed = allowed
    }
}

/// Why a check cannot be answered (an unknown pod, no common address family).
public struct PolicyCheckError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    init(_ description: String) { self.description = description }
}

extension ElementKey {
    /// Whether the values lie within this key's ranges, field by field, compared as the kernel's interval sets do
    /// (network byte order).
    func contains(_ values: [Value]) -> Bool {
        guard values.count == firsts.count else { return false }
        for (value, (first, last)) in zip(values, zip(firsts, lasts)) {
            let bytes = value.networkOrderBytes
            guard !bytes.lexicographicallyPrecedes(first.networkOrderBytes),
                !last.networkOrderBytes.lexicographicallyPrecedes(bytes)
            else { return false }
        }
        return true
    }
}
