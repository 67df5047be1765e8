/// A core/v1 Endpoints object: the legacy per-Service endpoint list, still written by hand for
/// selector-less Services and by older tools.
public struct Endpoints: KubernetesObject {
    public static let kind = "Endpoints"
    public static let apiVersions = ["v1"]
    public static let isNamespaced = true

    public var metadata: ObjectMeta
    public var subsets: [EndpointSubset]

    enum CodingKeys: String, CodingKey {
        case metadata
        case subsets
    }

    public init(metadata: ObjectMeta, subsets: [EndpointSubset] = []) {
        self.metadata = metadata
        self.subsets = subsets
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decode(.metadata, default: ObjectMeta(name: ""))
        subsets = try container.decode(.subsets, default: [])
    }

    public func encode(to encoder: any Encoder) throws {
        try encodeTypeMeta(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(subsets, forKey: .subsets)
    }
}

/// Addresses that all serve the same set of ports.
public struct EndpointSubset: Codable, Hashable, Sendable {
    public var addresses: [EndpointAddress]
    /// Endpoints that exist but fail readiness; they get traffic only with `publishNotReadyAddresses`.
    public var notReadyAddresses: [EndpointAddress]
    public var ports: [EndpointPort]

    public init(
        addresses: [EndpointAddress] = [], notReadyAddresses: [EndpointAddress] = [], ports: [EndpointPort] = []
    ) {
        self.addresses = addresses
        self.notReadyAddresses = notReadyAddresses
        self.ports = ports
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        addresses = try container.decode(.addresses, default: [])
        notReadyAddresses = try container.decode(.notReadyAddresses, default: [])
        ports = try container.decode(.ports, default: [])
    }
}

public struct EndpointAddress: Codable, Hashable, Sendable {
    public var ip: String
    public var hostname: String?
    /// Lets the proxy prefer node-local endpoints for `Local` traffic policies.
    public var nodeName: String?
    public var targetRef: ObjectReference?

    public init(ip: String, hostname: String? = nil, nodeName: String? = nil, targetRef: ObjectReference? = nil) {
        self.ip = ip
        self.hostname = hostname
        self.nodeName = nodeName
        self.targetRef = targetRef
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ip = try container.decode(.ip, default: "")
        hostname = try container.decodeIfPresent(.hostname)
        nodeName = try container.decodeIfPresent(.nodeName)
        targetRef = try container.decodeIfPresent(.targetRef)
    }
}

/// A port of an Endpoints subset; its `name` ties it to the Service port of the same name.
public struct EndpointPort: Codable, Hashable, Sendable {
    public var name: String
    public var port: Int
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    public var appProtocol: String?

    public init(name: String = "", port: Int, protocol: TransportProtocol = .tcp, appProtocol: String? = nil) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
        self.appProtocol = appProtocol
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        port = try container.decode(.port, default: 0)
        `protocol` = try container.decode(.protocol, default: .tcp)
        appProtocol = try container.decodeIfPresent(.appProtocol)
    }
}
