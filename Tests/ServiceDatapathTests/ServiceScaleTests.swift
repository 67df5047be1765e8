import KubeAPI
import Logging
import NFTables
import NFTablesNetlink
import ServiceProxy
import SluiceAgent
import SluiceTestSupport
import Testing

/// With thousands of Services programmed, a change costs the same few bytes, and the kernel holds the same
/// number of chains and sets, as with a hundred.
@Suite(.requiresRoot)
struct ServiceScaleTests {
    static func snapshot(services count: Int, changed: Bool) -> ManifestSet {
        var snapshot = ManifestSet()
        for i in 0..<count {
            let ip = "10.96.\(i / 250).\(i % 250 + 1)"
            snapshot.services.append(ServiceLab.service("svc-\(i)", clusterIPs: [ip]))
            let endpoints = (0..<10).map { e -> Endpoint in
                let address =
                    changed && i == 50 && e == 3
                    ? "10.\(128 + i / 250).\(i % 250).200" : "10.\(128 + i / 250).\(i % 250).\(e + 1)"
                return Endpoint(addresses: [address], nodeName: "node-a")
            }
            snapshot.endpointSlices.append(
                EndpointSlice(
                    metadata: ObjectMeta(
                        name: "svc-\(i)-x", namespace: "default", labels: [EndpointSlice.serviceNameLabel: "svc-\(i)"]),
                    addressType: .ipv4, endpoints: endpoints,
                    ports: [EndpointSlicePort(name: "http", port: 8080)]))
        }
        return snapshot
    }

    /// Programs `count` Services in a fresh namespace, then changes one endpoint of one Service.
    func measure(services count: Int) async throws -> (change: ServiceSyncer.Report, objects: Int, elements: Int) {
        try await withTestNamespaces("scale") { ns in
            let syncer = try ns[0].run { () throws -> ServiceSyncer in
                var logger = Logger(label: "scale")
                logger.logLevel = .error
                return ServiceSyncer(
                    configuration: ServiceLab.configuration(), connection: try NFTablesConnection(), conntrack: nil,
                    logger: logger)
            }
            try await syncer.sync(Self.snapshot(services: count, changed: false))
            let change = try await syncer.sync(Self.snapshot(services: count, changed: true))
            let table = try ns[0].run { () throws -> KernelTable? in
                try NFTablesConnection().listTable(TableRef(family: .inet, name: "sluice"))
            }
            let kernel = try #require(table)
            let elements = kernel.set(named: "endpoints4")?.elements.count ?? 0
            return (change, kernel.chains.count + kernel.sets.count, elements)
        }
    }

    @Test func oneEndpointChangeCostsTheSameAtOneHundredAndFiveThousandServices() async throws {
        let small = try await measure(services: 100)
        let large = try await measure(services: 5000)
        #expect(large.elements == 50_000)
        #expect(small.elements == 1_000)
        #expect(small.objects == large.objects, "chains + sets must not grow with Services")
        #expect(large.change.changedServices == 1)
        #expect(large.change.bytes == small.change.bytes, "batch size independent of the total")
        #expect(large.change.bytes < 4096, "\(large.change.bytes) bytes")
    }
}
