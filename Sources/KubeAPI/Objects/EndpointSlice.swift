/// A discovery.k8s.io/v1 EndpointSlice: the scalable endpoint list the proxy consumes, with
/// readiness, topology and zone hints per endpoint.
public struct EndpointSlice: KubernetesObject {
    public static let kind = "EndpointSlice"
    public static let apiVersions = ["discovery.k8s.io/v1"]
    public static let isNamespaced = true
    /// The label that ties a slice to its Service.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    public var metadata: ObjectMeta
    public var addressType: EndpointSliceAddressType
    public var endpoints: [Endpoint]
    public var ports: [EndpointSlicePort]

    enum CodingKeys: String, CodingKey {
        case metadata
        case addressType
        case endpoints
        case ports
    }

    public init(
        metadata: ObjectMeta, addressType: EndpointSliceAddressType, endpoints: [Endpoint] = [],
        ports: [EndpointSlicePort] = []
    ) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decode(.metadata, default: ObjectMeta(name: ""))
        addressType = try container.decode(.addressType, default: .unrecognized(""))
        endpoints = try container.decode(.endpoints, default: [])
        ports = try container.decode(.ports, default: [])
    }

    public func encode(to encoder: any Encoder) throws {
        try encodeTypeMeta(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(addressType, forKey: .addressType)
        try container.encode(endpoints, forKey: .endpoints)
        try container.encode(ports, forKey: .ports)
    }

    /// The owning Service's name, from the `kubernetes.io/service-name` label.
    public var serviceName: String? { metadata.labels[Self.serviceNameLabel] }
}

public enum EndpointSliceAddressType: KubernetesEnum {
    case ipv4
    case ipv6
    case fqdn
    case unrecognized(String)

    public static let knownCases: [EndpointSliceAddressType] = [.ipv4, .ipv6, .fqdn]

    public var rawValue: String {
        switch self {
        case .ipv4: "IPv4"
        case .ipv6: "IPv6"
        case .fqdn: "FQDN"
        case .unrecognized(let value): value
        }
    }
}

public struct Endpoint: Codable, Hashable, Sendable {
    /// Usually one address; all of them belong to the same backend.
    public var addresses: [String]
    public var conditions: EndpointConditions
    public var hostname: String?
    public var nodeName: String?
    public var zone: String?
    public var targetRef: ObjectReference?
    public var hints: EndpointHints?

    public init(
        addresses: [String], conditions: EndpointConditions = EndpointConditions(), hostname: String? = nil,
        nodeName: String? = nil, zone: String? = nil, targetRef: ObjectReference? = nil, hints: EndpointHints? = nil
    ) {
        self.addresses = addresses
        self.conditions = conditions
        self.hostname = hostname
        self.nodeName = nodeName
        self.zone = zone
        self.targetRef = targetRef
        self.hints = hints
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        addresses = try container.decode(.addresses, default: [])
        conditions = try container.decode(.conditions, default: EndpointConditions())
        hostname = try container.decodeIfPresent(.hostname)
        nodeName = try container.decodeIfPresent(.nodeName)
        zone = try container.decodeIfPresent(.zone)
        targetRef = try container.decodeIfPresent(.targetRef)
        hints = try container.decodeIfPresent(.hints)
    }
}

/// Endpoint conditions stay optional because Kubernetes gives "unknown" its own meaning.
public struct EndpointConditions: Codable, Hashable, Sendable {
    /// `nil` means unknown, which consumers must treat as ready.
    public var ready: Bool?
    /// `nil` means unknown; consumers fall back to `ready`.
    public var serving: Bool?
    /// `nil` means not terminating.
    public var terminating: Bool?

    public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
    }

    /// The readiness the proxy acts on: unknown counts as ready.
    public var isReady: Bool { ready ?? true }

    /// Whether the endpoint can take traffic, used while a Service has only terminating endpoints.
    public var isServing: Bool { serving ?? isReady }

    public var isTerminating: Bool { terminating ?? false }
}

/// Topology hints written by the EndpointSlice controller for topology-aware routing.
public struct EndpointHints: Codable, Hashable, Sendable {
    public var forZones: [ForZone]
    public var forNodes: [ForNode]

    public init(forZones: [ForZone] = [], forNodes: [ForNode] = []) {
        self.forZones = forZones
        self.forNodes = forNodes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        forZones = try container.decode(.forZones, default: [])
        forNodes = try container.decode(.forNodes, default: [])
    }
}

public struct ForZone: Codable, Hashable, Sendable {
    public var name: String

    public init(name: String) {
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
    }
}

public struct ForNode: Codable, Hashable, Sendable {
    public var name: String

    public init(name: String) {
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
    }
}

/// A port of an EndpointSlice, matched to Service ports by `name`.
public struct EndpointSlicePort: Codable, Hashable, Sendable {
    public var name: String
    /// `nil` means "all ports", which the proxy cannot program and ignores.
    public var port: Int?
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    public var appProtocol: String?

    public init(name: String = "", port: Int?, protocol: TransportProtocol = .tcp, appProtocol: String? = nil) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
        self.appProtocol = appProtocol
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        port = try container.decodeIfPresent(.port)
        `protocol` = try container.decode(.protocol, default: .tcp)
        appProtocol = try container.decodeIfPresent(.appProtocol)
    }
}
