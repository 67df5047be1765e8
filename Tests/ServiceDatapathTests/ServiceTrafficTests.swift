import ConntrackNetlink
import Foundation
import KubeAPI
import NFTables
import NFTablesNetlink
import ServiceProxy
import SluiceAgent
import SluiceTestSupport
import Testing

/// Real connections through the Service datapath: pods, a client pod and an external host in namespaces.
@Suite(.requiresRoot)
struct ServiceTrafficTests {
    @Test func clusterIPSpreadsTCPAndUDPOverReadyEndpointsOnly() async throws {
        try await ServiceLab.run(pods: ["web-1", "web-2", "web-3", "web-4", "client"]) { lab in
            let udp = ServicePort(name: "dns", protocol: .udp, port: 53, targetPort: .int(8080))
            try await lab.sync(
                [ServiceLab.service("web", ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080)), udp])],
                [
                    lab.slice("web", ["web-1", "web-2", "web-3", "web-4"], notReady: ["web-4"]),
                    lab.slice(
                        "web", ["web-1", "web-2", "web-3", "web-4"], notReady: ["web-4"], portName: "dns",
                        protocol: .udp),
                ])
            let tcp = tally(300) { _ in tcpRequest(from: lab.client, to: "10.96.0.10", port: 80) }
            #expect(tcp.servers == ["web-1", "web-2", "web-3"], "\(tcp)")
            let services = [
                ServiceLab.service("web", ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080)), udp])
            ]
            let slices = [lab.slice("web", ["web-1", "web-2", "web-3", "web-4"], notReady: ["web-4"])]
            let traced = lab.trace(services, slices, from: lab.pod("client").ipv4, to: "10.96.0.10", port: 80)
            #expect(lab.podNames(traced) == tcp.servers, "sluice trace agrees with the kernel")
            #expect(traced.endpoints.allSatisfy { abs($0.probability - 1.0 / 3) < 0.001 })
            #expect(traced.service == "default/web")
            #expect(tcp.values.allSatisfy { $0 > 50 }, "\(tcp)")
            let udpTally = tally(150) { _ in udpRequest(from: lab.client, to: "10.96.0.10", port: 53) }
            #expect(udpTally.servers == ["web-1", "web-2", "web-3"], "\(udpTally)")
        }
    }

    @Test func ipv6ClusterIP() async throws {
        try await ServiceLab.run(pods: ["web-1", "web-2", "client"]) { lab in
            try await lab.sync(
                [ServiceLab.service("web6", clusterIPs: ["fd00:10:96::a"])],
                [lab.slice("web6", ["web-1", "web-2"], family: .ipv6)])
            let replies = tally(60) { _ in tcpRequest(from: lab.client, to: "fd00:10:96::a", port: 80) }
            #expect(replies.servers == ["web-1", "web-2"], "\(replies)")
            let traced = lab.trace(
                [ServiceLab.service("web6", clusterIPs: ["fd00:10:96::a"])],
                [lab.slice("web6", ["web-1", "web-2"], family: .ipv6)],
                from: lab.pod("client").ipv6, to: "fd00:10:96::a", port: 80)
            #expect(lab.podNames(traced) == replies.servers, "\(traced.endpoints)")
        }
    }

    @Test func nodePortAndLoadBalancerFromOutsideWithBothTrafficPolicies() async throws {
        try await ServiceLab.run(pods: ["web-1", "client"]) { lab in
            let external = try #require(lab.topology.external)
            let port = ServicePort(name: "http", port: 80, targetPort: .int(8080), nodePort: 30080)
            func lb(_ policy: TrafficPolicy, ranges: [String] = []) -> Service {
                ServiceLab.service("lb", type: .loadBalancer, ports: [port]) {
                    $0.spec.externalTrafficPolicy = policy
                    $0.spec.loadBalancerSourceRanges = ranges
                    $0.status.loadBalancer.ingress = [LoadBalancerIngress(ip: "10.100.0.10")]
                }
            }
            let slices = [lab.slice("lb", ["web-1"])]
            try await lab.sync([lb(.cluster)], slices)
            let viaNodePort = tcpRequest(from: external.namespace, to: external.nodeIPv4, port: 30080)
            #expect(viaNodePort.serverName == "web-1", "\(viaNodePort)")
            #expect(viaNodePort.peerAddress != external.ipv4, "Cluster policy masquerades: \(viaNodePort)")
            let viaLB = tcpRequest(from: external.namespace, to: "10.100.0.10", port: 80)
            #expect(viaLB.serverName == "web-1", "\(viaLB)")
            #expect(viaLB.peerAddress != external.ipv4, "\(viaLB)")
            let clusterTrace = lab.trace(
                [lb(.cluster)], slices, from: external.ipv4, to: external.nodeIPv4, port: 30080)
            #expect(clusterTrace.endpoints.map(\.masquerade) == [true], "\(clusterTrace)")
            #expect(clusterTrace.frontend == "NodePort")

            try await lab.sync([lb(.local)], slices)
            let local = tcpRequest(from: external.namespace, to: external.nodeIPv4, port: 30080)
            #expect(local.peerAddress == external.ipv4, "Local policy keeps the client address: \(local)")
            let localLB = tcpRequest(from: external.namespace, to: "10.100.0.10", port: 80)
            #expect(localLB.peerAddress == external.ipv4, "\(localLB)")
            let localTrace = lab.trace([lb(.local)], slices, from: external.ipv4, to: "10.100.0.10", port: 80)
            #expect(localTrace.endpoints.map(\.masquerade) == [false], "\(localTrace)")
            #expect(lab.podNames(localTrace) == ["web-1"])

            try await lab.sync([lb(.local, ranges: ["192.0.2.0/24"])], slices)
            let blocked = tcpRequest(from: external.namespace, to: "10.100.0.10", port: 80, timeout: .milliseconds(700))
            #expect(blocked == .timedOut, "outside loadBalancerSourceRanges: \(blocked)")
            let blockedTrace = lab.trace(
                [lb(.local, ranges: ["192.0.2.0/24"])], slices, from: external.ipv4, to: "10.100.0.10", port: 80)
            #expect(blockedTrace.verdict == "drop", "\(blockedTrace.reason)")
            try await lab.sync([lb(.local, ranges: ["198.18.0.0/15"])], slices)
            #expect(tcpRequest(from: external.namespace, to: "10.100.0.10", port: 80).serverName == "web-1")
        }
    }

    @Test func inClusterClientsOfALocalServiceUseClusterEndpoints() async throws {
        try await ServiceLab.run(pods: ["web-1", "client"]) { lab in
            let external = try #require(lab.topology.external)
            let service = ServiceLab.service(
                "lb", type: .loadBalancer,
                ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080), nodePort: 30080)]
            ) {
                $0.spec.externalTrafficPolicy = .local
                $0.status.loadBalancer.ingress = [LoadBalancerIngress(ip: "10.100.0.10")]
            }
            // The only endpoint runs on another node: nothing local for external clients.
            let slices = [lab.slice("lb", ["web-1"], node: "node-b")]
            try await lab.sync([service], slices)
            let fromOutside = tcpRequest(
                from: external.namespace, to: "10.100.0.10", port: 80, timeout: .milliseconds(700))
            #expect(fromOutside == .timedOut, "no local endpoint for external traffic: \(fromOutside)")

            // A pod reaches it anyway, through the cluster endpoints, with its own address.
            let client = lab.pod("client").ipv4
            let viaLB = tcpRequest(from: lab.client, to: "10.100.0.10", port: 80)
            #expect(viaLB.serverName == "web-1", "\(viaLB)")
            #expect(viaLB.peerAddress == client, "pods are not masqueraded: \(viaLB)")
            let viaNodePort = tcpRequest(from: lab.client, to: lab.topology.gatewayIPv4, port: 30080)
            #expect(viaNodePort.serverName == "web-1", "\(viaNodePort)")
            let traced = lab.trace([service], slices, from: client, to: "10.100.0.10", port: 80)
            #expect(lab.podNames(traced) == ["web-1"], "\(traced)")
            #expect(traced.endpoints.map(\.masquerade) == [false])

            // The node itself too (masqueraded). Like a real node, it needs a route towards the LoadBalancer IP
            // (its default route): the output hook routes before NAT.
            _ = try runProcess([
                "ip", "-n", lab.topology.node.name, "route", "add", "10.100.0.0/24", "via", external.ipv4,
            ])
            let fromNode = tcpRequest(from: lab.topology.node, to: "10.100.0.10", port: 80)
            #expect(fromNode.serverName == "web-1", "\(fromNode)")
        }
    }

    @Test func sessionAffinityKeepsAClientOnOneEndpointUntilTimeout() async throws {
        try await ServiceLab.run(pods: ["web-1", "web-2", "web-3", "client"]) { lab in
            let sticky = ServiceLab.service("sticky") {
                $0.spec.sessionAffinity = .clientIP
                $0.spec.sessionAffinityConfig = SessionAffinityConfig(clientIP: ClientIPConfig(timeoutSeconds: 2))
            }
            try await lab.sync([sticky], [lab.slice("sticky", ["web-1", "web-2", "web-3"])])
            let replies = tally(40) { _ in tcpRequest(from: lab.client, to: "10.96.0.10", port: 80) }
            #expect(replies.servers.count == 1, "\(replies)")
            let remembered = try lab.kernelTable()?.set(named: "affinity4")?.elements ?? []
            #expect(remembered.count == 1)
            #expect(remembered.first?.key.firsts.first == Value.ipv4(10, 244, 1, UInt8(5)))

            // The remembered endpoint leaves: its entry is purged and the client sticks to a live one.
            let first = try #require(replies.servers.first)
            let remaining = ["web-1", "web-2", "web-3"].filter { $0 != first }
            let report = try await lab.sync([sticky], [lab.slice("sticky", remaining)])
            #expect(report.affinityEntriesPurged == 1)
            let moved = tally(20) { _ in tcpRequest(from: lab.client, to: "10.96.0.10", port: 80) }
            #expect(moved.servers.count == 1 && !moved.servers.contains(first), "\(moved)")

            try await Task.sleep(for: .milliseconds(2600))
            #expect(try lab.kernelTable()?.set(named: "affinity4")?.elements.isEmpty == true, "entry expired")
        }
    }

    @Test func nodePortAffinityDoesNotCaptureAClusterIPOnTheSamePortNumber() async throws {
        try await ServiceLab.run(pods: ["web-1", "web-2", "web-3", "client"]) { lab in
            // A ClusterIP Service listening on 30080, and another Service whose NodePort is 30080 with affinity.
            let plain = ServiceLab.service(
                "plain", ports: [ServicePort(name: "http", port: 30080, targetPort: .int(8080))])
            let sticky = ServiceLab.service(
                "sticky", clusterIPs: ["10.96.0.11"], type: .nodePort,
                ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080), nodePort: 30080)]
            ) {
                $0.spec.sessionAffinity = .clientIP
                $0.spec.sessionAffinityConfig = SessionAffinityConfig(clientIP: ClientIPConfig(timeoutSeconds: 60))
            }
            try await lab.sync(
                [plain, sticky],
                [lab.slice("plain", ["web-1", "web-2", "web-3"]), lab.slice("sticky", ["web-1", "web-2", "web-3"])])
            let replies = tally(40) { _ in tcpRequest(from: lab.client, to: "10.96.0.10", port: 30080) }
            #expect(replies.servers.count > 1, "the ClusterIP without affinity is load-balanced: \(replies)")
            #expect(try lab.kernelTable()?.set(named: "affinity4")?.elements.isEmpty == true)
            // The NodePort itself still sticks.
            let external = try #require(lab.topology.external)
            let viaNodePort = tally(20) { _ in tcpRequest(from: external.namespace, to: external.nodeIPv4, port: 30080)
            }
            #expect(viaNodePort.servers.count == 1, "\(viaNodePort)")
            #expect(try lab.kernelTable()?.set(named: "affinity4")?.elements.count == 1)
        }
    }

    @Test func serviceWithoutEndpointsFailsAtOnce() async throws {
        try await ServiceLab.run(pods: ["client"]) { lab in
            let udp = ServicePort(name: "dns", protocol: .udp, port: 53, targetPort: .int(8080))
            try await lab.sync(
                [
                    ServiceLab.service(
                        "empty", ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080)), udp])
                ],
                [])
            let started = ContinuousClock.now
            let tcp = tcpRequest(from: lab.client, to: "10.96.0.10", port: 80, timeout: .seconds(3))
            let udpResult = udpRequest(from: lab.client, to: "10.96.0.10", port: 53, timeout: .seconds(3))
            #expect(tcp == .refused, "\(tcp)")
            #expect(udpResult == .refused || udpResult == .unreachable, "\(udpResult)")
            #expect(ContinuousClock.now - started < .seconds(2), "rejected, not timed out")
            let traced = lab.trace(
                [
                    ServiceLab.service(
                        "empty", ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080)), udp])
                ],
                [], from: lab.pod("client").ipv4, to: "10.96.0.10", port: 53, protocol: .udp)
            #expect(traced.verdict == "reject", "\(traced.reason)")
        }
    }

    @Test func removedEndpointGetsNoNewConnectionsAndItsUDPFlowsAreForgotten() async throws {
        try await ServiceLab.run(pods: ["web-1", "web-2", "client"]) { lab in
            let udp = [ServicePort(name: "dns", protocol: .udp, port: 53, targetPort: .int(8080))]
            let service = ServiceLab.service("dns", ports: udp)
            try await lab.sync([service], [lab.slice("dns", ["web-1", "web-2"], portName: "dns", protocol: .udp)])
            // One UDP flow (fixed source port) pinned by conntrack to whichever endpoint it reached.
            let first = udpRequest(from: lab.client, to: "10.96.0.10", port: 53, sourcePort: 40053)
            let chosen = try #require(first.serverName, "\(first)")
            let other = chosen == "web-1" ? "web-2" : "web-1"
            #expect(udpRequest(from: lab.client, to: "10.96.0.10", port: 53, sourcePort: 40053).serverName == chosen)

            let report = try await lab.sync([service], [lab.slice("dns", [other], portName: "dns", protocol: .udp)])
            #expect(report.conntrackEntriesDeleted >= 1)
            let chosenIP = try #require(IPAddress(lab.pod(chosen).ipv4))
            let stale = try lab.topology.node.run { () throws -> [ConntrackEntry] in
                try ConntrackConnection().list(ConntrackFilter(family: .ipv4, l4proto: 17, replySource: chosenIP.bytes))
            }
            #expect(stale.isEmpty, "\(stale)")
            // The same flow now reaches the remaining endpoint, and so does every new one.
            #expect(udpRequest(from: lab.client, to: "10.96.0.10", port: 53, sourcePort: 40053).serverName == other)
            let after = tally(40) { _ in udpRequest(from: lab.client, to: "10.96.0.10", port: 53) }
            #expect(after.servers == [other], "\(after)")
            let traced = lab.trace(
                [service], [lab.slice("dns", [other], portName: "dns", protocol: .udp)], from: lab.pod("client").ipv4,
                to: "10.96.0.10", port: 53, protocol: .udp)
            #expect(lab.podNames(traced) == [other])
        }
    }

    @Test func podReachesItselfThroughItsService() async throws {
        try await ServiceLab.run(pods: ["web-1", "client"], hairpin: true) { lab in
            try await lab.sync([ServiceLab.service("self")], [lab.slice("self", ["web-1"])])
            let reply = tcpRequest(from: lab.pod("web-1").namespace, to: "10.96.0.10", port: 80)
            #expect(reply.serverName == "web-1", "\(reply)")
        }
    }
}
