import NFTables
import Testing

/// `new.difference(from: old)` is a batch the kernel accepts that turns `old` into `new`, sending only what
/// changed.
struct RulesetDifferenceTests {
    static let table = TableRef(family: .inet, name: "t")
    static let endpoints = NFTSet(
        table: table, name: "endpoints", key: TypeSpec([.ipv4Address, .inetService]),
        data: .value(TypeSpec([.ipv4Address, .inetService])))

    static func ruleset(_ build: (inout Transaction) -> Void) throws -> Ruleset {
        var tx = Transaction()
        build(&tx)
        var ruleset = Ruleset()
        try ruleset.apply(tx)
        return ruleset
    }

    static func endpointRuleset(count: Int, changing changed: Int? = nil) throws -> Ruleset {
        try ruleset { tx in
            tx.add(Table(family: .inet, name: "t"))
            tx.add(endpoints)
            let elements = (0..<count).map { i in
                let port: UInt16 = i == changed ? 9090 : 8080
                return SetElement(
                    .ipv4(UInt32(0x0A60_0000 + i)), .port(80),
                    data: .values([.ipv4(UInt32(0x0AF4_0000 + i)), .port(port)]))
            }
            tx.addElements(elements, to: endpoints.ref)
        }
    }

    @Test(arguments: 0..<400) func applyingTheDifferenceYieldsTheNewRuleset(seed: Int) throws {
        var generator = RulesetGenerator(seed: UInt64(seed))
        let old = try generator.ruleset()
        let new = seed % 3 == 0 ? try generator.edited(old) : try generator.ruleset()
        var ruleset = old
        try ruleset.apply(new.difference(from: old))
        #expect(ruleset == new)
        #expect(new.difference(from: new).isEmpty)
        var cold = Ruleset()
        try cold.apply(new.transaction())
        #expect(cold == new)
    }

    @Test func aChangedElementIsDeletedAndReAddedAlone() throws {
        let old = try Self.endpointRuleset(count: 100)
        let new = try Self.endpointRuleset(count: 100, changing: 42)
        let diff = new.difference(from: old)
        #expect(
            diff.description == """
                delete element inet t endpoints { 10.96.0.42 . 80 }
                add element inet t endpoints { 10.96.0.42 . 80 : 10.244.0.42 . 9090 }

                """)
    }

    @Test func largeSetsSendOnlyTheirChanges() throws {
        let old = try Self.endpointRuleset(count: 50_000)
        #expect(try Self.endpointRuleset(count: 50_000).difference(from: old).isEmpty)
        let grown = try Self.endpointRuleset(count: 50_001)
        #expect(grown.difference(from: old).elementCount == 1)
        var changed = old
        var tx = Transaction()
        tx.deleteElements([SetElement(.ipv4(0x0A60_0007), .port(80))], from: Self.endpoints.ref)
        try changed.apply(tx)
        #expect(changed.difference(from: old).elementCount == 1)
        #expect(changed.difference(from: old).operations.count == 1)
    }

    /// Large sets are sharded, small ones flat; differences must be exact across both layouts and the
    /// transitions between them.
    @Test(arguments: [(5000, 5000), (5000, 300), (300, 5000), (5000, 900), (4095, 4096)])
    func largeAndSmallSetsDiffExactly(oldCount: Int, newCount: Int) throws {
        var random = SplitMix64(state: UInt64(oldCount * 7919 + newCount))
        func build(_ count: Int) throws -> Ruleset {
            try Self.ruleset { tx in
                tx.add(Table(family: .inet, name: "t"))
                tx.add(Self.endpoints)
                let elements = (0..<count).map { i in
                    SetElement(
                        .ipv4(UInt32(0x0A60_0000 + i)), .port(80),
                        data: .values([.ipv4(10, 244, 0, 1), .port(UInt16.random(in: 1...3, using: &random))]))
                }
                tx.addElements(elements, to: Self.endpoints.ref)
            }
        }
        let old = try build(oldCount)
        let new = try build(newCount)
        var applied = old
        try applied.apply(new.difference(from: old))
        #expect(applied == new)
        #expect(applied.difference(from: new).isEmpty && new.difference(from: applied).isEmpty)
    }

    @Test func removingAChainDropsItsReferencesFirst() throws {
        let services = NFTSet(table: Self.table, name: "services", key: TypeSpec(.inetService), data: .verdict)
        let base = Chain(table: Self.table, name: "pre", base: BaseChain(type: .filter, hook: .prerouting, priority: 0))
        let web = Chain(table: Self.table, name: "web")
        let old = try Self.ruleset { tx in
            tx.add(Table(family: .inet, name: "t"))
            tx.add(services)
            tx.add(base)
            tx.add(web)
            tx.add(Rule(chain: base.ref, [.verdictMap(.payload(.transportDestinationPort), map: "services")]))
            tx.add(Rule(chain: base.ref, [.verdict(.jump("web"))]))
            tx.addElements([SetElement(.port(80), data: .verdict(.goto("web")))], to: services.ref)
        }
        let new = try Self.ruleset { tx in
            tx.add(Table(family: .inet, name: "t"))
            tx.add(services)
            tx.add(base)
            tx.add(Rule(chain: base.ref, [.verdictMap(.payload(.transportDestinationPort), map: "services")]))
        }
        let diff = new.difference(from: old)
        #expect(
            diff.description == """
                flush chain inet t pre
                delete element inet t services { 80 }
                delete chain inet t web
                add rule inet t pre th dport vmap @services

                """)
        var applied = old
        try applied.apply(diff)
        #expect(applied == new)
    }

    @Test func aPolicyChangeUpdatesTheChainInPlace() throws {
        func build(_ policy: Verdict) throws -> Ruleset {
            try Self.ruleset { tx in
                tx.add(Table(family: .inet, name: "t"))
                tx.add(
                    Chain(
                        table: Self.table, name: "fwd",
                        base: BaseChain(type: .filter, hook: .forward, priority: 0, policy: policy)))
            }
        }
        #expect(
            try build(.drop).difference(from: build(.accept)).description
                == "add chain inet t fwd { type filter hook forward priority 0; policy drop; }\n")
    }

    @Test func changesTheKernelCannotMakeInPlaceRecreateTheTable() throws {
        func build(priority: Int32) throws -> Ruleset {
            try Self.ruleset { tx in
                tx.add(Table(family: .inet, name: "t"))
                tx.add(Self.endpoints)
                tx.add(
                    Chain(
                        table: Self.table, name: "fwd",
                        base: BaseChain(type: .filter, hook: .forward, priority: priority)))
                tx.addElements(
                    [SetElement(.ipv4(10, 0, 0, 1), .port(80), data: .values([.ipv4(10, 1, 0, 1), .port(8080)]))],
                    to: Self.endpoints.ref)
            }
        }
        let old = try build(priority: 0)
        let new = try build(priority: 10)
        let diff = new.difference(from: old)
        #expect(
            diff.description == """
                delete table inet t
                add table inet t
                add map inet t endpoints { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
                add chain inet t fwd { type filter hook forward priority 10; policy accept; }
                add element inet t endpoints { 10.0.0.1 . 80 : 10.1.0.1 . 8080 }

                """)
        var applied = old
        try applied.apply(diff)
        #expect(applied == new)
    }
}

/// SplitMix64: a small, seedable generator so property tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random, valid rulesets over a small universe of names, keys and attributes, so two of them overlap a lot
/// and differ in every way a difference must handle: elements, element data and timeouts, rules, policies,
/// attribute changes that force recreation, objects appearing and disappearing.
struct RulesetGenerator {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(state: seed) }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }
    mutating func pick<T>(_ options: [T]) -> T { options.randomElement(using: &random)! }

    mutating func ruleset() throws -> Ruleset {
        var tx = Transaction()
        for table in [TableRef(family: .inet, name: "a"), TableRef(family: .ip, name: "b")] where chance(0.85) {
            build(table, into: &tx)
        }
        var ruleset = Ruleset()
        try ruleset.apply(tx)
        return ruleset
    }

    /// `ruleset` with a few element additions and removals, the shape of an ordinary sync.
    mutating func edited(_ ruleset: Ruleset) throws -> Ruleset {
        var tx = Transaction()
        for table in ruleset.tables {
            for set in ruleset.sets(in: table.ref) where !set.flags.contains(.constant) && chance(0.5) {
                let existing = ruleset.elements(of: set.ref)
                let removed = existing.filter { _ in chance(0.3) }
                if !removed.isEmpty { tx.deleteElements(removed, from: set.ref) }
                let chains = ruleset.chains(in: table.ref).filter { $0.base == nil }.map(\.name)
                let candidates = elements(for: set, chains: chains).filter { candidate in
                    ruleset.element(candidate.key, in: set.ref) == nil
                }
                var seen = Set<ElementKey>()
                let added = candidates.filter { seen.insert($0.key).inserted && chance(0.3) }
                if !added.isEmpty { tx.addElements(added, to: set.ref) }
            }
        }
        var edited = ruleset
        try edited.apply(tx)
        return edited
    }

    private mutating func build(_ table: TableRef, into tx: inout Transaction) {
        tx.add(Table(family: table.family, name: table.name, comment: chance(0.1) ? "renamed" : nil))
        let regular = ["c1", "c2", "c3"].filter { _ in chance(0.7) }
        let bases = [
            Chain(
                table: table, name: "pre",
                base: BaseChain(
                    type: .nat, hook: .prerouting, priority: chance(0.1) ? -90 : -100,
                    policy: pick([.accept, .drop]))),
            Chain(table: table, name: "fwd", base: BaseChain(type: .filter, hook: .forward, priority: 0)),
        ].filter { _ in chance(0.8) }
        let chains = bases + regular.map { Chain(table: table, name: $0, comment: chance(0.05) ? "c" : nil) }
        for chain in chains { tx.add(chain) }

        let sets = setUniverse(table).filter { _ in chance(0.75) }
        for set in sets { tx.add(set) }
        let setNames = Set(sets.map(\.name))

        // Elements before rules: a constant set takes no elements once a rule uses it.
        for set in sets {
            var seen = Set<ElementKey>()
            var elements = elements(for: set, chains: regular).filter { seen.insert($0.key).inserted && chance(0.5) }
            if set.flags.contains(.constant) {
                // Mostly the same contents: a changed constant set recreates the table.
                elements = [SetElement(.port(53))] + (chance(0.9) ? [SetElement(.port(80))] : [])
            }
            if !elements.isEmpty { tx.addElements(elements, to: set.ref) }
        }
        for chain in chains {
            let later = chain.base == nil ? regular.filter { $0 > chain.name } : regular
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                if let rule = rule(in: chain.ref, sets: setNames, targets: later, isBase: chain.base != nil) {
                    tx.add(rule)
                }
            }
        }
    }

    private mutating func setUniverse(_ table: TableRef) -> [NFTSet] {
        [
            NFTSet(table: table, name: "ports", key: TypeSpec(.inetService), comment: chance(0.1) ? "p" : nil),
            NFTSet(table: table, name: "vm", key: TypeSpec([.ipv4Address, .inetService]), data: .verdict),
            NFTSet(
                table: table, name: "dn", key: TypeSpec(.ipv4Address),
                data: .value(TypeSpec([.ipv4Address, .inetService]))),
            NFTSet(table: table, name: "cidrs", key: TypeSpec(.ipv4Address), flags: .interval),
            NFTSet(table: table, name: "marks", key: TypeSpec(.mark), flags: .interval),
            NFTSet(table: table, name: "seen", key: TypeSpec(.ipv4Address), flags: .timeout),
            NFTSet(table: table, name: "fixed", key: TypeSpec(.inetService), flags: .constant),
        ]
    }

    /// Candidate elements (possibly repeating a key with other data); callers keep the first per key.
    private mutating func elements(for set: NFTSet, chains: [String]) -> [SetElement] {
        (0..<6).map { _ in
            let address = Value.ipv4(10, 0, 0, UInt8.random(in: 1...4, using: &random))
            let port = Value.port(pick([80, 443, 8080, 53]))
            switch set.name {
            case "vm":
                let verdicts: [Verdict] = [.accept, .drop] + chains.flatMap { [.jump($0), .goto($0)] }
                return SetElement(address, port, data: .verdict(pick(verdicts)))
            case "dn":
                return SetElement(
                    address, data: .values([.ipv4(10, 244, 0, UInt8.random(in: 1...3, using: &random)), port]))
            case "cidrs":
                return SetElement(
                    key: .prefix(.ipv4(10, UInt8.random(in: 0...3, using: &random), 0, 0), length: pick([16, 24])))
            case "marks":
                let start = UInt32.random(in: 0...3, using: &random) * 0x100
                return SetElement(key: ElementKey(ranges: [(.mark(start), .mark(start + pick([0x7f, 0xff])))]))
            case "seen":
                return SetElement(key: ElementKey(address), timeout: pick([nil, .seconds(1), .seconds(2)]))
            default:
                return SetElement(key: ElementKey(port), comment: chance(0.2) ? "x" : nil)
            }
        }
    }

    private mutating func rule(in chain: ChainRef, sets: Set<String>, targets: [String], isBase: Bool) -> Rule? {
        let destination = Expression.concat([.payload(.ipDestination), .payload(.transportDestinationPort)])
        switch Int.random(in: 0..<8, using: &random) {
        case 0 where sets.contains("ports"):
            return Rule(
                chain: chain, [.lookup(.payload(.transportDestinationPort), set: "ports", negated: chance(0.3))])
        case 1 where sets.contains("vm") && isBase:
            // Only base chains dispatch through the map, so its jumps cannot loop.
            return Rule(chain: chain, [.verdictMap(destination, map: "vm")])
        case 2 where !targets.isEmpty:
            return Rule(chain: chain, [.counter, .verdict(pick([.jump(pick(targets)), .goto(pick(targets))]))])
        case 3 where sets.contains("marks"):
            return Rule(chain: chain, [.lookup(.meta(.mark), set: "marks"), .orMark(.mark(0x4000))])
        case 4 where sets.contains("dn"):
            return Rule(
                chain: chain,
                [
                    .compare(.meta(.l4proto), .equal, .tcp),
                    .dnat(
                        .ip,
                        to: .mapLookup(
                            key: .payload(.ipDestination), map: "dn",
                            resultType: TypeSpec([.ipv4Address, .inetService]))),
                ])
        case 5 where sets.contains("fixed"):
            return Rule(chain: chain, [.lookup(.payload(.transportDestinationPort), set: "fixed"), .verdict(.drop)])
        case 6:
            return Rule(chain: chain, [.compare(.meta(.mark), .equal, .mark(UInt32.random(in: 0...2, using: &random)))])
        default:
            return chance(0.5) ? Rule(chain: chain, [.counter, .verdict(.accept)], comment: "r") : nil
        }
    }
}
