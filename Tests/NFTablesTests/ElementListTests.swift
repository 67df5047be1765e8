import NFTables
import Testing

/// Packed element lists hold exactly what was appended, and fall back to plain storage rather than lose anything.
struct ElementListTests {
    static let table = TableRef(family: .inet, name: "t")
    static let endpoints = NFTSet(
        table: table, name: "endpoints", key: TypeSpec([.ipv4Address, .inetProtocol, .inetService, .mark]),
        data: .value(TypeSpec([.ipv4Address, .inetService])))
    static let dispatch = NFTSet(
        table: table, name: "dispatch", key: TypeSpec([.ipv6Address, .inetProtocol, .inetService]), data: .verdict)
    static let hairpin = NFTSet(table: table, name: "hairpin", key: TypeSpec([.ipv4Address, .ipv4Address]))

    @Test func packedElementsReadBackAsAppended() {
        var list = ElementList(for: Self.endpoints)
        var expected: [SetElement] = []
        for i in 0..<50 {
            let key = [Value.ipv4(0x0A60_0000 + UInt32(i)), .tcp, .port(80), .mark(UInt32(i % 3))]
            let data = [Value.ipv4(0x0A64_0000 + UInt32(i)), .port(8080)]
            list.append(
                ElementList.Fields(key[0], key[1], key[2], key[3]), .values(ElementList.Fields(data[0], data[1])))
            expected.append(SetElement(key: ElementKey(key), data: .values(data)))
        }
        #expect(list.layout?.stride == 16 + 8)
        #expect(Array(list) == expected)
    }

    @Test func verdictsAreStoredOnceAndResolvedPerElement() {
        var list = ElementList(for: Self.dispatch)
        let a = Value.ipv6(groups: [0xfd00, 0, 0, 0, 0, 0, 0, 1])
        list.append(ElementList.Fields(a, .tcp, .port(80)), .verdict(.goto("pick6-2")))
        list.append(ElementList.Fields(a, .udp, .port(53)), .verdict(.goto("pick6-3")))
        list.append(ElementList.Fields(a, .tcp, .port(443)), .verdict(.goto("pick6-2")))
        #expect(
            list.map { $0.data } == [
                .verdict(.goto("pick6-2")), .verdict(.goto("pick6-3")), .verdict(.goto("pick6-2")),
            ])
        #expect(list.layout?.isVerdictMap == true)
    }

    @Test func anElementThatDoesNotFitSwitchesToPlainStorageKeepingEverything() {
        var list = ElementList(for: Self.hairpin)
        let ip = Value.ipv4(10, 0, 0, 1)
        list.append(SetElement(ip, ip))
        let odd = SetElement(key: ElementKey([ip, ip]), comment: "kept")
        list.append(odd)
        let wrong = SetElement(ip, .port(80))
        list.append(wrong)
        #expect(list.layout == nil)
        #expect(Array(list) == [SetElement(ip, ip), odd, wrong])
    }

    @Test func aTransactionStillNamesABadElementOfAPackedSet() {
        var tx = Transaction(existingSets: [Self.hairpin])
        let ip = Value.ipv4(10, 0, 0, 1)
        tx.addElements([SetElement(ip, ip), SetElement(ip, .port(80))], to: Self.hairpin.ref)
        #expect(
            tx.firstError?.object.hasPrefix("element 1 (10.0.0.1 . 80)") == true, "\(String(describing: tx.firstError))"
        )
    }

    @Test func deletionsCarryKeysOnly() {
        var tx = Transaction(existingSets: [Self.endpoints])
        let key = ElementKey([.ipv4(10, 96, 0, 1), .tcp, .port(80), .mark(0)])
        tx.deleteElements(
            [SetElement(key: key, data: .values([.ipv4(10, 0, 0, 2), .port(80)]))], from: Self.endpoints.ref)
        guard case .deleteElements(_, let list) = tx.operations.first else {
            Issue.record("no deletion")
            return
        }
        #expect(Array(list) == [SetElement(key: key)])
        #expect(list.layout != nil)
    }
}
