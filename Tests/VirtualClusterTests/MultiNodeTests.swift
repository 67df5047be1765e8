import Foundation
import KubeAPI
import SluiceTestSupport
import Testing
import VirtualCluster

/// Three nodes, each with a real `sluiced`, pods through the real `sluice-cni`: the connectivity matrix of the
/// example manifests (pod → pod across and within nodes, pod → ClusterIP with endpoints only on other nodes,
/// outside → NodePort on a node without the endpoint, pod egress masqueraded) over VXLAN and over host-gw,
/// and full-size packets across nodes.
@Suite(.requiresRoot, .serialized)
struct MultiNodeTests {
    /// Where the test bundle's sibling executables are (`sluiced`, `sluice-cni`, `sluice`).
    static var binaries: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }

    static var examples: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples").path
    }

    @Test(arguments: ["vxlan", "host-gw"])
    func threeNodesBehaveAsTheManifestsSay(overlay: String) throws {
        var configuration = VirtualCluster.Configuration(binaries: Self.binaries, sluice: Self.binaries + "/sluice")
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        configuration.nodes = 3
        configuration.overlay = overlay
        configuration.prefix = "sl-vc"
        configuration.suffix = "-\(getpid())-\(tag)"
        configuration.stateDirectory = NSTemporaryDirectory() + "sluice-vc-\(getpid())-\(tag)"
        let cluster = VirtualCluster(configuration)
        defer { cluster.tearDown() }
        let base = ManifestLoader().load(paths: [Self.examples])
        try cluster.start(applying: base)
        try cluster.addPods(of: base)
        Thread.sleep(forTimeInterval: 1.5)
        let applied = ManifestLoader().load(paths: [configuration.stateDirectory + "/manifests"])
        var matrix = try ConnectivityMatrix.plan(cluster, manifests: applied)
        #expect(matrix.cells.contains { $0.kind == "pod → pod, other node" })
        #expect(matrix.cells.contains { !$0.expectAllowed }, "the examples' policy denies something")
        matrix.run()
        #expect(matrix.mismatches == 0, "\(matrix.table)")

        // A full-size packet (1400 bytes of payload, don't fragment) between pods on different nodes; to the echo
        // pod, which no policy isolates (the web pods admit TCP only).
        let echo = try #require(cluster.pods.first { $0.name == "guest/echo-1" })
        let source = try #require(cluster.pods.first { $0.node != echo.node })
        let pair = (source, echo)
        let ping = try runProcess([
            "ip", "netns", "exec", pair.0.namespace, "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1400",
            pair.1.address,
        ])
        #expect(ping.succeeded, "\(ping)")
    }
}
