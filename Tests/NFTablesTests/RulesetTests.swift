import NFTables
import Testing

/// `Ruleset.apply` follows the kernel: idempotent adds, EEXIST/ENOENT/EBUSY where nf_tables answers them, and
/// all-or-nothing transactions.
struct RulesetTests {
    static let table = TableRef(family: .inet, name: "t")
    static let ports = NFTSet(table: table, name: "ports", key: TypeSpec(.inetService))
    static let verdicts = NFTSet(
        table: table, name: "v", key: TypeSpec([.ipv4Address, .inetService]), data: .verdict)
    static let constants = NFTSet(table: table, name: "k", key: TypeSpec(.inetService), flags: .constant)
    static let base = Chain(
        table: table, name: "pre", base: BaseChain(type: .nat, hook: .prerouting, priority: -100))
    static let web = Chain(table: table, name: "web")

    /// A table with a base chain, a regular chain, a port set, a verdict map and a constant set.
    static func setUp() -> Transaction {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: "t"))
        tx.add(base)
        tx.add(web)
        tx.add(ports)
        tx.add(verdicts)
        tx.add(constants)
        tx.addElements([SetElement(.port(80)), SetElement(.port(443))], to: ports.ref)
        tx.addElements([SetElement(.port(53))], to: constants.ref)
        return tx
    }

    static func applied(_ transactions: Transaction...) throws -> Ruleset {
        var ruleset = Ruleset()
        for tx in transactions { try ruleset.apply(tx) }
        return ruleset
    }

    @Test func exampleRulesetRoundTripsThroughItsColdStartTransaction() throws {
        let ruleset = try Self.applied(ExampleRuleset.transaction())
        let rebuilt = try Self.applied(ruleset.transaction())
        #expect(rebuilt == ruleset)
        #expect(ruleset.difference(from: ruleset).isEmpty)
        #expect(ruleset.difference(from: rebuilt).isEmpty)
        let sluice = TableRef(family: .inet, name: "sluice")
        #expect(ruleset.chains(in: sluice).map(\.name).first == "nat-prerouting")
        #expect(ruleset.elementCount(of: SetRef(table: sluice, name: "service-ips")) == 2)
    }

    @Test func coldStartOrdersTablesSetsChainsElementsRules() throws {
        var rules = Transaction()
        rules.add(
            Rule(
                chain: Self.base.ref,
                [.verdictMap(.concat([.payload(.ipDestination), .payload(.transportDestinationPort)]), map: "v")]))
        rules.addElements(
            [SetElement(.ipv4(10, 0, 0, 1), .port(80), data: .verdict(.jump("web")))], to: Self.verdicts.ref)
        let ruleset = try Self.applied(Self.setUp(), rules)
        let kinds = ruleset.transaction().operations.map { operation -> String in
            switch operation {
            case .addTable: "table"
            case .addSet: "set"
            case .addChain: "chain"
            case .addRule: "rule"
            case .addElements: "elements"
            default: "other"
            }
        }
        #expect(kinds == ["table", "set", "set", "set", "chain", "chain", "elements", "elements", "elements", "rule"])
    }

    @Test func addingIdenticalObjectsAgainChangesNothing() throws {
        let once = try Self.applied(Self.setUp())
        let twice = try Self.applied(Self.setUp(), Self.setUp())
        #expect(once == twice)
    }

    @Test func addingABaseChainWithAnotherPolicyUpdatesIt() throws {
        var update = Transaction()
        var dropping = Self.base
        dropping.base?.policy = .drop
        dropping.comment = "ignored: the kernel keeps the first comment"
        update.add(dropping)
        let ruleset = try Self.applied(Self.setUp(), update)
        #expect(ruleset.chain(Self.base.ref)?.base?.policy == .drop)
        #expect(ruleset.chain(Self.base.ref)?.comment == nil)
    }

    @Test func addingAnExistingElementWithTheSameDataIsANoOp() throws {
        var again = Transaction()
        again.addElements([SetElement(.port(80))], to: Self.ports.ref)
        #expect(try Self.applied(Self.setUp(), again) == Self.applied(Self.setUp()))
    }

    @Test func elementsListInNumericKeyOrderWhateverTheInsertionOrder() throws {
        let marks = NFTSet(table: Self.table, name: "marks", key: TypeSpec(.mark), flags: .interval)
        var tx = Self.setUp()
        tx.add(marks)
        tx.addElements([SetElement(.port(8080)), SetElement(.port(22)), SetElement(.port(1024))], to: Self.ports.ref)
        tx.addElements(
            [
                SetElement(key: ElementKey(ranges: [(.mark(0x200), .mark(0x2ff))])),
                SetElement(key: ElementKey(ranges: [(.mark(0x1), .mark(0x1ff))])),
            ], to: marks.ref)
        let ruleset = try Self.applied(tx)
        #expect(ruleset.elements(of: Self.ports.ref).map(\.key.description) == ["22", "80", "443", "1024", "8080"])
        #expect(
            ruleset.elements(of: marks.ref).map(\.key.description) == [
                "0x00000001-0x000001ff", "0x00000200-0x000002ff",
            ])
        #expect(ruleset.element(ElementKey(.port(1024)), in: Self.ports.ref) != nil)
        #expect(ruleset.element(ElementKey(.port(1025)), in: Self.ports.ref) == nil)
    }

    @Test func flushAndDeleteRemoveWhatTheKernelRemoves() throws {
        var rules = Transaction()
        rules.add(
            Rule(
                chain: Self.base.ref,
                [.lookup(.payload(.transportDestinationPort), set: "ports"), .verdict(.jump("web"))]))
        rules.add(Rule(chain: Self.web.ref, [.counter]))
        var ruleset = try Self.applied(Self.setUp(), rules)

        var flushTable = Transaction()
        flushTable.flush(Self.table)
        try ruleset.apply(flushTable)
        #expect(ruleset.rules(in: Self.base.ref).isEmpty && ruleset.rules(in: Self.web.ref).isEmpty)
        #expect(ruleset.elementCount(of: Self.ports.ref) == 2)

        var flushSet = Transaction()
        flushSet.flush(Self.ports.ref)
        try ruleset.apply(flushSet)
        #expect(ruleset.elementCount(of: Self.ports.ref) == 0)

        var deleteTable = Transaction()
        deleteTable.delete(Self.table)
        try ruleset.apply(deleteTable)
        #expect(ruleset == Ruleset())
    }

    @Test func deletingAChainDeletesItsOwnRules() throws {
        var tx = Transaction()
        tx.add(Rule(chain: Self.web.ref, [.verdict(.accept)]))
        tx.delete(Self.web.ref)
        let ruleset = try Self.applied(Self.setUp(), tx)
        #expect(ruleset.chain(Self.web.ref) == nil)
    }

    struct Failure: Sendable, CustomTestStringConvertible {
        var name: String
        var change: @Sendable (inout Transaction) -> Void
        var code: RulesetError.Code
        var message: String
        var testDescription: String { name }
    }

    static let failures: [Failure] = [
        Failure(
            name: "set with other attributes",
            change: { $0.add(NFTSet(table: table, name: "ports", key: TypeSpec(.inetService), flags: .interval)) },
            code: .exists, message: "set inet t ports: exists with other attributes (EEXIST)"),
        Failure(
            name: "base chain with another priority",
            change: {
                $0.add(Chain(table: table, name: "pre", base: BaseChain(type: .nat, hook: .prerouting, priority: 0)))
            },
            code: .exists,
            message: "chain inet t pre: exists with type nat hook prerouting priority -100 (EEXIST)"),
        Failure(
            name: "regular chain re-added as a base chain",
            change: {
                $0.add(Chain(table: table, name: "web", base: BaseChain(type: .filter, hook: .input, priority: 0)))
            },
            code: .exists, message: "chain inet t web: exists as a regular chain (EEXIST)"),
        Failure(
            name: "element with other data",
            change: {
                $0.addElements([SetElement(.ipv4(10, 0, 0, 1), .port(80), data: .verdict(.accept))], to: verdicts.ref)
                $0.addElements([SetElement(.ipv4(10, 0, 0, 1), .port(80), data: .verdict(.drop))], to: verdicts.ref)
            },
            code: .exists, message: "element 0 (10.0.0.1 . 80) of set inet t v: exists with data accept (EEXIST)"),
        Failure(
            name: "deleting a missing element",
            change: { $0.deleteElements([SetElement(.port(81))], from: ports.ref) },
            code: .notFound, message: "element 0 (81) of set inet t ports: does not exist (ENOENT)"),
        Failure(
            name: "deleting a missing table",
            change: { $0.delete(TableRef(family: .ip, name: "t")) },
            code: .notFound, message: "table ip t: does not exist (ENOENT)"),
        Failure(
            name: "chain in a missing table",
            change: { $0.add(Chain(table: TableRef(family: .ip6, name: "x"), name: "c")) },
            code: .notFound, message: "chain ip6 x c: table ip6 x does not exist (ENOENT)"),
        Failure(
            name: "rule in a missing chain",
            change: { $0.add(Rule(chain: ChainRef(table: table, name: "nope"), [.counter])) },
            code: .notFound, message: "rule in chain inet t nope (counter): chain inet t nope does not exist (ENOENT)"),
        Failure(
            name: "rule using a missing set",
            change: { $0.add(Rule(chain: web.ref, [.lookup(.meta(.mark), set: "marks")])) },
            code: .notFound, message: "rule in chain inet t web (meta mark @marks): set @marks does not exist (ENOENT)"),
        Failure(
            name: "rule using a set of another key type",
            change: { $0.add(Rule(chain: web.ref, [.lookup(.meta(.mark), set: "ports")])) },
            code: .invalid,
            message: "rule in chain inet t web (meta mark @ports): @ports is keyed by inet_service, not mark (EINVAL)"),
        Failure(
            name: "jump to a missing chain",
            change: { $0.add(Rule(chain: web.ref, [.verdict(.jump("gone"))])) },
            code: .notFound, message: "rule in chain inet t web (jump gone): chain gone does not exist (ENOENT)"),
        Failure(
            name: "jump to a base chain",
            change: { $0.add(Rule(chain: web.ref, [.verdict(.goto("pre"))])) },
            code: .notSupported,
            message: "rule in chain inet t web (goto pre): goto pre targets base chain pre (EOPNOTSUPP)"),
        Failure(
            name: "verdict map element jumping to a missing chain",
            change: {
                $0.addElements(
                    [SetElement(.ipv4(10, 0, 0, 1), .port(80), data: .verdict(.jump("gone")))], to: verdicts.ref)
            },
            code: .notFound, message: "element 0 (10.0.0.1 . 80) of set inet t v: chain gone does not exist (ENOENT)"),
        Failure(
            name: "deleting a chain a rule jumps to",
            change: {
                $0.add(Rule(chain: base.ref, [.verdict(.jump("web"))]))
                $0.delete(web.ref)
            },
            code: .busy, message: "chain inet t web: is the target of a jump or goto in chain inet t pre (EBUSY)"),
        Failure(
            name: "deleting a chain a verdict map element jumps to",
            change: {
                $0.addElements(
                    [SetElement(.ipv4(10, 0, 0, 1), .port(80), data: .verdict(.goto("web")))], to: verdicts.ref)
                $0.delete(web.ref)
            },
            code: .busy, message: "chain inet t web: is the target of element 10.0.0.1 . 80 in map inet t v (EBUSY)"),
        Failure(
            name: "deleting a set a rule uses",
            change: {
                $0.add(Rule(chain: web.ref, [.lookup(.payload(.transportDestinationPort), set: "ports")]))
                $0.delete(ports.ref)
            },
            code: .busy, message: "set inet t ports: is used by a rule in chain inet t web (EBUSY)"),
        Failure(
            name: "changing a constant set in use",
            change: {
                $0.add(Rule(chain: web.ref, [.lookup(.payload(.transportDestinationPort), set: "k")]))
                $0.addElements([SetElement(.port(54))], to: constants.ref)
            },
            code: .busy, message: "set inet t k: is constant and used by a rule in chain inet t web (EBUSY)"),
        Failure(
            name: "a transaction that failed its own validation",
            change: { $0.add(Table(family: .inet, name: "has space")) },
            code: .invalid, message: "inet has space: table name has space contains a quote, space, @ or $ (EINVAL)"),
        Failure(
            name: "element of the wrong type for a set the transaction did not create",
            change: { $0.addElements([SetElement(.ipv4(1, 2, 3, 4))], to: ports.ref) },
            code: .invalid,
            message: "element 0 (1.2.3.4) of set inet t ports: key is ipv4_addr, the set's is inet_service (EINVAL)"),
    ]

    @Test(arguments: failures) func refusesWhatTheKernelRefuses(_ failure: Failure) throws {
        let before = try Self.applied(Self.setUp())
        var ruleset = before
        var tx = Transaction()
        failure.change(&tx)
        #expect(throws: RulesetError.self) { try ruleset.apply(tx) }
        do {
            try ruleset.apply(tx)
        } catch {
            #expect(error.code == failure.code)
            #expect(error.description == failure.message)
        }
        #expect(ruleset == before)
    }

    @Test func aFailingTransactionLeavesEverythingAsItWas() throws {
        var populate = Transaction()
        populate.addElements((1000..<3000).map { SetElement(.port(UInt16($0))) }, to: Self.ports.ref)
        populate.add(Rule(chain: Self.web.ref, [.counter]))
        let before = try Self.applied(Self.setUp(), populate)
        var ruleset = before

        var tx = Transaction()
        tx.add(Table(family: .ip, name: "new"))
        tx.add(Chain(table: TableRef(family: .ip, name: "new"), name: "c"))
        tx.deleteElements((1000..<2000).map { SetElement(.port(UInt16($0))) }, from: Self.ports.ref)
        tx.addElements([SetElement(.port(1))], to: Self.ports.ref)
        tx.flush(Self.web.ref)
        tx.delete(Self.verdicts.ref)
        var dropping = Self.base
        dropping.base?.policy = .drop
        tx.add(dropping)
        tx.add(Rule(chain: Self.web.ref, [.verdict(.accept)]))
        tx.flush(Self.table)
        tx.deleteElements([SetElement(.port(1500))], from: Self.ports.ref)  // deleted above: ENOENT
        #expect(throws: RulesetError.self) { try ruleset.apply(tx) }
        #expect(ruleset == before)
        #expect(ruleset.tables.map(\.name) == ["t"])
        #expect(ruleset.elementCount(of: Self.ports.ref) == 2002)
        #expect(ruleset.rules(in: Self.web.ref).count == 1)
        #expect(ruleset.chain(Self.base.ref)?.base?.policy == .accept)
    }

    @Test func aCopyIsIndependentOfChangesToTheOriginal() throws {
        var original = try Self.applied(Self.setUp())
        let copy = original
        var tx = Transaction()
        tx.addElements((1..<200).map { SetElement(.port(UInt16(2000 + $0))) }, to: Self.ports.ref)
        tx.add(Rule(chain: Self.web.ref, [.counter]))
        try original.apply(tx)
        #expect(copy.elementCount(of: Self.ports.ref) == 2)
        #expect(copy.rules(in: Self.web.ref).isEmpty)
        #expect(original.elementCount(of: Self.ports.ref) == 201)
        #expect(copy != original)
    }

    @Test func theErrorNamesTheFailingOperation() throws {
        var ruleset = try Self.applied(Self.setUp())
        var tx = Transaction()
        tx.add(Rule(chain: Self.web.ref, [.counter]))
        tx.delete(SetRef(table: Self.table, name: "missing"))
        do {
            try ruleset.apply(tx)
            Issue.record("expected ENOENT")
        } catch {
            #expect(error.operationIndex == 1)
        }
    }
}
