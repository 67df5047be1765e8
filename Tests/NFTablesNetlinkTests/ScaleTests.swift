import NFTables
import NFTablesNetlink
import SluiceTestSupport
import Testing

/// Large initial loads: one logical change of 200,000 elements applies atomically and reads back complete.
@Suite(.requiresRoot)
struct ScaleTests {
    @Test func twoHundredThousandMapElementsInOneTransaction() throws {
        let table = TableRef(family: .inet, name: "scale")
        let map = NFTSet(
            table: table, name: "service-ips", key: TypeSpec([.ipv4Address, .inetProtocol, .inetService]),
            data: .verdict)
        var tx = Transaction()
        tx.add(Table(family: .inet, name: table.name))
        tx.add(Chain(table: table, name: "svc"))
        tx.add(map)
        let count = 200_000
        let elements = (0..<count).map { i -> SetElement in
            let address = Value.ipv4(0x0A00_0000 | UInt32(i / 4))
            let proto: Value = i % 2 == 0 ? .tcp : .udp
            let verdict: Verdict = i % 3 == 0 ? .goto("svc") : .accept
            return SetElement(address, proto, .port(UInt16(80 + i % 4)), data: .verdict(verdict))
        }
        tx.addElements(elements, to: map.ref)
        #expect(tx.firstError == nil)

        let batch = tx
        try withTestNamespaces("scale") { ns in
            let (report, kernel) = try ns[0].run { () throws -> (NFTablesConnection.ApplyReport, KernelTable?) in
                let connection = try NFTablesConnection()
                let report = try connection.apply(batch)
                return (report, try connection.listTable(table))
            }
            // Chunked into many messages (each nested element list must stay under 64 KiB), one batch.
            #expect(report.messages > 100)
            let read = try #require(kernel?.set(named: "service-ips"))
            #expect(read.elements.count == count)
            let complete = Set(read.elements) == Set(elements)
            #expect(complete, "every element reads back with its verdict")
            let listed = try ns[0].exec(["nft", "list", "map", "inet", "scale", "service-ips"])
            #expect(listed.contains("10.0.195.79 . udp . 83 : accept"))
        }
    }
}
