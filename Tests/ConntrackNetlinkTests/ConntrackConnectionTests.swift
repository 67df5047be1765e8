import SluiceTestSupport
import Testing

@testable import ConntrackNetlink

/// The protocol kube-proxy cleans up after: UDP has no teardown, so its flows outlive their endpoints.
private let udp: UInt8 = 17

/// Listing and deleting real flows in a test namespace, checked against the real `conntrack` CLI: the three
/// cleanups kube-proxy runs for UDP Services (by Service IP and port, by removed endpoint, by NodePort).
@Suite(.requiresRoot)
struct ConntrackConnectionTests {
    @Test func listReportsTheFlowsConntrackCLIShows() throws {
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.endpointA, port: 5000, from: [40001])
            try lab.sendUDP(to: FlowLab.endpointA, port: 5001, from: [40002])
            try lab.sendUDP(to: FlowLab.serviceA, port: 53, from: [40003])
            try lab.ping(FlowLab.endpointA)

            let all = try lab.withConnection { try $0.list(ConntrackFilter(family: .ipv4)) }
            #expect(Set(all.map(FlowKey.init)) == (try lab.conntrackCLI("-f", "ipv4")))
            #expect(all.count == 4, "\(all)")
            #expect(Set(all.map(\.l4proto)) == [1, udp])

            let dnat = try #require(all.first { $0.original.sourcePort == 40003 })
            #expect(dnat.original == tuple(FlowLab.clientIPv4, 40003, to: FlowLab.serviceA, 53))
            #expect(dnat.reply == tuple(FlowLab.endpointA, 5353, to: FlowLab.clientIPv4, 40003))
            #expect(dnat.status.isSuperset(of: [.confirmed, .destinationNAT]))
            #expect(!dnat.status.contains(.seenReply), "nothing answers on the endpoint")
            #expect(dnat.family == .ipv4 && dnat.mark == 0 && dnat.zone == 0)

            let icmp = try #require(all.first { $0.l4proto == 1 })
            #expect(icmp.original.sourcePort == nil && icmp.original.destinationPort == nil)
            #expect(icmp.status.contains(.seenReply), "the endpoint answers pings")
        }
    }

    @Test func deleteByServiceIPAndPortRemovesOnlyThatServicesFlows() throws {
        let serviceA = ip(FlowLab.serviceA)
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.serviceA, port: 53, from: [40001, 40002])
            try lab.sendUDP(to: FlowLab.serviceB, port: 53, from: [40003])
            try lab.sendUDP(to: FlowLab.endpointA, port: 5353, from: [40004])

            let (deleted, left) = try lab.withConnection { connection in
                let deleted = try connection.delete(
                    ConntrackFilter(
                        family: .ipv4, l4proto: udp, originalDestination: serviceA,
                        originalDestinationPort: 53))
                return (deleted, try connection.list(ConntrackFilter(family: .ipv4, l4proto: udp)))
            }
            #expect(deleted == 2)
            #expect(Set(left.compactMap(\.original.sourcePort)) == [40003, 40004])
            #expect(Set(left.map(FlowKey.init)) == (try lab.conntrackCLI("-f", "ipv4", "-p", "udp")))
            #expect(try lab.conntrackCLI("-p", "udp", "--orig-dst", FlowLab.serviceA).isEmpty)
        }
    }

    @Test func deleteByEndpointMatchesTheReplySource() throws {
        let (endpointA, endpointB) = (ip(FlowLab.endpointA), ip(FlowLab.endpointB))
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.serviceA, port: 53, from: [40001, 40002])
            try lab.sendUDP(to: FlowLab.serviceB, port: 53, from: [40003])
            try lab.sendUDP(to: FlowLab.endpointA, port: 5000, from: [40004])

            let (toB, toAPort5353, left) = try lab.withConnection { connection in
                let toB = try connection.delete(ConntrackFilter(family: .ipv4, l4proto: udp, replySource: endpointB))
                let toA = try connection.delete(
                    ConntrackFilter(family: .ipv4, l4proto: udp, replySource: endpointA, replySourcePort: 5353))
                return (toB, toA, try connection.list(ConntrackFilter(family: .ipv4, l4proto: udp)))
            }
            #expect(toB == 1)
            #expect(toAPort5353 == 2, "only the flows DNATed to endpoint A's port 5353")
            #expect(left.map(\.original.sourcePort) == [40004])
            #expect(try lab.conntrackCLI("-p", "udp", "--dst-nat", FlowLab.endpointA).isEmpty)
            #expect(try lab.conntrackCLI("-f", "ipv4", "-p", "udp").count == 1)
        }
    }

    @Test func deleteByNodePortMatchesEveryDestinationAddress() throws {
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.endpointA, port: 30080, from: [40001])
            try lab.sendUDP(to: FlowLab.endpointB, port: 30080, from: [40002])
            try lab.sendUDP(to: FlowLab.endpointA, port: 5000, from: [40003])

            let deleted = try lab.withConnection {
                try $0.delete(ConntrackFilter(family: .ipv4, l4proto: udp, originalDestinationPort: 30080))
            }
            #expect(deleted == 2)
            let left = try lab.conntrackCLI("-f", "ipv4", "-p", "udp")
            #expect(left.map(\.original.destinationPort) == [5000])
        }
    }

    @Test func protocolFilterLeavesOtherProtocolsAndNoProtocolMeansAll() throws {
        let endpointA = ip(FlowLab.endpointA)
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.endpointA, port: 5000, from: [40001])
            try lab.ping(FlowLab.endpointA)

            let (udpOnly, rest, left) = try lab.withConnection { connection in
                let udpOnly = try connection.delete(
                    ConntrackFilter(family: .ipv4, l4proto: udp, originalDestination: endpointA))
                let rest = try connection.delete(ConntrackFilter(family: .ipv4, originalDestination: endpointA))
                return (udpOnly, rest, try connection.list(ConntrackFilter(family: .ipv4)))
            }
            #expect(udpOnly == 1)
            #expect(rest == 1, "the ping's ICMP flow, deleted by echoing its tuple (id, type, code)")
            #expect(left.isEmpty)
            #expect(try lab.conntrackCLI("-f", "ipv4").isEmpty)
        }
    }

    @Test func flowsThatVanishBeforeTheirDeleteAreNotErrors() throws {
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.endpointA, port: 5000, from: [40001, 40002])
            let filter = ConntrackFilter(family: .ipv4, l4proto: udp, originalDestinationPort: 5000)
            let (matched, first, second) = try lab.withConnection { connection in
                let matched = try connection.flows(matching: filter)
                // Someone else (here the CLI) deletes one of them between our dump and our delete.
                try lab.client.exec(["conntrack", "-D", "-p", "udp", "--sport", "40001"])
                return (matched.count, try connection.delete(matched), try connection.delete(matched))
            }
            #expect(matched == 2)
            #expect(first == 1, "only the flow still there counts as deleted")
            #expect(second == 0, "deleting flows that are all gone is not an error")
        }
    }

    @Test func ipv6FlowsAreListedAndDeletedApartFromIPv4() throws {
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.endpointIPv6, port: 5000, from: [40001, 40002])
            try lab.sendUDP(to: FlowLab.endpointA, port: 5000, from: [40003])

            let (listed, deleted, ipv4Left) = try lab.withConnection { connection in
                let listed = try connection.list(ConntrackFilter(family: .ipv6, l4proto: udp))
                let deleted = try connection.delete(
                    ConntrackFilter(family: .ipv6, l4proto: udp, originalDestinationPort: 5000))
                return (listed, deleted, try connection.list(ConntrackFilter(family: .ipv4, l4proto: udp)))
            }
            #expect(listed.count == 2)
            #expect(listed.allSatisfy { $0.family == .ipv6 && $0.original.destination == ip(FlowLab.endpointIPv6) })
            #expect(deleted == 2)
            #expect(ipv4Left.map(\.original.sourcePort) == [40003])
            #expect(try lab.conntrackCLI("-f", "ipv6", "-p", "udp").isEmpty)
        }
    }

    @Test func ipv6ListMatchesConntrackCLI() throws {
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.endpointIPv6, port: 5000, from: [40001, 40002])
            let listed = try lab.withConnection { try $0.list(ConntrackFilter(family: .ipv6, l4proto: udp)) }
            #expect(Set(listed.map(FlowKey.init)) == (try lab.conntrackCLI("-f", "ipv6", "-p", "udp")))
        }
    }

    @Test func thousandsOfFlowsAreDeletedInBatchesAndCounted() throws {
        let count = 3000
        try FlowLab.with { lab in
            try lab.sendUDP(to: FlowLab.endpointA, port: 6000, from: (0..<count).map { UInt16(20000 + $0) })
            let filter = ConntrackFilter(family: .ipv4, l4proto: udp, originalDestinationPort: 6000)
            let (listed, deleted, left) = try lab.withConnection { connection in
                let listed = try connection.list(filter).count
                return (listed, try connection.delete(filter), try connection.list(filter).count)
            }
            #expect(listed == count)
            #expect(deleted == count)
            #expect(left == 0)
            #expect(try lab.conntrackCLI("-f", "ipv4", "-p", "udp").isEmpty)
        }
    }
}
