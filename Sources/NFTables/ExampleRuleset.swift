/// A small, hand-built, Service-shaped ruleset that uses every kind of IR object: base and regular chains, a
/// verdict map keyed by `ipv4_addr . inet_proto . inet_service`, CIDR interval sets (IPv4 and IPv6), a
/// concatenated interval map, a DNAT map, a dynamic set with timeouts, and rules over all of them.
///
/// It exists so the encoding can be proven against the kernel and `nft` before the Service compiler produces
/// real rulesets, and so `sluice compile` has something to show; it carries no policy of its own.
public enum ExampleRuleset {
    public static func transaction(tableName: String = "sluice") -> Transaction {
        let table = TableRef(family: .inet, name: tableName)
        var tx = Transaction()
        tx.add(Table(family: .inet, name: tableName, comment: "owned by sluice"))

        let prerouting = Chain(
            table: table, name: "nat-prerouting", base: BaseChain(type: .nat, hook: .prerouting, priority: -100))
        let output = Chain(table: table, name: "nat-output", base: BaseChain(type: .nat, hook: .output, priority: -100))
        let postrouting = Chain(
            table: table, name: "nat-postrouting", base: BaseChain(type: .nat, hook: .postrouting, priority: 100))
        let filter = Chain(
            table: table, name: "filter-forward", base: BaseChain(type: .filter, hook: .forward, priority: 0),
            comment: "rejects Services without endpoints")
        let services = Chain(table: table, name: "services", comment: "dispatch by destination")
        let web = Chain(table: table, name: "svc-default-web-http")
        for chain in [prerouting, output, postrouting, filter, services, web] { tx.add(chain) }

        let serviceIPs = NFTSet(
            table: table, name: "service-ips", key: TypeSpec([.ipv4Address, .inetProtocol, .inetService]),
            data: .verdict, comment: "ClusterIP . protocol . port")
        let clusterCIDRs = NFTSet(
            table: table, name: "cluster-cidrs", key: TypeSpec(.ipv4Address), flags: .interval)
        let clusterCIDRs6 = NFTSet(
            table: table, name: "cluster-cidrs6", key: TypeSpec(.ipv6Address), flags: .interval)
        let endpoints = NFTSet(
            table: table, name: "endpoints", key: TypeSpec([.ipv4Address, .inetService]),
            data: .value(TypeSpec([.ipv4Address, .inetService])), flags: .interval,
            comment: "address range . port range -> endpoint")
        let markRanges = NFTSet(table: table, name: "mark-ranges", key: TypeSpec(.mark), flags: .interval)
        let affinity = NFTSet(
            table: table, name: "affinity", key: TypeSpec([.ipv4Address, .ipv4Address]), flags: [.dynamic],
            timeout: .seconds(10800), size: 65536)
        let noEndpoints = NFTSet(
            table: table, name: "no-endpoints", key: TypeSpec([.ipv4Address, .inetProtocol, .inetService]))
        for set in [serviceIPs, clusterCIDRs, clusterCIDRs6, endpoints, markRanges, affinity, noEndpoints] {
            tx.add(set)
        }

        let destination = Expression.concat([
            .payload(.ipDestination), .meta(.l4proto), .payload(.transportDestinationPort),
        ])
        tx.add(Rule(chain: prerouting.ref, [.goto(services.name)].map(Statement.verdict)))
        tx.add(Rule(chain: output.ref, [.verdict(.goto(services.name))]))
        tx.add(Rule(chain: services.ref, [.verdictMap(destination, map: serviceIPs.name)]))
        tx.add(
            Rule(
                chain: web.ref,
                [.lookup(.payload(.ipSource), set: clusterCIDRs.name, negated: true), .orMark(.mark(0x4000))],
                comment: "masquerade traffic from outside the cluster"))
        tx.add(
            Rule(
                chain: web.ref,
                [
                    .setUpdate(
                        .update, set: affinity.name, key: .concat([.payload(.ipSource), .payload(.ipDestination)]),
                        timeout: .seconds(10800))
                ]))
        tx.add(
            Rule(
                chain: web.ref,
                [
                    .counter,
                    .compare(.meta(.l4proto), .equal, .tcp),
                    .dnat(
                        .ip,
                        to: .mapLookup(
                            key: .concat([.payload(.ipDestination), .payload(.transportDestinationPort)]),
                            map: endpoints.name, resultType: TypeSpec([.ipv4Address, .inetService]))),
                ], comment: "default/web:http"))
        tx.add(Rule(chain: web.ref, [.compare(.numgenRandom(modulus: 2), .equal, .integer(0)), .counter]))
        tx.add(
            Rule(
                chain: web.ref,
                [.compare(.jhash(.payload(.ipSource), modulus: 4, seed: 1), .equal, .integer(3)), .counter]))
        tx.add(Rule(chain: web.ref, [.lookup(.meta(.mark), set: markRanges.name), .counter]))
        tx.add(Rule(chain: postrouting.ref, [.anyFlags(.meta(.mark), .mark(0x4000)), .masquerade(fullyRandom: true)]))
        tx.add(
            Rule(chain: filter.ref, [.anyFlags(.ct(.state), .ctState([.established, .related])), .verdict(.accept)]))
        tx.add(
            Rule(
                chain: filter.ref,
                [
                    .compare(.meta(.l4proto), .equal, .tcp), .lookup(destination, set: noEndpoints.name),
                    .reject(.tcpReset),
                ]))
        tx.add(
            Rule(chain: filter.ref, [.lookup(destination, set: noEndpoints.name), .reject(.icmpxPortUnreachable)]))
        tx.add(
            Rule(
                chain: filter.ref,
                [.prefix(.payload(.ip6Source), .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 0]), length: 8), .counter]))
        tx.add(Rule(chain: filter.ref, [.compare(.fibDestinationType, .equal, .fibAddressType(.local)), .counter]))

        tx.addElements(
            [
                SetElement(.ipv4(10, 96, 0, 10), .tcp, .port(80), data: .verdict(.goto(web.name))),
                SetElement(.ipv4(10, 96, 0, 10), .udp, .port(53), data: .verdict(.drop)),
            ], to: serviceIPs.ref)
        tx.addElements(
            [
                SetElement(key: .prefix(.ipv4(10, 244, 0, 0), length: 16)),
                SetElement(key: .prefix(.ipv4(10, 96, 0, 0), length: 12)),
            ], to: clusterCIDRs.ref)
        tx.addElements(
            [SetElement(key: .prefix(.ipv6(groups: [0xfd00, 0x10, 0, 0, 0, 0, 0, 0]), length: 64))],
            to: clusterCIDRs6.ref)
        tx.addElements(
            [
                SetElement(
                    key: ElementKey(ranges: [(.ipv4(10, 96, 0, 10), .ipv4(10, 96, 0, 10)), (.port(8000), .port(8999))]),
                    data: .values([.ipv4(10, 244, 1, 5), .port(8080)])),
                SetElement(
                    key: ElementKey(ranges: [
                        (.ipv4(10, 96, 1, 0), .ipv4(10, 96, 1, 255)), (.port(443), .port(443)),
                    ]),
                    data: .values([.ipv4(10, 244, 2, 7), .port(8443)])),
            ], to: endpoints.ref)
        tx.addElements([SetElement(key: ElementKey(ranges: [(.mark(0x100), .mark(0x1ff))]))], to: markRanges.ref)
        tx.addElements([SetElement(.ipv4(10, 96, 0, 11), .tcp, .port(443))], to: noEndpoints.ref)
        return tx
    }
}
