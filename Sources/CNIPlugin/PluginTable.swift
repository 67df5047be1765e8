import LinkNetlink
import NFTables

/// The nftables table the plugin owns, `inet sluice-cni`: masquerade (`ipMasq`) and hostPorts (`portMappings`).
///
/// `sluiced` rewrites its own `inet sluice` table on every sync, so per-pod state must live elsewhere, in a table
/// no one else writes. The table's chains and rules are fixed (created once, under a lock, by the first ADD that
/// needs them); each attachment only adds and deletes set and map elements, so an ADD or DEL is one small atomic
/// batch and the per-packet cost is one lookup whatever the number of pods:
///
/// ```
/// prerouting/output (nat, -100): fib daddr type local jump hostports
/// hostports: dnat to (ip daddr . l4proto . dport) via @hostip-ports4, else (l4proto . dport) via @hostports4
/// postrouting (nat, 100): ct status dnat and (saddr . daddr) in @hairpin4 → masquerade   (pod to its own hostPort)
///                         ct status dnat and saddr 127.0.0.0/8 → masquerade              (localhost to a hostPort)
///                         saddr in @masq4 and (saddr . daddr) not in @masq-exempt4 and daddr not multicast → masquerade
/// ```
/// (and the same for IPv6). Every element carries the comment `<network> <containerID> <ifname>`, which is how
/// DEL and GC find exactly the elements of one attachment.
public enum PluginTable {
    public static let table = TableRef(family: .inet, name: "sluice-cni")

    /// The sets of one address family.
    struct FamilySets {
        let isIPv6: Bool
        var suffix: String { isIPv6 ? "6" : "4" }
        var address: DataType { isIPv6 ? .ipv6Address : .ipv4Address }
        var source: Expression { .payload(isIPv6 ? .ip6Source : .ipSource) }
        var destination: Expression { .payload(isIPv6 ? .ip6Destination : .ipDestination) }
        var natFamily: TableFamily { isIPv6 ? .ip6 : .ip }

        var masquerade: NFTSet {
            NFTSet(table: table, name: "masq" + suffix, key: TypeSpec(address), comment: "pods with ipMasq")
        }
        var masqueradeExempt: NFTSet {
            NFTSet(
                table: table, name: "masq-exempt" + suffix, key: TypeSpec([address, address]), flags: .interval,
                comment: "pod . its own subnet: not masqueraded")
        }
        var hostPorts: NFTSet {
            NFTSet(
                table: table, name: "hostports" + suffix, key: TypeSpec([.inetProtocol, .inetService]),
                data: .value(TypeSpec([address, .inetService])), comment: "hostPorts on every node address")
        }
        var hostIPPorts: NFTSet {
            NFTSet(
                table: table, name: "hostip-ports" + suffix, key: TypeSpec([address, .inetProtocol, .inetService]),
                data: .value(TypeSpec([address, .inetService])), comment: "hostPorts on one node address")
        }
        var hairpin: NFTSet {
            NFTSet(
                table: table, name: "hairpin" + suffix, key: TypeSpec([address, address]),
                comment: "pod . pod: a pod reaching its own hostPort is masqueraded")
        }
        var all: [NFTSet] { [masquerade, masqueradeExempt, hostPorts, hostIPPorts, hairpin] }
    }

    static let families = [FamilySets(isIPv6: false), FamilySets(isIPv6: true)]

    /// Every set and map of the table.
    public static var sets: [NFTSet] { families.flatMap(\.all) }

    /// The table with its sets, chains and rules, as the first ADD that needs it creates it.
    public static var skeleton: Transaction {
        var transaction = Transaction()
        transaction.add(
            Table(family: table.family, name: table.name, comment: "sluice-cni: ipMasq and hostPorts of CNI pods"))
        for set in sets {
            transaction.add(set)
        }
        let hostPorts = ChainRef(table: table, name: "hostports")
        transaction.add(Chain(table: table, name: hostPorts.name))
        let local = Statement.compare(.fibDestinationType, .equal, .fibAddressType(.local))
        for (name, hook) in [("prerouting", Hook.prerouting), ("output", Hook.output)] {
            let chain = Chain(table: table, name: name, base: BaseChain(type: .nat, hook: hook, priority: -100))
            transaction.add(chain)
            transaction.add(Rule(chain: chain.ref, [local, .verdict(.jump(hostPorts.name))]))
        }
        let postrouting = Chain(
            table: table, name: "postrouting", base: BaseChain(type: .nat, hook: .postrouting, priority: 100))
        transaction.add(postrouting)
        let dnatted = Statement.anyFlags(.ct(.status), .ctStatus(.dnat))
        for family in families {
            let isFamily = Statement.compare(.meta(.nfproto), .equal, .nfproto(family.natFamily))
            let port = Expression.payload(.transportDestinationPort)
            let target = TypeSpec([family.address, .inetService])
            transaction.add(
                Rule(
                    chain: hostPorts,
                    [
                        isFamily,
                        .dnat(
                            family.natFamily,
                            to: .mapLookup(
                                key: .concat([family.destination, .meta(.l4proto), port]),
                                map: family.hostIPPorts.name, resultType: target)),
                    ]))
            transaction.add(
                Rule(
                    chain: hostPorts,
                    [
                        isFamily,
                        .dnat(
                            family.natFamily,
                            to: .mapLookup(
                                key: .concat([.meta(.l4proto), port]), map: family.hostPorts.name, resultType: target)),
                    ]))
            transaction.add(
                Rule(
                    chain: postrouting.ref,
                    [
                        dnatted, .lookup(.concat([family.source, family.destination]), set: family.hairpin.name),
                        .masquerade(),
                    ]))
            if !family.isIPv6 {
                transaction.add(
                    Rule(
                        chain: postrouting.ref,
                        [dnatted, .prefix(family.source, .ipv4(127, 0, 0, 0), length: 8), .masquerade()]))
            }
            let multicast = family.isIPv6 ? Value.ipv6(groups: [0xff00, 0, 0, 0, 0, 0, 0, 0]) : .ipv4(224, 0, 0, 0)
            transaction.add(
                Rule(
                    chain: postrouting.ref,
                    [
                        .lookup(family.source, set: family.masquerade.name),
                        .lookup(
                            .concat([family.source, family.destination]), set: family.masqueradeExempt.name,
                            negated: true),
                        .prefix(family.destination, multicast, length: family.isIPv6 ? 8 : 4, negated: true),
                        .masquerade(),
                    ]))
        }
        return transaction
    }

    /// The comment identifying an attachment's elements.
    static func tag(network: String, attachment: AttachmentID) -> String {
        "\(network) \(attachment.containerID) \(attachment.interfaceName)"
    }

    /// The network and attachment a comment names, or `nil` for a comment this plugin did not write.
    static func attachment(fromTag tag: String) -> (network: String, attachment: AttachmentID)? {
        let words = tag.split(separator: " ").map(String.init)
        guard words.count == 3 else {
            return nil
        }
        return (words[0], AttachmentID(containerID: words[1], interfaceName: words[2]))
    }

    /// The elements one attachment needs: masquerade entries for `ipMasq`, DNAT and hairpin entries for its
    /// hostPorts.
    static func elements(
        network: NetworkConfiguration, attachment: AttachmentID, addresses: [InetPrefix]
    ) -> [(SetRef, [SetElement])] {
        let comment = tag(network: network.name, attachment: attachment)
        var result: [(SetRef, [SetElement])] = []
        for address in addresses {
            let family = families[address.address.isIPv6 ? 1 : 0]
            let pod = value(address.address)
            if network.ipMasq {
                result.append((family.masquerade.ref, [SetElement(key: ElementKey(pod), comment: comment)]))
                let subnet = ElementKey(ranges: [
                    (pod, pod), (value(address.network), value(address.last)),
                ])
                result.append((family.masqueradeExempt.ref, [SetElement(key: subnet, comment: comment)]))
            }
            let mappings = network.portMappings.filter {
                $0.hostIP == nil || $0.hostIP!.isIPv6 == address.address.isIPv6
            }
            guard !mappings.isEmpty else {
                continue
            }
            var wildcard: [SetElement] = []
            var specific: [SetElement] = []
            for mapping in mappings {
                let transport = Value.inetProtocol(protocolNumber(mapping.transport))
                let target = ElementData.values([pod, .port(mapping.containerPort)])
                if let hostIP = mapping.hostIP {
                    specific.append(
                        SetElement(
                            key: ElementKey([value(hostIP), transport, .port(mapping.hostPort)]), data: target,
                            comment: comment))
                } else {
                    wildcard.append(
                        SetElement(
                            key: ElementKey([transport, .port(mapping.hostPort)]), data: target, comment: comment))
                }
            }
            if !wildcard.isEmpty {
                result.append((family.hostPorts.ref, wildcard))
            }
            if !specific.isEmpty {
                result.append((family.hostIPPorts.ref, specific))
            }
            if network.hostPortSNAT {
                result.append((family.hairpin.ref, [SetElement(key: ElementKey([pod, pod]), comment: comment)]))
            }
        }
        return result
    }

    private static func protocolNumber(_ transport: PortMapping.TransportProtocol) -> UInt8 {
        switch transport {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        }
    }

    static func value(_ address: InetAddress) -> Value {
        Value(type: address.isIPv6 ? .ipv6Address : .ipv4Address, bytes: address.bytes)
    }
}
