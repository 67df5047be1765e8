import Testing

@testable import ConntrackNetlink

/// Which flows a filter selects, without a kernel: every set field must match, unset fields match anything.
struct ConntrackFilterTests {
    let dnatFlow = ConntrackEntry(
        family: .ipv4, l4proto: 17,
        original: ConntrackTuple(
            source: [198, 18, 0, 1], destination: [198, 18, 100, 1], sourcePort: 40000, destinationPort: 53),
        reply: ConntrackTuple(
            source: [198, 18, 0, 2], destination: [198, 18, 0, 1], sourcePort: 5353, destinationPort: 40000),
        status: [.confirmed, .destinationNAT])

    @Test func unsetFieldsMatchAnything() {
        #expect(ConntrackFilter(family: .ipv4).matches(dnatFlow))
        #expect(!ConntrackFilter(family: .ipv6).matches(dnatFlow), "families are never mixed")
    }

    @Test func everySetFieldMustMatch() {
        let service = ConntrackFilter(
            family: .ipv4, l4proto: 17, originalDestination: [198, 18, 100, 1], originalDestinationPort: 53)
        #expect(service.matches(dnatFlow))
        var otherPort = service
        otherPort.originalDestinationPort = 54
        #expect(!otherPort.matches(dnatFlow))
        var tcp = service
        tcp.l4proto = 6
        #expect(!tcp.matches(dnatFlow))

        let endpoint = ConntrackFilter(family: .ipv4, replySource: [198, 18, 0, 2], replySourcePort: 5353)
        #expect(endpoint.matches(dnatFlow))
        #expect(!ConntrackFilter(family: .ipv4, replySource: [198, 18, 0, 3]).matches(dnatFlow))
        #expect(
            !ConntrackFilter(family: .ipv4, originalDestination: [198, 18, 0, 2]).matches(dnatFlow),
            "the original destination is the Service IP, not the endpoint")
    }

    @Test func portFiltersNeverMatchFlowsWithoutPorts() {
        let ping = ConntrackEntry(
            family: .ipv4, l4proto: 1,
            original: ConntrackTuple(source: [198, 18, 0, 1], destination: [198, 18, 0, 2]),
            reply: ConntrackTuple(source: [198, 18, 0, 2], destination: [198, 18, 0, 1]))
        #expect(!ConntrackFilter(family: .ipv4, originalDestinationPort: 0).matches(ping))
        #expect(ConntrackFilter(family: .ipv4, originalDestination: [198, 18, 0, 2]).matches(ping))
    }

    @Test func addressesOfTheWrongLengthAreRefused() {
        #expect(throws: ConntrackError.self) {
            try ConntrackFilter(family: .ipv6, originalDestination: [198, 18, 100, 1]).validate()
        }
        #expect(throws: ConntrackError.self) {
            try ConntrackFilter(family: .ipv4, replySource: [UInt8](repeating: 0, count: 16)).validate()
        }
        #expect(throws: Never.self) {
            try ConntrackFilter(family: .ipv4, originalDestination: [198, 18, 100, 1]).validate()
        }
    }

    @Test func descriptionsReadLikeConntrackList() {
        #expect(
            dnatFlow.description
                == "udp 198.18.0.1:40000 -> 198.18.100.1:53 reply 198.18.0.2:5353 -> 198.18.0.1:40000 mark 0 "
                + "[CONFIRMED,DST_NAT]")
        let v6 = ConntrackTuple(
            source: [0xfd, 0, 0, 0x18] + [UInt8](repeating: 0, count: 11) + [1],
            destination: [0xfd, 0, 0, 0x18] + [UInt8](repeating: 0, count: 11) + [2], sourcePort: 1,
            destinationPort: 2)
        #expect(v6.description == "[fd00:18::1]:1 -> [fd00:18::2]:2")
        #expect(
            ConntrackError.rejected(operation: "delete conntrack flow x", errno: 1).description
                == "kernel refused to delete conntrack flow x: Operation not permitted (errno 1)")
    }
}
