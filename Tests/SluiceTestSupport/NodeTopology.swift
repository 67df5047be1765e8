import Synchronization

/// A Kubernetes node in miniature, made of test namespaces: a node with a bridge, pods on it, and optionally an
/// external host routed through the node, all dual-stack.
///
/// Kernel end-to-end tests of Services, NetworkPolicy and the CNI plugin need real packets between real
/// namespaces, laid out as a node lays them out:
///
/// ```
///  pod namespaces                node namespace                              external namespace
///  eth0 10.244.1.2/24  ─ veth ─ veth0 ┐
///  eth0 10.244.1.3/24  ─ veth ─ veth1 ┼ br0 10.244.1.1/24      ext0 198.18.0.1/30 ─ veth ─ eth0 198.18.0.2/30
///  …                                  ┘     fd00:10:244:1::1/64     fd00:198:18::1/64       fd00:198:18::2/64
/// ```
///
/// - Pods get host numbers 2, 3, … of the pod CIDRs (in ``Configuration/pods`` order) and default routes via the
///   bridge address, which is the node's own address for them.
/// - The node forwards IPv4 and IPv6 (set inside its namespace only), so the external host reaches pods and
///   whatever the node answers for. The node has no default route: nothing leaves the topology.
/// - The external host routes the Service CIDRs and the pod CIDRs via the node, as a router in front of a cluster
///   would, so Service traffic arrives at the node from outside.
/// - Duplicate address detection is off in every namespace (and `nodad` on every address), so IPv6 addresses work
///   the moment the topology is built instead of seconds later.
///
/// Every address comes from the project's test ranges (10.244.0.0/16, 10.96.0.0/12, 198.18.0.0/15, fd00::/8); a
/// configuration outside them is rejected. Use ``withNodeTopology(_:body:)`` to get one: it deletes every namespace
/// (and with them every link, address, route and nftables table) on every exit path.
public final class NodeTopology: Sendable {
    /// What to build; the defaults describe the node of the examples (`10.244.1.0/24`, Service CIDR `10.96.0.0/12`).
    public struct Configuration: Sendable {
        /// The pods' names, in address order; also the labels of their namespaces and the names their
        /// ``NameServer``s answer with.
        public var pods: [String]
        /// The node's IPv4 pod CIDR: the bridge takes host 1, pods hosts 2, 3, ….
        public var podCIDRv4 = "10.244.1.0/24"
        /// The node's IPv6 pod CIDR: the bridge takes host 1, pods hosts 2, 3, ….
        public var podCIDRv6 = "fd00:10:244:1::/64"
        /// Whether to add the external namespace.
        public var hasExternal: Bool
        /// The IPv4 link between node (host 1) and external host (host 2).
        public var externalLinkCIDRv4 = "198.18.0.0/30"
        /// The IPv6 link between node (host 1) and external host (host 2).
        public var externalLinkCIDRv6 = "fd00:198:18::/64"
        /// The Service CIDRs the external host routes via the node.
        public var serviceCIDRs = ["10.96.0.0/12", "fd00:10:96::/108"]
        /// Whether the bridge sends a pod's frames back to that same pod (`hairpin on` on every pod port), as a pod
        /// reaching itself through a Service needs.
        public var hairpin: Bool

        /// A configuration with the given pods and the example CIDRs.
        public init(pods: [String], hasExternal: Bool = true, hairpin: Bool = false) {
            self.pods = pods
            self.hasExternal = hasExternal
            self.hairpin = hairpin
        }
    }

    /// A configuration the topology refuses to build, e.g. a CIDR outside the test ranges or too many pods for it.
    public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Hashable {
        public let description: String
    }

    /// One pod: its namespace with `eth0`, its addresses and its veth's name on the node.
    public struct Pod: Sendable {
        /// The pod's name, as configured.
        public let name: String
        /// The pod's namespace; its interface is `eth0`.
        public let namespace: TestNamespace
        /// The pod's IPv4 address, e.g. `10.244.1.2`.
        public let ipv4: String
        /// The pod's IPv6 address, e.g. `fd00:10:244:1::2`.
        public let ipv6: String
        /// The node side of the pod's veth, a port of the bridge, e.g. `veth0`.
        public let hostVeth: String
    }

    /// The external host: a namespace outside the cluster, one routed hop away from the node.
    public struct External: Sendable {
        /// The external namespace; its interface is `eth0`.
        public let namespace: TestNamespace
        /// The external host's IPv4 address, e.g. `198.18.0.2`.
        public let ipv4: String
        /// The external host's IPv6 address, e.g. `fd00:198:18::2`.
        public let ipv6: String
        /// The node's IPv4 address on the external link (the external host's next hop), e.g. `198.18.0.1`.
        public let nodeIPv4: String
        /// The node's IPv6 address on the external link, e.g. `fd00:198:18::1`.
        public let nodeIPv6: String
        /// The node's interface towards the external host, `ext0`.
        public let nodeLink: String
    }

    /// The node namespace: bridge, pod veths, forwarding; where Sluice programs nftables (`node.exec(["nft", …])`).
    public let node: TestNamespace
    /// The node's bridge, `br0`.
    public let bridge = "br0"
    /// The bridge's IPv4 address: the pods' gateway and the node's own address, e.g. `10.244.1.1`.
    public let gatewayIPv4: String
    /// The bridge's IPv6 address: the pods' gateway and the node's own address, e.g. `fd00:10:244:1::1`.
    public let gatewayIPv6: String
    /// The pods, in configuration order.
    public let pods: [Pod]
    /// The external host, when configured.
    public let external: External?
    /// Servers started by ``startNameServers(on:tcpPorts:udpPorts:)``, stopped at teardown.
    private let servers = Mutex<[NameServer]>([])

    /// The pod named `name`, or `nil` when there is none.
    public subscript(pod name: String) -> Pod? {
        pods.first { $0.name == name }
    }

    /// Starts a ``NameServer`` in each of `pods`, answering with the pod's name, and keeps it running until the
    /// topology is torn down (or until it is stopped).
    ///
    /// - Throws: ``SocketError`` when a server cannot listen; servers already started by this call are stopped.
    @discardableResult
    public func startNameServers(
        on pods: some Sequence<Pod>, tcpPorts: [UInt16] = [], udpPorts: [UInt16] = []
    ) throws -> [NameServer] {
        let started = try pods.map {
            try NameServer(name: $0.name, in: $0.namespace, tcpPorts: tcpPorts, udpPorts: udpPorts)
        }
        servers.withLock { $0 += started }
        return started
    }

    /// Stops every server started through the topology, before its namespaces are deleted (a server's sockets
    /// would otherwise keep a deleted namespace alive in the kernel).
    fileprivate func stopNameServers() {
        for server in servers.withLock({ $0 }) {
            server.stop()
        }
    }

    /// Builds the topology in `namespaces`: the node, then one per pod, then the external host when configured.
    fileprivate init(_ configuration: Configuration, plan: AddressPlan, namespaces: [TestNamespace]) throws {
        node = namespaces[0]
        gatewayIPv4 = plan.gatewayIPv4
        gatewayIPv6 = plan.gatewayIPv6
        pods = configuration.pods.indices.map { index in
            Pod(
                name: configuration.pods[index], namespace: namespaces[1 + index], ipv4: plan.podIPv4[index],
                ipv6: plan.podIPv6[index], hostVeth: "veth\(index)")
        }
        external = plan.external.map { link in
            External(
                namespace: namespaces[1 + configuration.pods.count], ipv4: link.externalIPv4,
                ipv6: link.externalIPv6, nodeIPv4: link.nodeIPv4, nodeIPv6: link.nodeIPv6, nodeLink: "ext0")
        }

        for namespace in namespaces.dropFirst() {
            try namespace.setSysctls(["net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"])
        }
        try node.setSysctls([
            "net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0",
            "net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1",
        ])

        var nodeCommands = [
            "link add \(bridge) type bridge",
            "address add \(gatewayIPv4)/\(plan.podPrefixv4) dev \(bridge)",
            "address add \(gatewayIPv6)/\(plan.podPrefixv6) dev \(bridge) nodad",
            "link set \(bridge) up",
        ]
        for pod in pods {
            nodeCommands += [
                "link add \(pod.hostVeth) type veth peer name eth0 netns \(pod.namespace.name)",
                "link set \(pod.hostVeth) master \(bridge)",
                "link set \(pod.hostVeth) up",
            ]
            if configuration.hairpin {
                nodeCommands.append("link set \(pod.hostVeth) type bridge_slave hairpin on")
            }
        }
        if let external, let link = plan.external {
            nodeCommands += [
                "link add \(external.nodeLink) type veth peer name eth0 netns \(external.namespace.name)",
                "address add \(external.nodeIPv4)/\(link.prefixv4) dev \(external.nodeLink)",
                "address add \(external.nodeIPv6)/\(link.prefixv6) dev \(external.nodeLink) nodad",
                "link set \(external.nodeLink) up",
            ]
        }
        try node.ipBatch(nodeCommands)

        for pod in pods {
            try pod.namespace.ipBatch([
                "address add \(pod.ipv4)/\(plan.podPrefixv4) dev eth0",
                "address add \(pod.ipv6)/\(plan.podPrefixv6) dev eth0 nodad",
                "link set eth0 up",
                "route add 0.0.0.0/0 via \(gatewayIPv4)",
                "route add ::/0 via \(gatewayIPv6)",
            ])
        }
        if let external, let link = plan.external {
            let routed = configuration.serviceCIDRs + [configuration.podCIDRv4, configuration.podCIDRv6]
            try external.namespace.ipBatch(
                [
                    "address add \(external.ipv4)/\(link.prefixv4) dev eth0",
                    "address add \(external.ipv6)/\(link.prefixv6) dev eth0 nodad",
                    "link set eth0 up",
                ]
                    + routed.map { "route add \($0) via \($0.contains(":") ? external.nodeIPv6 : external.nodeIPv4)" })
        }
    }
}

/// Builds a ``NodeTopology``, runs `body` with it, and tears everything down when `body` returns or throws:
/// servers started through the topology are stopped, then every namespace is deleted.
///
/// - Throws: ``NodeTopology/ConfigurationError`` for a configuration outside the test ranges, the error of a
///   failing set-up step (naming the command), or whatever `body` throws.
@discardableResult
public func withNodeTopology<T>(
    _ configuration: NodeTopology.Configuration,
    isolation: isolated (any Actor)? = #isolation,
    body: (NodeTopology) async throws -> T
) async throws -> T {
    let plan = try AddressPlan(configuration)
    return try await withTestNamespaces(namespaceLabels(configuration)) { namespaces in
        let topology = try NodeTopology(configuration, plan: plan, namespaces: namespaces)
        defer { topology.stopNameServers() }
        return try await body(topology)
    }
}

/// The synchronous form of ``withNodeTopology(_:isolation:body:)``, for tests that never `await`.
@discardableResult
public func withNodeTopology<T>(
    _ configuration: NodeTopology.Configuration,
    body: (NodeTopology) throws -> T
) throws -> T {
    let plan = try AddressPlan(configuration)
    return try withTestNamespaces(namespaceLabels(configuration)) { namespaces in
        let topology = try NodeTopology(configuration, plan: plan, namespaces: namespaces)
        defer { topology.stopNameServers() }
        return try body(topology)
    }
}

/// One namespace label per role, so a leftover namespace says what it was: `node`, the pod names, `external`.
private func namespaceLabels(_ configuration: NodeTopology.Configuration) -> [String] {
    ["node"] + configuration.pods + (configuration.hasExternal ? ["external"] : [])
}

/// The addresses a configuration implies, checked before any namespace is created.
private struct AddressPlan {
    /// The external link's addresses and prefix lengths.
    struct ExternalLink {
        let nodeIPv4: String
        let nodeIPv6: String
        let externalIPv4: String
        let externalIPv6: String
        let prefixv4: Int
        let prefixv6: Int
    }

    let podPrefixv4: Int
    let podPrefixv6: Int
    let gatewayIPv4: String
    let gatewayIPv6: String
    let podIPv4: [String]
    let podIPv6: [String]
    let external: ExternalLink?

    init(_ configuration: NodeTopology.Configuration) throws(NodeTopology.ConfigurationError) {
        guard Set(configuration.pods).count == configuration.pods.count else {
            throw .init(description: "pod names must be unique: \(configuration.pods)")
        }
        let podsv4 = try testPrefix(configuration.podCIDRv4, isIPv6: false, role: "IPv4 pod CIDR")
        let podsv6 = try testPrefix(configuration.podCIDRv6, isIPv6: true, role: "IPv6 pod CIDR")
        for cidr in configuration.serviceCIDRs {
            _ = try testPrefix(cidr, isIPv6: cidr.contains(":"), role: "Service CIDR")
        }
        podPrefixv4 = podsv4.length
        podPrefixv6 = podsv6.length
        gatewayIPv4 = try host(1, of: podsv4)
        gatewayIPv6 = try host(1, of: podsv6)
        podIPv4 = try configuration.pods.indices.map { index throws(NodeTopology.ConfigurationError) in
            try host(index + 2, of: podsv4)
        }
        podIPv6 = try configuration.pods.indices.map { index throws(NodeTopology.ConfigurationError) in
            try host(index + 2, of: podsv6)
        }
        if configuration.hasExternal {
            let linkv4 = try testPrefix(configuration.externalLinkCIDRv4, isIPv6: false, role: "IPv4 external link")
            let linkv6 = try testPrefix(configuration.externalLinkCIDRv6, isIPv6: true, role: "IPv6 external link")
            external = ExternalLink(
                nodeIPv4: try host(1, of: linkv4), nodeIPv6: try host(1, of: linkv6),
                externalIPv4: try host(2, of: linkv4), externalIPv6: try host(2, of: linkv6),
                prefixv4: linkv4.length, prefixv6: linkv6.length)
        } else {
            external = nil
        }
    }
}

/// Parses `cidr` and checks its family and that it lies inside the project's test ranges.
private func testPrefix(
    _ cidr: String, isIPv6: Bool, role: String
) throws(NodeTopology.ConfigurationError)
    -> IPPrefix
{
    guard let prefix = IPPrefix(cidr), prefix.isIPv6 == isIPv6 else {
        throw .init(description: "\(role) \(cidr) is not an \(isIPv6 ? "IPv6" : "IPv4") network in CIDR notation")
    }
    guard prefix.isTestRange else {
        throw .init(
            description:
                "\(role) \(cidr) is outside the test ranges \(IPPrefix.testRanges.map(\.description).joined(separator: ", "))"
        )
    }
    return prefix
}

/// Host `number` of `prefix`, or an error saying the prefix is too small.
private func host(_ number: Int, of prefix: IPPrefix) throws(NodeTopology.ConfigurationError) -> String {
    guard let address = prefix.host(number) else {
        throw .init(description: "\(prefix) has no host number \(number): too small for this topology")
    }
    return address
}
