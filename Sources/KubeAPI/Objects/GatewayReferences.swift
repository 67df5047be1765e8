/// The API group of the Gateway API kinds, which references default to.
public let gatewayAPIGroup = "gateway.networking.k8s.io"

/// A route's attachment point: a Gateway by default, optionally one listener (`sectionName`) or port.
public struct ParentReference: Codable, Hashable, Sendable {
    /// Defaults to `gateway.networking.k8s.io`.
    public var group: String
    /// Defaults to `Gateway`.
    public var kind: String
    /// Absent means the route's own namespace.
    public var namespace: String?
    public var name: String
    public var sectionName: String?
    public var port: Int?

    public init(
        group: String = gatewayAPIGroup, kind: String = "Gateway", namespace: String? = nil, name: String,
        sectionName: String? = nil, port: Int? = nil
    ) {
        self.group = group
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.sectionName = sectionName
        self.port = port
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        group = try container.decode(.group, default: gatewayAPIGroup)
        kind = try container.decode(.kind, default: "Gateway")
        namespace = try container.decodeIfPresent(.namespace)
        name = try container.decode(.name, default: "")
        sectionName = try container.decodeIfPresent(.sectionName)
        port = try container.decodeIfPresent(.port)
    }
}

/// A backend: a Service port by default. A cross-namespace reference needs a ReferenceGrant.
public struct BackendObjectReference: Codable, Hashable, Sendable {
    /// Defaults to the core group (empty string).
    public var group: String
    /// Defaults to `Service`.
    public var kind: String
    public var name: String
    /// Absent means the route's own namespace.
    public var namespace: String?
    /// Required when the backend is a Service.
    public var port: Int?

    public init(group: String = "", kind: String = "Service", name: String, namespace: String? = nil, port: Int? = nil)
    {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.port = port
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        group = try container.decode(.group, default: "")
        kind = try container.decode(.kind, default: "Service")
        name = try container.decode(.name, default: "")
        namespace = try container.decodeIfPresent(.namespace)
        port = try container.decodeIfPresent(.port)
    }

    /// Whether the reference points at a core Service, the only backend kind the data plane serves.
    public var isService: Bool { group.isEmpty && kind == "Service" }
}

/// A certificate Secret for a listener. A cross-namespace reference needs a ReferenceGrant.
public struct SecretObjectReference: Codable, Hashable, Sendable {
    /// Defaults to the core group (empty string).
    public var group: String
    /// Defaults to `Secret`.
    public var kind: String
    public var name: String
    public var namespace: String?

    public init(group: String = "", kind: String = "Secret", name: String, namespace: String? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        group = try container.decode(.group, default: "")
        kind = try container.decode(.kind, default: "Secret")
        name = try container.decode(.name, default: "")
        namespace = try container.decodeIfPresent(.namespace)
    }
}

/// A same-namespace reference with every part required, as in an `ExtensionRef` filter.
public struct LocalObjectReference: Codable, Hashable, Sendable {
    public var group: String
    public var kind: String
    public var name: String

    public init(group: String, kind: String, name: String) {
        self.group = group
        self.kind = kind
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        group = try container.decode(.group, default: "")
        kind = try container.decode(.kind, default: "")
        name = try container.decode(.name, default: "")
    }
}
