import KubeAPI
import NFTables
import ServiceFixtures
import ServiceProxy
import Testing

/// Syncs after the first send only what changed, and the layout's object count does not grow with Services.
struct IncrementalSyncTests {
    typealias EP = Fixture.EP

    static func cluster(services count: Int, endpoints: Int = 10) -> ([Service], [EndpointSlice]) {
        var services: [Service] = []
        var slices: [EndpointSlice] = []
        for i in 0..<count {
            let ip = "10.96.\(i / 250).\(i % 250 + 1)"
            services.append(Fixture.service("svc-\(i)", clusterIP: ip))
            slices.append(
                Fixture.slice(
                    "svc-\(i)",
                    (0..<endpoints).map { e in EP(ip: "10.\(128 + i / 250).\(i % 250).\(e + 1)") }))
        }
        return (services, slices)
    }

    static func kernelObjects(_ tx: Transaction) -> Int {
        tx.operations.filter {
            switch $0 {
            case .addChain, .addSet: true
            default: false
            }
        }.count
    }

    @Test func objectCountIsTheSameForOneHundredAndFiveThousandServices() {
        var small = Fixture.proxy()
        let (s1, e1) = Self.cluster(services: 100)
        small.replaceAll(services: s1, endpointSlices: e1)
        _ = small.sync()
        var large = Fixture.proxy()
        let (s2, e2) = Self.cluster(services: 5000)
        large.replaceAll(services: s2, endpointSlices: e2)
        _ = large.sync()
        #expect(Self.kernelObjects(small.fullTransaction()) == Self.kernelObjects(large.fullTransaction()))
        #expect(large.programmedElementCount > 50 * small.programmedElementCount / 2)
    }

    @Test func oneEndpointChangeTouchesOnlyThatServicesElements() {
        var proxy = Fixture.proxy()
        let (services, generated) = Self.cluster(services: 5000)
        var slices = generated
        proxy.replaceAll(services: services, endpointSlices: slices)
        let first = proxy.sync()
        #expect(first.transaction.elementCount > 100_000)

        slices[1234].endpoints[3].addresses = ["10.250.0.1"]
        proxy.replaceAll(services: services, endpointSlices: slices)
        let change = proxy.sync()
        #expect(change.changedServices == [ServiceName(namespace: "default", name: "svc-1234")])
        // Slots follow address order, so at most this Service's slots move (delete + add each), plus the
        // hairpin entries of the old and new endpoint; nothing of the other 4,999 Services.
        #expect(change.transaction.elementCount <= 2 * 10 + 2, "\(change.transaction)")
        #expect(change.transaction.added("endpoints4").count >= 1)
        #expect(change.transaction.chainsAdded.isEmpty)

        let unchanged = { () -> ServiceProxy.Sync in
            proxy.replaceAll(services: services, endpointSlices: slices)
            return proxy.sync()
        }()
        #expect(unchanged.transaction.isEmpty)
    }

    @Test func removingAServiceRemovesItsElementsAndUnusedChains() {
        var proxy = Fixture.proxy()
        let slow = Fixture.service("three", clusterIP: "10.96.0.3")
        let one = Fixture.service("one", clusterIP: "10.96.0.1")
        let slices = [
            Fixture.slice("three", [EP(ip: "10.244.1.2"), EP(ip: "10.244.1.3"), EP(ip: "10.244.1.4")]),
            Fixture.slice("one", [EP(ip: "10.244.1.2")]),
        ]
        proxy.replaceAll(services: [slow, one], endpointSlices: slices)
        _ = proxy.sync()
        proxy.replaceAll(services: [one], endpointSlices: slices)
        let tx = proxy.sync().transaction
        #expect(tx.deleted("service-ips4") == ["10.96.0.3 . tcp . 80"])
        #expect(tx.deleted("endpoints4").count == 3)
        #expect(tx.chainsDeleted == ["pick4-3"])
        // 10.244.1.2 still serves "one": its hairpin entry stays.
        #expect(tx.deleted("hairpin4") == ["10.244.1.3 . 10.244.1.3", "10.244.1.4 . 10.244.1.4"])
        #expect(tx.firstError == nil)
    }

    @Test func endpointsGoingAwayTurnDispatchIntoReject() {
        var proxy = Fixture.proxy()
        proxy.replaceAll(
            services: [Fixture.service("web")], endpointSlices: [Fixture.slice("web", [EP(ip: "10.244.1.2")])])
        _ = proxy.sync()
        proxy.replaceAll(services: [Fixture.service("web")], endpointSlices: [])
        let tx = proxy.sync().transaction
        #expect(tx.deleted("service-ips4") == ["10.96.0.10 . tcp . 80"])
        #expect(tx.added("no-endpoints4") == ["10.96.0.10 . tcp . 80 : goto reject-service"])
        #expect(tx.chainsDeleted == ["pick4-1"])
    }

    @Test func aFailedApplyIsRetriedByRestoringTheCopy() {
        var proxy = Fixture.proxy()
        proxy.replaceAll(
            services: [Fixture.service("web")], endpointSlices: [Fixture.slice("web", [EP(ip: "10.244.1.2")])])
        _ = proxy.sync()
        let before = proxy
        proxy.replaceAll(
            services: [Fixture.service("web")], endpointSlices: [Fixture.slice("web", [EP(ip: "10.244.1.9")])])
        let failed = proxy.sync().transaction
        proxy = before  // the kernel refused it
        proxy.replaceAll(
            services: [Fixture.service("web")], endpointSlices: [Fixture.slice("web", [EP(ip: "10.244.1.9")])])
        #expect(proxy.sync().transaction.description == failed.description)
    }

    @Test func aRolledBackSyncIsSentAgainByTheNextOne() {
        var proxy = Fixture.proxy()
        proxy.replaceAll(
            services: [Fixture.service("web"), Fixture.service("api", clusterIP: "10.96.0.11")],
            endpointSlices: [
                Fixture.slice("web", [EP(ip: "10.244.1.2")]), Fixture.slice("api", [EP(ip: "10.244.1.2")]),
            ])
        _ = proxy.sync()
        let programmed = proxy.fullTransaction().description
        // Events, not a snapshot: nothing re-delivers them, so the rollback must keep them pending.
        proxy.apply(.endpointSlice(Fixture.slice("web", [EP(ip: "10.244.1.9"), EP(ip: "10.244.1.8")])))
        proxy.apply(.serviceDeleted(ServiceName(namespace: "default", name: "api")))
        let failed = proxy.sync()
        #expect(failed.transaction.deleted("hairpin4") == ["10.244.1.2 . 10.244.1.2"])
        proxy.rollBack(failed)  // the kernel refused it
        #expect(proxy.fullTransaction().description == programmed)
        let retried = proxy.sync()
        #expect(retried.transaction.description == failed.transaction.description)
        #expect(retried.changedServices == failed.changedServices)
    }
}

/// Hairpin entries exist only for endpoints a local client can be: pods of this node (or of an unknown node).
struct HairpinScopeTests {
    @Test func onlyLocalOrUnplacedEndpointsGetHairpinEntries() {
        var proxy = Fixture.proxy("node-a")
        proxy.replaceAll(
            services: [Fixture.service("web")],
            endpointSlices: [
                Fixture.slice(
                    "web",
                    [
                        Fixture.EP(ip: "10.244.1.2", node: "node-a"), Fixture.EP(ip: "10.244.2.2", node: "node-b"),
                        Fixture.EP(ip: "10.244.3.2", node: nil),
                    ])
            ])
        let tx = proxy.sync().transaction
        #expect(tx.added("hairpin4") == ["10.244.1.2 . 10.244.1.2", "10.244.3.2 . 10.244.3.2"])
        #expect(tx.added("endpoints4").count == 3)
    }
}
