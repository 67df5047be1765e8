import KubeAPI
import NFTables

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
