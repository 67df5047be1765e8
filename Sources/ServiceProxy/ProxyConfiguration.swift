import KubeAPI

/// What a node's proxier needs to know beyond the Service objects: who it is and which traffic is "outside".
public struct ProxyConfiguration: Sendable, Hashable {
    /// The node this ruleset is for: decides local endpoints (`Local` traffic policies).
    public var nodeName: String
    /// The node's zone (`topology.kubernetes.io/zone`), for topology hints; `nil` disables hints.
    public var nodeZone: String?
    /// Pod CIDRs of the cluster: traffic to a ClusterIP from outside them is masqueraded (`--cluster-cidr`).
    public var clusterCIDRs: [IPCIDR]
    /// Addresses NodePorts answer on (`--nodeport-addresses`); empty means every local non-loopback address.
    public var nodePortAddresses: [IPCIDR]
    /// The packet mark bit that asks postrouting to masquerade (kube-proxy uses 0x4000 too).
    public var masqueradeMark: UInt32
    /// The packet mark bit a NodePort dispatch sets, so postrouting records NodePort affinity only for
    /// connections that came through a NodePort (a ClusterIP port may equal a NodePort number).
    public var nodePortMark: UInt32
    /// The nftables table Sluice owns.
    public var tableName: String
    /// Masquerade pods' traffic to destinations outside the cluster CIDRs (the overlay's egress: the rest of the
    /// network has no route back to pod addresses). Pod-to-pod traffic keeps its source.
    public var masqueradePodEgress = false

    public init(
        nodeName: String, nodeZone: String? = nil, clusterCIDRs: [IPCIDR] = [], nodePortAddresses: [IPCIDR] = [],
        masqueradeMark: UInt32 = 0x4000, nodePortMark: UInt32 = 0x2000, tableName: String = "sluice"
    ) {
        self.nodeName = nodeName
        self.nodeZone = nodeZone
        self.clusterCIDRs = clusterCIDRs
        self.nodePortAddresses = nodePortAddresses
        self.masqueradeMark = masqueradeMark
        self.nodePortMark = nodePortMark
        self.tableName = tableName
    }
}
