import KubeAPI

/// One backend of a Service port: where DNAT sends a connection.
public struct ServiceEndpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Where the endpoint runs, relative to this node.
    public enum Placement: UInt8, Sendable, Hashable {
        case local, remote, unknown

        static func of(_ nodeName: String?, local: String) -> Placement {
            guard let nodeName else { return .unknown }
            return nodeName == local ? .local : .remote
        }
    }

    public var address: IPAddress
    public var port: UInt16
    public var placement: Placement
    public var isReady: Bool
    public var isServing: Bool
    public var isTerminating: Bool
    public var zoneHints: [String]

    public init(
        address: IPAddress, port: UInt16, placement: Placement = .unknown, isReady: Bool = true,
        isServing: Bool = true, isTerminating: Bool = false, zoneHints: [String] = []
    ) {
        self.address = address
        self.port = port
        self.placement = placement
        self.isReady = isReady
        self.isServing = isServing
        self.isTerminating = isTerminating
        self.zoneHints = zoneHints
    }

    /// Endpoints are ordered by address then port so slot numbers are stable across syncs.
    public static func < (lhs: ServiceEndpoint, rhs: ServiceEndpoint) -> Bool {
        (lhs.address, lhs.port) < (rhs.address, rhs.port)
    }

    public var description: String {
        address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// Which endpoints serve a Service port's traffic on this node, the way kube-proxy categorizes them.
public struct EndpointSelection: Sendable, Hashable {
    /// Endpoints for traffic from inside the cluster (ClusterIP), after topology and internal traffic policy.
    public var cluster: [ServiceEndpoint]
    /// Endpoints for traffic from outside (NodePort, LoadBalancer, externalIPs), after external traffic policy.
    public var external: [ServiceEndpoint]
    /// Whether any endpoint could serve at all: without one, connections are rejected rather than dropped.
    public var hasUsableEndpoints: Bool
    /// Local endpoints usable for external traffic: what the health check node port reports.
    public var localEndpointCount: Int

    /// Selects endpoints for `port` of `service` in one address family from all its endpoints.
    ///
    /// - Ready endpoints serve; only when none is ready, serving-and-terminating ones do (graceful drain).
    /// - Topology hints apply when the Service asks for them (`trafficDistribution` or the `topology-mode`
    ///   annotation), every endpoint carries zone hints, and some hint names this node's zone.
    /// - `Local` traffic policies keep endpoints on this node only (with the same ready/terminating fallback).
    static func select(
        _ endpoints: [ServiceEndpoint], for service: ServiceInput, nodeZone: String?
    ) -> EndpointSelection {
        let all = usable(endpoints)
        let local = usable(endpoints.filter { $0.placement == .local })
        let topologyFiltered = applyHints(all, wanted: service.wantsHints, nodeZone: nodeZone)
        let cluster = service.internalLocal ? local : topologyFiltered
        let external = service.externalLocal ? local : topologyFiltered
        return EndpointSelection(
            cluster: cluster.sorted(), external: external.sorted(), hasUsableEndpoints: !all.isEmpty,
            localEndpointCount: local.count)
    }

    /// Ready endpoints, or serving terminating ones when none is ready.
    static func usable(_ endpoints: [ServiceEndpoint]) -> [ServiceEndpoint] {
        let ready = endpoints.filter(\.isReady)
        if !ready.isEmpty { return ready }
        return endpoints.filter { $0.isServing && $0.isTerminating }
    }

    static let topologyModeAnnotation = "service.kubernetes.io/topology-mode"

    static func applyHints(_ endpoints: [ServiceEndpoint], wanted: Bool, nodeZone: String?) -> [ServiceEndpoint] {
        guard wanted, let zone = nodeZone, !endpoints.isEmpty,
            endpoints.allSatisfy({ !$0.zoneHints.isEmpty })
        else { return endpoints }
        let inZone = endpoints.filter { $0.zoneHints.contains(zone) }
        return inZone.isEmpty ? endpoints : inZone
    }
}
