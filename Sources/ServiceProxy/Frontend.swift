import KubeAPI
import NFTables

/// One way into a Service — a ClusterIP, external IP or LoadBalancer IP with protocol and port, or a NodePort —
/// and everything the datapath does with connections to it.
///
/// This is the unit the proxier keeps, compares and owns: a Service is a handful of frontends, and the map
/// elements are derived from a frontend only when a transaction is built. Holding frontends instead of elements
/// keeps the proxier's memory at a few hundred bytes per Service port, and lets one change be diffed by
/// comparing two small records.
public struct Frontend: Sendable, Hashable {
    /// What identifies a frontend in the datapath; two Services claiming the same key conflict.
    public struct Key: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var family: AddressFamily
        public var kind: DatapathLayout.FrontendKind
        /// The destination address; `nil` for a NodePort (it answers on every NodePort address).
        public var address: IPAddress?
        public var proto: UInt8
        public var port: UInt16

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.family == .ipv4 ? 0 : 1, lhs.kind.rawValue, lhs.address?.description ?? "", lhs.proto, lhs.port)
                < (rhs.family == .ipv4 ? 0 : 1, rhs.kind.rawValue, rhs.address?.description ?? "", rhs.proto, rhs.port)
        }

        public var description: String {
            let proto =
                switch proto {
                case 6: "tcp"
                case 17: "udp"
                case 132: "sctp"
                default: "\(proto)"
                }
            guard let address else { return "NodePort \(proto) \(port)" }
            return "\(address) . \(proto) . \(port)"
        }
    }

    /// Where DNAT may send a connection.
    public struct Target: Sendable, Hashable {
        public var address: IPAddress
        public var port: UInt16
        /// The endpoint may be a pod on this node (or its node is unknown): a pod reaching itself through the
        /// Service (hairpin) can only happen here, so only these endpoints need a hairpin entry.
        public var mayHairpin: Bool
    }

    public var key: Key
    /// Selected endpoints in slot order; empty means the connection is refused or dropped.
    public var endpoints: [Target]
    /// For an external frontend of a `Local` Service: the endpoints in-cluster clients (pods, the node) get
    /// instead of this node's — the Service's cluster endpoints, as kube-proxy short-circuits them. `nil`
    /// otherwise.
    public var internalEndpoints: [Target]?
    /// Without endpoints: reject at once (no usable endpoint anywhere) rather than drop (none on this node).
    public var rejectsWithoutEndpoints: Bool
    /// ClientIP affinity timeout.
    public var affinitySeconds: Int?
    /// Traffic is masqueraded (external traffic under the `Cluster` policy).
    public var masquerade: Bool
    /// A ClusterIP while cluster CIDRs are known: masqueraded when the client is outside them.
    public var isClusterIP: Bool
    /// A LoadBalancer IP with `loadBalancerSourceRanges`: only these sources pass (of this family).
    public var sourceRanges: [IPCIDR]?
    /// For people: the Service port's name and how the frontend was reached (`ClusterIP`, `NodePort`, …).
    public var portName: String
    public var label: String

    /// The pick chain its dispatch jumps to (and the remember chain that records affinity).
    var chains: [DatapathLayout.DynamicChain] {
        var out: [DatapathLayout.DynamicChain] = []
        if !endpoints.isEmpty { out.append(.pick(key.family, key.kind, endpoints: endpoints.count)) }
        if let inCluster = internalEndpoints, !inCluster.isEmpty {
            out.append(.internalPick(key.family, key.kind, endpoints: inCluster.count))
        }
        if let affinitySeconds, !out.isEmpty { out.append(.remember(key.family, seconds: affinitySeconds)) }
        return out
    }

    /// Every endpoint it may DNAT to.
    var allTargets: [Target] { endpoints + (internalEndpoints ?? []) }

    /// Endpoint addresses needing a hairpin entry (each once).
    var hairpinAddresses: [IPAddress] {
        let targets = internalEndpoints == nil ? endpoints : allTargets
        guard targets.contains(where: \.mayHairpin) else { return [] }
        var seen = Set<IPAddress>()
        return targets.compactMap { $0.mayHairpin && seen.insert($0.address).inserted ? $0.address : nil }
    }

    /// The frontend's UDP cleanup record (nil for other protocols).
    var udpFrontend: UDPFrontend? {
        guard key.proto == 17 else { return nil }
        return UDPFrontend(address: key.address, port: key.port, endpoints: Set(allTargets.map(\.address)))
    }

    /// Calls `emit` with every map element of this frontend (hairpin entries are shared between frontends and
    /// are emitted by the proxier): set name, key fields, payload.
    func forEachElement(_ emit: (String, ElementList.Fields, ElementList.Payload) -> Void) {
        let f = DatapathLayout.Family.of(key.family)
        let proto = Value.inetProtocol(key.proto)
        let port = Value.port(key.port)
        let address = key.address.map(value)
        func fields(_ extra: Value? = nil) -> ElementList.Fields {
            switch (address, extra) {
            case (let a?, let e?): ElementList.Fields(a, proto, port, e)
            case (let a?, nil): ElementList.Fields(a, proto, port)
            case (nil, let e?): ElementList.Fields(proto, port, e)
            case (nil, nil): ElementList.Fields(proto, port)
            }
        }
        let isAddress = key.kind == .address
        if endpoints.isEmpty {
            let verdict: Verdict = rejectsWithoutEndpoints ? .goto(DatapathLayout.rejectChain) : .drop
            emit(isAddress ? f.noEndpoints : f.noEndpointNodePorts, fields(), .verdict(verdict))
        } else {
            let pick = DatapathLayout.DynamicChain.pick(key.family, key.kind, endpoints: endpoints.count)
            emit(isAddress ? f.serviceIPs : f.nodePorts, fields(), .verdict(.goto(pick.name)))
            let map = isAddress ? f.endpoints : f.nodePortEndpoints
            for (slot, endpoint) in endpoints.enumerated() {
                emit(
                    map, fields(.mark(UInt32(slot))),
                    .values(ElementList.Fields(value(endpoint.address), .port(endpoint.port))))
            }
            if let affinitySeconds {
                let remember = DatapathLayout.DynamicChain.remember(key.family, seconds: affinitySeconds)
                emit(
                    isAddress ? f.affinityFrontends : f.affinityNodePorts, fields(), .verdict(.jump(remember.name)))
            }
        }
        if let inCluster = internalEndpoints, !inCluster.isEmpty {
            let pick = DatapathLayout.DynamicChain.internalPick(key.family, key.kind, endpoints: inCluster.count)
            emit(isAddress ? f.internalFrontends : f.internalNodePorts, fields(), .verdict(.goto(pick.name)))
            let map = isAddress ? f.endpoints : f.nodePortEndpoints
            for (slot, endpoint) in inCluster.enumerated() {
                emit(
                    map, fields(.mark(DatapathLayout.internalSlotOffset + UInt32(slot))),
                    .values(ElementList.Fields(value(endpoint.address), .port(endpoint.port))))
            }
            emit(isAddress ? f.internalBypass : f.internalBypassNodePorts, fields(), .none)
            if endpoints.isEmpty, let affinitySeconds {
                // Affinity is recorded for in-cluster clients too (the remember chain is per timeout).
                let remember = DatapathLayout.DynamicChain.remember(key.family, seconds: affinitySeconds)
                emit(
                    isAddress ? f.affinityFrontends : f.affinityNodePorts, fields(), .verdict(.jump(remember.name)))
            }
        }
        if masquerade { emit(isAddress ? f.masqueradeFrontends : f.masqueradeNodePorts, fields(), .none) }
        if isClusterIP { emit(f.clusterIPFrontends, fields(), .none) }
        // The ranges themselves are interval elements: `rangeElements`.
        if sourceRanges != nil && address != nil { emit(f.firewalledFrontends, fields(), .none) }
    }

    /// The `loadBalancerSourceRanges` elements (interval keys, so they are not packed).
    func rangeElements() -> [SetElement] {
        guard let sourceRanges, let address = key.address.map(value) else { return [] }
        let proto = Value.inetProtocol(key.proto)
        let port = Value.port(key.port)
        return sourceRanges.map { range in
            let (first, last) = value(range.network).prefixRange(length: range.prefixLength)
            return SetElement(
                key: ElementKey(ranges: [(address, address), (proto, proto), (port, port), (first, last)]))
        }
    }

    /// Every element as `SetElement`s (set name first), for diffs of one changed frontend.
    func elements() -> [NamedElement] {
        var out: [NamedElement] = []
        forEachElement { set, fields, payload in
            var list = ElementList()
            list.append(fields, payload)
            out.append(NamedElement(set: set, element: list[0]))
        }
        let f = DatapathLayout.Family.of(key.family)
        for element in rangeElements() { out.append(NamedElement(set: f.sourceRanges, element: element)) }
        return out
    }

    /// An element with the set it belongs to: what two records of one frontend are compared by.
    struct NamedElement: Hashable {
        var set: String
        var element: SetElement
    }

    /// Number of map elements it programs (hairpin entries aside).
    var elementCount: Int {
        var n = 0
        forEachElement { _, _, _ in n += 1 }
        return n + (sourceRanges?.count ?? 0)
    }
}

/// What one Service compiles to: its frontends and, for a `Local` LoadBalancer, its health check.
public struct CompiledService: Sendable, Hashable {
    /// Every way into the Service, in compile order; each is owned and diffed on its own.
    public var frontends: [Frontend] = []
    /// Set only for a `Local` LoadBalancer with a health check node port.
    public var healthCheck: HealthCheck?

    /// A Service that programs nothing (not proxied, or no usable frontend).
    public init() {}

    var udpFrontends: Set<UDPFrontend> { Set(frontends.compactMap(\.udpFrontend)) }
}
