/// A core/v1 Node: its pod CIDRs route the overlay, its addresses are NodePort and tunnel
/// endpoints, and its zone drives topology-aware routing.
public struct Node: SpecStatusObject {
    public static let kind = "Node"
    public static let apiVersions = ["v1"]
    public static let isNamespaced = false
    public static var emptySpec: NodeSpec { NodeSpec() }
    public static var emptyStatus: NodeStatus { NodeStatus() }
    /// The well-known label carrying the node's zone.
    public static let zoneLabel = "topology.kubernetes.io/zone"

    public var metadata: ObjectMeta
    public var spec: NodeSpec
    public var status: NodeStatus

    public init(metadata: ObjectMeta, spec: NodeSpec = NodeSpec(), status: NodeStatus = NodeStatus()) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The node's zone from `topology.kubernetes.io/zone`, matched against EndpointSlice zone hints.
    public var zone: String? { metadata.labels[Self.zoneLabel] }
}

public struct NodeSpec: Codable, Hashable, Sendable {
    public var podCIDR: String?
    /// One CIDR per family; the first is `podCIDR`.
    public var podCIDRs: [String]
    public var unschedulable: Bool

    public init(podCIDR: String? = nil, podCIDRs: [String] = [], unschedulable: Bool = false) {
        self.podCIDR = podCIDR
        self.podCIDRs = podCIDRs.isEmpty ? podCIDR.map { [$0] } ?? [] : podCIDRs
        self.unschedulable = unschedulable
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        podCIDR = try container.decodeIfPresent(.podCIDR)
        let declaredCIDRs: [String] = try container.decode(.podCIDRs, default: [])
        podCIDRs = declaredCIDRs.isEmpty ? podCIDR.map { [$0] } ?? [] : declaredCIDRs
        unschedulable = try container.decode(.unschedulable, default: false)
    }
}

public struct NodeStatus: Codable, Hashable, Sendable {
    public var addresses: [NodeAddress]

    public init(addresses: [NodeAddress] = []) {
        self.addresses = addresses
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        addresses = try container.decode(.addresses, default: [])
    }
}

public struct NodeAddress: Codable, Hashable, Sendable {
    public var type: NodeAddressType
    public var address: String

    public init(type: NodeAddressType, address: String) {
        self.type = type
        self.address = address
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: .unrecognized(""))
        address = try container.decode(.address, default: "")
    }
}

public enum NodeAddressType: KubernetesEnum {
    case hostname
    case internalIP
    case externalIP
    case internalDNS
    case externalDNS
    case unrecognized(String)

    public static let knownCases: [NodeAddressType] = [.hostname, .internalIP, .externalIP, .internalDNS, .externalDNS]

    public var rawValue: String {
        switch self {
        case .hostname: "Hostname"
        case .internalIP: "InternalIP"
        case .externalIP: "ExternalIP"
        case .internalDNS: "InternalDNS"
        case .externalDNS: "ExternalDNS"
        case .unrecognized(let value): value
        }
    }

    /// Whether addresses of this type must be IP addresses.
    public var isIP: Bool { self == .internalIP || self == .externalIP }
}
