import KubeAPI
import NFTables

/// Everything one local pod adds to the policy datapath: its isolation entries and the peers allowed to reach it
/// (ingress) and that it may reach (egress), as set elements, each remembering the rules that allow it.
///
/// Contributions make syncs incremental: every element is keyed by the pod's own address, so pods never share an
/// element, and a change recompiles only the pods it can affect and sends the difference of their contributions.
public struct PodPolicyContribution: Sendable, Hashable {
    public var pod: ObjectName
    /// The addresses the elements are keyed by (those this pod owns on the node).
    public var addresses: [IPAddress]
    /// The policies isolating the pod, per direction (rejected ones included); no entry: not isolated.
    public var isolatedBy: [PolicyDirection: [ObjectName]]
    /// Elements per set name.
    public var elements: [String: [ElementKey: SetElement]]
    /// For each element of an `*-any`/`*-ports` set, the rules that allow that piece of traffic.
    public var reasons: [String: [ElementKey: [PolicyRuleRef]]]
    /// Peers whose member pods were read, so a change of their members recompiles this pod.
    var peerKeys: Set<PeerKey>

    init(pod: ObjectName, addresses: [IPAddress]) {
        self.pod = pod
        self.addresses = addresses
        isolatedBy = [:]
        elements = [:]
        reasons = [:]
        peerKeys = []
    }

    public var elementCount: Int { elements.values.reduce(0) { $0 + $1.count } }

    mutating func add(_ set: String, _ element: SetElement, reasons: [PolicyRuleRef] = []) {
        elements[set, default: [:]][element.key] = element
        if !reasons.isEmpty { self.reasons[set, default: [:]][element.key] = reasons }
    }
}
