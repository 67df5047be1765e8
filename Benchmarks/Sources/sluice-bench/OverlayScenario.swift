import ArgumentParser
import Foundation
import KubeAPI
import LinkNetlink
import Logging
import NetNamespace
import Overlay
import SluiceAgent

/// `sluice-bench overlay`: programming the pod network towards many remote nodes (routes, permanent
/// neighbours and FDB entries for VXLAN; routes for host-gw) in a fresh namespace, and the incremental sync
/// when one Node appears — the part of "a Node appears → its pod CIDR is reachable" that Sluice controls.
struct OverlayBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlay", abstract: "Overlay: programming 1,000 remote nodes, and one Node appearing.")

    @Flag(help: "A smoke run: 50 remote nodes, one repetition.")
    var quick = false

    @Option(help: "Repetitions (median and range are reported).")
    var repetitions = 5

    @Option(help: "Directory for the Markdown result.")
    var output = "Benchmarks/results"

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("sluice-bench needs root: it creates network namespaces") }
        BenchNamespaces.installSignalCleanup()
        let count = quick ? 50 : 1000
        let reps = quick ? 1 : repetitions
        var rows: [String] = []
        for backend in [OverlayBackend.vxlan, .hostGateway] {
            var cold: [Double] = []
            var one: [Double] = []
            for _ in 0..<reps {
                let (c, o) = try Self.trial(backend: backend, remote: count)
                cold.append(c)
                one.append(o)
            }
            let c = Samples(values: cold)
            let o = Samples(values: one)
            let entries =
                backend == .vxlan ? "\(count) routes + \(count) neighbours + \(count) FDB entries" : "\(count) routes"
            rows.append(
                "| \(backend == .vxlan ? "VXLAN" : "host-gw") | \(count) | \(entries) | \(humanSpread(c)) "
                    + "| \(humanSpread(o)) |")
            say("\(backend): \(count) remote nodes \(human(c.median)), one more \(human(o.median))")
        }
        let table = """
            | backend | remote nodes | kernel entries (read back) | cold sync (compile + program) | one Node appears (incremental sync) |
            |---|---:|---|---:|---:|
            \(rows.joined(separator: "\n"))
            """
        print(table)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let file = URL(fileURLWithPath: output).appendingPathComponent(
            "overlay-\(quick ? "quick" : "full")-\(stamp).md")
        try ("# Overlay programming\n\nMedians of \(reps) (min–max).\n\n" + table + "\n").write(
            to: file, atomically: true, encoding: .utf8)
        print("wrote \(file.path)")
    }

    /// Remote node `i`: a /26 of 10.244.0.0/16 (1,024 of them), an underlay address in 198.18.0.0/15, its VTEP
    /// MAC and address (the pod CIDR's first address).
    static func node(_ i: Int) -> Node {
        let cidr = "10.244.\(i / 4).\(i % 4 * 64)"
        return Node(
            metadata: ObjectMeta(
                name: "remote-\(i)",
                annotations: [
                    VTEPAnnotation.mac: String(format: "02:00:00:01:%02x:%02x", i / 256, i % 256),
                    VTEPAnnotation.address: cidr,
                ]),
            spec: NodeSpec(podCIDRs: [cidr + "/26"]),
            status: NodeStatus(
                addresses: [NodeAddress(type: .internalIP, address: "198.18.\(1 + i / 250).\(i % 250 + 2)")]))
    }

    /// One fresh namespace: the local node (an underlay veth), `remote` nodes programmed at once, then one
    /// more; verifies the kernel holds exactly what was asked. Returns both durations in seconds.
    static func trial(backend: OverlayBackend, remote: Int) throws -> (Double, Double) {
        try withNamespace("overlay") { namespace in
            // No dummy driver on every kernel: one end of a veth pair stands for the underlay link.
            try runTool(["ip", "-n", namespace.name!, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
            try runTool(["ip", "-n", namespace.name!, "link", "set", "eth0p", "up"])
            try runTool(["ip", "-n", namespace.name!, "address", "add", "198.18.0.1/15", "dev", "eth0"])
            try runTool(["ip", "-n", namespace.name!, "link", "set", "eth0", "up"])
            let local = Node(
                metadata: ObjectMeta(name: "local"), spec: NodeSpec(podCIDRs: ["10.244.255.0/24"]),
                status: NodeStatus(addresses: [NodeAddress(type: .internalIP, address: "198.18.0.1")]))
            let everyone = [local] + (0..<remote).map(node)
            let clock = ContinuousClock()
            let (cold, one) = try namespace.run { () throws -> (Duration, Duration) in
                var logger = Logger(label: "bench")
                logger.logLevel = .error
                let mode: OverlaySyncer.Mode =
                    backend == .vxlan
                    ? .vxlan(
                        .init(
                            underlayDevice: "eth0", localAddress: InetAddress("198.18.0.1")!,
                            vtepAddress: InetAddress("10.244.255.0")!))
                    : .hostGateway
                let syncer = OverlaySyncer(mode: mode, connection: try LinkConnection(), logger: logger)
                try syncer.prepareDevice()
                var report = OverlaySyncer.Report()
                let cold = try clock.measure {
                    report = try syncer.sync(
                        OverlayCompiler.compile(nodes: everyone, localNode: "local", backend: backend))
                }
                guard report.failures.isEmpty else { throw BenchError("overlay sync: \(report.failures.first!)") }
                let newcomer = everyone + [node(remote)]
                let one = try clock.measure {
                    report = try syncer.sync(
                        OverlayCompiler.compile(nodes: newcomer, localNode: "local", backend: backend))
                }
                let perNode = backend == .vxlan ? 3 : 1
                guard report.added == perNode else { throw BenchError("one node added \(report.added) entries") }
                return (cold, one)
            }
            try verify(namespace, backend: backend, nodes: remote + 1)
            return (cold.seconds, one.seconds)
        }
    }

    /// Reads the routes (and for VXLAN the neighbours and FDB entries) back with `ip`.
    private static func verify(_ namespace: NetworkNamespace, backend: OverlayBackend, nodes: Int) throws {
        func lines(_ argv: [String]) throws -> Int {
            try runTool(["ip", "-n", namespace.name!] + argv).split(separator: "\n").count
        }
        let routes = try lines(["route", "show", "10.244.0.0/16"])
        // `route show PREFIX` lists routes within it only with `root`.
        let within = try lines(["route", "show", "root", "10.244.0.0/16"])
        guard max(routes, within) >= nodes else {
            throw BenchError("read back \(max(routes, within)) routes, want \(nodes)")
        }
        if backend == .vxlan {
            let neighbours = try lines(["neigh", "show", "dev", "sluice.vxlan", "nud", "permanent"])
            let fdb =
                try lines(["link", "show", "sluice.vxlan"]) > 0
                ? try runTool(["bridge", "-n", namespace.name!, "fdb", "show", "dev", "sluice.vxlan"]).split(
                    separator: "\n"
                ).filter { $0.contains("dst") }.count : 0
            guard neighbours == nodes, fdb == nodes else {
                throw BenchError("read back \(neighbours) neighbours and \(fdb) FDB entries, want \(nodes)")
            }
        }
    }
}
