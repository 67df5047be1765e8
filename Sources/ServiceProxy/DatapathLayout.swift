import KubeAPI
import NFTables

/// The nftables layout of the Service datapath: a fixed set of maps and chains whose number does not depend
/// on how many Services or endpoints exist (docs/service-datapath.md draws it).
///
/// Per-Service state is only map elements. The one family of objects that varies is the "pick" chains, one per
/// distinct endpoint count N (and affinity timeout), because `numgen random mod N` needs N as a constant:
/// 100 or 5,000 Services with 10 endpoints each use the same chains.
public struct DatapathLayout: Sendable {
    public let table: TableRef
    /// Only `nodeZone` changes after creation (`ServiceProxy.setNodeZone`); everything else shapes the table.
    public internal(set) var configuration: ProxyConfiguration

    public init(configuration: ProxyConfiguration) {
        self.configuration = configuration
        table = TableRef(family: .inet, name: configuration.tableName)
    }

    // MARK: names

    /// Per address family: the maps and header fields that differ between IPv4 and IPv6.
    public struct Family: Sendable, Hashable {
        public let addressFamily: AddressFamily
        public var suffix: String { addressFamily == .ipv4 ? "4" : "6" }
        public var address: DataType { addressFamily == .ipv4 ? .ipv4Address : .ipv6Address }
        public var source: Expression { .payload(addressFamily == .ipv4 ? .ipSource : .ip6Source) }
        public var destination: Expression { .payload(addressFamily == .ipv4 ? .ipDestination : .ip6Destination) }
        public var natFamily: TableFamily { addressFamily == .ipv4 ? .ip : .ip6 }
        /// The frontend key every Service IP is looked up by.
        public var frontend: Expression {
            .concat([destination, .meta(.l4proto), .payload(.transportDestinationPort)])
        }
        /// The frontend a connection was opened to, read from conntrack after DNAT (postrouting).
        public var originalFrontend: Expression {
            .concat([originalDestination, .meta(.l4proto), .ct(.originalDestinationPort)])
        }
        public var originalDestination: Expression {
            .ct(addressFamily == .ipv4 ? .originalDestination : .originalDestination6)
        }
        public var frontendType: TypeSpec { TypeSpec([address, .inetProtocol, .inetService]) }
        public static let nodePortKey = Expression.concat([.meta(.l4proto), .payload(.transportDestinationPort)])

        public var serviceIPs: String { "service-ips" + suffix }
        public var nodePorts: String { "nodeports" + suffix }
        public var endpoints: String { "endpoints" + suffix }
        public var nodePortEndpoints: String { "nodeport-endpoints" + suffix }
        public var affinity: String { "affinity" + suffix }
        public var affinityFrontends: String { "affinity-frontends" + suffix }
        public var affinityNodePorts: String { "affinity-nodeports" + suffix }
        public var noEndpoints: String { "no-endpoints" + suffix }
        public var noEndpointNodePorts: String { "no-endpoint-nodeports" + suffix }
        public var masqueradeFrontends: String { "masq-frontends" + suffix }
        public var masqueradeNodePorts: String { "masq-nodeports" + suffix }
        public var clusterIPFrontends: String { "clusterip-frontends" + suffix }
        public var clusterCIDRs: String { "cluster-cidrs" + suffix }
        public var nodePortAddresses: String { "nodeport-addresses" + suffix }
        public var firewalledFrontends: String { "lb-firewalled" + suffix }
        public var sourceRanges: String { "lb-source-ranges" + suffix }
        public var hairpin: String { "hairpin" + suffix }
        /// `Local` external frontends reached from inside the cluster (pods, the node): dispatched to all the
        /// Service's cluster endpoints instead of this node's, as kube-proxy short-circuits them.
        public var internalFrontends: String { "internal-frontends" + suffix }
        public var internalNodePorts: String { "internal-nodeports" + suffix }
        /// The same keys as a set: lets in-cluster traffic past the no-local-endpoints drop.
        public var internalBypass: String { "internal-bypass" + suffix }
        public var internalBypassNodePorts: String { "internal-bypass-nodeports" + suffix }

        public static let ipv4 = Family(addressFamily: .ipv4)
        public static let ipv6 = Family(addressFamily: .ipv6)
        public static let all = [ipv4, ipv6]

        public static func of(_ family: AddressFamily) -> Family { family == .ipv4 ? .ipv4 : .ipv6 }
    }

    /// How a frontend reaches its pick chain.
    public enum FrontendKind: String, Sendable, Hashable {
        /// ClusterIP, LoadBalancer ingress IP or external IP: keyed by destination address, protocol and port.
        case address
        /// NodePort on a local address: keyed by protocol and port.
        case nodePort
    }

    /// A chain that exists only while some Service needs it. Pick chains exist per endpoint count N (the
    /// `numgen` modulus is a constant); remember chains per affinity timeout (the `dynset` timeout is too).
    public enum DynamicChain: Sendable, Hashable, Comparable {
        case pick(AddressFamily, FrontendKind, endpoints: Int)
        /// Picks among a `Local` external frontend's cluster endpoints for in-cluster clients (slots from
        /// `internalSlotOffset` in the same endpoint maps).
        case internalPick(AddressFamily, FrontendKind, endpoints: Int)
        case remember(AddressFamily, seconds: Int)

        public var name: String {
            switch self {
            case .pick(let family, let kind, let n):
                (kind == .address ? "pick" : "nodeport-pick") + Family.of(family).suffix + "-\(n)"
            case .internalPick(let family, let kind, let n):
                (kind == .address ? "pick" : "nodeport-pick") + Family.of(family).suffix + "-\(n)-internal"
            case .remember(let family, let seconds):
                "remember" + Family.of(family).suffix + "-\(seconds)s"
            }
        }

        public static func < (lhs: DynamicChain, rhs: DynamicChain) -> Bool { lhs.name < rhs.name }

        public var isRemember: Bool {
            if case .remember = self { return true }
            return false
        }
    }

    /// Endpoint map slots of the in-cluster variant of a `Local` external frontend start here.
    public static let internalSlotOffset: UInt32 = 0x0100_0000

    public static let rejectChain = "reject-service"
    public static let servicesChain = "services"
    public static let firewallChain = "service-firewall"

    // MARK: fixed objects

    func set(
        _ name: String, _ key: TypeSpec, data: SetData? = nil, flags: SetFlags = [], timeout: Duration? = nil
    )
        -> NFTSet
    {
        NFTSet(table: table, name: name, key: key, data: data, flags: flags, timeout: timeout)
    }

    /// Every set and map of the layout.
    public func sets() -> [NFTSet] {
        Family.all.flatMap { f -> [NFTSet] in
            let frontend = f.frontendType
            let nodePort = TypeSpec([.inetProtocol, .inetService])
            let endpoint = SetData.value(TypeSpec([f.address, .inetService]))
            return [
                set(f.serviceIPs, frontend, data: .verdict),
                set(f.nodePorts, nodePort, data: .verdict),
                set(f.endpoints, TypeSpec(frontend.fields + [.mark]), data: endpoint),
                set(f.nodePortEndpoints, TypeSpec(nodePort.fields + [.mark]), data: endpoint),
                set(
                    f.affinity, TypeSpec([f.address] + frontend.fields), data: endpoint, flags: .dynamic,
                    timeout: .seconds(10800)),
                set(f.affinityFrontends, frontend, data: .verdict),
                set(f.affinityNodePorts, nodePort, data: .verdict),
                set(f.noEndpoints, frontend, data: .verdict),
                set(f.noEndpointNodePorts, nodePort, data: .verdict),
                set(f.masqueradeFrontends, frontend),
                set(f.masqueradeNodePorts, nodePort),
                set(f.clusterIPFrontends, frontend),
                set(f.clusterCIDRs, TypeSpec(f.address), flags: .interval),
                set(f.nodePortAddresses, TypeSpec(f.address), flags: .interval),
                set(f.firewalledFrontends, frontend),
                set(f.sourceRanges, TypeSpec(frontend.fields + [f.address]), flags: .interval),
                set(f.hairpin, TypeSpec([f.address, f.address])),
                set(f.internalFrontends, frontend, data: .verdict),
                set(f.internalNodePorts, nodePort, data: .verdict),
                set(f.internalBypass, frontend),
                set(f.internalBypassNodePorts, nodePort),
            ]
        }
    }

    private func chain(_ name: String, _ base: BaseChain? = nil, comment: String? = nil) -> Chain {
        Chain(table: table, name: name, base: base, comment: comment)
    }

    private func ref(_ name: String) -> ChainRef { ChainRef(table: table, name: name) }

    /// A set or map of this table by name.
    public func setRef(_ name: String) -> SetRef { SetRef(table: table, name: name) }

    /// The table, its sets, fixed chains and their rules, and the configuration-derived elements
    /// (cluster CIDRs, NodePort addresses): everything but per-Service elements and pick chains.
    public func baseTransaction() -> Transaction {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: table.name, comment: "Kubernetes Services, owned by sluice"))
        for s in sets() { tx.add(s) }
        let chains = [
            chain("filter-prerouting", BaseChain(type: .filter, hook: .prerouting, priority: -110)),
            chain("filter-output", BaseChain(type: .filter, hook: .output, priority: -110)),
            chain("nat-prerouting", BaseChain(type: .nat, hook: .prerouting, priority: -100)),
            chain("nat-output", BaseChain(type: .nat, hook: .output, priority: -100)),
            chain("nat-postrouting", BaseChain(type: .nat, hook: .postrouting, priority: 100)),
            chain(Self.firewallChain, comment: "Services without endpoints, loadBalancerSourceRanges"),
            chain(Self.rejectChain, comment: "answer at once instead of letting clients time out"),
            chain(Self.servicesChain, comment: "ClusterIP, external IP, LoadBalancer and NodePort dispatch"),
        ]
        for c in chains { tx.add(c) }
        for rule in baseRules() { tx.add(rule) }
        for f in Family.all {
            let cidrs = configuration.clusterCIDRs.filter { $0.family == f.addressFamily }
            tx.addElements(
                cidrs.map { SetElement(key: Self.prefixKey($0)) }, to: SetRef(table: table, name: f.clusterCIDRs))
            let nodePortCIDRs = configuration.nodePortAddresses.filter { $0.family == f.addressFamily }
            tx.addElements(
                nodePortCIDRs.map { SetElement(key: Self.prefixKey($0)) },
                to: SetRef(table: table, name: f.nodePortAddresses))
        }
        return tx
    }

    static func prefixKey(_ cidr: IPCIDR) -> ElementKey {
        .prefix(value(cidr.network), length: cidr.prefixLength)
    }

    func baseRules() -> [Rule] {
        var rules: [Rule] = []
        let mark = Value.mark(configuration.masqueradeMark)
        rules.append(Rule(chain: ref("filter-prerouting"), [.verdict(.jump(Self.firewallChain))]))
        rules.append(Rule(chain: ref("filter-output"), [.verdict(.jump(Self.firewallChain))]))
        rules.append(Rule(chain: ref("nat-prerouting"), [.verdict(.jump(Self.servicesChain))]))
        rules.append(Rule(chain: ref("nat-output"), [.verdict(.jump(Self.servicesChain))]))
        rules.append(
            Rule(
                chain: ref("nat-postrouting"), [.anyFlags(.meta(.mark), mark), .masquerade(fullyRandom: true)],
                comment: "masquerade what the service rules marked"))
        rules.append(
            Rule(chain: ref(Self.rejectChain), [.compare(.meta(.l4proto), .equal, .tcp), .reject(.tcpReset)]))
        rules.append(Rule(chain: ref(Self.rejectChain), [.reject(.icmpxPortUnreachable)]))
        let local = Statement.compare(.fibDestinationType, .equal, .fibAddressType(.local))
        for f in Family.all {
            let notLoopback = loopbackExclusion(f)
            rules.append(
                Rule(
                    chain: ref("nat-postrouting"),
                    [
                        .anyFlags(.ct(.status), .ctStatus(.dnat)),
                        .lookup(.concat([f.source, f.destination]), set: f.hairpin), .masquerade(fullyRandom: true),
                    ], comment: "hairpin: a pod reaching itself through its Service"))
            if configuration.masqueradePodEgress && hasClusterCIDRs(f) {
                rules.append(
                    Rule(
                        chain: ref("nat-postrouting"),
                        [
                            .lookup(f.source, set: f.clusterCIDRs),
                            .lookup(f.destination, set: f.clusterCIDRs, negated: true),
                            .masquerade(fullyRandom: true),
                        ], comment: "pod egress leaving the cluster network"))
            }
            // Session affinity: remember each new connection's endpoint (after DNAT, conntrack still knows the
            // frontend), per timeout; masquerade comes after, so the client address is still the original.
            rules.insert(
                Rule(
                    chain: ref("nat-postrouting"),
                    [
                        .anyFlags(.ct(.status), .ctStatus(.dnat)),
                        .verdictMap(f.originalFrontend, map: f.affinityFrontends),
                    ],
                    comment: "ClientIP affinity"),
                at: 0)
            rules.insert(
                Rule(
                    chain: ref("nat-postrouting"),
                    [
                        .anyFlags(.ct(.status), .ctStatus(.dnat)),
                        .anyFlags(.meta(.mark), .mark(configuration.nodePortMark)),
                        .compare(.meta(.nfproto), .equal, .nfproto(f.natFamily)),
                        .verdictMap(
                            .concat([.meta(.l4proto), .ct(.originalDestinationPort)]), map: f.affinityNodePorts),
                    ], comment: "ClientIP affinity (NodePorts)"),
                at: 1)
            // Firewall: source ranges, then Services without (local) endpoints — which in-cluster clients of a
            // `Local` external frontend get past: they are dispatched to cluster endpoints.
            rules.append(
                Rule(
                    chain: ref(Self.firewallChain),
                    [
                        .lookup(f.frontend, set: f.firewalledFrontends),
                        .lookup(
                            .concat([f.destination, .meta(.l4proto), .payload(.transportDestinationPort), f.source]),
                            set: f.sourceRanges, negated: true),
                        .verdict(.drop),
                    ], comment: "loadBalancerSourceRanges"))
            if hasClusterCIDRs(f) {
                rules.append(
                    Rule(
                        chain: ref(Self.firewallChain),
                        [
                            .lookup(f.source, set: f.clusterCIDRs), .lookup(f.frontend, set: f.internalBypass),
                            .verdict(.return),
                        ], comment: "pods reaching a Local external frontend use cluster endpoints"))
                rules.append(
                    Rule(
                        chain: ref(Self.firewallChain),
                        [
                            local, notLoopback, .lookup(f.source, set: f.clusterCIDRs),
                            .lookup(Family.nodePortKey, set: f.internalBypassNodePorts), .verdict(.return),
                        ]))
            }
            rules.append(Rule(chain: ref(Self.firewallChain), [.verdictMap(f.frontend, map: f.noEndpoints)]))
            rules.append(
                Rule(
                    chain: ref(Self.firewallChain),
                    [local, notLoopback, .verdictMap(Family.nodePortKey, map: f.noEndpointNodePorts)]))
            // The node itself reaching a Local external frontend: also cluster endpoints (masqueraded below).
            rules.insert(
                Rule(
                    chain: ref("filter-output"),
                    [.lookup(f.frontend, set: f.internalBypass), .verdict(.accept)],
                    comment: "the node reaching a Local external frontend uses cluster endpoints"),
                at: 0)
            rules.insert(
                Rule(
                    chain: ref("filter-output"),
                    [
                        local, notLoopback, .lookup(Family.nodePortKey, set: f.internalBypassNodePorts),
                        .verdict(.accept),
                    ]
                ),
                at: 1)
            // Dispatch: masquerade marks first, then the verdict maps that jump to the pick chains.
            rules.append(
                Rule(
                    chain: ref(Self.servicesChain),
                    [.lookup(f.frontend, set: f.masqueradeFrontends), .orMark(mark)],
                    comment: "external traffic with Cluster policy"))
            if configuration.clusterCIDRs.contains(where: { $0.family == f.addressFamily }) {
                rules.append(
                    Rule(
                        chain: ref(Self.servicesChain),
                        [
                            .lookup(f.source, set: f.clusterCIDRs, negated: true),
                            .lookup(f.frontend, set: f.clusterIPFrontends), .orMark(mark),
                        ], comment: "ClusterIP traffic from outside the cluster"))
            }
            let affinityKey = Expression.concat([
                f.source, f.destination, .meta(.l4proto), .payload(.transportDestinationPort),
            ])
            let affinityTarget = Expression.mapLookup(
                key: affinityKey, map: f.affinity, resultType: TypeSpec([f.address, .inetService]))
            rules.append(
                Rule(
                    chain: ref(Self.servicesChain), [.dnat(f.natFamily, to: affinityTarget)],
                    comment: "ClientIP affinity: the endpoint this client used last (ClusterIPs and NodePorts)"))
            if hasClusterCIDRs(f) {
                rules.append(
                    Rule(
                        chain: ref(Self.servicesChain),
                        [.lookup(f.source, set: f.clusterCIDRs), .verdictMap(f.frontend, map: f.internalFrontends)],
                        comment: "pods reaching a Local external frontend: cluster endpoints, source kept"))
            }
            rules.append(Rule(chain: ref(Self.servicesChain), [.verdictMap(f.frontend, map: f.serviceIPs)]))
            var nodePortMatch: [Statement] = [local, notLoopback]
            if configuration.nodePortAddresses.contains(where: { $0.family == f.addressFamily }) {
                nodePortMatch.append(.lookup(f.destination, set: f.nodePortAddresses))
            }
            rules.append(
                Rule(
                    chain: ref(Self.servicesChain),
                    nodePortMatch + [.lookup(Family.nodePortKey, set: f.masqueradeNodePorts), .orMark(mark)]))
            if hasClusterCIDRs(f) {
                rules.append(
                    Rule(
                        chain: ref(Self.servicesChain),
                        nodePortMatch + [
                            .lookup(f.source, set: f.clusterCIDRs),
                            .verdictMap(Family.nodePortKey, map: f.internalNodePorts),
                        ]))
            }
            rules.append(
                Rule(
                    chain: ref(Self.servicesChain), nodePortMatch + [.verdictMap(Family.nodePortKey, map: f.nodePorts)])
            )
            // The node itself: masqueraded (its source address may not be routable from the endpoint) and sent to
            // cluster endpoints, before the common dispatch.
            rules.insert(
                contentsOf: [
                    Rule(
                        chain: ref("nat-output"), [.lookup(f.frontend, set: f.internalBypass), .orMark(mark)],
                        comment: "the node reaching a Local external frontend"),
                    Rule(chain: ref("nat-output"), [.verdictMap(f.frontend, map: f.internalFrontends)]),
                    Rule(
                        chain: ref("nat-output"),
                        nodePortMatch + [.lookup(Family.nodePortKey, set: f.internalBypassNodePorts), .orMark(mark)]),
                    Rule(
                        chain: ref("nat-output"),
                        nodePortMatch + [.verdictMap(Family.nodePortKey, map: f.internalNodePorts)]),
                ], at: 0)
        }
        return rules
    }

    private func hasClusterCIDRs(_ f: Family) -> Bool {
        configuration.clusterCIDRs.contains(where: { $0.family == f.addressFamily })
    }

    /// NodePorts answer on local addresses except loopback (as kube-proxy's default).
    private func loopbackExclusion(_ f: Family) -> Statement {
        f.addressFamily == .ipv4
            ? .prefix(f.destination, .ipv4(127, 0, 0, 0), length: 8, negated: true)
            : .compare(f.destination, .notEqual, .ipv6(groups: [0, 0, 0, 0, 0, 0, 0, 1]))
    }

    // MARK: dynamic chains

    /// The chain and its rules: a pick DNATs to one of N endpoints of the connection's frontend; a remember
    /// records the endpoint chosen for a client in the affinity map with the Service's timeout.
    public func dynamicChain(_ dynamic: DynamicChain) -> (Chain, [Rule]) {
        let chainRef = ref(dynamic.name)
        switch dynamic {
        case .pick(let family, let kind, let n), .internalPick(let family, let kind, let n):
            let f = Family.of(family)
            let offset: UInt32 = if case .internalPick = dynamic { Self.internalSlotOffset } else { 0 }
            let slot = Expression.numgenRandom(modulus: UInt32(n), offset: offset)
            let key: Expression =
                kind == .address
                ? .concat([f.destination, .meta(.l4proto), .payload(.transportDestinationPort), slot])
                : .concat([.meta(.l4proto), .payload(.transportDestinationPort), slot])
            let map = kind == .address ? f.endpoints : f.nodePortEndpoints
            let target = Expression.mapLookup(key: key, map: map, resultType: TypeSpec([f.address, .inetService]))
            // NodePort connections are marked so postrouting tells them from a ClusterIP on the same port number.
            let mark: [Statement] = kind == .nodePort ? [.orMark(.mark(configuration.nodePortMark))] : []
            return (chain(dynamic.name), [Rule(chain: chainRef, mark + [.dnat(f.natFamily, to: target)])])
        case .remember(let family, let seconds):
            let f = Family.of(family)
            let update = Statement.setUpdate(
                .update, set: f.affinity, key: .concat([f.source, f.originalFrontend]), timeout: .seconds(seconds),
                data: .concat([f.destination, .payload(.transportDestinationPort)]))
            return (chain(dynamic.name), [Rule(chain: chainRef, [update])])
        }
    }
}

/// An IP address as an nftables value.
func value(_ address: IPAddress) -> Value {
    switch address {
    case .v4(let bits): .ipv4(bits)
    case .v6(let high, let low): .ipv6(high: high, low: low)
    }
}
