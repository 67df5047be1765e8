import Foundation
import SluiceTestSupport
import Testing

/// `sluiced --manifests` follows its Node's zone label like the API source does: topology-hinted Services move to
/// the new zone's endpoints without a restart.
@Suite(.requiresRoot)
struct ManifestZoneTests {
    static func manifests(zone: String) -> String {
        """
        apiVersion: v1
        kind: Node
        metadata: {name: node-a, labels: {topology.kubernetes.io/zone: \(zone)}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: zoned, namespace: default}
        spec:
          clusterIP: 10.96.0.20
          clusterIPs: [10.96.0.20]
          trafficDistribution: PreferClose
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: zoned-abc, namespace: default, labels: {kubernetes.io/service-name: zoned}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: [10.244.1.2], zone: a, hints: {forZones: [{name: a}]}, conditions: {ready: true}}
        - {addresses: [10.244.2.2], zone: b, hints: {forZones: [{name: b}]}, conditions: {ready: true}}
        """
    }

    @Test func theNodesZoneLabelChangingMovesTopologyHintedServices() async throws {
        let namespace = try TestNamespace.make("mzone")
        defer { try? namespace.delete() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zone-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("zone.yaml")
        try Self.manifests(zone: "a").write(to: file, atomically: true, encoding: .utf8)
        // The log lives outside the watched directory (its growth would count as a manifest change).
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sluiced-zone-\(UUID()).log")
        defer { try? FileManager.default.removeItem(at: log) }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        daemon.arguments = [
            "netns", "exec", namespace.name, SluicedRestartTests.sluiced, "--manifests", directory.path,
            "--node-name", "node-a", "--cni-data-dir", "", "--metrics-bind-address", "",
        ]
        let output = try FileHandle(forWritingTo: log)
        daemon.standardOutput = output
        daemon.standardError = output
        daemon.standardInput = FileHandle.nullDevice
        try daemon.run()
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        func table() -> String {
            (try? namespace.execStatus(["nft", "list", "table", "inet", "sluice"]).stdout) ?? ""
        }
        func logged() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        let inZoneA = await eventually(timeout: .seconds(120)) {
            table().contains("10.244.1.2") && !table().contains("10.244.2.2")
        }
        #expect(inZoneA, "table:\n\(table())\nsluiced log:\n\(logged())")

        try Self.manifests(zone: "b").write(to: file, atomically: true, encoding: .utf8)
        let inZoneB = await eventually(timeout: .seconds(30)) {
            table().contains("10.244.2.2") && !table().contains("10.244.1.2")
        }
        #expect(inZoneB, "table:\n\(table())\nsluiced log:\n\(logged())")
    }
}
