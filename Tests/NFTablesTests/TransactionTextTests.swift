import NFTables
import Testing

/// A transaction prints as the nft script a person would write (golden text).
struct TransactionTextTests {
    let table = TableRef(family: .inet, name: "sluice")

    @Test func rendersEveryKindOfOperation() {
        let services = NFTSet(
            table: table, name: "service-ips", key: TypeSpec([.ipv4Address, .inetProtocol, .inetService]),
            data: .verdict, comment: "ClusterIPs")
        let cidrs = NFTSet(table: table, name: "cidrs", key: TypeSpec(.ipv6Address), flags: .interval)
        let affinity = NFTSet(
            table: table, name: "affinity", key: TypeSpec(.ipv4Address), flags: .dynamic, timeout: .milliseconds(1500),
            size: 1024)
        var tx = Transaction()
        tx.add(Table(family: .inet, name: "sluice", comment: "owned by sluice"))
        tx.add(
            Chain(table: table, name: "pre", base: BaseChain(type: .nat, hook: .prerouting, priority: -100)))
        tx.add(Chain(table: table, name: "svc"))
        tx.add(services)
        tx.add(cidrs)
        tx.add(affinity)
        tx.add(
            Rule(
                chain: ChainRef(table: table, name: "pre"),
                [
                    .verdictMap(
                        .concat([.payload(.ipDestination), .meta(.l4proto), .payload(.transportDestinationPort)]),
                        map: "service-ips")
                ], comment: "dispatch"))
        tx.add(
            Rule(
                chain: ChainRef(table: table, name: "svc"),
                [
                    .compare(.meta(.l4proto), .equal, .udp),
                    .dnat(.ip, to: .concat([.constant(.ipv4(10, 244, 0, 5)), .constant(.port(5353))])),
                ]))
        tx.add(
            Rule(
                chain: ChainRef(table: table, name: "svc"),
                [.setUpdate(.add, set: "affinity", key: .payload(.ipSource)), .verdict(.jump("pre"))]))
        tx.addElements(
            [
                SetElement(.ipv4(10, 96, 0, 1), .tcp, .port(443), data: .verdict(.goto("svc"))),
                SetElement(
                    key: ElementKey([.ipv4(10, 96, 0, 2), .sctp, .port(9)]), data: .verdict(.drop),
                    comment: "sctp"),
            ], to: services.ref)
        tx.addElements(
            [SetElement(key: .prefix(.ipv6(groups: [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), length: 32))], to: cidrs.ref)
        tx.addElements([SetElement(key: ElementKey(.ipv4(192, 0, 2, 1)), timeout: .seconds(30))], to: affinity.ref)
        tx.deleteElements([SetElement(.ipv4(10, 96, 0, 1), .tcp, .port(443))], from: services.ref)
        tx.flush(ChainRef(table: table, name: "svc"))
        tx.delete(ChainRef(table: table, name: "svc"))
        tx.delete(table)

        #expect(tx.firstError == nil)
        #expect(
            tx.description == """
                add table inet sluice { comment "owned by sluice"; }
                add chain inet sluice pre { type nat hook prerouting priority -100; policy accept; }
                add chain inet sluice svc
                add map inet sluice service-ips { type ipv4_addr . inet_proto . inet_service : verdict; comment "ClusterIPs"; }
                add set inet sluice cidrs { type ipv6_addr; flags interval; }
                add set inet sluice affinity { type ipv4_addr; flags timeout,dynamic; timeout 1500ms; size 1024; }
                add rule inet sluice pre ip daddr . meta l4proto . th dport vmap @service-ips comment "dispatch"
                add rule inet sluice svc meta l4proto == udp dnat ip to 10.244.0.5:5353
                add rule inet sluice svc add @affinity { ip saddr } jump pre
                add element inet sluice service-ips { 10.96.0.1 . tcp . 443 : goto svc, 10.96.0.2 . sctp . 9 comment "sctp" : drop }
                add element inet sluice cidrs { 2001:db8::/32 }
                add element inet sluice affinity { 192.0.2.1 timeout 30s }
                delete element inet sluice service-ips { 10.96.0.1 . tcp . 443 }
                flush chain inet sluice svc
                delete chain inet sluice svc
                delete table inet sluice

                """)
        #expect(tx.elementCount == 5)
    }

    @Test func rangesPrintAsPrefixesWhenTheyAreOne() {
        #expect(ElementKey.prefix(.ipv4(10, 1, 2, 3), length: 8).description == "10.0.0.0/8")
        #expect(ElementKey(ranges: [(.ipv4(10, 0, 0, 1), .ipv4(10, 0, 0, 9))]).description == "10.0.0.1-10.0.0.9")
        #expect(ElementKey(ranges: [(.port(8000), .port(8999))]).description == "8000-8999")
        #expect(
            ElementKey(ranges: [(.ipv4(10, 0, 0, 0), .ipv4(10, 0, 0, 255)), (.port(80), .port(80))]).description
                == "10.0.0.0/24 . 80")
    }

    @Test func commentsCannotBreakOutOfTheirQuotes() {
        var tx = Transaction()
        tx.add(Table(family: .ip, name: "t", comment: #"say "hi""#))
        #expect(tx.description == "add table ip t { comment \"say 'hi'\"; }\n")
    }
}

/// Values print the way nft prints them and convert between byte orders exactly.
struct ValueTests {
    @Test(
        arguments: [
            ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], "2001:db8::1"),
            ([0, 0, 0, 0, 0, 0, 0, 0], "::"),
            ([0, 0, 0, 0, 0, 0, 0, 1], "::1"),
            ([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], "2001:db8:0:1::1"),
            ([0x2001, 0, 0, 1, 0, 0, 0, 1], "2001:0:0:1::1"),
            ([0x2001, 0xdb8, 1, 1, 1, 1, 1, 1], "2001:db8:1:1:1:1:1:1"),
            ([0xfe80, 0, 0, 0, 0xabcd, 0, 0, 0], "fe80::abcd:0:0:0"),
        ] as [([UInt16], String)])
    func ipv6Text(groups: [UInt16], text: String) {
        #expect(Value.ipv6(groups: groups).description == text)
    }

    @Test func integersAndFlags() {
        #expect(Value.port(8080).bytes == [0x1f, 0x90])
        #expect(Value.port(8080).integerValue == 8080)
        #expect(Value.mark(0x4000).description == "0x00004000")
        #expect(Value.mark(0x4000).networkOrderBytes == [0, 0, 0x40, 0])
        #expect(Value.fromNetworkOrder(type: .mark, bytes: [0, 0, 0x40, 0]) == .mark(0x4000))
        #expect(Value.ctState([.established, .related]).description == "established,related")
        #expect(Value.inetProtocol(47).description == "47")
        #expect(Value.interfaceName("eth0").bytes.count == 16)
    }

    @Test func successorAndPredecessorCarry() {
        #expect(Value.ipv4(10, 0, 0, 255).successor() == .ipv4(10, 0, 1, 0))
        #expect(Value.ipv4(255, 255, 255, 255).successor() == nil)
        #expect(Value.ipv4(10, 0, 1, 0).predecessor() == .ipv4(10, 0, 0, 255))
        #expect(Value.ipv4(0, 0, 0, 0).predecessor() == nil)
        #expect(Value.mark(0x1ff).successor() == .mark(0x200))
    }

    @Test func prefixRange() {
        let (first, last) = Value.ipv4(192, 168, 77, 9).prefixRange(length: 20)
        #expect(first == .ipv4(192, 168, 64, 0))
        #expect(last == .ipv4(192, 168, 79, 255))
    }
}
