/// A gateway.networking.k8s.io Gateway: listeners (port, protocol, hostname, TLS) that routes attach to.
public struct Gateway: SpecObject {
    public static let kind = "Gateway"
    public static let apiVersions = ["\(gatewayAPIGroup)/v1", "\(gatewayAPIGroup)/v1beta1"]
    public static let isNamespaced = true
    public static var emptySpec: GatewaySpec { GatewaySpec(gatewayClassName: "") }

    public var metadata: ObjectMeta
    public var spec: GatewaySpec

    public init(metadata: ObjectMeta, spec: GatewaySpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct GatewaySpec: Codable, Hashable, Sendable {
    public var gatewayClassName: String
    public var listeners: [Listener]
    /// Addresses requested for the Gateway; empty lets the implementation choose.
    public var addresses: [GatewayAddress]

    public init(gatewayClassName: String, listeners: [Listener] = [], addresses: [GatewayAddress] = []) {
        self.gatewayClassName = gatewayClassName
        self.listeners = listeners
        self.addresses = addresses
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        gatewayClassName = try container.decode(.gatewayClassName, default: "")
        listeners = try container.decode(.listeners, default: [])
        addresses = try container.decode(.addresses, default: [])
    }
}

/// One listening socket of a Gateway; routes attach to it by `name` (their `sectionName`).
public struct Listener: Codable, Hashable, Sendable {
    public var name: String
    /// Absent matches every host; `*.example.com` matches one or more labels.
    public var hostname: String?
    public var port: Int
    /// `HTTP`, `HTTPS`, `TLS`, `TCP`, `UDP`, or a domain-prefixed implementation-specific protocol;
    /// the set is open, so this stays a string.
    public var `protocol`: String
    public var tls: GatewayTLSConfig?
    /// Defaults to routes from the Gateway's own namespace.
    public var allowedRoutes: AllowedRoutes

    public init(
        name: String, hostname: String? = nil, port: Int, protocol: String, tls: GatewayTLSConfig? = nil,
        allowedRoutes: AllowedRoutes = AllowedRoutes()
    ) {
        self.name = name
        self.hostname = hostname
        self.port = port
        self.protocol = `protocol`
        self.tls = tls
        self.allowedRoutes = allowedRoutes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        hostname = try container.decodeIfPresent(.hostname)
        port = try container.decode(.port, default: 0)
        `protocol` = try container.decode(.protocol, default: "")
        tls = try container.decodeIfPresent(.tls)
        allowedRoutes = try container.decode(.allowedRoutes, default: AllowedRoutes())
    }
}

public struct GatewayTLSConfig: Codable, Hashable, Sendable {
    /// Defaults to `Terminate`.
    public var mode: TLSModeType
    public var certificateRefs: [SecretObjectReference]

    public init(mode: TLSModeType = .terminate, certificateRefs: [SecretObjectReference] = []) {
        self.mode = mode
        self.certificateRefs = certificateRefs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mode = try container.decode(.mode, default: .terminate)
        certificateRefs = try container.decode(.certificateRefs, default: [])
    }
}

public enum TLSModeType: KubernetesEnum {
    case terminate
    case passthrough
    case unrecognized(String)

    public static let knownCases: [TLSModeType] = [.terminate, .passthrough]

    public var rawValue: String {
        switch self {
        case .terminate: "Terminate"
        case .passthrough: "Passthrough"
        case .unrecognized(let value): value
        }
    }
}

/// Which routes may attach to a listener.
public struct AllowedRoutes: Codable, Hashable, Sendable {
    public var namespaces: RouteNamespaces
    /// Empty means the kinds that fit the listener's protocol.
    public var kinds: [RouteGroupKind]

    public init(namespaces: RouteNamespaces = RouteNamespaces(), kinds: [RouteGroupKind] = []) {
        self.namespaces = namespaces
        self.kinds = kinds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        namespaces = try container.decode(.namespaces, default: RouteNamespaces())
        kinds = try container.decode(.kinds, default: [])
    }
}

public struct RouteNamespaces: Codable, Hashable, Sendable {
    /// Defaults to `Same`.
    public var from: FromNamespaces
    /// Required when `from` is `Selector`.
    public var selector: LabelSelector?

    public init(from: FromNamespaces = .same, selector: LabelSelector? = nil) {
        self.from = from
        self.selector = selector
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        from = try container.decode(.from, default: .same)
        selector = try container.decodeIfPresent(.selector)
    }
}

public enum FromNamespaces: KubernetesEnum {
    case all
    case same
    case selector
    case unrecognized(String)

    public static let knownCases: [FromNamespaces] = [.all, .same, .selector]

    public var rawValue: String {
        switch self {
        case .all: "All"
        case .same: "Same"
        case .selector: "Selector"
        case .unrecognized(let value): value
        }
    }
}

public struct RouteGroupKind: Codable, Hashable, Sendable {
    /// Defaults to `gateway.networking.k8s.io`.
    public var group: String
    public var kind: String

    public init(group: String = gatewayAPIGroup, kind: String) {
        self.group = group
        self.kind = kind
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        group = try container.decode(.group, default: gatewayAPIGroup)
        kind = try container.decode(.kind, default: "")
    }
}

public struct GatewayAddress: Codable, Hashable, Sendable {
    /// `IPAddress` (the default), `Hostname`, or a domain-prefixed implementation-specific type.
    public var type: String
    public var value: String

    public init(type: String = "IPAddress", value: String) {
        self.type = type
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: "IPAddress")
        value = try container.decode(.value, default: "")
    }
}
