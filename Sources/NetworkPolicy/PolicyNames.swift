import KubeAPI

/// `namespace/name` of a namespaced object (a NetworkPolicy or a Pod): how `sluice policy` names both sides of
/// a connection and every policy it blames, and the stable sort order of everything the compiler emits.
public struct ObjectName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// Parses `namespace/name`; a bare `name` is in `default`, as kubectl reads it.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where !parts[0].isEmpty:
            self.init(namespace: "default", name: String(parts[0]))
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty:
            self.init(namespace: String(parts[0]), name: String(parts[1]))
        default:
            return nil
        }
    }

    public init(_ metadata: ObjectMeta) {
        self.init(namespace: metadata.namespace, name: metadata.name)
    }

    public static func < (lhs: ObjectName, rhs: ObjectName) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }

    public var description: String { "\(namespace)/\(name)" }
}

/// Which side of a connection a policy rule guards: ingress at the destination pod, egress at the source pod.
public enum PolicyDirection: String, Sendable, Hashable, CaseIterable, Comparable {
    case ingress
    case egress

    public static func < (lhs: PolicyDirection, rhs: PolicyDirection) -> Bool {
        lhs == .ingress && rhs == .egress
    }

    /// The `policyTypes` value that isolates this direction.
    var policyType: PolicyType { self == .ingress ? .ingress : .egress }
}

/// One rule of one policy, `x/allow-web ingress[0]`: what `sluice policy check` names as the reason a
/// connection was allowed, and what each compiled set element remembers it came from.
public struct PolicyRuleRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var policy: ObjectName
    public var direction: PolicyDirection
    /// The rule's position in `spec.ingress` or `spec.egress`.
    public var index: Int

    public init(policy: ObjectName, direction: PolicyDirection, index: Int) {
        self.policy = policy
        self.direction = direction
        self.index = index
    }

    public static func < (lhs: PolicyRuleRef, rhs: PolicyRuleRef) -> Bool {
        (lhs.policy, lhs.direction, lhs.index) < (rhs.policy, rhs.direction, rhs.index)
    }

    public var description: String { "\(policy) \(direction.rawValue)[\(index)]" }
}
