import Foundation
import NFTables
import Testing

/// The tracer runs the IR the way the kernel runs the lowered rules: scenarios read like "a client outside the
/// cluster connects to a ClusterIP → DNAT to one of three endpoints, masqueraded on the way out".
struct TraceTests {
    static let client = Value.ipv4(192, 168, 1, 5)
    static let pod = Value.ipv4(10, 244, 5, 5)

    static func tcp(_ source: Value, _ destination: Value, _ port: UInt16) -> TracePacket {
        TracePacket(source: source, destination: destination, l4proto: 6, sourcePort: 40000, destinationPort: port)
    }

    static func udp(_ source: Value, _ destination: Value, _ port: UInt16) -> TracePacket {
        TracePacket(source: source, destination: destination, l4proto: 17, sourcePort: 40000, destinationPort: port)
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }

    // MARK: Service datapath

    @Test func clusterIPDispatchesThroughAVerdictMapAndPicksEachOfThreeEndpointsAThirdOfTheTime() throws {
        let outcomes = trace(
            Self.tcp(Self.pod, .ipv4(10, 96, 0, 10), 80), hook: .prerouting, in: try ServiceFixture.ruleset())
        #expect(outcomes.count == 3)
        #expect(outcomes.allSatisfy { Self.close($0.probability, 1.0 / 3) && $0.verdict == .accept })
        #expect(
            Set(outcomes.map { "\($0.packet.destination):\($0.packet.destinationPort)" })
                == ["10.244.1.1:8080", "10.244.2.1:8080", "10.244.3.1:8080"])
        #expect(Self.close(outcomes.map(\.probability).reduce(0, +), 1))
        let first = try #require(outcomes.first)
        #expect(first.nat.map(\.description) == ["dnat to 10.244.1.1:8080"])
        #expect(first.packet.ctStatus.contains(.dnat))
        #expect(first.packet.originalDestination == .ipv4(10, 96, 0, 10))
        #expect(first.steps.first?.result == .verdict(.goto("svc-web")))
    }

    @Test func dnatThroughAMapKeyedByDestinationAndPort() throws {
        let outcomes = trace(
            Self.udp(Self.pod, .ipv4(10, 96, 0, 53), 53), hook: .prerouting, in: try ServiceFixture.ruleset())
        let outcome = try #require(outcomes.first)
        #expect(outcomes.count == 1 && outcome.probability == 1)
        #expect(outcome.nat.map(\.description) == ["dnat to 10.244.1.53:5353"])
        #expect(outcome.packet.destination == .ipv4(10, 244, 1, 53) && outcome.packet.destinationPort == 5353)
    }

    @Test func aMapLookupNestedInTheKeyOfAnotherLookup() throws {
        let outcomes = trace(
            Self.tcp(Self.pod, .ipv4(10, 96, 0, 20), 8080), hook: .prerouting, in: try ServiceFixture.ruleset())
        #expect(outcomes.map(\.nat.first?.description) == ["dnat to 10.244.1.20:80", "dnat to 10.244.2.20:80"])
        #expect(outcomes.allSatisfy { Self.close($0.probability, 0.5) })
    }

    @Test func aClientOutsideTheClusterIsMarkedInPreroutingAndMasqueradedInPostrouting() throws {
        let outcomes = tracePath(
            Self.tcp(Self.client, .ipv4(10, 96, 0, 10), 80), hooks: [.prerouting, .forward, .postrouting],
            in: try ServiceFixture.ruleset())
        #expect(outcomes.count == 3)
        for outcome in outcomes {
            #expect(outcome.verdict == .accept)
            #expect(outcome.packet.mark == 0x4000, "the `return` ends the marking chain before 0x8000 is set")
            #expect(outcome.nat.map(\.kind) == [.dnat, .masquerade])
            #expect(outcome.nat.last?.hook == .postrouting)
            #expect(outcome.packet.ctStatus.contains([.dnat, .snat]))
            #expect(Self.close(outcome.probability, 1.0 / 3))
        }
    }

    @Test func aPodClientIsNotMasqueraded() throws {
        let outcomes = tracePath(
            Self.tcp(Self.pod, .ipv4(10, 96, 0, 10), 80), hooks: [.prerouting, .forward, .postrouting],
            in: try ServiceFixture.ruleset())
        #expect(outcomes.allSatisfy { $0.verdict == .accept && $0.nat.map(\.kind) == [.dnat] && $0.packet.mark == 0 })
        let postrouting = try #require(outcomes.first?.steps.filter { $0.hook == .postrouting })
        #expect(postrouting.map(\.result.description).last == "policy accept")
    }

    struct Rejection: Sendable, CustomTestStringConvertible {
        var packet: TracePacket
        var verdict: TraceVerdict
        var testDescription: String { "\(packet) → \(verdict)" }
    }

    static let rejections: [Rejection] = [
        Rejection(packet: tcp(pod, .ipv4(10, 96, 0, 30), 80), verdict: .reject(.tcpReset)),
        Rejection(packet: udp(pod, .ipv4(10, 96, 0, 30), 80), verdict: .reject(.icmpxPortUnreachable)),
        Rejection(packet: tcp(pod, .ipv4(10, 1, 1, 1), 22), verdict: .drop),  // forward policy
    ]

    @Test(arguments: rejections) func servicesWithoutEndpointsAreRejectedAndTheRestHitsThePolicy(_ c: Rejection) throws
    {
        let outcomes = tracePath(
            c.packet, hooks: [.prerouting, .forward, .postrouting], in: try ServiceFixture.ruleset())
        #expect(outcomes.map(\.verdict) == [c.verdict])
        #expect(outcomes.first?.steps.contains { $0.hook == .postrouting } == false, "nothing runs after a drop")
    }

    @Test func natChainsSeeOnlyTheFirstPacketOfAFlow() throws {
        var packet = Self.tcp(Self.pod, .ipv4(10, 244, 1, 1), 8080)
        packet.ctState = .established
        packet.ctStatus = [.dnat]
        packet.originalDestination = .ipv4(10, 96, 0, 10)
        let outcomes = tracePath(packet, hooks: [.prerouting, .forward], in: try ServiceFixture.ruleset())
        let outcome = try #require(outcomes.first)
        #expect(outcomes.count == 1 && outcome.verdict == .accept && outcome.nat.isEmpty)
        #expect(
            outcome.steps.first?.result.description.hasPrefix("skipped: nat chains see only the first packet") == true)
        #expect(outcome.steps.last?.result == .verdict(.accept))
        #expect(outcome.steps.last?.rule == "ct state established,related accept")
    }

    @Test func anIPv6PacketDoesNotMatchRulesReadingIPv4Headers() throws {
        let packet = TracePacket(
            source: .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 5]),
            destination: .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 0x10]),
            l4proto: 6, sourcePort: 40000, destinationPort: 80)
        let outcome = try #require(trace(packet, hook: .prerouting, in: try ServiceFixture.ruleset()).first)
        #expect(
            outcome.steps.first?.result
                == .notMatched(statement: 0, reason: "meta nfproto is ipv6, the rule reads ip headers"))
        #expect(outcome.steps.last?.result == .policy(.accept))
    }

    // MARK: chains and hooks

    @Test func jumpReturnsGotoDoesNotAndTheBaseChainPolicyEndsAGoto() throws {
        let table = TableRef(family: .ip, name: "t")
        let base = Chain(
            table: table, name: "in", base: BaseChain(type: .filter, hook: .input, priority: 0, policy: .drop))
        var tx = Transaction()
        tx.add(Table(family: .ip, name: "t"))
        for chain in [base, Chain(table: table, name: "a"), Chain(table: table, name: "b")] { tx.add(chain) }
        tx.add(Rule(chain: base.ref, [.verdict(.jump("a"))]))
        tx.add(Rule(chain: base.ref, [.compare(.meta(.mark), .equal, .mark(1)), .verdict(.accept)]))
        tx.add(Rule(chain: base.ref, [.verdict(.goto("b"))]))
        tx.add(Rule(chain: base.ref, [.verdict(.accept)]))
        tx.add(Rule(chain: ChainRef(table: table, name: "a"), [.orMark(.mark(1))]))
        tx.add(
            Rule(
                chain: ChainRef(table: table, name: "b"), [.compare(.meta(.mark), .equal, .mark(2)), .verdict(.accept)])
        )
        var ruleset = Ruleset()
        try ruleset.apply(tx)

        let accepted = try #require(trace(Self.tcp(Self.client, Self.pod, 22), hook: .input, in: ruleset).first)
        #expect(accepted.verdict == .accept)
        #expect(
            accepted.steps.map(\.description) == [
                "input ip t in #0 jump a => jump a",
                "input ip t a #0 meta mark set meta mark | 0x00000001 => matched",
                "input ip t in #1 meta mark == 0x00000001 accept => accept",
            ])

        // A mark that `a` cannot turn into 1: goto b, whose end applies the base chain's policy (drop).
        var marked = Self.tcp(Self.client, Self.pod, 22)
        marked.mark = 2 << 8
        let dropped = try #require(trace(marked, hook: .input, in: ruleset).first)
        #expect(dropped.verdict == .drop)
        #expect(
            dropped.steps.map(\.result.description).suffix(3) == [
                "goto b", "no match at statement 0: meta mark is 0x00000201, not == 0x00000002", "policy drop",
            ])
    }

    @Test func baseChainsRunInPriorityOrderAndAcceptOnlyEndsItsOwnChain() throws {
        var tx = Transaction()
        let late = TableRef(family: .ip, name: "late")
        let early = TableRef(family: .inet, name: "early")
        tx.add(Table(family: .ip, name: "late"))
        tx.add(
            Chain(
                table: late, name: "c", base: BaseChain(type: .filter, hook: .prerouting, priority: 10, policy: .drop)))
        tx.add(Table(family: .inet, name: "early"))
        tx.add(Chain(table: early, name: "c", base: BaseChain(type: .filter, hook: .prerouting, priority: -10)))
        tx.add(Rule(chain: ChainRef(table: early, name: "c"), [.orMark(.mark(1)), .verdict(.accept)]))
        var ruleset = Ruleset()
        try ruleset.apply(tx)

        let v4 = try #require(trace(Self.tcp(Self.client, Self.pod, 80), hook: .prerouting, in: ruleset).first)
        #expect(v4.verdict == .drop)
        #expect(v4.steps.map(\.chain.table.name) == ["early", "late"])
        #expect(v4.packet.mark == 1)

        let packet6 = TracePacket(
            source: .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 1]),
            destination: .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 2]), l4proto: 17)
        let v6 = try #require(trace(packet6, hook: .prerouting, in: ruleset).first)
        #expect(v6.verdict == .accept, "an ip table does not see IPv6 packets")
    }

    // MARK: sets

    struct IntervalCase: Sendable, CustomTestStringConvertible {
        var name: String
        var packet: TracePacket
        var verdict: TraceVerdict
        var testDescription: String { name }
    }

    static func marked(_ mark: UInt32) -> TracePacket {
        var packet = tcp(.ipv4(172, 16, 0, 1), .ipv4(172, 16, 0, 2), 1)
        packet.mark = mark
        return packet
    }

    static let intervalCases: [IntervalCase] = [
        IntervalCase(
            name: "inside a /8 and a port range", packet: tcp(.ipv4(10, 1, 2, 3), pod, 1500), verdict: .accept),
        IntervalCase(name: "port one past the range", packet: tcp(.ipv4(10, 1, 2, 3), pod, 2001), verdict: .drop),
        IntervalCase(name: "address outside every prefix", packet: tcp(.ipv4(11, 0, 0, 1), pod, 1500), verdict: .drop),
        IntervalCase(name: "last address of a /24", packet: tcp(.ipv4(192, 168, 1, 255), pod, 1000), verdict: .accept),
        IntervalCase(name: "first address after a /24", packet: tcp(.ipv4(192, 168, 2, 0), pod, 1000), verdict: .drop),
        IntervalCase(name: "mark at the range start", packet: marked(0x100), verdict: .accept),
        IntervalCase(name: "mark inside the range", packet: marked(0x150), verdict: .accept),
        IntervalCase(name: "mark at the range end", packet: marked(0x1ff), verdict: .accept),
        // 0x201 lies between 0x100 and 0x1ff if compared as little-endian bytes; the kernel compares in network order.
        IntervalCase(name: "host-order mark compared in network order", packet: marked(0x201), verdict: .drop),
        IntervalCase(
            name: "ipv6 prefix",
            packet: TracePacket(
                source: .ipv6(groups: [0xfd12, 0, 0, 0, 0, 0, 0, 1]),
                destination: .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 2]), l4proto: 58),
            verdict: .accept),
        IntervalCase(
            name: "ipv6 outside the prefix",
            packet: TracePacket(
                source: .ipv6(groups: [0xfe80, 0, 0, 0, 0, 0, 0, 1]),
                destination: .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 2]), l4proto: 58),
            verdict: .drop),
    ]

    @Test(arguments: intervalCases) func intervalSetsMatchRanges(_ c: IntervalCase) throws {
        let outcomes = trace(c.packet, hook: .input, in: try IntervalFixture.ruleset())
        #expect(outcomes.map(\.verdict) == [c.verdict])
    }

    @Test(arguments: [
        (UInt16(443), "10.96.1.77", "dnat to 10.244.2.7:8443"), (8500, "10.96.0.10", "dnat to 10.244.1.5:8080"),
        (9000, "10.96.0.10", nil),
    ])
    func concatenatedIntervalMapsMatchEachFieldsRange(port: UInt16, address: String, nat: String?) throws {
        let parts = address.split(separator: ".").compactMap { UInt8($0) }
        let packet = Self.tcp(Self.pod, .ipv4(parts[0], parts[1], parts[2], parts[3]), port)
        let outcome = try #require(trace(packet, hook: .prerouting, in: try IntervalFixture.ruleset()).first)
        #expect(outcome.nat.first?.description == nat)
    }

    // MARK: the example ruleset

    @Test func exampleRulesetTracesEveryKindOfStatement() throws {
        var ruleset = Ruleset()
        try ruleset.apply(ExampleRuleset.transaction())
        let outcomes = trace(Self.tcp(Self.client, .ipv4(10, 96, 0, 10), 80), hook: .prerouting, in: ruleset)
        #expect(outcomes.count == 2, "numgen random mod 2 splits the trace")
        for outcome in outcomes {
            #expect(outcome.verdict == .accept && Self.close(outcome.probability, 0.5))
            #expect(outcome.packet.mark == 0x4000)
            #expect(
                outcome.setUpdates.map(\.description) == [
                    "update @affinity { 192.168.1.5 . 10.96.0.10 timeout 10800s }"
                ])
            #expect(outcome.nat.isEmpty)
        }
        let steps = try #require(outcomes.first?.steps.map(\.result.description))
        #expect(
            steps == [
                "goto services",
                "goto svc-default-web-http",
                "matched",
                "matched",
                "no match at statement 2: 10.96.0.10 . 80 is not in @endpoints",
                "matched",
                "matched",  // jhash of 192.168.1.5 with seed 1 lands in slot 3
                "no match at statement 0: 0x00004000 is not in @mark-ranges",
                "policy accept",
            ])
        let udp = trace(Self.udp(Self.client, .ipv4(10, 96, 0, 10), 53), hook: .prerouting, in: ruleset)
        #expect(udp.map(\.verdict) == [.drop])
    }

    @Test(arguments: [(UInt8(13), true), (1, false)])
    func jhashPicksTheKernelsSlot(lastOctet: UInt8, matches: Bool) throws {
        var ruleset = Ruleset()
        try ruleset.apply(ExampleRuleset.transaction())
        let outcome = try #require(
            trace(Self.tcp(.ipv4(10, 0, 0, lastOctet), .ipv4(10, 96, 0, 10), 80), hook: .prerouting, in: ruleset).first)
        let step = try #require(outcome.steps.first { $0.rule.hasPrefix("jhash") })
        #expect((step.result == .matched) == matches)
    }

    @Test func exampleRulesetForwardRejectsServicesWithoutEndpoints() throws {
        var ruleset = Ruleset()
        try ruleset.apply(ExampleRuleset.transaction())
        #expect(
            trace(Self.tcp(Self.pod, .ipv4(10, 96, 0, 11), 443), hook: .forward, in: ruleset).map(\.verdict) == [
                .reject(.tcpReset)
            ])
        let local = TracePacket(
            source: .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 1]),
            destination: .ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 2]),
            l4proto: 6, sourcePort: 1, destinationPort: 2,
            localAddresses: [.ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 2])])
        let outcome = try #require(trace(local, hook: .forward, in: ruleset).first)
        #expect(
            outcome.steps.map(\.result.description) == [
                "no match at statement 0: ct state is new, none of established,related",
                // The nfproto guard sits before the first statement that reads ip headers.
                "no match at statement 1: meta nfproto is ipv6, the rule reads ip headers",
                "no match at statement 0: meta nfproto is ipv6, the rule reads ip headers",
                "matched",
                "matched",
                "policy accept",
            ])
    }

    // MARK: robustness and output

    @Test func aFieldThePacketLacksIsANonMatchWithAReason() throws {
        let ping = TracePacket(source: Self.pod, destination: .ipv4(10, 96, 0, 10), l4proto: 1)
        let outcome = try #require(trace(ping, hook: .prerouting, in: try ServiceFixture.ruleset()).first)
        #expect(
            outcome.steps.first?.result == .notMatched(statement: 0, reason: "th dport: a icmp header has no ports"))
    }

    @Test func outcomesRenderAsTextAndJSON() throws {
        let outcomes = trace(
            Self.udp(Self.pod, .ipv4(10, 96, 0, 53), 53), hook: .prerouting, in: try ServiceFixture.ruleset())
        let outcome = try #require(outcomes.first)
        #expect(
            outcome.description == """
                accept (probability 100.00%)
                  dnat to 10.244.1.53:5353 (prerouting, inet sluice svc-dns)
                  packet: udp 10.244.5.5:40000 -> 10.244.1.53:5353 ct new status dnat original 10.96.0.53:53
                    prerouting inet sluice prerouting #0 ip daddr . meta l4proto . th dport vmap @services => goto svc-dns
                    prerouting inet sluice svc-dns #0 meta l4proto == udp dnat ip to ip daddr . th dport map @dns-targets => dnat to 10.244.1.53:5353
                """)
        let json = try JSONEncoder().encode(outcomes.map(\.report))
        let decoded = try JSONDecoder().decode([TraceReport].self, from: json)
        #expect(decoded == outcomes.map(\.report))
        #expect(decoded.first?.packet.destination == "10.244.1.53")
        #expect(decoded.first?.packet.originalDestination == "10.96.0.53")
    }
}

/// A Service-shaped ruleset: a verdict map by `ip daddr . meta l4proto . th dport`, endpoint picks by `numgen`,
/// a DNAT map keyed by `ip daddr . th dport`, a map lookup nested in another map's key, masquerade marking with
/// jump/return, and a filter chain that rejects Services without endpoints.
enum ServiceFixture {
    static let table = TableRef(family: .inet, name: "sluice")
    static let endpoint = TypeSpec([.ipv4Address, .inetService])

    static func ruleset() throws -> Ruleset {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: "sluice"))
        let prerouting = Chain(
            table: table, name: "prerouting", base: BaseChain(type: .nat, hook: .prerouting, priority: -100))
        let forward = Chain(
            table: table, name: "forward", base: BaseChain(type: .filter, hook: .forward, priority: 0, policy: .drop))
        let postrouting = Chain(
            table: table, name: "postrouting", base: BaseChain(type: .nat, hook: .postrouting, priority: 100))
        let names = ["svc-web", "svc-dns", "svc-by-id", "mark-for-masquerade"]
        for chain in [prerouting, forward, postrouting] + names.map({ Chain(table: table, name: $0) }) { tx.add(chain) }
        func ref(_ name: String) -> ChainRef { ChainRef(table: table, name: name) }

        let serviceKey = TypeSpec([.ipv4Address, .inetProtocol, .inetService])
        let sets = [
            NFTSet(table: table, name: "services", key: serviceKey, data: .verdict),
            NFTSet(table: table, name: "web-endpoints", key: TypeSpec(.integer32), data: .value(endpoint)),
            NFTSet(table: table, name: "dns-targets", key: endpoint, data: .value(endpoint)),
            NFTSet(table: table, name: "service-ids", key: serviceKey, data: .value(TypeSpec(.integer32))),
            NFTSet(table: table, name: "slots", key: TypeSpec([.integer32, .integer32]), data: .value(endpoint)),
            NFTSet(table: table, name: "no-endpoints", key: serviceKey),
            NFTSet(table: table, name: "cluster-cidrs", key: TypeSpec(.ipv4Address), flags: .interval),
        ]
        for set in sets { tx.add(set) }

        let destination = Expression.concat([
            .payload(.ipDestination), .meta(.l4proto), .payload(.transportDestinationPort),
        ])
        tx.add(Rule(chain: prerouting.ref, [.verdictMap(destination, map: "services")]))
        tx.add(Rule(chain: ref("svc-web"), [.verdict(.jump("mark-for-masquerade"))]))
        tx.add(
            Rule(
                chain: ref("svc-web"),
                [
                    .compare(.meta(.l4proto), .equal, .tcp),
                    .dnat(
                        .ip, to: .mapLookup(key: .numgenRandom(modulus: 3), map: "web-endpoints", resultType: endpoint)),
                ]))
        tx.add(
            Rule(
                chain: ref("mark-for-masquerade"),
                [.lookup(.payload(.ipSource), set: "cluster-cidrs", negated: true), .orMark(.mark(0x4000))]))
        tx.add(Rule(chain: ref("mark-for-masquerade"), [.verdict(.return)]))
        tx.add(Rule(chain: ref("mark-for-masquerade"), [.orMark(.mark(0x8000))]))
        tx.add(
            Rule(
                chain: ref("svc-dns"),
                [
                    .compare(.meta(.l4proto), .equal, .udp),
                    .dnat(
                        .ip,
                        to: .mapLookup(
                            key: .concat([.payload(.ipDestination), .payload(.transportDestinationPort)]),
                            map: "dns-targets",
                            resultType: endpoint)),
                ]))
        let serviceID = Expression.mapLookup(key: destination, map: "service-ids", resultType: TypeSpec(.integer32))
        tx.add(
            Rule(
                chain: ref("svc-by-id"),
                [
                    .dnat(
                        .ip,
                        to: .mapLookup(
                            key: .concat([serviceID, .numgenRandom(modulus: 2)]), map: "slots", resultType: endpoint))
                ]))
        tx.add(
            Rule(chain: forward.ref, [.anyFlags(.ct(.state), .ctState([.established, .related])), .verdict(.accept)]))
        tx.add(
            Rule(
                chain: forward.ref,
                [
                    .compare(.meta(.l4proto), .equal, .tcp), .lookup(destination, set: "no-endpoints"),
                    .reject(.tcpReset),
                ]))
        tx.add(Rule(chain: forward.ref, [.lookup(destination, set: "no-endpoints"), .reject(.icmpxPortUnreachable)]))
        tx.add(Rule(chain: forward.ref, [.anyFlags(.ct(.status), .ctStatus(.dnat)), .verdict(.accept)]))
        tx.add(Rule(chain: postrouting.ref, [.anyFlags(.meta(.mark), .mark(0x4000)), .masquerade()]))

        func ip(_ d: UInt8, _ c: UInt8 = 0, _ b: UInt8 = 96) -> Value { .ipv4(10, b, c, d) }
        tx.addElements(
            [
                SetElement(ip(10), .tcp, .port(80), data: .verdict(.goto("svc-web"))),
                SetElement(ip(53), .udp, .port(53), data: .verdict(.goto("svc-dns"))),
                SetElement(ip(20), .tcp, .port(8080), data: .verdict(.goto("svc-by-id"))),
            ], to: sets[0].ref)
        tx.addElements(
            (0..<3).map { SetElement(.integer($0), data: .values([ip(1, UInt8($0) + 1, 244), .port(8080)])) },
            to: sets[1].ref)
        tx.addElements([SetElement(ip(53), .port(53), data: .values([ip(53, 1, 244), .port(5353)]))], to: sets[2].ref)
        tx.addElements([SetElement(ip(20), .tcp, .port(8080), data: .values([.integer(7)]))], to: sets[3].ref)
        tx.addElements(
            [
                SetElement(.integer(7), .integer(0), data: .values([ip(20, 1, 244), .port(80)])),
                SetElement(.integer(7), .integer(1), data: .values([ip(20, 2, 244), .port(80)])),
                SetElement(.integer(8), .integer(0), data: .values([ip(9, 9, 244), .port(80)])),
            ], to: sets[4].ref)
        tx.addElements([SetElement(ip(30), .tcp, .port(80)), SetElement(ip(30), .udp, .port(80))], to: sets[5].ref)
        tx.addElements(
            [
                SetElement(key: .prefix(.ipv4(10, 244, 0, 0), length: 16)),
                SetElement(key: .prefix(.ipv4(10, 96, 0, 0), length: 12)),
            ],
            to: sets[6].ref)
        var ruleset = Ruleset()
        try ruleset.apply(tx)
        return ruleset
    }
}

/// Interval sets: IPv4 and IPv6 prefixes, a port range, a host-order mark range, and a concatenated range map.
enum IntervalFixture {
    static let table = TableRef(family: .inet, name: "t")

    static func ruleset() throws -> Ruleset {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: "t"))
        let input = Chain(
            table: table, name: "input", base: BaseChain(type: .filter, hook: .input, priority: 0, policy: .drop))
        let nat = Chain(table: table, name: "nat", base: BaseChain(type: .nat, hook: .prerouting, priority: -100))
        tx.add(input)
        tx.add(nat)
        let sets = [
            NFTSet(table: table, name: "cidrs", key: TypeSpec(.ipv4Address), flags: .interval),
            NFTSet(table: table, name: "ports", key: TypeSpec(.inetService), flags: .interval),
            NFTSet(table: table, name: "marks", key: TypeSpec(.mark), flags: .interval),
            NFTSet(table: table, name: "cidrs6", key: TypeSpec(.ipv6Address), flags: .interval),
            NFTSet(
                table: table, name: "endpoints", key: TypeSpec([.ipv4Address, .inetService]),
                data: .value(TypeSpec([.ipv4Address, .inetService])), flags: .interval),
        ]
        for set in sets { tx.add(set) }
        tx.add(
            Rule(
                chain: input.ref,
                [
                    .lookup(.payload(.ipSource), set: "cidrs"),
                    .lookup(.payload(.transportDestinationPort), set: "ports"), .verdict(.accept),
                ]))
        tx.add(Rule(chain: input.ref, [.lookup(.meta(.mark), set: "marks"), .verdict(.accept)]))
        tx.add(Rule(chain: input.ref, [.lookup(.payload(.ip6Source), set: "cidrs6"), .verdict(.accept)]))
        tx.add(
            Rule(
                chain: nat.ref,
                [
                    .compare(.meta(.l4proto), .equal, .tcp),
                    .dnat(
                        .ip,
                        to: .mapLookup(
                            key: .concat([.payload(.ipDestination), .payload(.transportDestinationPort)]),
                            map: "endpoints",
                            resultType: TypeSpec([.ipv4Address, .inetService]))),
                ]))
        tx.addElements(
            [
                SetElement(key: .prefix(.ipv4(10, 0, 0, 0), length: 8)),
                SetElement(key: .prefix(.ipv4(192, 168, 1, 0), length: 24)),
            ],
            to: sets[0].ref)
        tx.addElements([SetElement(key: ElementKey(ranges: [(.port(1000), .port(2000))]))], to: sets[1].ref)
        tx.addElements([SetElement(key: ElementKey(ranges: [(.mark(0x100), .mark(0x1ff))]))], to: sets[2].ref)
        tx.addElements(
            [SetElement(key: .prefix(.ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 0]), length: 8))], to: sets[3].ref)
        tx.addElements(
            [
                SetElement(
                    key: ElementKey(ranges: [(.ipv4(10, 96, 0, 10), .ipv4(10, 96, 0, 10)), (.port(8000), .port(8999))]),
                    data: .values([.ipv4(10, 244, 1, 5), .port(8080)])),
                SetElement(
                    key: ElementKey(ranges: [(.ipv4(10, 96, 1, 0), .ipv4(10, 96, 1, 255)), (.port(443), .port(443))]),
                    data: .values([.ipv4(10, 244, 2, 7), .port(8443)])),
            ], to: sets[4].ref)
        var ruleset = Ruleset()
        try ruleset.apply(tx)
        return ruleset
    }
}
