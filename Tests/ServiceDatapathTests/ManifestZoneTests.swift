import Foundation
import ServiceFixtures
import SluiceTestSupport
import Testing

/// `sluiced --manifests` follows its Node's zone label like the API source does: topology-hinted Services move to
/// the new zone's endpoints without a restart.
@Suite(.requiresRoot)
struct ManifestZoneTests {
    @Test func theNodesZoneLabelChangingMovesTopologyHintedServices() async throws {
        let namespace = try TestNamespace.make("mzone")
        defer { try? namespace.delete() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zone-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("zone.yaml")
        try Fixture.zonedServiceManifests(zone: "a").write(to: file, atomically: true, encoding: .utf8)
        let daemon = try SluicedDaemon(
            in: namespace,
            [
                "--manifests", directory.path, "--node-name", "node-a", "--cni-data-dir", "",
                "--metrics-bind-address", "",
            ])
        defer { daemon.stop() }
        func table() -> String {
            (try? namespace.execStatus(["nft", "list", "table", "inet", "sluice"]).stdout) ?? ""
        }

        let inZoneA = await eventually(timeout: .seconds(120)) {
            table().contains("10.244.1.2") && !table().contains("10.244.2.2")
        }
        #expect(inZoneA, "table:\n\(table())\nsluiced log:\n\(daemon.logged)")

        try Fixture.zonedServiceManifests(zone: "b").write(to: file, atomically: true, encoding: .utf8)
        let inZoneB = await eventually(timeout: .seconds(30)) {
            table().contains("10.244.2.2") && !table().contains("10.244.1.2")
        }
        #expect(inZoneB, "table:\n\(table())\nsluiced log:\n\(daemon.logged)")
    }
}
