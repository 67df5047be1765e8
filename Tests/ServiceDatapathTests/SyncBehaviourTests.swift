import Foundation
import KubeAPI
import NFTables
import NFTablesNetlink
import ServiceProxy
import SluiceAgent
import SluiceTestSupport
import Testing

/// The agent's behaviour around the datapath: watching a manifest directory, bad input, kernel rejections,
/// health check node ports.
@Suite(.requiresRoot)
struct SyncBehaviourTests {
    @Test func sluicedWatchesItsDirectoryAndSkipsOnlyTheInvalidObject() async throws {
        try await ServiceLab.run(pods: ["web-1", "web-2", "client"]) { lab in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let encoder = JSONEncoder()
            try encoder.encode(ServiceLab.service("web")).write(to: directory.appendingPathComponent("web.json"))
            try encoder.encode(lab.slice("web", ["web-1"])).write(to: directory.appendingPathComponent("slice.json"))
            try """
            apiVersion: v1
            kind: Service
            metadata: {name: broken, namespace: default}
            spec:
              clusterIP: 10.96.0.11
              ports: [{port: 70000}]
            """.write(to: directory.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)

            let daemon = try SluicedDaemon(
                in: lab.topology.node,
                [
                    "--manifests", directory.path, "--node-name", ServiceLab.nodeName, "--cluster-cidr",
                    "10.244.0.0/16",
                ])
            defer { daemon.stop() }
            let log = daemon.log

            // On a loaded machine (CI runs every suite in parallel) the daemon can take a while to start: wait
            // for it to report its sync before judging the datapath.
            let firstSync = await eventually(timeout: .seconds(120)) { Self.syncCount(in: log) >= 1 }
            #expect(firstSync, "sluiced never synced")
            let reached = await eventually(timeout: .seconds(30)) {
                tcpRequest(from: lab.client, to: "10.96.0.10", port: 80, timeout: .milliseconds(500)).serverName
                    == "web-1"
            }
            let logged = try String(contentsOf: log, encoding: .utf8)
            #expect(reached, "sluiced log:\n\(logged)")
            #expect(
                logged.contains(
                    "broken.yaml doc 1 Service default/broken: spec.ports[0].port: 70000 is not in 1-65535"),
                "\(logged)")

            // An edit to the directory is applied without a restart.
            try encoder.encode(lab.slice("web", ["web-2"])).write(to: directory.appendingPathComponent("slice.json"))
            let secondSync = await eventually(timeout: .seconds(120)) { Self.syncCount(in: log) >= 2 }
            #expect(secondSync, "sluiced never applied the edit")
            let moved = await eventually(timeout: .seconds(30)) {
                tcpRequest(from: lab.client, to: "10.96.0.10", port: 80, timeout: .milliseconds(500)).serverName
                    == "web-2"
            }
            #expect(moved, "sluiced log:\n\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")

            // Its own endpoints, on 127.0.0.1:10249 of the node: metrics, health, readiness.
            let metrics = try Self.get("/metrics", in: lab)
            #expect(metrics.hasPrefix("HTTP/1.1 200"), "\(metrics)")
            #expect(metrics.contains("sluice_programmed_services 1\n"), "\(metrics)")
            let syncs = metrics.split(separator: "\n").first {
                $0.hasPrefix("sluice_sync_proxy_rules_duration_seconds_count ")
            }
            #expect((syncs?.split(separator: " ").last.flatMap { Int($0) } ?? 0) >= 2, "\(metrics)")
            #expect(metrics.contains("sluice_sync_proxy_rules_duration_seconds_bucket{le=\"+Inf\"}"))
            #expect(try Self.get("/readyz", in: lab).hasPrefix("HTTP/1.1 200"))
            let health = try Self.get("/healthz", in: lab)
            #expect(health.hasPrefix("HTTP/1.1 200") && health.contains("\"lastUpdated\": \"20"), "\(health)")
            #expect(try Self.get("/nothing", in: lab).hasPrefix("HTTP/1.1 404"))
            // `sluice status` reads the same endpoint.
            let sluice = URL(fileURLWithPath: SluicedDaemon.binary).deletingLastPathComponent()
                .appendingPathComponent("sluice").path
            let status = try lab.topology.node.exec([sluice, "status"])
            #expect(status.contains("healthy, ready") && status.contains("Services programmed:     1 ("), "\(status)")
            let json = try lab.topology.node.exec([sluice, "status", "-o", "json"])
            #expect(json.contains("\"services\":1"), "\(json)")

            // SIGTERM: a clean exit that leaves the rules in place (traffic keeps flowing while the agent restarts).
            daemon.process.terminate()
            daemon.process.waitUntilExit()
            #expect(
                daemon.process.terminationReason == .exit && daemon.process.terminationStatus == 0,
                "\(daemon.process.terminationStatus)")
            #expect(
                try lab.topology.node.exec(["nft", "list", "map", "inet", "sluice", "service-ips4"]).contains(
                    "10.96.0.10"))
            #expect(tcpRequest(from: lab.client, to: "10.96.0.10", port: 80).serverName == "web-2")
        }
    }

    /// An HTTP GET to sluiced's metrics address inside the node namespace (bash's /dev/tcp: no curl needed).
    static func get(_ path: String, in lab: ServiceLab) throws -> String {
        try lab.topology.node.exec([
            "bash", "-c",
            "exec 3<>/dev/tcp/127.0.0.1/10249; printf 'GET \(path) HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; cat <&3",
        ])
    }

    /// Service syncs the daemon has logged so far.
    static func syncCount(in log: URL) -> Int {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.components(separatedBy: "] synced").count - 1
    }

    @Test func aRejectedBatchKeepsThePreviousRulesetAndDriftRepairConverges() async throws {
        try await ServiceLab.run(pods: ["web-1", "web-2", "client"]) { lab in
            let one = ServiceLab.service("one")
            let two = ServiceLab.service("two", clusterIPs: ["10.96.0.20"])
            try await lab.sync([one], [lab.slice("one", ["web-1"])])
            // Someone else claims the frontend `two` will need, with different data: the kernel refuses our add.
            _ = try lab.topology.node.exec([
                "nft", "add", "element", "inet", "sluice", "service-ips4", "{ 10.96.0.20 . tcp . 80 : drop }",
            ])
            await #expect(throws: NetlinkError.self) {
                try await lab.sync([one, two], [lab.slice("one", ["web-2"]), lab.slice("two", ["web-1"])])
            }
            // Nothing of the failed batch took effect: `one` still goes to web-1 only.
            let before = tally(20) { _ in tcpRequest(from: lab.client, to: "10.96.0.10", port: 80) }
            #expect(before.servers == ["web-1"], "\(before)")

            let fixes = try await lab.syncer.repairDrift()
            #expect(fixes >= 1)
            try await lab.sync([one, two], [lab.slice("one", ["web-2"]), lab.slice("two", ["web-1"])])
            #expect(tcpRequest(from: lab.client, to: "10.96.0.20", port: 80).serverName == "web-1")
            #expect(tcpRequest(from: lab.client, to: "10.96.0.10", port: 80).serverName == "web-2")
        }
    }

    @Test func healthCheckNodePortReportsLocalEndpoints() async throws {
        try await ServiceLab.run(pods: ["web-1", "client"]) { lab in
            let external = try #require(lab.topology.external)
            // Listening sockets are opened by `update`, in the namespace of the calling thread.
            let server = try HealthCheckServer()
            defer { server.stop() }
            let failures = try lab.topology.node.run {
                server.update([
                    HealthCheck(port: 32001, service: ServiceName(namespace: "default", name: "lb"), localEndpoints: 2)
                ])
            }
            #expect(failures.isEmpty, "\(failures)")
            func fetch() throws -> String {
                try external.namespace.exec([
                    "bash", "-c",
                    "exec 3<>/dev/tcp/\(external.nodeIPv4)/32001; printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; cat <&3",
                ])
            }
            let healthy = try fetch()
            #expect(healthy.hasPrefix("HTTP/1.1 200"), "\(healthy)")
            #expect(healthy.contains("\"localEndpoints\":2"))
            #expect(healthy.contains("\"namespace\":\"default\",\"name\":\"lb\""))
            _ = try lab.topology.node.run {
                server.update([
                    HealthCheck(port: 32001, service: ServiceName(namespace: "default", name: "lb"), localEndpoints: 0)
                ])
            }
            let unhealthy = try fetch()
            #expect(unhealthy.hasPrefix("HTTP/1.1 503"), "\(unhealthy)")
        }
    }

    @Test func sctpServicesAreProgrammed() async throws {
        try await ServiceLab.run(pods: ["web-1", "client"]) { lab in
            let sctp = ServiceLab.service(
                "sctp", ports: [ServicePort(name: "s", protocol: .sctp, port: 3868, targetPort: .int(3868))])
            try await lab.sync([sctp], [lab.slice("sctp", ["web-1"], port: 3868, portName: "s", protocol: .sctp)])
            let listed = try lab.topology.node.exec(["nft", "list", "map", "inet", "sluice", "service-ips4"])
            #expect(listed.contains("10.96.0.10 . sctp . 3868 : goto pick4-1"), "\(listed)")
        }
    }
}

/// Polls `condition` for up to `timeout` (the daemon applies changes asynchronously).
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return false
}
