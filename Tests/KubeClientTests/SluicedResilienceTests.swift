import Foundation
import KubeAPI
import ServiceFixtures
import SluiceTestSupport
import Testing

/// The real `sluiced --kubeconfig` in a test namespace when the API server goes away or the node's own Node
/// object changes under it.
@Suite(.requiresRoot)
struct SluicedResilienceTests {
    static func table(_ namespace: TestNamespace) -> String {
        (try? namespace.execStatus(["nft", "list", "table", "inet", "sluice"]).stdout) ?? ""
    }

    static func answer(_ path: String, in namespace: TestNamespace) -> String {
        (try? SluicedAPISourceTests.get(path, in: namespace)) ?? ""
    }

    /// Rules a previous run programmed survive an agent that starts while the API server is down: nothing is
    /// flushed, `/healthz` turns unhealthy after `--unhealthy-after`, `/readyz` stays unready; once the API server
    /// answers, the lists apply what changed meanwhile and the agent becomes ready and healthy.
    @Test func anUnreachableAPIServerAtStartKeepsTheRulesAndReportsUnhealthy() async throws {
        let namespace = try TestNamespace.make("down")
        defer { try? namespace.delete() }
        try await APIServerFixture.with(listen: { server in try namespace.run { try server.start() } }) { fixture in
            let slices = APIServerFixture.slicesPath
            try fixture.server.apply(APIServerFixture.service("web"), in: APIServerFixture.servicesPath)
            try fixture.server.apply(APIServerFixture.slice("web", addresses: ["10.244.1.5"]), in: slices)
            let once = try namespace.execStatus([
                "timeout", "120", SluicedDaemon.binary, "--kubeconfig", fixture.kubeconfigPath,
                "--node-name", "node-a", "--cni-data-dir", "", "--once",
            ])
            #expect(once.status == 0, "\(once)")
            #expect(Self.table(namespace).contains("10.244.1.5"))

            fixture.server.refusesConnections = true
            let daemon = try SluicedDaemon(
                in: namespace,
                [
                    "--kubeconfig", fixture.kubeconfigPath, "--node-name", "node-a", "--cni-data-dir", "",
                    "--min-sync-period", "0.2", "--unhealthy-after", "2",
                ])
            defer { daemon.stop() }
            let unhealthy = await eventually(timeout: .seconds(60)) {
                Self.answer("/healthz", in: namespace).hasPrefix("HTTP/1.1 503")
            }
            #expect(unhealthy, "sluiced log:\n\(daemon.logged)")
            #expect(Self.answer("/readyz", in: namespace).hasPrefix("HTTP/1.1 503"))
            #expect(Self.answer("/metrics", in: namespace).contains("\nsluice_api_server_reachable 0\n"))
            let kept = Self.table(namespace)
            #expect(
                kept.contains("10.96.0.10 . tcp . 80") && kept.contains("10.244.1.5"),
                "the rules of the previous run stay: \(kept)")

            // The endpoint moved while the agent could not see it; the API server comes back.
            try fixture.server.apply(APIServerFixture.slice("web", addresses: ["10.244.1.6"]), in: slices)
            fixture.server.refusesConnections = false
            let ready = await eventually(timeout: .seconds(60)) {
                Self.answer("/readyz", in: namespace).hasPrefix("HTTP/1.1 200")
            }
            #expect(ready, "sluiced log:\n\(daemon.logged)")
            #expect(Self.answer("/healthz", in: namespace).hasPrefix("HTTP/1.1 200"))
            let converged = await eventually(timeout: .seconds(30)) {
                Self.table(namespace).contains("10.244.1.6") && !Self.table(namespace).contains("10.244.1.5")
            }
            #expect(converged, "table:\n\(Self.table(namespace))")
        }
    }

    /// The node's zone label changes at run time: a Service with topology hints moves to the new zone's
    /// endpoint without a restart.
    @Test func theNodesZoneLabelChangingMovesTopologyHintedServices() async throws {
        let namespace = try TestNamespace.make("zone")
        defer { try? namespace.delete() }
        let objects = ManifestLoader().load(
            text: Fixture.zonedServiceManifests(zone: "a"), source: "zone.yaml")
        #expect(objects.diagnostics.isEmpty, "\(objects.diagnostics)")
        try await APIServerFixture.with(listen: { server in try namespace.run { try server.start() } }) { fixture in
            var node = try #require(objects.nodes.first)
            try fixture.server.apply(node, in: "/api/v1/nodes")
            for item in objects.services { try fixture.server.apply(item, in: APIServerFixture.servicesPath) }
            for item in objects.endpointSlices { try fixture.server.apply(item, in: APIServerFixture.slicesPath) }
            let daemon = try SluicedDaemon(
                in: namespace,
                [
                    "--kubeconfig", fixture.kubeconfigPath, "--node-name", "node-a", "--cni-data-dir", "",
                    "--min-sync-period", "0.2",
                ])
            defer { daemon.stop() }
            let inZoneA = await eventually(timeout: .seconds(60)) {
                Self.table(namespace).contains("10.244.1.2") && !Self.table(namespace).contains("10.244.2.2")
            }
            #expect(inZoneA, "table:\n\(Self.table(namespace))\nsluiced log:\n\(daemon.logged)")

            node.metadata.labels["topology.kubernetes.io/zone"] = "b"
            try fixture.server.apply(node, in: "/api/v1/nodes")
            let inZoneB = await eventually(timeout: .seconds(30)) {
                Self.table(namespace).contains("10.244.2.2") && !Self.table(namespace).contains("10.244.1.2")
            }
            #expect(inZoneB, "table:\n\(Self.table(namespace))\nsluiced log:\n\(daemon.logged)")
        }
    }
}
