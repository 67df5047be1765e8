import Foundation
import NFTables
import NFTablesNetlink
import SluiceTestSupport
import Testing

/// The netlink encoding against the real kernel and the real `nft`: what we send is what `nft -f` would send.
@Suite(.requiresRoot)
struct KernelRoundTripTests {
    @Test func exampleRulesetProgrammedOverNetlinkMatchesNftLoadingItsText() throws {
        let tx = ExampleRuleset.transaction()
        try withTestNamespaces("nl", "text") { ns in
            let report = try ns[0].run { try NFTablesConnection().apply(tx) }
            #expect(report.messages == tx.operations.count)
            _ = try ns[1].exec(["nft", "-f", "-"], stdin: tx.description)

            let viaNetlink = try normalizedRuleset(ns[0])
            let viaText = try normalizedRuleset(ns[1])
            #expect(viaNetlink == viaText)
            #expect(viaNetlink.contains("\"service-ips\""))
        }
    }

    @Test func readBackOverNetlinkReturnsWhatWasIntended() throws {
        let tx = ExampleRuleset.transaction(tableName: "readback")
        try withTestNamespaces("rb") { ns in
            let table = try ns[0].run { () throws -> KernelTable? in
                let connection = try NFTablesConnection()
                try connection.apply(tx)
                return try connection.listTable(TableRef(family: .inet, name: "readback"))
            }
            let kernel = try #require(table)
            #expect(kernel.table.comment == "owned by sluice")

            let intendedChains = tx.operations.compactMap { op -> Chain? in
                if case .addChain(let c) = op { return c } else { return nil }
            }
            #expect(Set(kernel.chains.map(\.name)) == Set(intendedChains.map(\.name)))
            for chain in intendedChains {
                let read = kernel.chains.first { $0.name == chain.name }
                #expect(read?.base == chain.base, "chain \(chain.name)")
                #expect(read?.comment == chain.comment, "chain \(chain.name)")
            }

            for op in tx.operations {
                switch op {
                case .addSet(let set):
                    let read = try #require(kernel.set(named: set.name), "set \(set.name)")
                    #expect(read.set.key == set.key, "set \(set.name)")
                    #expect(read.set.data == set.data, "set \(set.name)")
                    #expect(read.set.flags == set.flags, "set \(set.name)")
                    #expect(read.set.timeout == set.timeout, "set \(set.name)")
                    #expect(read.set.comment == set.comment, "set \(set.name)")
                case .addElements(let ref, let elements):
                    let read = try #require(kernel.set(named: ref.name))
                    #expect(Set(read.elements) == Set(elements), "elements of \(ref.name)")
                default:
                    break
                }
            }
            let ruleCount = tx.operations.filter { if case .addRule = $0 { true } else { false } }.count
            #expect(kernel.rules.count == ruleCount)
            #expect(kernel.rules.contains { $0.comment == "default/web:http" && $0.expressions.contains("nat") })
        }
    }

    @Test func elementsAddedAndDeletedIncrementally() throws {
        let table = TableRef(family: .inet, name: "incr")
        let cidrs = NFTSet(table: table, name: "cidrs", key: TypeSpec(.ipv4Address), flags: .interval)
        let ports = NFTSet(table: table, name: "ports", key: TypeSpec(.inetService), timeout: .seconds(60))
        var setup = Transaction()
        setup.add(Table(family: .inet, name: "incr"))
        setup.add(cidrs)
        setup.add(ports)
        setup.addElements(
            [
                SetElement(key: .prefix(.ipv4(10, 0, 0, 0), length: 8)),
                SetElement(key: .prefix(.ipv4(192, 168, 0, 0), length: 16)),
            ], to: cidrs.ref)
        setup.addElements([SetElement(key: ElementKey(.port(80)), timeout: .seconds(30))], to: ports.ref)

        var change = Transaction(existingSets: [cidrs, ports])
        change.deleteElements([SetElement(key: .prefix(.ipv4(10, 0, 0, 0), length: 8))], from: cidrs.ref)
        change.addElements([SetElement(key: .prefix(.ipv4(172, 16, 0, 0), length: 12))], to: cidrs.ref)
        change.deleteElements([SetElement(.port(80))], from: ports.ref)

        let (first, second) = (setup, change)
        try withTestNamespaces("incr") { ns in
            let table = try ns[0].run { () throws -> KernelTable? in
                let connection = try NFTablesConnection()
                try connection.apply(first)
                try connection.apply(second, existingSets: [cidrs, ports])
                return try connection.listTable(table)
            }
            let kernel = try #require(table)
            #expect(
                Set(kernel.set(named: "cidrs")?.elements ?? [])
                    == [
                        SetElement(key: .prefix(.ipv4(192, 168, 0, 0), length: 16)),
                        SetElement(key: .prefix(.ipv4(172, 16, 0, 0), length: 12)),
                    ])
            #expect(kernel.set(named: "ports")?.elements.isEmpty == true)
            let listed = try ns[0].exec(["nft", "list", "set", "inet", "incr", "cidrs"])
            #expect(listed.contains("172.16.0.0/12"))
            #expect(!listed.contains("10.0.0.0/8"))
        }
    }
}

/// `nft -j list ruleset` without handles and version info, keys sorted: equal text means equal rulesets.
func normalizedRuleset(_ ns: TestNamespace) throws -> String {
    let json = try ns.exec(["nft", "-j", "list", "ruleset"])
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
    let cleaned = stripVolatile(object)
    let data = try JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys, .prettyPrinted])
    return String(decoding: data, as: UTF8.self)
}

private func stripVolatile(_ value: Any) -> Any {
    if let dict = value as? [String: Any] {
        var out: [String: Any] = [:]
        for (key, v) in dict where key != "handle" && key != "metainfo" {
            out[key] = stripVolatile(v)
        }
        return out
    }
    if let array = value as? [Any] {
        return array.map(stripVolatile).filter { !(($0 as? [String: Any])?.isEmpty ?? false) }
    }
    return value
}
