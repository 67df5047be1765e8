import KubeAPI
import NFTables

/// Everything one Service adds to the datapath: map elements and the pick chains they jump to.
///
/// Contributions are what make syncs incremental: when a Service or its endpoints change, only its old and new
/// contributions are compared, so the batch sent is proportional to that Service, not to the cluster.
public struct ServiceContribution: Sendable, Hashable {
    /// Elements per set or map name.
    public var elements: [String: [ElementKey: SetElement]] = [:]
    /// Pick and remember chains its verdict-map elements jump to.
    public var chains: Set<DatapathLayout.DynamicChain> = []
    /// For the health check node port: port → local endpoints serving external traffic.
    public var healthCheck: HealthCheck?
    /// UDP destinations (Service IPs/ports and endpoints) whose conntrack entries may need cleanup on change.
    public var udpFrontends: Set<UDPFrontend> = []

    public init() {}

    mutating func add(_ set: String, _ element: SetElement) {
        elements[set, default: [:]][element.key] = element
    }

    public var elementCount: Int { elements.values.reduce(0) { $0 + $1.count } }
}

/// `namespace/name` of a Service.
public struct ServiceName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public static func < (lhs: ServiceName, rhs: ServiceName) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }

    public var description: String { "\(namespace)/\(name)" }
}

/// What the health check node port of a `Local` Service reports.
public struct HealthCheck: Sendable, Hashable {
    public var port: UInt16
    public var service: ServiceName
    public var localEndpoints: Int

    public init(port: UInt16, service: ServiceName, localEndpoints: Int) {
        self.port = port
        self.service = service
        self.localEndpoints = localEndpoints
    }
}

/// A UDP Service IP/port and the endpoints behind it, for conntrack cleanup.
public struct UDPFrontend: Sendable, Hashable {
    public var address: IPAddress?
    public var port: UInt16
    public var endpoints: Set<IPAddress>
}
