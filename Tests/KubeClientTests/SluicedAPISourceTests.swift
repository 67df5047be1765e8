import Foundation
import KubeAPI
import SluiceTestSupport
import Testing

/// The real `sluiced --kubeconfig` in a test namespace, fed by the test API server listening inside it: what is
/// created, changed and deleted through the API shows up in the namespace's nftables table.
@Suite(.requiresRoot)
struct SluicedAPISourceTests {
    @Test func servicesAndSlicesFromTheAPIServerReachTheKernel() async throws {
        #expect(
            FileManager.default.isExecutableFile(atPath: SluicedDaemon.binary),
            "sluiced not built at \(SluicedDaemon.binary)")
        let namespace = try TestNamespace.make("api")
        defer { try? namespace.delete() }
        try await APIServerFixture.with(listen: { server in try namespace.run { try server.start() } }) { fixture in
            let services = APIServerFixture.servicesPath
            let slices = APIServerFixture.slicesPath
            try fixture.server.apply(APIServerFixture.service("web"), in: services)
            try fixture.server.apply(APIServerFixture.slice("web", addresses: ["10.244.1.5"]), in: slices)

            // --once: exits after every initial list is applied.
            let once = try namespace.execStatus([
                "timeout", "120", SluicedDaemon.binary, "--kubeconfig", fixture.kubeconfigPath, "--node-name", "node-a",
                "--cni-data-dir", "", "--once",
            ])
            #expect(once.status == 0, "\(once)")
            let afterOnce = (try? namespace.execStatus(["nft", "list", "table", "inet", "sluice"]).stdout) ?? ""
            #expect(afterOnce.contains("10.96.0.10 . tcp . 80"), "\(afterOnce)")

            let daemon = try SluicedDaemon(
                in: namespace,
                [
                    "--kubeconfig", fixture.kubeconfigPath,
                    "--node-name", "node-a", "--cluster-cidr", "10.244.0.0/16", "--min-sync-period", "0.2",
                    "--cni-data-dir", "", "--resync-period", "2",
                ])
            defer { daemon.stop() }
            func table() -> String {
                (try? namespace.execStatus(["nft", "list", "table", "inet", "sluice"]).stdout) ?? ""
            }

            // Created: programmed once both initial lists are in, and the agent is ready.
            let created = await eventually(timeout: .seconds(120)) {
                table().contains("10.96.0.10 . tcp . 80") && table().contains("10.244.1.5")
            }
            #expect(created, "table:\n\(table())\nsluiced log:\n\(daemon.logged)")
            let ready = await eventually(timeout: .seconds(30)) {
                (try? Self.get("/readyz", in: namespace).hasPrefix("HTTP/1.1 200")) ?? false
            }
            #expect(ready, "sluiced log:\n\(daemon.logged)")

            // Changed: the endpoint moves.
            try fixture.server.apply(APIServerFixture.slice("web", addresses: ["10.244.1.6"]), in: slices)
            let moved = await eventually(timeout: .seconds(30)) {
                table().contains("10.244.1.6") && !table().contains("10.244.1.5")
            }
            #expect(moved, "table:\n\(table())")

            // A dropped watch resumes (counted) and later changes still arrive.
            fixture.server.dropWatches()
            try fixture.server.apply(APIServerFixture.service("api", clusterIP: "10.96.0.11"), in: services)
            try fixture.server.apply(APIServerFixture.slice("api", addresses: ["10.244.1.7"]), in: slices)
            let added = await eventually(timeout: .seconds(30)) {
                table().contains("10.96.0.11 . tcp . 80") && table().contains("10.244.1.7")
            }
            #expect(added, "table:\n\(table())\nsluiced log:\n\(daemon.logged)")
            let metrics = try Self.get("/metrics", in: namespace)
            let restarts = metrics.split(separator: "\n").first { $0.hasPrefix("sluice_watch_restarts_total ") }
            #expect((restarts?.split(separator: " ").last.flatMap { Int($0) } ?? 0) >= 1, "\(metrics)")

            // Drift: someone deletes our map element; the periodic resync puts it back without any API change.
            let sabotage = try namespace.execStatus([
                "nft", "delete", "element", "inet", "sluice", "service-ips4", "{ 10.96.0.11 . tcp . 80 }",
            ])
            #expect(sabotage.status == 0, "\(sabotage)")
            let repaired = await eventually(timeout: .seconds(30)) { table().contains("10.96.0.11 . tcp . 80") }
            #expect(repaired, "table:\n\(table())\nsluiced log:\n\(daemon.logged)")

            // Deleted: the frontend and its endpoint leave the kernel.
            fixture.server.delete("default/web", in: services)
            fixture.server.delete("default/web-abc", in: slices)
            let deleted = await eventually(timeout: .seconds(30)) {
                !table().contains("10.96.0.10 . tcp . 80") && !table().contains("10.244.1.6")
                    && table().contains("10.96.0.11 . tcp . 80")
            }
            #expect(deleted, "table:\n\(table())")
        }
    }

    /// An HTTP GET to sluiced's metrics address inside the namespace (bash's /dev/tcp: no curl needed).
    static func get(_ path: String, in namespace: TestNamespace) throws -> String {
        try namespace.exec([
            "bash", "-c",
            "exec 3<>/dev/tcp/127.0.0.1/10249; printf 'GET \(path) HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; cat <&3",
        ])
    }

    /// With `--overlay vxlan` and a Node object without VTEP annotations, the agent creates its device with a MAC
    /// derived from the node name and writes `sluice.dev/vtep-mac` and `sluice.dev/vtep-ip` onto its Node through
    /// the API (a merge patch): the other nodes read them from there.
    @Test func theAgentAdvertisesItsVTEPOnItsNode() async throws {
        let namespace = try TestNamespace.make("vtep")
        defer { try? namespace.delete() }
        // The underlay link holding the node's InternalIP (one end of a veth pair; nothing beyond it).
        try namespace.ipBatch([
            "link add eth0 type veth peer name eth0p", "address add 198.18.0.1/24 dev eth0", "link set eth0 up",
            "link set eth0p up",
        ])
        try await APIServerFixture.with(listen: { server in try namespace.run { try server.start() } }) { fixture in
            let nodes = "/api/v1/nodes"
            try fixture.server.apply(
                Node(
                    metadata: ObjectMeta(name: "node-a"), spec: NodeSpec(podCIDRs: ["10.244.1.0/24"]),
                    status: NodeStatus(addresses: [NodeAddress(type: .internalIP, address: "198.18.0.1")])),
                in: nodes)
            let conflist = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(UUID()).conflist")
            defer { try? FileManager.default.removeItem(at: conflist) }
            let once = try namespace.execStatus([
                "timeout", "120", SluicedDaemon.binary, "--kubeconfig", fixture.kubeconfigPath, "--node-name", "node-a",
                "--overlay", "vxlan", "--cni-data-dir", "", "--cni-conf", conflist.path, "--once",
            ])
            #expect(once.status == 0, "\(once)")
            // The node's CNI configuration, from its pod CIDR, with the VXLAN device's MTU (1500 - 50).
            let written = (try? String(contentsOf: conflist, encoding: .utf8)) ?? ""
            #expect(
                written.contains("\"subnet\": \"10.244.1.0/24\"") && written.contains("\"mtu\": 1450"), "\(written)")
            let link = try namespace.exec(["ip", "-o", "link", "show", "sluice.vxlan"])
            let stored = fixture.server.object("/node-a", in: nodes)
            let annotations = (stored?["metadata"] as? [String: Any])?["annotations"] as? [String: String] ?? [:]
            let mac = try #require(annotations["sluice.dev/vtep-mac"], "\(String(describing: stored)) \(once)")
            #expect(link.contains("link/ether \(mac) "), "the device has the advertised MAC: \(link)")
            #expect(mac.hasPrefix("0a:"), "locally administered, derived from the node name")
            #expect(annotations["sluice.dev/vtep-ip"] == "10.244.1.0")

            // Restarted with the annotations in place: the same MAC, nothing to write.
            let again = try namespace.execStatus([
                "timeout", "120", SluicedDaemon.binary, "--kubeconfig", fixture.kubeconfigPath, "--node-name", "node-a",
                "--overlay", "vxlan", "--cni-data-dir", "", "--once",
            ])
            #expect(again.status == 0, "\(again)")
            #expect(!again.stderr.contains("advertised VTEP"), "\(again.stderr)")
            #expect(try namespace.exec(["ip", "-o", "link", "show", "sluice.vxlan"]).contains(mac))
        }
    }

    /// Fed by the API, a pod the API still shows without addresses is isolated as soon as the node's CNI plugin has
    /// recorded its allocation: the allocation appearing is itself a policy change.
    @Test func aCNIAllocationAppearingIsEnforcedWithoutAnAPIChange() async throws {
        let namespace = try TestNamespace.make("alloc")
        defer { try? namespace.delete() }
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-alloc-\(UUID())")
        try FileManager.default.createDirectory(
            at: store.appendingPathComponent("sluice"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: store) }
        let objects = ManifestLoader().load(
            text: """
                apiVersion: v1
                kind: Namespace
                metadata: {name: x, labels: {ns: x}}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: a, namespace: x, labels: {app: a}}
                spec: {nodeName: node-a, containers: [{name: c}]}
                status: {phase: Pending}
                ---
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: deny, namespace: x}
                spec: {podSelector: {matchLabels: {app: a}}, policyTypes: [Ingress]}
                """, source: "alloc.yaml")
        #expect(objects.diagnostics.isEmpty, "\(objects.diagnostics)")
        try await APIServerFixture.with(listen: { server in try namespace.run { try server.start() } }) { fixture in
            for item in objects.namespaces { try fixture.server.apply(item, in: "/api/v1/namespaces") }
            for item in objects.pods { try fixture.server.apply(item, in: "/api/v1/pods") }
            for item in objects.networkPolicies {
                try fixture.server.apply(item, in: "/apis/networking.k8s.io/v1/networkpolicies")
            }
            let daemon = try SluicedDaemon(
                in: namespace,
                [
                    "--kubeconfig", fixture.kubeconfigPath,
                    "--node-name", "node-a", "--min-sync-period", "0.2", "--cni-data-dir", store.path,
                ])
            defer { daemon.stop() }
            func policyTable() -> String {
                (try? namespace.execStatus(["nft", "list", "table", "inet", "sluice-policy"]).stdout) ?? ""
            }
            let ready = await eventually(timeout: .seconds(60)) {
                (try? Self.get("/readyz", in: namespace).hasPrefix("HTTP/1.1 200")) ?? false
            }
            #expect(ready, "sluiced log:\n\(daemon.logged)")
            #expect(!policyTable().contains("10.244.7.7"))

            // The plugin's records, as sluice-cni writes them at ADD.
            let network = store.appendingPathComponent("sluice")
            try "c-a\r\neth0".write(to: network.appendingPathComponent("10.244.7.7"), atomically: true, encoding: .utf8)
            try "x/a\r\nc-a".write(
                to: network.appendingPathComponent("10.244.7.7.pod"), atomically: true, encoding: .utf8)
            let isolated = await eventually(timeout: .seconds(30)) { policyTable().contains("10.244.7.7") }
            #expect(isolated, "policy table:\n\(policyTable())\nsluiced log:\n\(daemon.logged)")
        }
    }
}
