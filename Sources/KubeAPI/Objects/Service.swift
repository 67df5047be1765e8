/// A core/v1 Service: the virtual IPs and ports the proxy programs, and how it picks endpoints.
public struct Service: SpecStatusObject {
    public static let kind = "Service"
    public static let apiVersions = ["v1"]
    public static let isNamespaced = true
    public static var emptySpec: ServiceSpec { ServiceSpec() }
    public static var emptyStatus: ServiceStatus { ServiceStatus() }

    public var metadata: ObjectMeta
    public var spec: ServiceSpec
    public var status: ServiceStatus

    public init(metadata: ObjectMeta, spec: ServiceSpec = ServiceSpec(), status: ServiceStatus = ServiceStatus()) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// The desired state of a Service, with the API server's defaults applied, so compilers never
/// have to know which fields were written and which were implied.
public struct ServiceSpec: Codable, Hashable, Sendable {
    /// Defaults to `ClusterIP`.
    public var type: ServiceType
    /// An IP address, `None` for a headless Service, or absent/empty when not yet allocated.
    public var clusterIP: String?
    /// One address per IP family; the first is always `clusterIP`.
    public var clusterIPs: [String]
    public var ipFamilies: [IPFamily]
    public var ipFamilyPolicy: IPFamilyPolicy?
    public var ports: [ServicePort]
    /// Labels of the pods that back the Service. Empty means the Service has no selector and its
    /// endpoints are managed by someone else (hand-written Endpoints or EndpointSlices).
    public var selector: [String: String]
    /// Defaults to `None`.
    public var sessionAffinity: SessionAffinity
    /// Present exactly when `sessionAffinity` is `ClientIP`, with the timeout defaulted to 10800 s.
    public var sessionAffinityConfig: SessionAffinityConfig?
    public var externalIPs: [String]
    public var loadBalancerIP: String?
    public var loadBalancerSourceRanges: [String]
    /// Defaults to `Cluster` for NodePort and LoadBalancer Services; absent for other types.
    public var externalTrafficPolicy: TrafficPolicy?
    /// Defaults to `Cluster`.
    public var internalTrafficPolicy: TrafficPolicy
    public var healthCheckNodePort: Int?
    public var externalName: String?
    /// Whether not-ready endpoints receive traffic too (used by StatefulSet peer discovery).
    public var publishNotReadyAddresses: Bool
    public var trafficDistribution: TrafficDistribution?

    public init(
        type: ServiceType = .clusterIP, clusterIP: String? = nil, clusterIPs: [String] = [],
        ipFamilies: [IPFamily] = [], ipFamilyPolicy: IPFamilyPolicy? = nil, ports: [ServicePort] = [],
        selector: [String: String] = [:], sessionAffinity: SessionAffinity = .none,
        sessionAffinityConfig: SessionAffinityConfig? = nil, externalIPs: [String] = [],
        loadBalancerIP: String? = nil, loadBalancerSourceRanges: [String] = [],
        externalTrafficPolicy: TrafficPolicy? = nil, internalTrafficPolicy: TrafficPolicy = .cluster,
        healthCheckNodePort: Int? = nil, externalName: String? = nil, publishNotReadyAddresses: Bool = false,
        trafficDistribution: TrafficDistribution? = nil
    ) {
        self.type = type
        self.clusterIP = clusterIP
        self.clusterIPs = clusterIPs
        self.ipFamilies = ipFamilies
        self.ipFamilyPolicy = ipFamilyPolicy
        self.ports = ports
        self.selector = selector
        self.sessionAffinity = sessionAffinity
        self.sessionAffinityConfig = sessionAffinityConfig
        self.externalIPs = externalIPs
        self.loadBalancerIP = loadBalancerIP
        self.loadBalancerSourceRanges = loadBalancerSourceRanges
        self.externalTrafficPolicy = externalTrafficPolicy
        self.internalTrafficPolicy = internalTrafficPolicy
        self.healthCheckNodePort = healthCheckNodePort
        self.externalName = externalName
        self.publishNotReadyAddresses = publishNotReadyAddresses
        self.trafficDistribution = trafficDistribution
        applyDefaults()
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: .clusterIP)
        clusterIP = try container.decodeIfPresent(.clusterIP)
        clusterIPs = try container.decode(.clusterIPs, default: [])
        ipFamilies = try container.decode(.ipFamilies, default: [])
        ipFamilyPolicy = try container.decodeIfPresent(.ipFamilyPolicy)
        ports = try container.decode(.ports, default: [])
        selector = try container.decode(.selector, default: [:])
        sessionAffinity = try container.decode(.sessionAffinity, default: .none)
        sessionAffinityConfig = try container.decodeIfPresent(.sessionAffinityConfig)
        externalIPs = try container.decode(.externalIPs, default: [])
        loadBalancerIP = try container.decodeIfPresent(.loadBalancerIP)
        loadBalancerSourceRanges = try container.decode(.loadBalancerSourceRanges, default: [])
        externalTrafficPolicy = try container.decodeIfPresent(.externalTrafficPolicy)
        internalTrafficPolicy = try container.decode(.internalTrafficPolicy, default: .cluster)
        healthCheckNodePort = try container.decodeIfPresent(.healthCheckNodePort)
        externalName = try container.decodeIfPresent(.externalName)
        publishNotReadyAddresses = try container.decode(.publishNotReadyAddresses, default: false)
        trafficDistribution = try container.decodeIfPresent(.trafficDistribution)
        applyDefaults()
    }

    /// The API server's defaulting for fields that depend on other fields.
    private mutating func applyDefaults() {
        if externalTrafficPolicy == nil && type.isExternallyReachable {
            externalTrafficPolicy = .cluster
        }
        if sessionAffinity == .clientIP && sessionAffinityConfig?.clientIP?.timeoutSeconds == nil {
            sessionAffinityConfig = SessionAffinityConfig(clientIP: ClientIPConfig())
        }
        if clusterIPs.isEmpty, let clusterIP, !clusterIP.isEmpty {
            clusterIPs = [clusterIP]
        } else if clusterIP == nil, let first = clusterIPs.first {
            clusterIP = first
        }
    }

    /// Whether the Service has no virtual IP: DNS returns the endpoints themselves.
    public var isHeadless: Bool { clusterIP == "None" }
}

/// One port a Service exposes and where it forwards to.
public struct ServicePort: Codable, Hashable, Sendable {
    /// Required (and unique) when the Service has more than one port.
    public var name: String
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    public var port: Int
    /// A port number or the name of a container port; defaults to `port`.
    public var targetPort: IntOrString
    public var nodePort: Int?
    public var appProtocol: String?

    public init(
        name: String = "", protocol: TransportProtocol = .tcp, port: Int, targetPort: IntOrString? = nil,
        nodePort: Int? = nil, appProtocol: String? = nil
    ) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.targetPort = targetPort ?? .int(port)
        self.nodePort = nodePort
        self.appProtocol = appProtocol
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        `protocol` = try container.decode(.protocol, default: .tcp)
        port = try container.decode(.port, default: 0)
        targetPort = try container.decode(.targetPort, default: .int(port))
        nodePort = try container.decodeIfPresent(.nodePort)
        appProtocol = try container.decodeIfPresent(.appProtocol)
    }
}

/// Session affinity settings; only `clientIP` exists in Kubernetes.
public struct SessionAffinityConfig: Codable, Hashable, Sendable {
    public var clientIP: ClientIPConfig?

    public init(clientIP: ClientIPConfig? = nil) {
        self.clientIP = clientIP
    }
}

/// How long a client sticks to the endpoint it first reached.
public struct ClientIPConfig: Codable, Hashable, Sendable {
    /// 1–86400; the API server defaults it to 10800 (three hours).
    public var timeoutSeconds: Int?

    public init(timeoutSeconds: Int? = 10800) {
        self.timeoutSeconds = timeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeoutSeconds = try container.decode(.timeoutSeconds, default: 10800)
    }
}

/// What the cloud (or a bare-metal load balancer) assigned; the proxy short-circuits traffic to it.
public struct ServiceStatus: Codable, Hashable, Sendable {
    public var loadBalancer: LoadBalancerStatus

    public init(loadBalancer: LoadBalancerStatus = LoadBalancerStatus()) {
        self.loadBalancer = loadBalancer
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        loadBalancer = try container.decode(.loadBalancer, default: LoadBalancerStatus())
    }
}

public struct LoadBalancerStatus: Codable, Hashable, Sendable {
    public var ingress: [LoadBalancerIngress]

    public init(ingress: [LoadBalancerIngress] = []) {
        self.ingress = ingress
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ingress = try container.decode(.ingress, default: [])
    }
}

/// One load-balancer entry point: an IP (programmed by the proxy) or a hostname (left to DNS).
public struct LoadBalancerIngress: Codable, Hashable, Sendable {
    public var ip: String?
    public var hostname: String?

    public init(ip: String? = nil, hostname: String? = nil) {
        self.ip = ip
        self.hostname = hostname
    }
}

public enum ServiceType: KubernetesEnum {
    case clusterIP
    case nodePort
    case loadBalancer
    case externalName
    case unrecognized(String)

    public static let knownCases: [ServiceType] = [.clusterIP, .nodePort, .loadBalancer, .externalName]

    public var rawValue: String {
        switch self {
        case .clusterIP: "ClusterIP"
        case .nodePort: "NodePort"
        case .loadBalancer: "LoadBalancer"
        case .externalName: "ExternalName"
        case .unrecognized(let value): value
        }
    }

    /// NodePort and LoadBalancer Services are reachable from outside the cluster through node ports.
    public var isExternallyReachable: Bool { self == .nodePort || self == .loadBalancer }
}

public enum SessionAffinity: KubernetesEnum {
    case none
    case clientIP
    case unrecognized(String)

    public static let knownCases: [SessionAffinity] = [.none, .clientIP]

    public var rawValue: String {
        switch self {
        case .none: "None"
        case .clientIP: "ClientIP"
        case .unrecognized(let value): value
        }
    }
}

/// `externalTrafficPolicy` and `internalTrafficPolicy`: `Local` keeps traffic on the receiving
/// node's endpoints (preserving client IPs), `Cluster` spreads it over all endpoints.
public enum TrafficPolicy: KubernetesEnum {
    case cluster
    case local
    case unrecognized(String)

    public static let knownCases: [TrafficPolicy] = [.cluster, .local]

    public var rawValue: String {
        switch self {
        case .cluster: "Cluster"
        case .local: "Local"
        case .unrecognized(let value): value
        }
    }
}

/// A preference for topologically close endpoints (`spec.trafficDistribution`).
public enum TrafficDistribution: KubernetesEnum {
    case preferClose
    case preferSameZone
    case preferSameNode
    case unrecognized(String)

    public static let knownCases: [TrafficDistribution] = [.preferClose, .preferSameZone, .preferSameNode]

    public var rawValue: String {
        switch self {
        case .preferClose: "PreferClose"
        case .preferSameZone: "PreferSameZone"
        case .preferSameNode: "PreferSameNode"
        case .unrecognized(let value): value
        }
    }
}

/// The family named in a manifest (`ipFamilies`); see `AddressFamily` for parsed addresses.
public enum IPFamily: KubernetesEnum {
    case ipv4
    case ipv6
    case unrecognized(String)

    public static let knownCases: [IPFamily] = [.ipv4, .ipv6]

    public var rawValue: String {
        switch self {
        case .ipv4: "IPv4"
        case .ipv6: "IPv6"
        case .unrecognized(let value): value
        }
    }

    /// The matching address family, or `nil` for an unrecognized value.
    public var addressFamily: AddressFamily? {
        switch self {
        case .ipv4: .ipv4
        case .ipv6: .ipv6
        case .unrecognized: nil
        }
    }
}

public enum IPFamilyPolicy: KubernetesEnum {
    case singleStack
    case preferDualStack
    case requireDualStack
    case unrecognized(String)

    public static let knownCases: [IPFamilyPolicy] = [.singleStack, .preferDualStack, .requireDualStack]

    public var rawValue: String {
        switch self {
        case .singleStack: "SingleStack"
        case .preferDualStack: "PreferDualStack"
        case .requireDualStack: "RequireDualStack"
        case .unrecognized(let value): value
        }
    }
}
