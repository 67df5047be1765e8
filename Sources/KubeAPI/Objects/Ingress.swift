/// A networking.k8s.io/v1 Ingress: host and path rules that route HTTP(S) to Services.
public struct Ingress: SpecStatusObject {
    public static let kind = "Ingress"
    public static let apiVersions = ["networking.k8s.io/v1"]
    public static let isNamespaced = true
    public static var emptySpec: IngressSpec { IngressSpec() }
    public static var emptyStatus: IngressStatus { IngressStatus() }

    public var metadata: ObjectMeta
    public var spec: IngressSpec
    public var status: IngressStatus

    public init(metadata: ObjectMeta, spec: IngressSpec = IngressSpec(), status: IngressStatus = IngressStatus()) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct IngressSpec: Codable, Hashable, Sendable {
    /// The IngressClass that should serve this Ingress; absent means the default class.
    public var ingressClassName: String?
    /// Where requests that match no rule go.
    public var defaultBackend: IngressBackend?
    public var rules: [IngressRule]
    public var tls: [IngressTLS]

    public init(
        ingressClassName: String? = nil, defaultBackend: IngressBackend? = nil, rules: [IngressRule] = [],
        tls: [IngressTLS] = []
    ) {
        self.ingressClassName = ingressClassName
        self.defaultBackend = defaultBackend
        self.rules = rules
        self.tls = tls
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ingressClassName = try container.decodeIfPresent(.ingressClassName)
        defaultBackend = try container.decodeIfPresent(.defaultBackend)
        rules = try container.decode(.rules, default: [])
        tls = try container.decode(.tls, default: [])
    }
}

/// Requests for `host` (every host when absent; `*.example.com` matches one label) routed by path.
public struct IngressRule: Codable, Hashable, Sendable {
    public var host: String?
    public var http: HTTPIngressRuleValue?

    public init(host: String? = nil, http: HTTPIngressRuleValue? = nil) {
        self.host = host
        self.http = http
    }
}

public struct HTTPIngressRuleValue: Codable, Hashable, Sendable {
    public var paths: [HTTPIngressPath]

    public init(paths: [HTTPIngressPath]) {
        self.paths = paths
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        paths = try container.decode(.paths, default: [])
    }
}

public struct HTTPIngressPath: Codable, Hashable, Sendable {
    /// Must start with `/`; absent only with `ImplementationSpecific`.
    public var path: String?
    /// Required in networking.k8s.io/v1: there is no default.
    public var pathType: IngressPathType?
    public var backend: IngressBackend

    public init(path: String? = nil, pathType: IngressPathType?, backend: IngressBackend) {
        self.path = path
        self.pathType = pathType
        self.backend = backend
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decodeIfPresent(.path)
        pathType = try container.decodeIfPresent(.pathType)
        backend = try container.decode(.backend, default: IngressBackend())
    }
}

public enum IngressPathType: KubernetesEnum {
    case exact
    case prefix
    case implementationSpecific
    case unrecognized(String)

    public static let knownCases: [IngressPathType] = [.exact, .prefix, .implementationSpecific]

    public var rawValue: String {
        switch self {
        case .exact: "Exact"
        case .prefix: "Prefix"
        case .implementationSpecific: "ImplementationSpecific"
        case .unrecognized(let value): value
        }
    }
}

/// Exactly one of a Service port or another resource (a storage bucket, say).
public struct IngressBackend: Codable, Hashable, Sendable {
    public var service: IngressServiceBackend?
    public var resource: TypedLocalObjectReference?

    public init(service: IngressServiceBackend? = nil, resource: TypedLocalObjectReference? = nil) {
        self.service = service
        self.resource = resource
    }
}

public struct IngressServiceBackend: Codable, Hashable, Sendable {
    public var name: String
    public var port: ServiceBackendPort

    public init(name: String, port: ServiceBackendPort) {
        self.name = name
        self.port = port
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        port = try container.decode(.port, default: ServiceBackendPort())
    }
}

/// A Service port by name or by number (exactly one of the two).
public struct ServiceBackendPort: Codable, Hashable, Sendable {
    public var name: String?
    public var number: Int?

    public init(name: String? = nil, number: Int? = nil) {
        self.name = name
        self.number = number
    }
}

/// A reference to an object in the same namespace by API group, kind and name.
public struct TypedLocalObjectReference: Codable, Hashable, Sendable {
    /// Absent for the core group.
    public var apiGroup: String?
    public var kind: String
    public var name: String

    public init(apiGroup: String? = nil, kind: String, name: String) {
        self.apiGroup = apiGroup
        self.kind = kind
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiGroup = try container.decodeIfPresent(.apiGroup)
        kind = try container.decode(.kind, default: "")
        name = try container.decode(.name, default: "")
    }
}

/// Hosts served with the certificate in `secretName`.
public struct IngressTLS: Codable, Hashable, Sendable {
    public var hosts: [String]
    public var secretName: String?

    public init(hosts: [String] = [], secretName: String? = nil) {
        self.hosts = hosts
        self.secretName = secretName
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hosts = try container.decode(.hosts, default: [])
        secretName = try container.decodeIfPresent(.secretName)
    }
}

public struct IngressStatus: Codable, Hashable, Sendable {
    public var loadBalancer: LoadBalancerStatus

    public init(loadBalancer: LoadBalancerStatus = LoadBalancerStatus()) {
        self.loadBalancer = loadBalancer
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        loadBalancer = try container.decode(.loadBalancer, default: LoadBalancerStatus())
    }
}
