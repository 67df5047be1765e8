import KubeAPI
import NFTables
import ServiceFixtures
import ServiceProxy
import Testing

/// What one Service with its endpoints compiles to: the map elements kube-proxy's semantics call for.
struct ServiceCompilationTests {
    typealias EP = Fixture.EP

    func compile(
        _ services: [Service], _ slices: [EndpointSlice], node: String = "node-a", zone: String? = nil,
        clusterCIDRs: [String] = []
    ) -> ServiceProxy.Sync {
        var proxy = Fixture.proxy(node, zone: zone, clusterCIDRs: clusterCIDRs)
        proxy.replaceAll(services: services, endpointSlices: slices)
        return proxy.sync()
    }

    @Test func clusterIPDispatchesToReadyEndpointsOnly() {
        let sync = compile(
            [Fixture.service("web")],
            [Fixture.slice("web", [EP(ip: "10.244.1.3"), EP(ip: "10.244.1.2"), EP(ip: "10.244.2.9", ready: false)])])
        let tx = sync.transaction
        #expect(tx.firstError == nil)
        #expect(tx.added("service-ips4") == ["10.96.0.10 . tcp . 80 : goto pick4-2"])
        #expect(
            tx.added("endpoints4") == [
                "10.96.0.10 . tcp . 80 . 0x00000000 : 10.244.1.2 . 8080",
                "10.96.0.10 . tcp . 80 . 0x00000001 : 10.244.1.3 . 8080",
            ])
        #expect(tx.chainsAdded.contains("pick4-2"))
        #expect(tx.added("no-endpoints4").isEmpty)
    }

    @Test func namedTargetPortResolvesThroughSlicePortNames() {
        let service = Fixture.service(
            "multi",
            ports: [
                ServicePort(name: "http", port: 80, targetPort: .string("web")),
                ServicePort(name: "metrics", protocol: .udp, port: 9100, targetPort: .int(9100)),
            ])
        let slices = [
            Fixture.slice("multi", name: "a", port: 8080, portName: "http", [EP(ip: "10.244.1.2")]),
            Fixture.slice("multi", name: "b", port: 9191, portName: "metrics", protocol: .udp, [EP(ip: "10.244.1.2")]),
        ]
        let tx = compile([service], slices).transaction
        #expect(
            tx.added("endpoints4") == [
                "10.96.0.10 . tcp . 80 . 0x00000000 : 10.244.1.2 . 8080",
                "10.96.0.10 . udp . 9100 . 0x00000000 : 10.244.1.2 . 9191",
            ])
    }

    @Test func noEndpointsRejectsAndTerminatingServeOnlyWhenNothingIsReady() {
        let none = compile([Fixture.service("empty")], []).transaction
        #expect(none.added("no-endpoints4") == ["10.96.0.10 . tcp . 80 : goto reject-service"])
        #expect(none.added("service-ips4").isEmpty)

        let draining = compile(
            [Fixture.service("drain")],
            [
                Fixture.slice(
                    "drain",
                    [
                        EP(ip: "10.244.1.2", ready: false, serving: true, terminating: true),
                        EP(ip: "10.244.1.3", ready: false, serving: false, terminating: true),
                    ])
            ]
        ).transaction
        #expect(draining.added("endpoints4") == ["10.96.0.10 . tcp . 80 . 0x00000000 : 10.244.1.2 . 8080"])

        let mixed = compile(
            [Fixture.service("mixed")],
            [
                Fixture.slice(
                    "mixed",
                    [
                        EP(ip: "10.244.1.2", ready: false, serving: true, terminating: true),
                        EP(ip: "10.244.1.4"),
                    ])
            ]
        ).transaction
        #expect(mixed.added("endpoints4") == ["10.96.0.10 . tcp . 80 . 0x00000000 : 10.244.1.4 . 8080"])
    }

    @Test func internalTrafficPolicyLocalWithoutLocalEndpointsDrops() {
        let service = Fixture.service("local") { $0.internalTrafficPolicy = .local }
        let tx = compile([service], [Fixture.slice("local", [EP(ip: "10.244.2.2", node: "node-b")])]).transaction
        #expect(tx.added("no-endpoints4") == ["10.96.0.10 . tcp . 80 : drop"])
        let here = compile(
            [service],
            [
                Fixture.slice(
                    "local",
                    [
                        EP(ip: "10.244.2.2", node: "node-b"),
                        EP(ip: "10.244.1.2", node: "node-a"),
                    ])
            ]
        ).transaction
        #expect(here.added("endpoints4") == ["10.96.0.10 . tcp . 80 . 0x00000000 : 10.244.1.2 . 8080"])
    }

    @Test func nodePortLoadBalancerAndExternalIPsWithClusterPolicyMasquerade() {
        let service = Fixture.service(
            "lb", type: .loadBalancer,
            ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080), nodePort: 30080)]
        ) {
            $0.externalIPs = ["192.0.2.50"]
            $0.loadBalancerSourceRanges = ["198.51.100.0/24"]
        }
        var withStatus = service
        withStatus.status.loadBalancer.ingress = [LoadBalancerIngress(ip: "203.0.113.7")]
        let tx = compile(
            [withStatus],
            [Fixture.slice("lb", [EP(ip: "10.244.1.2"), EP(ip: "10.244.2.2", node: "node-b")])]
        ).transaction
        #expect(
            tx.added("service-ips4") == [
                "10.96.0.10 . tcp . 80 : goto pick4-2", "192.0.2.50 . tcp . 80 : goto pick4-2",
                "203.0.113.7 . tcp . 80 : goto pick4-2",
            ])
        #expect(tx.added("nodeports4") == ["tcp . 30080 : goto nodeport-pick4-2"])
        #expect(tx.added("masq-frontends4") == ["192.0.2.50 . tcp . 80", "203.0.113.7 . tcp . 80"])
        #expect(tx.added("masq-nodeports4") == ["tcp . 30080"])
        #expect(tx.added("lb-firewalled4") == ["203.0.113.7 . tcp . 80"])
        #expect(tx.added("lb-source-ranges4") == ["203.0.113.7 . tcp . 80 . 198.51.100.0/24"])
    }

    @Test func externalTrafficPolicyLocalUsesLocalEndpointsWithoutMasqueradeAndReportsHealth() {
        var service = Fixture.service(
            "lb", type: .loadBalancer,
            ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080), nodePort: 30080)]
        ) {
            $0.externalTrafficPolicy = .local
            $0.healthCheckNodePort = 32000
        }
        service.status.loadBalancer.ingress = [LoadBalancerIngress(ip: "203.0.113.7")]
        var proxy = Fixture.proxy()
        proxy.replaceAll(
            services: [service],
            endpointSlices: [Fixture.slice("lb", [EP(ip: "10.244.1.2"), EP(ip: "10.244.2.2", node: "node-b")])])
        let tx = proxy.sync().transaction
        #expect(tx.added("service-ips4").contains("10.96.0.10 . tcp . 80 : goto pick4-2"))
        #expect(tx.added("service-ips4").contains("203.0.113.7 . tcp . 80 : goto pick4-1"))
        // From outside: this node's endpoint only. In-cluster clients (pods, the node) get every endpoint, in
        // slots from 0x01000000 of the same map, as kube-proxy short-circuits them.
        #expect(
            tx.added("nodeport-endpoints4") == [
                "tcp . 30080 . 0x00000000 : 10.244.1.2 . 8080", "tcp . 30080 . 0x01000000 : 10.244.1.2 . 8080",
                "tcp . 30080 . 0x01000001 : 10.244.2.2 . 8080",
            ])
        #expect(tx.added("internal-frontends4") == ["203.0.113.7 . tcp . 80 : goto pick4-2-internal"])
        #expect(tx.added("internal-nodeports4") == ["tcp . 30080 : goto nodeport-pick4-2-internal"])
        #expect(tx.added("internal-bypass4") == ["203.0.113.7 . tcp . 80"])
        #expect(tx.added("masq-frontends4").isEmpty)
        #expect(tx.added("masq-nodeports4").isEmpty)
        #expect(proxy.healthChecks.map(\.localEndpoints) == [1])
        #expect(proxy.healthChecks.map(\.port) == [32000])
    }

    @Test func clusterCIDRsMarkClusterIPFrontendsForConditionalMasquerade() {
        let tx = compile(
            [Fixture.service("web")], [Fixture.slice("web", [EP(ip: "10.244.1.2")])],
            clusterCIDRs: ["10.244.0.0/16"]
        ).transaction
        #expect(tx.added("clusterip-frontends4") == ["10.96.0.10 . tcp . 80"])
        #expect(tx.added("cluster-cidrs4") == ["10.244.0.0/16"])
        #expect(
            tx.operations.contains {
                if case .addRule(let r) = $0 {
                    r.comment == "ClusterIP traffic from outside the cluster"
                } else {
                    false
                }
            })
    }

    @Test func sessionAffinityRemembersPerTimeout() {
        let service = Fixture.service("sticky") {
            $0.sessionAffinity = .clientIP
            $0.sessionAffinityConfig = SessionAffinityConfig(clientIP: ClientIPConfig(timeoutSeconds: 30))
        }
        let tx = compile([service], [Fixture.slice("sticky", [EP(ip: "10.244.1.2"), EP(ip: "10.244.1.3")])]).transaction
        #expect(tx.added("affinity-frontends4") == ["10.96.0.10 . tcp . 80 : jump remember4-30s"])
        #expect(Set(tx.chainsAdded).isSuperset(of: ["pick4-2", "remember4-30s"]))
    }

    @Test func topologyHintsKeepSameZoneEndpointsWhenAsked() {
        let service = Fixture.service("zoned") { $0.trafficDistribution = .preferClose }
        let slice = Fixture.slice(
            "zoned",
            [
                EP(ip: "10.244.1.2", zone: "a", hints: ["a"]), EP(ip: "10.244.2.2", zone: "b", hints: ["b"]),
            ])
        #expect(
            compile([service], [slice], zone: "a").transaction.added("endpoints4")
                == ["10.96.0.10 . tcp . 80 . 0x00000000 : 10.244.1.2 . 8080"])
        // No hint for this zone, or a Service that did not ask: every endpoint.
        #expect(compile([service], [slice], zone: "c").transaction.added("endpoints4").count == 2)
        #expect(compile([Fixture.service("zoned")], [slice], zone: "a").transaction.added("endpoints4").count == 2)
        // One endpoint without hints disables hints.
        let partial = Fixture.slice("zoned", [EP(ip: "10.244.1.2", hints: ["a"]), EP(ip: "10.244.2.2")])
        #expect(compile([service], [partial], zone: "a").transaction.added("endpoints4").count == 2)
    }

    @Test func aNodeMovedToAnotherZoneReselectsHintedEndpointsOnly() {
        let zoned = Fixture.service("zoned") { $0.trafficDistribution = .preferClose }
        let plain = Fixture.service("plain", clusterIP: "10.96.0.11")
        let slices = [
            Fixture.slice(
                "zoned", [EP(ip: "10.244.1.2", zone: "a", hints: ["a"]), EP(ip: "10.244.2.2", zone: "b", hints: ["b"])]),
            Fixture.slice("plain", [EP(ip: "10.244.1.3")]),
        ]
        var proxy = Fixture.proxy(zone: "a")
        proxy.replaceAll(services: [zoned, plain], endpointSlices: slices)
        _ = proxy.sync()
        proxy.setNodeZone("a")
        #expect(proxy.sync().changedServices.isEmpty, "the same zone changes nothing")

        proxy.setNodeZone("b")
        let moved = proxy.sync()
        #expect(moved.changedServices == [ServiceName(namespace: "default", name: "zoned")])
        #expect(moved.transaction.added("endpoints4") == ["10.96.0.10 . tcp . 80 . 0x00000000 : 10.244.2.2 . 8080"])
    }

    @Test func dualStackServiceProgramsBothFamilies() {
        let service = Fixture.service("dual") {
            $0.clusterIPs = ["10.96.0.10", "fd00:10:96::a"]
            $0.ipFamilies = [.ipv4, .ipv6]
        }
        let tx = compile(
            [service],
            [
                Fixture.slice("dual", [EP(ip: "10.244.1.2")]),
                Fixture.slice("dual", family: .ipv6, [EP(ip: "fd00:10:244:1::2")]),
            ]
        ).transaction
        #expect(tx.added("service-ips4") == ["10.96.0.10 . tcp . 80 : goto pick4-1"])
        #expect(tx.added("service-ips6") == ["fd00:10:96::a . tcp . 80 : goto pick6-1"])
        #expect(tx.added("endpoints6") == ["fd00:10:96::a . tcp . 80 . 0x00000000 : fd00:10:244:1::2 . 8080"])
    }

    @Test func servicesWithoutVirtualIPsProduceNothing() {
        let headless = Fixture.service("h") {
            $0.clusterIP = "None"
            $0.clusterIPs = ["None"]
        }
        let external = Fixture.service("e") {
            $0.type = .externalName
            $0.externalName = "example.com"
        }
        for service in [headless, external] {
            let tx = compile([service], [Fixture.slice(service.metadata.name, [EP(ip: "10.244.1.2")])]).transaction
            #expect(tx.elementCount == 0, "\(service.metadata.name)")
        }
    }

    @Test func servicesOfAnotherProxyAreSkipped() {
        var service = Fixture.service("other")
        service.metadata.labels["service.kubernetes.io/service-proxy-name"] = "someone-else"
        #expect(compile([service], [Fixture.slice("other", [EP(ip: "10.244.1.2")])]).transaction.elementCount == 0)
    }

    @Test func selectorlessServiceUsesManualEndpoints() {
        var proxy = Fixture.proxy()
        let endpoints = Endpoints(
            metadata: ObjectMeta(name: "manual", namespace: "default"),
            subsets: [
                EndpointSubset(
                    addresses: [EndpointAddress(ip: "192.0.2.10")], ports: [EndpointPort(name: "http", port: 9000)])
            ])
        proxy.replaceAll(services: [Fixture.service("manual")], endpointSlices: [], endpoints: [endpoints])
        #expect(
            proxy.sync().transaction.added("endpoints4") == ["10.96.0.10 . tcp . 80 . 0x00000000 : 192.0.2.10 . 9000"])
    }

    @Test func twoServicesClaimingOneFrontendAreReportedAndTheFirstWins() {
        let sync = compile(
            [Fixture.service("a"), Fixture.service("b")],
            [
                Fixture.slice("a", [EP(ip: "10.244.1.2")]),
                Fixture.slice("b", [EP(ip: "10.244.1.3"), EP(ip: "10.244.1.4")]),
            ])
        #expect(sync.transaction.added("service-ips4") == ["10.96.0.10 . tcp . 80 : goto pick4-1"])
        #expect(
            sync.diagnostics.contains {
                $0.contains("Service default/b") && $0.contains("conflicts with Service default/a")
            })
    }
}
