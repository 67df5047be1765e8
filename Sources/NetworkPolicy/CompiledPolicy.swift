import KubeAPI

/// A NetworkPolicy as the compiler uses it: which pods it isolates in which directions, and its rules with peers and
/// ports parsed once. A policy that failed validation keeps only what is needed to fail closed: the pods it selects
/// stay isolated for its directions, and it allows nothing.
struct CompiledPolicy: Sendable, Hashable {
    var name: ObjectName
    /// `nil` when the selector is unknown or invalid: then every pod of the namespace counts as selected.
    var podSelector: LabelSelector?
    var isolates: Set<PolicyDirection>
    var ingress: [CompiledRule]
    var egress: [CompiledRule]
    /// Why the policy was rejected; empty for a valid one.
    var problems: [String]

    var isRejected: Bool { !problems.isEmpty }

    func rules(_ direction: PolicyDirection) -> [CompiledRule] {
        direction == .ingress ? ingress : egress
    }

    func selects(_ pod: PolicyPod) -> Bool {
        pod.name.namespace == name.namespace && (podSelector?.matches(pod.labels) ?? true)
    }

    /// Validates the policy; an invalid one is kept as a rejection that isolates what it can still tell it selects.
    init(_ policy: NetworkPolicy) {
        let name = ObjectName(policy.metadata)
        self.name = name
        let errors = policy.validate()
        guard errors.isEmpty else {
            problems = errors.map(\.description)
            let selectorBroken = errors.contains { $0.path.description.hasPrefix("spec.podSelector") }
            podSelector = selectorBroken ? nil : policy.spec.podSelector
            let typesBroken = errors.contains { $0.path.description.hasPrefix("spec.policyTypes") }
            isolates = typesBroken ? Set(PolicyDirection.allCases) : Self.directions(policy.spec)
            ingress = []
            egress = []
            return
        }
        problems = []
        podSelector = policy.spec.podSelector
        isolates = Self.directions(policy.spec)
        ingress = policy.spec.ingress.enumerated().map { index, rule in
            CompiledRule(
                ref: PolicyRuleRef(policy: name, direction: .ingress, index: index),
                peers: rule.from.map { PeerKey($0, policyNamespace: policy.metadata.namespace) },
                ports: rule.ports.map(PortMatch.init))
        }
        egress = policy.spec.egress.enumerated().map { index, rule in
            CompiledRule(
                ref: PolicyRuleRef(policy: name, direction: .egress, index: index),
                peers: rule.to.map { PeerKey($0, policyNamespace: policy.metadata.namespace) },
                ports: rule.ports.map(PortMatch.init))
        }
    }

    /// A policy known only by name (its manifest failed to load): its selector is unknown, so every pod of its
    /// namespace stays isolated in both directions until it is fixed.
    init(rejected: RejectedPolicy) {
        name = rejected.name
        podSelector = nil
        isolates = Set(PolicyDirection.allCases)
        ingress = []
        egress = []
        problems = rejected.problems.isEmpty ? ["rejected"] : rejected.problems
    }

    private static func directions(_ spec: NetworkPolicySpec) -> Set<PolicyDirection> {
        Set(PolicyDirection.allCases.filter { spec.effectivePolicyTypes.contains($0.policyType) })
    }
}

/// One ingress or egress rule: any of `peers` (everyone when empty) on any of `ports` (everything when empty).
struct CompiledRule: Sendable, Hashable {
    var ref: PolicyRuleRef
    var peers: [PeerKey]
    var ports: [PortMatch]
}

/// Who a peer is. Selector peers are kept as selectors (resolved against the current pods and namespaces, and
/// cached by this key), ipBlocks as address ranges.
enum PeerKey: Sendable, Hashable {
    /// Pods chosen by labels: in `namespace` when `namespaceSelector` is absent, else in every namespace it
    /// selects (then `namespace` is empty, so equal peers of different policies share one cache entry).
    case pods(namespace: String, podSelector: LabelSelector?, namespaceSelector: LabelSelector?)
    /// `cidr` minus `except`, as disjoint ranges.
    case block([AddressRange])
    /// An empty `from`/`to`: every address.
    case everyone

    init(_ peer: NetworkPolicyPeer, policyNamespace: String) {
        if let block = peer.ipBlock, let cidr = IPCIDR(block.cidr) {
            self = .block(AddressRange.ranges(of: cidr, except: block.except.compactMap(IPCIDR.init)))
        } else {
            self = .pods(
                namespace: peer.namespaceSelector == nil ? policyNamespace : "", podSelector: peer.podSelector,
                namespaceSelector: peer.namespaceSelector)
        }
    }

    /// Whether `pod` is this peer: by labels for selector peers, by address for ipBlocks (a pod inside the block
    /// is reached at its address like anyone else).
    func matches(_ pod: PolicyPod, namespaceLabels: [String: String]) -> Bool {
        switch self {
        case .pods(let namespace, let podSelector, let namespaceSelector):
            if let namespaceSelector {
                guard namespaceSelector.matches(namespaceLabels) else { return false }
            } else if pod.name.namespace != namespace {
                return false
            }
            return podSelector?.matches(pod.labels) ?? true
        case .block(let ranges):
            return pod.addresses.contains { address in ranges.contains { $0.contains(address) } }
        case .everyone:
            return true
        }
    }

    /// Whether `address` of a pod matching this peer is the peer (only block peers exclude some of a pod's addresses).
    func contains(_ address: IPAddress) -> Bool {
        if case .block(let ranges) = self { return ranges.contains { $0.contains(address) } }
        return true
    }
}

/// One `ports` entry: a protocol with every port, a range (`port` to `endPort`), or a container port name resolved
/// against the destination pod.
enum PortMatch: Sendable, Hashable {
    case range(TransportProtocol, first: UInt16, last: UInt16)
    case named(TransportProtocol, String)

    init(_ port: NetworkPolicyPort) {
        switch port.port {
        case .none:
            self = .range(port.protocol, first: 0, last: .max)
        case .int(let number):
            let first = UInt16(clamping: number)
            self = .range(port.protocol, first: first, last: UInt16(clamping: port.endPort ?? number))
        case .string(let name):
            self = .named(port.protocol, name)
        }
    }

    /// The port numbers this entry allows on `pod` (a named port only where the pod declares it, same protocol).
    func ranges(on pod: PolicyPod) -> [(TransportProtocol, first: UInt16, last: UInt16)] {
        switch self {
        case .range(let proto, let first, let last):
            return [(proto, first, last)]
        case .named(let proto, let name):
            return pod.ports.filter { $0.name == name && $0.protocol == proto }.map {
                (proto, $0.port, $0.port)
            }
        }
    }

    var isNamed: Bool {
        if case .named = self { return true }
        return false
    }
}

/// A pod as policy sees it: identity, labels, addresses, named container ports, and whether this node enforces it.
/// Only pods that take part in pod networking exist here (host-network, finished and address-less pods do not).
struct PolicyPod: Sendable, Hashable {
    struct NamedPort: Sendable, Hashable {
        var name: String
        var `protocol`: TransportProtocol
        var port: UInt16
    }

    var name: ObjectName
    var labels: [String: String]
    var addresses: [IPAddress]
    var ports: [NamedPort]
    var isLocal: Bool

    /// `nil` for pods policy does not apply to: host-network pods (they are the node), finished pods (their
    /// addresses may already belong to someone else), and pods without an address yet.
    ///
    /// - Parameter allocated: what this node's CNI plugin recorded for the pod; used for a local pod whose
    ///   status has no addresses yet (the API learns them only after the kubelet reports them).
    init?(_ pod: Pod, nodeName: String?, allocated: [IPAddress] = []) {
        guard !pod.spec.hostNetwork, pod.status.phase != .succeeded, pod.status.phase != .failed else { return nil }
        var addresses: [IPAddress] = []
        for ip in pod.status.podIPs.compactMap({ IPAddress($0.ip) }) where !addresses.contains(ip) {
            addresses.append(ip)
        }
        let local = nodeName == nil || pod.spec.nodeName == nodeName
        if addresses.isEmpty && local { addresses = allocated }
        guard !addresses.isEmpty else { return nil }
        name = ObjectName(pod.metadata)
        labels = pod.metadata.labels
        self.addresses = addresses
        ports = pod.spec.containers.flatMap(\.ports).compactMap { port in
            guard let name = port.name, let number = UInt16(exactly: port.containerPort) else { return nil }
            return NamedPort(name: name, protocol: port.protocol, port: number)
        }
        isLocal = local
    }
}
