/// What the policy compiler needs to know about the node it programs.
public struct PolicyConfiguration: Sendable, Hashable {
    /// Pods whose `spec.nodeName` is this node are enforced here; `nil` enforces every pod, which is the view
    /// `sluice policy` takes (each node's structures are exactly that view restricted to its own pods).
    public var nodeName: String?
    /// The nftables table the policy datapath owns, apart from the Service table so neither can disturb the other.
    public var tableName: String

    public init(nodeName: String?, tableName: String = "sluice-policy") {
        self.nodeName = nodeName
        self.tableName = tableName
    }
}
