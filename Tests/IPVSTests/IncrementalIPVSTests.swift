import IPVS
import KubeAPI
import ServiceFixtures
import ServiceProxy
import Testing

/// Each sync sends only what changed; removed endpoints drain at weight 0 before they go.
struct IncrementalIPVSTests {
    typealias EP = Fixture.EP

    let web = Fixture.service("web")
    func endpoints(_ ips: String...) -> [EndpointSlice] { [Fixture.slice("web", ips.map { EP(ip: $0) })] }

    @Test func anUnchangedSnapshotSendsNothing() {
        var h = Harness()
        h.sync([web], endpoints("10.244.1.2", "10.244.1.3"))
        let again = h.sync([web], endpoints("10.244.1.2", "10.244.1.3"))
        #expect(again.operations.isEmpty)
        #expect(again.changes.keys.isEmpty)
    }

    @Test func oneNewEndpointIsOneRequest() {
        var h = Harness()
        var services = [web]
        for n in 0..<50 { services.append(Fixture.service("s\(n)", clusterIP: "10.96.1.\(n)")) }
        h.sync(services, endpoints("10.244.1.2"))
        let round = h.sync(services, endpoints("10.244.1.2", "10.244.1.3"))
        #expect(
            round.operations == [
                .addDestination(
                    h.kernel.keys.first { $0.address == ip("10.96.0.10") }!,
                    .init(key: .init(address: ip("10.244.1.3"), port: 8080)))
            ])
    }

    @Test func aRemovedEndpointDrainsAtWeightZeroAndComesBackWhenReadded() {
        var h = Harness()
        h.sync([web], endpoints("10.244.1.2", "10.244.1.3"))
        let removal = h.sync([web], endpoints("10.244.1.2"))
        #expect(removal.operations.count == 1)
        guard case .updateDestination(_, let quiesced) = removal.operations.first else {
            Issue.record("expected a weight change, got \(removal.operations)")
            return
        }
        #expect(quiesced.key.address == ip("10.244.1.3"))
        #expect(quiesced.weight == 0)
        #expect(h.table == ["TCP 10.96.0.10:80 rr -> 10.244.1.2:8080 w1, 10.244.1.3:8080 w0"])
        // Still draining: a later unrelated sync leaves it alone.
        #expect(h.sync([web], endpoints("10.244.1.2")).operations.isEmpty)
        // Back before it drained: weight restored, no delete and re-add.
        let back = h.sync([web], endpoints("10.244.1.2", "10.244.1.3"))
        #expect(back.operations.count == 1)
        #expect(h.table == ["TCP 10.96.0.10:80 rr -> 10.244.1.2:8080 w1, 10.244.1.3:8080 w1"])
    }

    @Test func withoutDrainingARemovedDestinationIsDeleted() {
        let key = VirtualServiceKey(address: ip("10.96.0.10"), proto: .tcp, port: 80)
        let service = VirtualService(key: key, scheduler: "rr")
        let a = Destination(key: DestinationKey(address: ip("10.244.1.2"), port: 80))
        let b = Destination(key: DestinationKey(address: ip("10.244.1.3"), port: 80))
        let kernel = [key: ServiceEntry(service: service, destinations: [a, b])]
        let desired = [key: ServiceEntry(service: service, destinations: [a])]
        #expect(IPVSDiff.operations(from: kernel, to: desired, drain: false) == [.deleteDestination(key, b.key)])
    }

    @Test func aDeletedServiceIsOneRequestAndReleasesItsAddress() {
        var h = Harness()
        h.sync([web, Fixture.service("other", clusterIP: "10.96.0.11")], endpoints("10.244.1.2"))
        let round = h.sync([Fixture.service("other", clusterIP: "10.96.0.11")], [])
        #expect(
            round.operations == [.deleteService(VirtualServiceKey(address: ip("10.96.0.10"), proto: .tcp, port: 80))])
        #expect(round.changes.addressesRemoved == [ip("10.96.0.10")])
        #expect(h.addresses == [ip("10.96.0.11")])
    }

    @Test func aSchedulerOrAffinityChangeEditsTheServiceInPlace() {
        var h = Harness()
        h.sync([web], endpoints("10.244.1.2"))
        let sticky = Fixture.service("web") {
            $0.sessionAffinity = .clientIP
            $0.sessionAffinityConfig = SessionAffinityConfig(clientIP: ClientIPConfig(timeoutSeconds: 60))
        }
        let round = h.sync([sticky], endpoints("10.244.1.2"))
        #expect(round.operations.count == 1)
        guard case .updateService(let edited) = round.operations.first else {
            Issue.record("expected an edit, got \(round.operations)")
            return
        }
        #expect(edited.flags.contains(.persistent) && edited.timeout == 60)
    }

    @Test func twoServicesClaimingOneVirtualServiceConflictUntilTheFirstLetsGo() {
        var h = Harness()
        let a = Fixture.service("a")
        let b = Fixture.service("b")
        let first = h.sync(
            [a, b], [Fixture.slice("a", [EP(ip: "10.244.1.2")]), Fixture.slice("b", [EP(ip: "10.244.9.9")])])
        #expect(first.changes.diagnostics.contains { $0.contains("Service default/b") && $0.contains("conflicts") })
        #expect(h.table == ["TCP 10.96.0.10:80 rr -> 10.244.1.2:8080 w1"])
        h.sync([b], [Fixture.slice("b", [EP(ip: "10.244.9.9")])])
        #expect(h.table == ["TCP 10.96.0.10:80 rr -> 10.244.1.2:8080 w0, 10.244.9.9:8080 w1"])
        #expect(h.addresses == [ip("10.96.0.10")])
    }

    @Test func hairpinElementsAreSharedBetweenServicesOfOneEndpoint() {
        var h = Harness()
        let slices = [Fixture.slice("a", [EP(ip: "10.244.1.2")]), Fixture.slice("b", [EP(ip: "10.244.1.2")])]
        h.sync([Fixture.service("a"), Fixture.service("b", clusterIP: "10.96.0.11")], slices)
        let hairpin = { h.ipvs.elements.filter { $0.set == "hairpin4" }.count }
        #expect(hairpin() == 1)
        let round = h.sync([Fixture.service("b", clusterIP: "10.96.0.11")], [slices[1]])
        #expect(round.changes.elementsRemoved.allSatisfy { $0.set != "hairpin4" })
        #expect(hairpin() == 1)
    }

    @Test func newNodeAddressesMoveNodePortsOnly() {
        var h = Harness(nodeAddresses: ["192.168.1.10"])
        let np = Fixture.service(
            "np", type: .nodePort, ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080), nodePort: 30080)]
        )
        h.sync([np, Fixture.service("web", clusterIP: "10.96.0.11")], [Fixture.slice("np", [EP(ip: "10.244.1.2")])])
        var changes = IPVSProxier.Changes()
        h.ipvs.setNodeAddresses([ip("192.168.1.20")], into: &changes)
        let ops = IPVSDiff.operations(from: h.kernel, to: h.ipvs.desired, keys: changes.keys)
        #expect(ops.filter(\.isDeletion).map(\.serviceKey.description) == ["TCP 192.168.1.10:30080"])
        #expect(Set(ops.map(\.serviceKey.address)) == [ip("192.168.1.10"), ip("192.168.1.20")])
    }
}
