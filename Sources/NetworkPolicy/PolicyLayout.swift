import KubeAPI
import NFTables

/// The nftables layout of NetworkPolicy enforcement: one table with three chains and seven sets per address family,
/// whatever the number of policies, pods or rules (docs/network-policy.md draws it).
///
/// Everything a policy means is set elements keyed by the local pod's address, so a packet costs a fixed number of
/// lookups and a change is elements only:
///
/// - `ingress-pods`, `egress-pods`: local pod address → `jump ingress` / `jump egress`, present only while some
///   policy isolates the pod in that direction;
/// - `ingress-any`, `egress-any`: local pod . peer address range — rules without ports (every protocol);
/// - `ingress-ports`, `egress-ports`: local pod . peer range . protocol . port range — rules with ports;
/// - `self`: local pod . local pod, so a pod reaching itself (through its own Service) is never judged.
public struct PolicyLayout: Sendable {
    public let table: TableRef

    public init(configuration: PolicyConfiguration) {
        table = TableRef(family: .inet, name: configuration.tableName)
    }

    public static let forwardChain = "forward"
    public static let ingressChain = "ingress"
    public static let egressChain = "egress"

    /// The names and header fields of one address family.
    public struct Family: Sendable, Hashable {
        public let addressFamily: AddressFamily
        public var suffix: String { addressFamily == .ipv4 ? "4" : "6" }
        public var address: DataType { addressFamily == .ipv4 ? .ipv4Address : .ipv6Address }
        public var source: Expression { .payload(addressFamily == .ipv4 ? .ipSource : .ip6Source) }
        public var destination: Expression { .payload(addressFamily == .ipv4 ? .ipDestination : .ip6Destination) }

        public var selfSet: String { "self" + suffix }

        /// Local pods isolated in `direction`.
        public func pods(_ direction: PolicyDirection) -> String { "\(direction.rawValue)-pods" + suffix }

        /// Peers allowed every protocol.
        public func any(_ direction: PolicyDirection) -> String { "\(direction.rawValue)-any" + suffix }

        /// Peers allowed some protocols and ports.
        public func ports(_ direction: PolicyDirection) -> String { "\(direction.rawValue)-ports" + suffix }

        /// The local pod's address: the destination for ingress, the source for egress.
        public func localPod(_ direction: PolicyDirection) -> Expression {
            direction == .ingress ? destination : source
        }

        /// The other end of the connection.
        public func peer(_ direction: PolicyDirection) -> Expression {
            direction == .ingress ? source : destination
        }

        public static let ipv4 = Family(addressFamily: .ipv4)
        public static let ipv6 = Family(addressFamily: .ipv6)
        public static let all = [ipv4, ipv6]

        public static func of(_ family: AddressFamily) -> Family { family == .ipv4 ? .ipv4 : .ipv6 }
    }

    /// Every set and map of the layout.
    public func sets() -> [NFTSet] {
        Family.all.flatMap { f -> [NFTSet] in
            let pair = TypeSpec([f.address, f.address])
            let ported = TypeSpec([f.address, f.address, .inetProtocol, .inetService])
            var sets = [NFTSet(table: table, name: f.selfSet, key: pair, comment: "a pod reaching itself")]
            for direction in PolicyDirection.allCases {
                sets += [
                    NFTSet(
                        table: table, name: f.pods(direction), key: TypeSpec(f.address), data: .verdict,
                        comment: "local pods isolated for \(direction.rawValue)"),
                    NFTSet(
                        table: table, name: f.any(direction), key: pair, flags: .interval,
                        comment: "pod . peer: every protocol"),
                    NFTSet(
                        table: table, name: f.ports(direction), key: ported, flags: .interval,
                        comment: "pod . peer . protocol . port"),
                ]
            }
            return sets
        }
    }

    func ref(_ chain: String) -> ChainRef { ChainRef(table: table, name: chain) }

    /// The table, its sets, chains and rules: everything but the elements.
    public func baseTransaction() -> Transaction {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: table.name, comment: "Kubernetes NetworkPolicy, owned by sluice"))
        for set in sets() { tx.add(set) }
        // Priority 0 on forward runs after Service DNAT (prerouting, -100): policy judges the chosen endpoint. Bridged
        // pod-to-pod traffic reaches this hook through br_netfilter; traffic to and from the node itself never
        // passes forward, so kubelet probes and host-network pods are not judged.
        tx.add(
            Chain(
                table: table, name: Self.forwardChain,
                base: BaseChain(type: .filter, hook: .forward, priority: 0)))
        tx.add(Chain(table: table, name: Self.ingressChain, comment: "is the peer allowed in?"))
        tx.add(Chain(table: table, name: Self.egressChain, comment: "is the peer allowed out?"))
        for rule in rules() { tx.add(rule) }
        return tx
    }

    /// The rules of the three chains.
    func rules() -> [Rule] {
        let forward = ref(Self.forwardChain)
        var rules = [
            Rule(
                chain: forward, [.anyFlags(.ct(.state), .ctState([.established, .related])), .verdict(.accept)],
                comment: "replies and connections already allowed")
        ]
        // Pods on one bridge resolve each other's IPv6 addresses directly, and br_netfilter shows those bridged
        // messages to this hook; conntrack does not track them (a neighbour advertisement is "invalid" to it), so
        // they are let through by type: ICMPv6 133-137 (router and neighbour discovery, redirect) are the first
        // two transport header bytes, type and code, that `th sport` reads.
        rules.append(
            Rule(
                chain: forward,
                [
                    .compare(.meta(.l4proto), .equal, .icmpv6),
                    .compare(.payload(.transportSourcePort), .greaterOrEqual, .port(133 << 8)),
                    .compare(.payload(.transportSourcePort), .lessOrEqual, .port(137 << 8 | 0xff)),
                    .verdict(.accept),
                ], comment: "IPv6 neighbour discovery"))
        for f in Family.all {
            rules.append(
                Rule(chain: forward, [.lookup(.concat([f.source, f.destination]), set: f.selfSet), .verdict(.accept)]))
        }
        // Egress first: a connection needs the source's egress and the destination's ingress.
        for direction in [PolicyDirection.egress, .ingress] {
            for f in Family.all {
                rules.append(Rule(chain: forward, [.verdictMap(f.localPod(direction), map: f.pods(direction))]))
            }
        }
        for direction in PolicyDirection.allCases {
            let chain = ref(direction == .ingress ? Self.ingressChain : Self.egressChain)
            for f in Family.all {
                let pod = f.localPod(direction)
                let peer = f.peer(direction)
                rules.append(
                    Rule(chain: chain, [.lookup(.concat([pod, peer]), set: f.any(direction)), .verdict(.return)]))
                rules.append(
                    Rule(
                        chain: chain,
                        [
                            .lookup(
                                .concat([pod, peer, .meta(.l4proto), .payload(.transportDestinationPort)]),
                                set: f.ports(direction)),
                            .verdict(.return),
                        ]))
            }
            rules.append(
                Rule(chain: chain, [.counter, .verdict(.drop)], comment: "not allowed by any NetworkPolicy"))
        }
        return rules
    }

    /// The verdict a local pod's element in `*-pods` maps to.
    static func isolation(_ direction: PolicyDirection) -> Verdict {
        .jump(direction == .ingress ? ingressChain : egressChain)
    }
}
