import KubeAPI
import NFTables

/// One connection attempt to evaluate against the compiled Service ruleset.
public struct ServiceTraceRequest: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var port: UInt16
    public var `protocol`: TransportProtocol
    public var sourcePort: UInt16
    /// Originated on the node itself (output hook) rather than arriving from a pod or the network.
    public var fromNode: Bool
    /// Addresses the node owns (its NodePorts answer on them).
    public var localAddresses: [IPAddress]

    public init(
        source: IPAddress, destination: IPAddress, port: UInt16, protocol: TransportProtocol,
        sourcePort: UInt16 = 40000, fromNode: Bool = false, localAddresses: [IPAddress] = []
    ) {
        self.source = source
        self.destination = destination
        self.port = port
        self.protocol = `protocol`
        self.sourcePort = sourcePort
        self.fromNode = fromNode
        self.localAddresses = localAddresses
    }
}

/// What the kernel would do with the connection, derived by tracing the same IR it is programmed with.
public struct ServiceTraceResult: Sendable, Hashable, Codable {
    /// One possible endpoint and how likely a new connection lands on it.
    public struct Candidate: Sendable, Hashable, Codable {
        public var endpoint: String
        public var probability: Double
        public var masquerade: Bool
    }

    /// `namespace/name` of the Service whose frontend matched, if any.
    public var service: String?
    /// The Service port's name (empty for an unnamed single port).
    public var servicePort: String?
    /// How the packet matched: ClusterIP, external IP, LoadBalancer IP or NodePort.
    public var frontend: String?
    /// `accept` (DNATed or untouched), `drop` or `reject`.
    public var verdict: String
    /// Why, in words.
    public var reason: String
    public var endpoints: [Candidate]
    /// The full traces (chains, rules, statements) for `-o json`.
    public var outcomes: [TraceReport]
}

extension ServiceProxy {
    /// Traces a new connection through the desired ruleset (what `sync` programs) hook by hook.
    public func trace(_ request: ServiceTraceRequest) -> ServiceTraceResult {
        var ruleset = Ruleset()
        try? ruleset.apply(fullTransaction())
        let proto: UInt8 =
            switch request.protocol {
            case .udp: 17
            case .sctp: 132
            default: 6
            }
        let packet = TracePacket(
            source: value(request.source), destination: value(request.destination), l4proto: proto,
            sourcePort: request.sourcePort, destinationPort: request.port,
            localAddresses: Set(request.localAddresses.map(value)))
        let hooks: [Hook] = request.fromNode ? [.output, .postrouting] : [.prerouting, .forward, .postrouting]
        let outcomes = tracePath(packet, hooks: hooks, in: ruleset)
        let match = frontend(for: request)

        var candidates: [String: (Double, Bool)] = [:]
        var verdict = "accept"
        var reason = match == nil ? "not a Service frontend: passes untouched" : ""
        for outcome in outcomes {
            switch outcome.verdict {
            case .reject:
                verdict = "reject"
                reason = "the Service has no usable endpoints: rejected at once"
            case .drop:
                verdict = "drop"
                reason = dropReason(outcome)
            case .accept:
                guard let dnat = outcome.nat.first(where: { $0.kind == .dnat }), let address = dnat.address else {
                    continue
                }
                let text =
                    dnat.port.map { address.type == .ipv6Address ? "[\(address)]:\($0)" : "\(address):\($0)" }
                    ?? address.description
                let masquerade = outcome.nat.contains { $0.kind == .masquerade }
                let previous = candidates[text]?.0 ?? 0
                candidates[text] = (previous + outcome.probability, masquerade)
                reason = masquerade ? "DNAT to an endpoint, source masqueraded" : "DNAT to an endpoint, source kept"
            }
        }
        return ServiceTraceResult(
            service: match?.service.description, servicePort: match?.port, frontend: match?.kind,
            verdict: verdict, reason: reason,
            endpoints: candidates.map {
                ServiceTraceResult.Candidate(endpoint: $0.key, probability: $0.value.0, masquerade: $0.value.1)
            }
            .sorted { $0.endpoint < $1.endpoint },
            outcomes: outcomes.map(\.report))
    }

    private func dropReason(_ outcome: TraceOutcome) -> String {
        let rules = outcome.steps.map(\.rule).joined(separator: " ")
        if rules.contains("lb-source-ranges") { return "source address outside loadBalancerSourceRanges: dropped" }
        if rules.contains("no-endpoint") {
            return "no endpoint on this node for a Local traffic policy: dropped"
        }
        return "dropped"
    }

    /// The Service, port and kind of frontend the destination belongs to, from the compiled frontends.
    private func frontend(for request: ServiceTraceRequest) -> (service: ServiceName, port: String, kind: String)? {
        let proto: UInt8 =
            switch request.protocol {
            case .udp: 17
            case .sctp: 132
            default: 6
            }
        for name in serviceNames {
            guard let service = compiled(name) else { continue }
            for frontend in service.frontends
            where frontend.key.proto == proto && frontend.key.port == request.port
                && frontend.key.family == request.destination.family
            {
                switch frontend.key.kind {
                case .address where frontend.key.address == request.destination:
                    return (name, frontend.portName, frontend.label)
                case .nodePort where request.localAddresses.contains(request.destination):
                    return (name, frontend.portName, frontend.label)
                default:
                    continue
                }
            }
        }
        return nil
    }
}
