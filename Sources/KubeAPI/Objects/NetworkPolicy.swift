/// A networking.k8s.io/v1 NetworkPolicy: which peers may reach the selected pods, and which peers
/// those pods may reach.
public struct NetworkPolicy: SpecObject {
    public static let kind = "NetworkPolicy"
    public static let apiVersions = ["networking.k8s.io/v1"]
    public static let isNamespaced = true
    public static var emptySpec: NetworkPolicySpec { NetworkPolicySpec() }

    public var metadata: ObjectMeta
    public var spec: NetworkPolicySpec

    public init(metadata: ObjectMeta, spec: NetworkPolicySpec = NetworkPolicySpec()) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct NetworkPolicySpec: Codable, Hashable, Sendable {
    /// The pods in the policy's namespace it applies to; empty selects all of them.
    public var podSelector: LabelSelector
    /// As written; empty means "not specified". Use `effectivePolicyTypes`, which applies the defaults.
    public var policyTypes: [PolicyType]
    /// Empty isolates the selected pods for ingress (when ingress is among the policy types).
    public var ingress: [NetworkPolicyIngressRule]
    public var egress: [NetworkPolicyEgressRule]

    public init(
        podSelector: LabelSelector = LabelSelector(), policyTypes: [PolicyType] = [],
        ingress: [NetworkPolicyIngressRule] = [], egress: [NetworkPolicyEgressRule] = []
    ) {
        self.podSelector = podSelector
        self.policyTypes = policyTypes
        self.ingress = ingress
        self.egress = egress
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        podSelector = try container.decode(.podSelector, default: LabelSelector())
        policyTypes = try container.decode(.policyTypes, default: [])
        ingress = try container.decode(.ingress, default: [])
        egress = try container.decode(.egress, default: [])
    }

    /// The API server's default when `policyTypes` is omitted: always Ingress, and Egress too when
    /// there are egress rules. A policy with only ingress rules therefore leaves egress alone.
    public var effectivePolicyTypes: [PolicyType] {
        if !policyTypes.isEmpty { return policyTypes }
        return egress.isEmpty ? [.ingress] : [.ingress, .egress]
    }

    /// Whether the selected pods are isolated for incoming traffic by this policy.
    public var isolatesIngress: Bool { effectivePolicyTypes.contains(.ingress) }

    /// Whether the selected pods are isolated for outgoing traffic by this policy.
    public var isolatesEgress: Bool { effectivePolicyTypes.contains(.egress) }
}

public enum PolicyType: KubernetesEnum {
    case ingress
    case egress
    case unrecognized(String)

    public static let knownCases: [PolicyType] = [.ingress, .egress]

    public var rawValue: String {
        switch self {
        case .ingress: "Ingress"
        case .egress: "Egress"
        case .unrecognized(let value): value
        }
    }
}

/// Traffic allowed in: from any of `from` (everyone when empty) to any of `ports` (all when empty).
public struct NetworkPolicyIngressRule: Codable, Hashable, Sendable {
    public var from: [NetworkPolicyPeer]
    public var ports: [NetworkPolicyPort]

    public init(from: [NetworkPolicyPeer] = [], ports: [NetworkPolicyPort] = []) {
        self.from = from
        self.ports = ports
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        from = try container.decode(.from, default: [])
        ports = try container.decode(.ports, default: [])
    }
}

/// Traffic allowed out: to any of `to` (everyone when empty) on any of `ports` (all when empty).
public struct NetworkPolicyEgressRule: Codable, Hashable, Sendable {
    public var to: [NetworkPolicyPeer]
    public var ports: [NetworkPolicyPort]

    public init(to: [NetworkPolicyPeer] = [], ports: [NetworkPolicyPort] = []) {
        self.to = to
        self.ports = ports
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        to = try container.decode(.to, default: [])
        ports = try container.decode(.ports, default: [])
    }
}

/// A set of peers. The selectors stay optional because absence and emptiness differ: with only
/// `podSelector`, peers are pods in the policy's namespace; with only `namespaceSelector`, all pods
/// of the selected namespaces; with both, the selected pods of the selected namespaces.
public struct NetworkPolicyPeer: Codable, Hashable, Sendable {
    public var podSelector: LabelSelector?
    public var namespaceSelector: LabelSelector?
    public var ipBlock: IPBlock?

    public init(podSelector: LabelSelector? = nil, namespaceSelector: LabelSelector? = nil, ipBlock: IPBlock? = nil) {
        self.podSelector = podSelector
        self.namespaceSelector = namespaceSelector
        self.ipBlock = ipBlock
    }
}

/// A CIDR of peers outside the pod network, minus the `except` holes.
public struct IPBlock: Codable, Hashable, Sendable {
    public var cidr: String
    public var except: [String]

    public init(cidr: String, except: [String] = []) {
        self.cidr = cidr
        self.except = except
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cidr = try container.decode(.cidr, default: "")
        except = try container.decode(.except, default: [])
    }
}

/// A port (or port range with `endPort`); a named port matches each pod's container port of that name.
public struct NetworkPolicyPort: Codable, Hashable, Sendable {
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    /// `nil` matches every port of the protocol.
    public var port: IntOrString?
    public var endPort: Int?

    public init(protocol: TransportProtocol = .tcp, port: IntOrString? = nil, endPort: Int? = nil) {
        self.protocol = `protocol`
        self.port = port
        self.endPort = endPort
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        `protocol` = try container.decode(.protocol, default: .tcp)
        port = try container.decodeIfPresent(.port)
        endPort = try container.decodeIfPresent(.endPort)
    }
}
