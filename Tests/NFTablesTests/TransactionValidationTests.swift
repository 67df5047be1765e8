import NFTables
import Testing

/// A transaction remembers the first invalid object, named the way `nft list` names it.
struct TransactionValidationTests {
    static let table = TableRef(family: .inet, name: "t")
    static let ports = NFTSet(table: table, name: "ports", key: TypeSpec(.inetService))
    static let verdicts = NFTSet(table: table, name: "v", key: TypeSpec(.ipv4Address), data: .verdict)
    static let chain = ChainRef(table: table, name: "c")

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var build: @Sendable (inout Transaction) -> Void
        var expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "element key type", build: { $0.addElements([SetElement(.ipv4(1, 2, 3, 4))], to: ports.ref) },
            expected: "element 0 (1.2.3.4) of set inet t ports: key is ipv4_addr, the set's is inet_service"),
        Case(
            name: "range in a plain set",
            build: { $0.addElements([SetElement(key: ElementKey(ranges: [(.port(1), .port(9))]))], to: ports.ref) },
            expected: "element 0 (1-9) of set inet t ports: is a range but the set has no interval flag"),
        Case(
            name: "map element without data",
            build: { $0.addElements([SetElement(.ipv4(1, 1, 1, 1))], to: verdicts.ref) },
            expected: "element 0 (1.1.1.1) of set inet t v: needs verdict data"),
        Case(
            name: "set element with data",
            build: { $0.addElements([SetElement(.port(1), data: .verdict(.accept))], to: ports.ref) },
            expected: "element 0 (1) of set inet t ports: has data but ports is a set, not a map"),
        Case(
            name: "timeout without flag",
            build: { $0.addElements([SetElement(key: ElementKey(.port(1)), timeout: .seconds(1))], to: ports.ref) },
            expected: "element 0 (1) of set inet t ports: has a timeout but the set has no timeout flag"),
        Case(
            name: "lookup key type",
            build: { $0.add(Rule(chain: chain, [.lookup(.payload(.ipSource), set: "ports")])) },
            expected:
                "rule in chain inet t c (ip saddr @ports): looks up ip saddr (ipv4_addr) in @ports keyed by inet_service"
        ),
        Case(
            name: "vmap on a plain set",
            build: { $0.add(Rule(chain: chain, [.verdictMap(.payload(.transportDestinationPort), map: "ports")])) },
            expected: "rule in chain inet t c (th dport vmap @ports): @ports is not a verdict map"),
        Case(
            name: "mixed families",
            build: {
                $0.add(
                    Rule(
                        chain: chain,
                        [
                            .compare(.payload(.ipSource), .equal, .ipv4(1, 1, 1, 1)),
                            .compare(.payload(.ip6Source), .equal, .ipv6(groups: [0, 0, 0, 0, 0, 0, 0, 1])),
                        ]))
            },
            expected:
                "rule in chain inet t c (ip saddr == 1.1.1.1 ip6 saddr == ::1): mixes ip and ip6 header fields in one rule"
        ),
        Case(
            name: "compare type",
            build: { $0.add(Rule(chain: chain, [.compare(.meta(.l4proto), .equal, .port(6))])) },
            expected:
                "rule in chain inet t c (meta l4proto == 6): compares meta l4proto (inet_proto) with a inet_service value"
        ),
        Case(
            name: "port NAT without protocol",
            build: {
                $0.add(
                    Rule(chain: chain, [.dnat(.ip, to: .concat([.constant(.ipv4(1, 1, 1, 1)), .constant(.port(80))]))]))
            },
            expected:
                "rule in chain inet t c (dnat ip to 1.1.1.1:80): NAT to a port needs a `meta l4proto` match earlier in the rule"
        ),
        Case(
            name: "NAT target family",
            build: { $0.add(Rule(chain: chain, [.dnat(.ip6, to: .constant(.ipv4(1, 1, 1, 1)))])) },
            expected:
                "rule in chain inet t c (dnat ip6 to 1.1.1.1): NAT target 1.1.1.1 is ipv4_addr, expected ipv6_addr [. inet_service]"
        ),
        Case(
            name: "base chain policy",
            build: {
                $0.add(
                    Chain(
                        table: table, name: "b",
                        base: BaseChain(type: .filter, hook: .input, priority: 0, policy: .jump("x"))))
            },
            expected: "chain inet t b: base chain policy must be accept or drop, not jump x"),
        Case(
            name: "empty name", build: { $0.add(Chain(table: table, name: "")) },
            expected: "chain inet t : chain name is empty"),
        Case(
            name: "name with space", build: { $0.add(NFTSet(table: table, name: "a b", key: TypeSpec(.mark))) },
            expected: "set inet t a b: set name a b contains a quote, space, @ or $"),
        Case(
            name: "ip header in ip6 table",
            build: {
                $0.add(
                    Rule(
                        chain: ChainRef(table: TableRef(family: .ip6, name: "x"), name: "c"),
                        [.compare(.payload(.ipDestination), .equal, .ipv4(1, 1, 1, 1))]))
            },
            expected: "rule in chain ip6 x c (ip daddr == 1.1.1.1): reads ip headers in a ip6 table"),
    ]

    @Test(arguments: cases)
    func firstErrorNamesObjectAndProblem(_ testCase: Case) {
        var tx = Transaction(existingSets: [Self.ports, Self.verdicts])
        testCase.build(&tx)
        #expect(tx.firstError?.description == testCase.expected)
    }

    @Test func onlyTheFirstErrorIsKeptAndLaterOperationsStillRecord() {
        var tx = Transaction(existingSets: [Self.ports])
        tx.addElements([SetElement(.ipv4(1, 1, 1, 1))], to: Self.ports.ref)
        tx.addElements([SetElement(.mark(1))], to: Self.ports.ref)
        #expect(tx.firstError?.object == "element 0 (1.1.1.1) of set inet t ports")
        #expect(tx.operations.count == 2)
    }

    @Test func validTransactionHasNoError() {
        var tx = Transaction(existingSets: [Self.ports])
        tx.addElements([SetElement(.port(80)), SetElement(.port(443))], to: Self.ports.ref)
        tx.add(
            Rule(chain: Self.chain, [.lookup(.payload(.transportDestinationPort), set: "ports"), .verdict(.accept)]))
        #expect(tx.firstError == nil)
    }
}
