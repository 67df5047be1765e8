import KubeAPI
import NFTables
import ServiceProxy

/// The small nftables table the IPVS mode owns next to IPVS, for what IPVS itself does not do: masquerading
/// (ClusterIP traffic from outside the cluster CIDRs, external traffic under the `Cluster` policy, a pod reaching
/// itself), `loadBalancerSourceRanges`, and an immediate reject for Services without endpoints.
///
/// As kube-proxy's IPVS mode does with ipsets, every rule is fixed and matches a set; Services only add set
/// elements, so the table's size in objects never depends on the number of Services.
public struct IPVSFilterTable: Sendable {
    public let configuration: IPVSConfiguration
    public var table: TableRef { TableRef(family: .inet, name: configuration.tableName) }

    public init(configuration: IPVSConfiguration) { self.configuration = configuration }

    /// One element of one of the table's sets: what a Service contributes and the syncer diffs.
    public struct Element: Sendable, Hashable {
        public var set: String
        public var element: SetElement
    }

    struct Family {
        let addressFamily: AddressFamily
        var suffix: String { addressFamily == .ipv4 ? "4" : "6" }
        var address: DataType { addressFamily == .ipv4 ? .ipv4Address : .ipv6Address }
        var source: Expression { .payload(addressFamily == .ipv4 ? .ipSource : .ip6Source) }
        var destination: Expression { .payload(addressFamily == .ipv4 ? .ipDestination : .ip6Destination) }
        var frontend: Expression { .concat([destination, .meta(.l4proto), .payload(.transportDestinationPort)]) }
        var frontendType: TypeSpec { TypeSpec([address, .inetProtocol, .inetService]) }
        static let nodePortKey = Expression.concat([.meta(.l4proto), .payload(.transportDestinationPort)])
        static let nodePortType = TypeSpec([.inetProtocol, .inetService])

        var clusterCIDRs: String { "cluster-cidrs" + suffix }
        var clusterIPs: String { "clusterip-frontends" + suffix }
        var masqueradeFrontends: String { "masq-frontends" + suffix }
        var masqueradeNodePorts: String { "masq-nodeports" + suffix }
        var noEndpoints: String { "no-endpoints" + suffix }
        var noEndpointNodePorts: String { "no-endpoint-nodeports" + suffix }
        var firewalled: String { "lb-firewalled" + suffix }
        var sourceRanges: String { "lb-source-ranges" + suffix }
        var hairpin: String { "hairpin" + suffix }

        static let all = [Family(addressFamily: .ipv4), Family(addressFamily: .ipv6)]
        static func of(_ family: AddressFamily) -> Family { Family(addressFamily: family) }
    }

    static let rejectChain = "reject-service"
    static let firewallChain = "service-firewall"
    static let marksChain = "masquerade-marks"

    /// Every set of the table.
    public func sets() -> [NFTSet] {
        Family.all.flatMap { f -> [NFTSet] in
            func set(_ name: String, _ key: TypeSpec, flags: SetFlags = []) -> NFTSet {
                NFTSet(table: table, name: name, key: key, flags: flags)
            }
            return [
                set(f.clusterCIDRs, TypeSpec(f.address), flags: .interval),
                set(f.clusterIPs, f.frontendType),
                set(f.masqueradeFrontends, f.frontendType),
                set(f.masqueradeNodePorts, Family.nodePortType),
                set(f.noEndpoints, f.frontendType),
                set(f.noEndpointNodePorts, Family.nodePortType),
                set(f.firewalled, f.frontendType),
                set(f.sourceRanges, TypeSpec(f.frontendType.fields + [f.address]), flags: .interval),
                set(f.hairpin, TypeSpec([f.address, f.address])),
            ]
        }
    }

    /// The table, its sets, chains and rules, and the cluster CIDRs: everything but per-Service elements.
    public func baseTransaction() -> Transaction {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: table.name, comment: "Kubernetes Services in IPVS mode, owned by sluice"))
        for set in sets() { tx.add(set) }
        func chain(_ name: String, _ base: BaseChain? = nil, comment: String? = nil) -> Chain {
            Chain(table: table, name: name, base: base, comment: comment)
        }
        // Before IPVS: it takes locally generated packets at output -99 and incoming ones at input.
        tx.add(chain("filter-prerouting", BaseChain(type: .filter, hook: .prerouting, priority: -110)))
        tx.add(chain("filter-output", BaseChain(type: .filter, hook: .output, priority: -110)))
        tx.add(chain("nat-postrouting", BaseChain(type: .nat, hook: .postrouting, priority: 100)))
        tx.add(chain(Self.firewallChain, comment: "Services without endpoints, loadBalancerSourceRanges"))
        tx.add(chain(Self.marksChain, comment: "which Service traffic postrouting masquerades"))
        tx.add(chain(Self.rejectChain, comment: "answer at once instead of letting clients time out"))
        for rule in rules() { tx.add(rule) }
        for f in Family.all {
            let cidrs = configuration.clusterCIDRs.filter { $0.family == f.addressFamily }
            tx.addElements(
                cidrs.map { SetElement(key: .prefix(Self.value($0.network), length: $0.prefixLength)) },
                to: SetRef(table: table, name: f.clusterCIDRs))
        }
        return tx
    }

    func rules() -> [Rule] {
        func ref(_ name: String) -> ChainRef { ChainRef(table: table, name: name) }
        let mark = Value.mark(configuration.masqueradeMark)
        var rules: [Rule] = []
        for hook in ["filter-prerouting", "filter-output"] {
            rules.append(Rule(chain: ref(hook), [.verdict(.jump(Self.firewallChain))]))
            rules.append(Rule(chain: ref(hook), [.verdict(.jump(Self.marksChain))]))
        }
        rules.append(
            Rule(
                chain: ref("nat-postrouting"), [.anyFlags(.meta(.mark), mark), .masquerade(fullyRandom: true)],
                comment: "masquerade what the mark rules chose"))
        rules.append(Rule(chain: ref(Self.rejectChain), [.compare(.meta(.l4proto), .equal, .tcp), .reject(.tcpReset)]))
        rules.append(Rule(chain: ref(Self.rejectChain), [.reject(.icmpxPortUnreachable)]))
        let local = Statement.compare(.fibDestinationType, .equal, .fibAddressType(.local))
        for f in Family.all {
            let notLoopback: Statement =
                f.addressFamily == .ipv4
                ? .prefix(f.destination, .ipv4(127, 0, 0, 0), length: 8, negated: true)
                : .compare(f.destination, .notEqual, .ipv6(groups: [0, 0, 0, 0, 0, 0, 0, 1]))
            rules.append(
                Rule(
                    chain: ref("nat-postrouting"),
                    [.lookup(.concat([f.source, f.destination]), set: f.hairpin), .masquerade(fullyRandom: true)],
                    comment: "hairpin: a pod reaching itself through its Service"))
            rules.append(
                Rule(
                    chain: ref(Self.firewallChain),
                    [
                        .lookup(f.frontend, set: f.firewalled),
                        .lookup(
                            .concat([f.destination, .meta(.l4proto), .payload(.transportDestinationPort), f.source]),
                            set: f.sourceRanges, negated: true),
                        .verdict(.drop),
                    ], comment: "loadBalancerSourceRanges"))
            rules.append(
                Rule(
                    chain: ref(Self.firewallChain),
                    [.lookup(f.frontend, set: f.noEndpoints), .verdict(.goto(Self.rejectChain))]))
            rules.append(
                Rule(
                    chain: ref(Self.firewallChain),
                    [
                        local, notLoopback, .lookup(Family.nodePortKey, set: f.noEndpointNodePorts),
                        .verdict(.goto(Self.rejectChain)),
                    ]))
            rules.append(
                Rule(
                    chain: ref(Self.marksChain), [.lookup(f.frontend, set: f.masqueradeFrontends), .orMark(mark)],
                    comment: "external traffic with Cluster policy"))
            rules.append(
                Rule(
                    chain: ref(Self.marksChain),
                    [local, notLoopback, .lookup(Family.nodePortKey, set: f.masqueradeNodePorts), .orMark(mark)]))
            if configuration.masqueradePodEgress
                && configuration.clusterCIDRs.contains(where: { $0.family == f.addressFamily })
            {
                rules.append(
                    Rule(
                        chain: ref("nat-postrouting"),
                        [
                            .lookup(f.source, set: f.clusterCIDRs),
                            .lookup(f.destination, set: f.clusterCIDRs, negated: true),
                            .masquerade(fullyRandom: true),
                        ], comment: "pod egress leaving the cluster network"))
            }
            if configuration.clusterCIDRs.contains(where: { $0.family == f.addressFamily }) {
                rules.append(
                    Rule(
                        chain: ref(Self.marksChain),
                        [
                            .lookup(f.source, set: f.clusterCIDRs, negated: true),
                            .lookup(f.frontend, set: f.clusterIPs), .orMark(mark),
                        ], comment: "ClusterIP traffic from outside the cluster"))
            }
        }
        return rules
    }

    /// The set elements one frontend needs.
    static func elements(of frontend: Frontend, configuration: IPVSConfiguration) -> [Element] {
        let f = Family.of(frontend.key.family)
        let proto = Value.inetProtocol(frontend.key.proto)
        let port = Value.port(frontend.key.port)
        var out: [Element] = []
        func add(_ set: String, _ values: [Value]) {
            out.append(Element(set: set, element: SetElement(key: ElementKey(values))))
        }
        guard let address = frontend.key.address.map(value) else {
            if frontend.endpoints.isEmpty && frontend.rejectsWithoutEndpoints {
                add(f.noEndpointNodePorts, [proto, port])
            }
            if frontend.masquerade { add(f.masqueradeNodePorts, [proto, port]) }
            out += hairpin(frontend, f)
            return out
        }
        if frontend.endpoints.isEmpty && frontend.rejectsWithoutEndpoints {
            add(f.noEndpoints, [address, proto, port])
        }
        if frontend.masquerade { add(f.masqueradeFrontends, [address, proto, port]) }
        if frontend.isClusterIP { add(f.clusterIPs, [address, proto, port]) }
        if let ranges = frontend.sourceRanges {
            add(f.firewalled, [address, proto, port])
            for range in ranges {
                let (first, last) = value(range.network).prefixRange(length: range.prefixLength)
                out.append(
                    Element(
                        set: f.sourceRanges,
                        element: SetElement(
                            key: ElementKey(ranges: [(address, address), (proto, proto), (port, port), (first, last)])))
                )
            }
        }
        out += hairpin(frontend, f)
        return out
    }

    private static func hairpin(_ frontend: Frontend, _ f: Family) -> [Element] {
        frontend.endpoints.filter(\.mayHairpin).map {
            let v = value($0.address)
            return Element(set: f.hairpin, element: SetElement(key: ElementKey([v, v])))
        }
    }

    static func value(_ address: IPAddress) -> Value {
        switch address {
        case .v4(let bits): .ipv4(bits)
        case .v6(let high, let low): .ipv6(high: high, low: low)
        }
    }

    /// A transaction adding and deleting elements (deletes first), grouped per set in name order.
    public func transaction(adding: some Sequence<Element>, deleting: some Sequence<Element>) -> Transaction {
        var tx = Transaction(existingSets: sets())
        let deletes = Dictionary(grouping: deleting, by: \.set)
        let adds = Dictionary(grouping: adding, by: \.set)
        for set in deletes.keys.sorted() {
            tx.deleteElements(
                deletes[set]!.map { SetElement(key: $0.element.key) }, from: SetRef(table: table, name: set))
        }
        for set in adds.keys.sorted() {
            tx.addElements(adds[set]!.map(\.element), to: SetRef(table: table, name: set))
        }
        return tx
    }
}

private func value(_ address: IPAddress) -> Value { IPVSFilterTable.value(address) }
