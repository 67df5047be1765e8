/// A core/v1 Pod, reduced to what the data plane needs: labels for selectors, IPs for endpoints and
/// policy, named container ports for target ports and policy ports, and host ports for CNI.
public struct Pod: SpecStatusObject {
    public static let kind = "Pod"
    public static let apiVersions = ["v1"]
    public static let isNamespaced = true
    public static var emptySpec: PodSpec { PodSpec() }
    public static var emptyStatus: PodStatus { PodStatus() }

    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: PodStatus

    public init(metadata: ObjectMeta, spec: PodSpec = PodSpec(), status: PodStatus = PodStatus()) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct PodSpec: Codable, Hashable, Sendable {
    public var nodeName: String?
    /// Host-network pods share the node's IP, so policy cannot single them out.
    public var hostNetwork: Bool
    public var containers: [Container]

    public init(nodeName: String? = nil, hostNetwork: Bool = false, containers: [Container] = []) {
        self.nodeName = nodeName
        self.hostNetwork = hostNetwork
        self.containers = containers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodeName = try container.decodeIfPresent(.nodeName)
        hostNetwork = try container.decode(.hostNetwork, default: false)
        containers = try container.decode(.containers, default: [])
    }
}

public struct Container: Codable, Hashable, Sendable {
    public var name: String
    public var ports: [ContainerPort]

    public init(name: String, ports: [ContainerPort] = []) {
        self.name = name
        self.ports = ports
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        ports = try container.decode(.ports, default: [])
    }
}

/// A container port; its name is what named Service target ports and policy ports refer to.
public struct ContainerPort: Codable, Hashable, Sendable {
    public var name: String?
    public var containerPort: Int
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    /// A node port forwarded to this container port by the CNI plugin.
    public var hostPort: Int?
    public var hostIP: String?

    public init(
        name: String? = nil, containerPort: Int, protocol: TransportProtocol = .tcp, hostPort: Int? = nil,
        hostIP: String? = nil
    ) {
        self.name = name
        self.containerPort = containerPort
        self.protocol = `protocol`
        self.hostPort = hostPort
        self.hostIP = hostIP
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(.name)
        containerPort = try container.decode(.containerPort, default: 0)
        `protocol` = try container.decode(.protocol, default: .tcp)
        hostPort = try container.decodeIfPresent(.hostPort)
        hostIP = try container.decodeIfPresent(.hostIP)
    }
}

public struct PodStatus: Codable, Hashable, Sendable {
    public var phase: PodPhase?
    public var conditions: [PodCondition]
    public var hostIP: String?
    public var podIP: String?
    /// One IP per family; the first is `podIP`.
    public var podIPs: [PodIP]

    public init(
        phase: PodPhase? = nil, conditions: [PodCondition] = [], hostIP: String? = nil, podIP: String? = nil,
        podIPs: [PodIP] = []
    ) {
        self.phase = phase
        self.conditions = conditions
        self.hostIP = hostIP
        self.podIP = podIP
        self.podIPs = podIPs.isEmpty ? podIP.map { [PodIP(ip: $0)] } ?? [] : podIPs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        phase = try container.decodeIfPresent(.phase)
        conditions = try container.decode(.conditions, default: [])
        hostIP = try container.decodeIfPresent(.hostIP)
        podIP = try container.decodeIfPresent(.podIP)
        let declaredIPs: [PodIP] = try container.decode(.podIPs, default: [])
        podIPs = declaredIPs.isEmpty ? podIP.map { [PodIP(ip: $0)] } ?? [] : declaredIPs
    }

    /// Whether the `Ready` condition is `True`: only ready pods become ready endpoints.
    public var isReady: Bool {
        conditions.contains { $0.type == "Ready" && $0.status == .true }
    }
}

public struct PodIP: Codable, Hashable, Sendable {
    public var ip: String

    public init(ip: String) {
        self.ip = ip
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ip = try container.decode(.ip, default: "")
    }
}

/// A pod condition; `type` is open-ended (readiness gates add their own), `status` is not.
public struct PodCondition: Codable, Hashable, Sendable {
    public var type: String
    public var status: ConditionStatus

    public init(type: String, status: ConditionStatus) {
        self.type = type
        self.status = status
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: "")
        status = try container.decode(.status, default: .unrecognized(""))
    }
}

public enum PodPhase: KubernetesEnum {
    case pending
    case running
    case succeeded
    case failed
    case unknown
    case unrecognized(String)

    public static let knownCases: [PodPhase] = [.pending, .running, .succeeded, .failed, .unknown]

    public var rawValue: String {
        switch self {
        case .pending: "Pending"
        case .running: "Running"
        case .succeeded: "Succeeded"
        case .failed: "Failed"
        case .unknown: "Unknown"
        case .unrecognized(let value): value
        }
    }
}

public enum ConditionStatus: KubernetesEnum {
    case `true`
    case `false`
    case unknown
    case unrecognized(String)

    public static let knownCases: [ConditionStatus] = [.true, .false, .unknown]

    public var rawValue: String {
        switch self {
        case .true: "True"
        case .false: "False"
        case .unknown: "Unknown"
        case .unrecognized(let value): value
        }
    }
}
