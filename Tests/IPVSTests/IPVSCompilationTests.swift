import IPVS
import KubeAPI
import ServiceFixtures
import ServiceProxy
import Testing

/// What Services compile to in IPVS mode: virtual services, destinations, the dummy interface's addresses and the
/// mode's nftables set elements — from the same compiled frontends as the nftables backend.
struct IPVSCompilationTests {
    typealias EP = Fixture.EP

    func loadBalancer(policy: TrafficPolicy? = nil) -> Service {
        var service = Fixture.service(
            "lb", type: .loadBalancer,
            ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080), nodePort: 30080)]
        ) {
            $0.externalIPs = ["192.0.2.50"]
            $0.loadBalancerSourceRanges = ["198.51.100.0/24"]
            $0.externalTrafficPolicy = policy
        }
        service.status.loadBalancer.ingress = [LoadBalancerIngress(ip: "203.0.113.7")]
        return service
    }

    func elements(_ h: Harness, _ set: String) -> [String] {
        h.ipvs.elements.filter { $0.set == set }.map(\.element.key.description).sorted()
    }

    @Test func clusterIPBecomesOneMasqueradingVirtualServiceWithReadyEndpoints() {
        var h = Harness()
        let round = h.sync(
            [Fixture.service("web")],
            [Fixture.slice("web", [EP(ip: "10.244.1.3"), EP(ip: "10.244.1.2"), EP(ip: "10.244.2.9", ready: false)])])
        #expect(h.table == ["TCP 10.96.0.10:80 rr -> 10.244.1.2:8080 w1, 10.244.1.3:8080 w1"])
        #expect(h.kernel.values.flatMap(\.destinations.values).allSatisfy { $0.forwarding == .masquerade })
        #expect(h.addresses == [ip("10.96.0.10")])
        // One service request and one per destination.
        #expect(round.operations.count == 3)
        #expect(h.ipvs.owner(of: h.kernel.keys.first!) == "Service default/web (ClusterIP port http)")
    }

    @Test func nodePortLoadBalancerAndExternalIPsGetAVirtualServiceEach() {
        var h = Harness(nodeAddresses: ["192.168.1.10", "192.168.2.10", "fd00::10"])
        h.sync([loadBalancer()], [Fixture.slice("lb", [EP(ip: "10.244.1.2"), EP(ip: "10.244.2.2", node: "node-b")])])
        let both = " -> 10.244.1.2:8080 w1, 10.244.2.2:8080 w1"
        #expect(
            h.table == [
                "TCP 10.96.0.10:80 rr" + both, "TCP 192.0.2.50:80 rr" + both, "TCP 192.168.1.10:30080 rr" + both,
                "TCP 192.168.2.10:30080 rr" + both, "TCP 203.0.113.7:80 rr" + both,
            ])
        // Node addresses are the node's own: only Service IPs go on the dummy interface.
        #expect(h.addresses == [ip("10.96.0.10"), ip("192.0.2.50"), ip("203.0.113.7")])
        #expect(elements(h, "masq-frontends4") == ["192.0.2.50 . tcp . 80", "203.0.113.7 . tcp . 80"])
        #expect(elements(h, "masq-nodeports4") == ["tcp . 30080"])
        #expect(elements(h, "lb-firewalled4") == ["203.0.113.7 . tcp . 80"])
        #expect(elements(h, "lb-source-ranges4") == ["203.0.113.7 . tcp . 80 . 198.51.100.0/24"])
    }

    @Test func externalTrafficPolicyLocalKeepsLocalDestinationsAndSource() {
        var h = Harness()
        h.sync(
            [loadBalancer(policy: .local)],
            [Fixture.slice("lb", [EP(ip: "10.244.1.2"), EP(ip: "10.244.2.2", node: "node-b")])])
        #expect(
            h.table == [
                "TCP 10.96.0.10:80 rr -> 10.244.1.2:8080 w1, 10.244.2.2:8080 w1",
                "TCP 192.0.2.50:80 rr -> 10.244.1.2:8080 w1", "TCP 192.168.1.10:30080 rr -> 10.244.1.2:8080 w1",
                "TCP 203.0.113.7:80 rr -> 10.244.1.2:8080 w1",
            ])
        #expect(elements(h, "masq-frontends4").isEmpty)
        #expect(elements(h, "masq-nodeports4").isEmpty)
    }

    @Test func clientIPAffinityIsPersistenceWithTheServiceTimeout() {
        var h = Harness()
        let service = Fixture.service("sticky") {
            $0.sessionAffinity = .clientIP
            $0.sessionAffinityConfig = SessionAffinityConfig(clientIP: ClientIPConfig(timeoutSeconds: 30))
        }
        h.sync([service], [Fixture.slice("sticky", [EP(ip: "10.244.1.2")])])
        let entry = h.kernel.values.first!.service
        #expect(entry.flags.contains(.persistent))
        #expect(entry.timeout == 30)
        #expect(entry.netmask == 0xFFFF_FFFF)
        #expect(h.table == ["TCP 10.96.0.10:80 rr persistent 30 -> 10.244.1.2:8080 w1"])
    }

    @Test(arguments: ["rr", "wrr", "lc", "wlc", "sh", "mh"])
    func everySchedulerIsProgrammedAsConfigured(scheduler: String) {
        var h = Harness(scheduler: scheduler)
        h.sync([Fixture.service("web")], [Fixture.slice("web", [EP(ip: "10.244.1.2")])])
        let service = h.kernel.values.first!.service
        #expect(service.scheduler == scheduler)
        // Hashing schedulers fall back past a draining (weight-0) destination instead of dropping its clients.
        #expect(service.flags.contains(.schedulerFallback) == ["sh", "mh"].contains(scheduler))
    }

    @Test func udpAndSCTPPortsBecomeTheirOwnVirtualServices() {
        var h = Harness()
        let service = Fixture.service(
            "dns",
            ports: [
                ServicePort(name: "dns", protocol: .udp, port: 53, targetPort: .int(53)),
                ServicePort(name: "sig", protocol: .sctp, port: 3868, targetPort: .int(3868)),
            ])
        h.sync(
            [service],
            [
                Fixture.slice("dns", port: 53, portName: "dns", protocol: .udp, [EP(ip: "10.244.1.2")])
            ])
        #expect(h.table == ["UDP 10.96.0.10:53 rr -> 10.244.1.2:53 w1", "SCTP 10.96.0.10:3868 rr"])
    }

    @Test func withoutEndpointsTheVirtualServiceStaysAndTheTableRejects() {
        var h = Harness()
        h.sync([Fixture.service("empty")], [])
        #expect(h.table == ["TCP 10.96.0.10:80 rr"])
        #expect(elements(h, "no-endpoints4") == ["10.96.0.10 . tcp . 80"])
        h.sync([Fixture.service("empty")], [Fixture.slice("empty", [EP(ip: "10.244.1.2")])])
        #expect(elements(h, "no-endpoints4").isEmpty)
    }

    @Test func clusterCIDRsMarkClusterIPsForMasqueradeFromOutside() {
        var h = Harness(clusterCIDRs: ["10.244.0.0/16"])
        h.sync([Fixture.service("web")], [Fixture.slice("web", [EP(ip: "10.244.1.2")])])
        #expect(elements(h, "clusterip-frontends4") == ["10.96.0.10 . tcp . 80"])
        let tx = IPVSFilterTable(configuration: h.ipvs.configuration).baseTransaction()
        #expect(tx.description.contains("ClusterIP traffic from outside the cluster"))
        #expect(tx.description.contains("10.244.0.0/16"))
    }

    @Test func podEgressIsMasqueradedOnlyWhenTheOverlayAsks() {
        var configuration = IPVSConfiguration(clusterCIDRs: [IPCIDR("10.244.0.0/16")!])
        let without = IPVSFilterTable(configuration: configuration).baseTransaction().description
        configuration.masqueradePodEgress = true
        let with = IPVSFilterTable(configuration: configuration).baseTransaction().description
        #expect(!without.contains("pod egress leaving the cluster network"))
        #expect(with.contains("pod egress leaving the cluster network"))
    }

    @Test func aPortOfAProtocolIPVSLacksIsLeftOutAndTheRestProgrammed() {
        var h = Harness()
        let service = Fixture.service(
            "mixed",
            ports: [
                ServicePort(name: "http", port: 80, targetPort: .int(8080)),
                ServicePort(name: "ping", protocol: .unrecognized("ICMP"), port: 7, targetPort: .int(7)),
            ])
        h.sync([service], [Fixture.slice("mixed", [EP(ip: "10.244.1.2")])])
        #expect(h.table == ["TCP 10.96.0.10:80 rr -> 10.244.1.2:8080 w1"])
    }
}
