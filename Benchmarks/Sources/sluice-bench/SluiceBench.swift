import ArgumentParser
import Foundation

/// Side-by-side, process-level measurements on the real kernel, each run in fresh network namespaces.
@main
struct SluiceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-bench",
        abstract:
            "Measures Sluice's Service programming and datapath against kube-proxy's layouts, NetworkPolicy, Gateway routing, the overlay and CNI (root for all but routing).",
        subcommands: [
            RunBenchmarks.self, SluiceTrial.self, Replot.self, PolicyBenchmark.self, RoutingBenchmark.self,
            OverlayBenchmark.self, CNIBenchmark.self, IPVSBenchmark.self,
        ],
        defaultSubcommand: RunBenchmarks.self)
}

/// The benchmark run: the map-load foundation, the Service scenarios with their peers, connect latency; then
/// the Markdown, JSON and SVG files.
struct RunBenchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Runs every scenario and writes the results (the default command).")

    @Flag(help: "A smoke run: smallest sizes, one repetition, every scenario (CI runs this so the harness never rots).")
    var quick = false

    @Option(help: "Repetitions of each Sluice measurement (median and range are reported).")
    var repetitions = 5

    @Option(help: "Repetitions of each kube-proxy layout load (they are slow at 10k).")
    var peerRepetitions = 3

    @Option(help: "Load the kube-proxy layouts only up to this many endpoints (Services × endpoints).")
    var peerMaxEndpoints = 100_000

    @Option(help: "Timed connections per latency measurement.")
    var connects = 2000

    @Option(
        help:
            "Latency probes (of --connects each) per size and implementation; the medians of their p50s and p99s are reported (default 3; 1 with --quick)."
    )
    var latencyRepetitions: Int?

    @Option(help: "Which iptables-restore loads the iptables layout: iptables-nft-restore or iptables-legacy-restore.")
    var iptablesRestore = "iptables-legacy-restore"

    @Option(
        help:
            "Service scenarios as SERVICESxENDPOINTS, comma-separated (default: 1000x10,3000x10,5000x50,10000x10,30000x10)."
    )
    var sizes: String?

    @Option(help: "Service counts for connect latency, comma-separated (default: 1,1000,10000,30000).")
    var datapathSizes: String?

    @Flag(help: "Skip the nftables map-load scenario.")
    var skipMapLoad = false

    @Option(help: "Directory for the Markdown, JSON and SVG results.")
    var output = "Benchmarks/results"

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("sluice-bench needs root: it creates network namespaces") }
        BenchNamespaces.installSignalCleanup()
        let reps = quick ? 1 : repetitions
        let peerReps = quick ? 1 : peerRepetitions
        let probes = latencyRepetitions ?? (quick ? 1 : 3)
        guard probes > 0 else { throw ValidationError("--latency-repetitions must be positive") }
        let machine = Report.Machine.current(iptablesRestore: iptablesRestore)
        say("machine: \(machine.cores) cores, \(machine.cpu), Linux \(machine.kernel), load \(machine.loadAverage)")

        var mapLoad: [MapLoadResult] = []
        if !skipMapLoad {
            for elements in quick ? [10_000] : [10_000, 100_000, 200_000] {
                let result = try MapLoadScenario(elements: elements).measure(repetitions: reps)
                say(result.markdownRow)
                mapLoad.append(result)
            }
        }

        let benchmark = ServiceBenchmark(
            sizes: try parsedSizes(), datapathSizes: try parsedDatapathSizes(), repetitions: reps,
            peerRepetitions: peerReps, peerMaxEndpoints: peerMaxEndpoints, connects: quick ? 300 : connects,
            latencyRepetitions: probes, iptablesRestore: iptablesRestore)
        let (rows, latencies) = try benchmark.run(progress: say)

        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let report = Report(
            mode: quick ? "quick" : "full", stamp: stamp, machine: machine, repetitions: reps,
            peerRepetitions: peerReps, iptablesRestore: iptablesRestore, mapLoad: mapLoad, services: rows,
            latencies: latencies, latencyRepetitions: probes)
        say("\n" + report.servicesMarkdown())
        try report.write(to: output)
    }

    private func parsedSizes() throws -> [(services: Int, endpoints: Int)] {
        let text = sizes ?? (quick ? "1000x10" : "1000x10,3000x10,5000x50,10000x10,30000x10")
        return try text.split(separator: ",").map { item in
            let parts = item.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0, parts[1] <= 250 else {
                throw ValidationError("bad size \(item): want SERVICESxENDPOINTS, e.g. 10000x10")
            }
            return (parts[0], parts[1])
        }
    }

    private func parsedDatapathSizes() throws -> [Int] {
        let text = datapathSizes ?? (quick ? "1,1000" : "1,1000,10000,30000")
        return try text.split(separator: ",").map { item in
            guard let count = Int(item), count > 0 else { throw ValidationError("bad datapath size \(item)") }
            return count
        }
    }
}

/// Writes a line to standard output at once (unbuffered), so a log file shows progress while the run goes on.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Rewrites a run's Markdown and plots from its JSON, so presentation fixes never need the machine time of a rerun.
struct Replot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerates the Markdown and SVG files of a run from its JSON.")

    @Argument(help: "A results JSON file, e.g. Benchmarks/results/full-<stamp>.json.")
    var json: String

    func run() throws {
        let url = URL(fileURLWithPath: json)
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: url))
        try report.write(to: url.deletingLastPathComponent().path)
    }
}
