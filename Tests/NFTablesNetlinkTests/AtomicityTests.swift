import Glibc
import NFTables
import NFTablesNetlink
import SluiceTestSupport
import Testing

/// A batch is all or nothing, and a refusal names the object that caused it.
@Suite(.requiresRoot)
struct AtomicityTests {
    let table = TableRef(family: .inet, name: "atomic")
    var ports: NFTSet { NFTSet(table: table, name: "ports", key: TypeSpec(.inetService)) }

    func baseline() -> Transaction {
        var tx = Transaction()
        tx.add(Table(family: .inet, name: table.name))
        tx.add(ports)
        tx.addElements([SetElement(.port(80)), SetElement(.port(443))], to: ports.ref)
        return tx
    }

    @Test func invalidObjectInTheMiddleChangesNothingAndIsNamed() throws {
        var broken = Transaction(existingSets: [ports])
        broken.add(Chain(table: table, name: "first"))
        broken.addElements([SetElement(.port(8080))], to: ports.ref)
        broken.add(Rule(chain: ChainRef(table: table, name: "first"), [.verdict(.jump("missing"))]))
        broken.add(Chain(table: table, name: "last"))
        #expect(broken.firstError == nil, "the kernel, not validation, must refuse this one")

        let (setup, change, ports, table) = (baseline(), broken, ports, table)
        try withTestNamespaces("atomic") { ns in
            let (error, after) = try ns[0].run { () throws -> (NetlinkError?, KernelTable?) in
                let connection = try NFTablesConnection()
                try connection.apply(setup)
                var caught: NetlinkError?
                do throws(NetlinkError) {
                    try connection.apply(change, existingSets: [ports])
                } catch {
                    caught = error
                }
                return (caught, try connection.listTable(table))
            }
            guard case .rejected(let object, let code, _) = try #require(error) else {
                Issue.record("expected a kernel rejection, got \(String(describing: error))")
                return
            }
            #expect(object.contains("rule in chain inet atomic first"))
            #expect(object.contains("jump missing"))
            #expect(code == ENOENT)
            let kernel = try #require(after)
            #expect(kernel.chains.isEmpty, "no chain of the failed batch may exist")
            #expect(Set(kernel.set(named: "ports")?.elements ?? []) == [SetElement(.port(80)), SetElement(.port(443))])
        }
    }

    @Test func refusedElementIsNamedByIndexAndKey() throws {
        let services = NFTSet(table: table, name: "services", key: TypeSpec(.inetService), data: .verdict)
        var tx = Transaction()
        tx.add(Table(family: .inet, name: table.name))
        tx.add(Chain(table: table, name: "target"))
        tx.add(services)
        let elements = (0..<10).map { i in
            SetElement(.port(UInt16(1000 + i)), data: .verdict(.goto(i == 6 ? "nowhere" : "target")))
        }
        tx.addElements(elements, to: services.ref)
        let (batch, table) = (tx, table)
        try withTestNamespaces("elem") { ns in
            let (error, after) = try ns[0].run { () throws -> (NetlinkError?, KernelTable?) in
                let connection = try NFTablesConnection()
                var caught: NetlinkError?
                do throws(NetlinkError) { try connection.apply(batch) } catch { caught = error }
                return (caught, try connection.listTable(table))
            }
            let description = try #require(error).description
            #expect(description.contains("element 6 (1006)"), "\(description)")
            #expect(description.contains("map inet atomic services"))
            #expect(after == nil, "the table of the failed batch must not exist")
        }
    }

    @Test func invalidTransactionIsNeverSent() throws {
        var tx = baseline()
        tx.addElements([SetElement(.ipv4(10, 0, 0, 1))], to: ports.ref)
        let error = try #require(tx.firstError)
        #expect(error.object == "element 0 (10.0.0.1) of set inet atomic ports")
        #expect(error.problem == "key is ipv4_addr, the set's is inet_service")

        let (batch, table) = (tx, table)
        try withTestNamespaces("invalid") { ns in
            let (caught, after) = try ns[0].run { () throws -> (NetlinkError?, KernelTable?) in
                let connection = try NFTablesConnection()
                var caught: NetlinkError?
                do throws(NetlinkError) { try connection.apply(batch) } catch { caught = error }
                return (caught, try connection.listTable(table))
            }
            guard case .invalid(let text) = caught else {
                Issue.record("expected .invalid, got \(String(describing: caught))")
                return
            }
            #expect(text.contains("element 0 (10.0.0.1) of set inet atomic ports"))
            #expect(after == nil)
        }
    }
}
