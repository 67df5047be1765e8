import Foundation
import KubeAPI
import Overlay
import SluiceTestSupport
import Testing

/// The real `sluiced` binary builds the pod network from Node objects alone: each node reads its own VTEP
/// settings and the other nodes' entries from the same manifests.
@Suite(.requiresRoot, .serialized)
struct SluicedOverlayTests {
    @Test(arguments: ["vxlan", "host-gw"])
    func sluicedConnectsPodsAcrossNodes(backend: String) throws {
        try withTestNamespaces(OverlayDatapathTests.labels) { namespaces in
            let cluster = try OverlayDatapathTests.build(namespaces)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("overlay-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let nodes = [
                OverlayDatapathTests.node("a", number: 1, vtepMAC: "02:00:00:00:0a:01"),
                OverlayDatapathTests.node("b", number: 2, vtepMAC: "02:00:00:00:0a:02"),
            ]
            for node in nodes {
                try JSONEncoder().encode(node).write(to: directory.appendingPathComponent("\(node.metadata.name).json"))
            }
            for (index, name) in ["a", "b"].enumerated() {
                let result = try cluster.nodes[index].execStatus([
                    SluicedDaemon.binary, "--manifests", directory.path, "--node-name", name, "--overlay", backend,
                    "--once",
                ])
                #expect(result.status == 0, "\(result)")
                #expect(result.stderr.contains("overlay synced"), "\(result.stderr)")
            }
            if backend == "vxlan" {
                let link = try cluster.nodes[0].ip("-d", "link", "show", OverlayDatapathTests.vxlanDevice)
                #expect(link.contains("02:00:00:00:0a:01"), "the device takes the MAC the Node advertises: \(link)")
            }
            try OverlayDatapathTests.expectPodToPodTraffic(cluster)
        }
    }
}
