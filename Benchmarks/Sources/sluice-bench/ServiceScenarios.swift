import Foundation
import NetNamespace

/// The implementations compared on one Service set.
enum Implementation: String, Codable, Sendable, CaseIterable {
    case sluice = "Sluice"
    case kubeProxyNFTables = "kube-proxy nftables (nft -f)"
    case kubeProxyIPTables = "kube-proxy iptables (iptables-restore)"

    /// A short name for plot legends and file names.
    var short: String {
        switch self {
        case .sluice: "sluice"
        case .kubeProxyNFTables: "kube-proxy-nft"
        case .kubeProxyIPTables: "kube-proxy-iptables"
        }
    }
}

/// One cold load of a kube-proxy layout by its own tool.
struct PeerTrial: Codable, Sendable {
    /// Wall time of `ip netns exec NODE nft -f FILE` / `iptables-restore --noflush FILE`: process start, parsing,
    /// and the kernel's work.
    var load: Double
    /// Peak RSS of the loading process.
    var peakRSSBytes: Int
    /// The harness's RSS when it started the loader: a lower bound of what `peakRSSBytes` can show.
    var harnessRSSBytes: Int
    /// Wall time of kube-proxy's partial sync for one endpoint change, loaded the same way (absent in older runs).
    var change: Double?
}

/// Everything measured for one Service set size.
struct ServiceScenarioResult: Codable, Sendable {
    var services: Int
    var endpointsPerService: Int
    /// One per repetition, each from a fresh `sluice-trial` process and fresh namespaces.
    var sluice: [SluiceTrialResult] = []
    /// sluiced's `ServiceSyncer` path fed one snapshot (the manifest-directory source), one per repetition.
    var daemon: [SluiceTrialResult] = []
    /// The same fed by watch events in pages (a list/watch source); absent in runs before it existed.
    var streamed: [SluiceTrialResult]? = []
    var kubeProxyNFTables: [PeerTrial] = []
    var kubeProxyIPTables: [PeerTrial] = []
    /// Time to render the peers' text in Swift (not counted in their load; kube-proxy renders in Go).
    var peerRenderSeconds: [String: Double] = [:]
    var peerTextBytes: [String: Int] = [:]
    var notes: [String] = []

    var label: String { "\(services) × \(endpointsPerService)" }

    func samples(_ metric: (SluiceTrialResult) -> Double?) -> Samples {
        Samples(values: sluice.compactMap(metric))
    }
    func daemonSamples(_ metric: (SluiceTrialResult) -> Double?) -> Samples {
        Samples(values: daemon.compactMap(metric))
    }
    func streamedSamples(_ metric: (SluiceTrialResult) -> Double?) -> Samples {
        Samples(values: (streamed ?? []).compactMap(metric))
    }
    var nftLoad: Samples { Samples(values: kubeProxyNFTables.map(\.load)) }
    var iptablesLoad: Samples { Samples(values: kubeProxyIPTables.map(\.load)) }
}

/// New-connection latency through one implementation's rules with a given number of Services programmed.
struct LatencyResult: Codable, Sendable {
    var services: Int
    var implementation: Implementation
    /// The median over ``runs`` of each figure; in files from before repeated probes, the one probe's figures.
    var figures: LatencyFigures
    /// Every probe's figures, in the order they ran on the same rules; absent in files from before repeated
    /// probes (``Replot`` still reads those).
    var runs: [LatencyFigures]?

    init(services: Int, implementation: Implementation, runs: [LatencyFigures]) {
        self.services = services
        self.implementation = implementation
        self.figures = LatencyFigures(medianOf: runs)
        self.runs = runs
    }

    /// The p50 of every probe (one value in older files): the median is the reported figure, the range its spread.
    var p50s: Samples { Samples(values: (runs ?? [figures]).map(\.p50)) }
    /// The p99 of every probe, likewise.
    var p99s: Samples { Samples(values: (runs ?? [figures]).map(\.p99)) }
    /// How many probes the figures summarize.
    var probes: Int { runs?.count ?? 1 }
}

/// Runs the Service scenarios: for every size, Sluice (a child process per repetition), the kernel's own cost,
/// sluiced's path, and both kube-proxy layouts, each in fresh namespaces; connect latency where asked.
struct ServiceBenchmark {
    var sizes: [(services: Int, endpoints: Int)]
    /// Service counts (× 10 endpoints) at which connect latency is measured.
    var datapathSizes: [Int]
    var repetitions: Int
    var peerRepetitions: Int
    /// Peers are skipped above this many endpoints: per-Service-chain layouts take minutes there.
    var peerMaxEndpoints: Int
    var connects: Int
    /// Probes of `connects` connections each per size and implementation, on the same rules one after another;
    /// the report gives the median of their p50s and p99s.
    var latencyRepetitions: Int
    /// `iptables-nft-restore` or `iptables-legacy-restore`.
    var iptablesRestore: String

    var iptablesSave: String { iptablesRestore.replacingOccurrences(of: "-restore", with: "-save") }

    func run(progress: (String) -> Void) throws -> (rows: [ServiceScenarioResult], latencies: [LatencyResult]) {
        var rows: [ServiceScenarioResult] = []
        var latencies: [LatencyResult] = []
        for size in sizes {
            let set = ServiceSet(count: size.services, endpointsPerService: size.endpoints)
            let probe = size.endpoints == 10 && datapathSizes.contains(size.services)
            var row = ServiceScenarioResult(services: set.count, endpointsPerService: set.endpointsPerService)
            // Above 100k endpoints one repetition takes half a minute (mostly reading maps back): three suffice.
            let reps = set.endpointCount > 100_000 ? min(repetitions, 3) : repetitions
            for rep in 0..<reps {
                let (result, latency) = try sluiceTrial(set, probe: probe && rep == 0, verifyEndpoints: rep == 0)
                row.sluice.append(result)
                if let latency {
                    latencies.append(LatencyResult(services: set.count, implementation: .sluice, runs: latency))
                }
                row.daemon.append(try sluiceTrial(set, daemon: true, verifyEndpoints: rep == 0))
                row.streamed?.append(try sluiceTrial(set, probe: false, daemon: true, stream: true).0)
                progress(
                    "\(set.label) Sluice rep \(rep + 1): total \(human(result.total ?? .nan)), kernel \(human(result.kernel ?? .nan)), "
                        + "sluiced \(human(row.daemon.last?.daemonColdSync ?? .nan)), "
                        + "streamed \(human(row.streamed?.last?.daemonColdSync ?? .nan))")
            }
            if set.endpointCount <= peerMaxEndpoints {
                for implementation in [Implementation.kubeProxyNFTables, .kubeProxyIPTables] {
                    let clock = ContinuousClock()
                    var text = ""
                    let render = clock.measure {
                        text =
                            implementation == .kubeProxyNFTables
                            ? KubeProxyNFTablesLayout(services: set).render()
                            : KubeProxyIPTablesLayout(services: set).render()
                    }
                    row.peerRenderSeconds[implementation.short] = render.seconds
                    row.peerTextBytes[implementation.short] = text.utf8.count
                    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                        "sluice-bench-\(getpid())-\(implementation.short).rules")
                    try text.write(to: file, atomically: false, encoding: .utf8)
                    defer { try? FileManager.default.removeItem(at: file) }
                    text = ""
                    // One load of the nftables layout at 10k takes over a minute and a half here: once is enough.
                    let peerReps = set.endpointCount > 50_000 ? 1 : peerRepetitions
                    for rep in 0..<peerReps {
                        let (trial, latency) = try peerTrial(
                            implementation, set, file: file.path, probe: probe && rep == 0)
                        if implementation == .kubeProxyNFTables {
                            row.kubeProxyNFTables.append(trial)
                        } else {
                            row.kubeProxyIPTables.append(trial)
                        }
                        if let latency {
                            latencies.append(
                                LatencyResult(services: set.count, implementation: implementation, runs: latency))
                        }
                        progress("\(set.label) \(implementation.rawValue) rep \(rep + 1): \(human(trial.load))")
                    }
                }
            } else {
                row.notes.append(
                    "kube-proxy layouts not loaded at \(set.label): above \(peerMaxEndpoints) endpoints their per-Service and "
                        + "per-endpoint chains take minutes per load")
            }
            rows.append(row)
        }
        // Connect latency at sizes without a sync row (e.g. 1 Service): one load each, then the probe.
        for count in datapathSizes where !sizes.contains(where: { $0.services == count && $0.endpoints == 10 }) {
            let set = ServiceSet(count: count, endpointsPerService: 10)
            if let latency = try sluiceTrial(set, probe: true).1 {
                latencies.append(LatencyResult(services: count, implementation: .sluice, runs: latency))
            }
            guard set.endpointCount <= peerMaxEndpoints else { continue }
            for implementation in [Implementation.kubeProxyNFTables, .kubeProxyIPTables] {
                let text =
                    implementation == .kubeProxyNFTables
                    ? KubeProxyNFTablesLayout(services: set).render() : KubeProxyIPTablesLayout(services: set).render()
                let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "sluice-bench-\(getpid())-\(implementation.short).rules")
                try text.write(to: file, atomically: false, encoding: .utf8)
                defer { try? FileManager.default.removeItem(at: file) }
                if let latency = try peerTrial(implementation, set, file: file.path, probe: true).1 {
                    latencies.append(LatencyResult(services: count, implementation: implementation, runs: latency))
                }
            }
            progress("\(set.label) connect latency measured")
        }
        return (rows, latencies)
    }

    // MARK: trials

    /// A Sluice trial in a child process: fresh node namespace (and, for the pipeline, a second fresh namespace
    /// for the kernel-only apply); the datapath probe runs afterwards against the rules the child left.
    private func sluiceTrial(
        _ set: ServiceSet, probe: Bool = false, daemon: Bool = false, stream: Bool = false,
        verifyEndpoints: Bool = true
    ) throws
        -> (SluiceTrialResult, [LatencyFigures]?)
    {
        try withNamespace("node") { node in
            try withNamespace("kernel") { kernel in
                let topology = probe ? try DatapathTopology.build(node: node, endpoints: set.endpointsPerService) : nil
                defer { topology?.remove() }
                var argv = [
                    Self.executablePath, "sluice-trial", "--namespace", node.name!, "--services", "\(set.count)",
                    "--endpoints", "\(set.endpointsPerService)",
                ]
                argv += daemon ? ["--daemon"] : ["--kernel-namespace", kernel.name!]
                if stream { argv.append("--stream") }
                if verifyEndpoints { argv.append("--verify-endpoints") }
                let outcome = try spawn(argv)
                guard outcome.status == 0 else {
                    throw BenchError("sluice-trial \(set.label) failed (status \(outcome.status))")
                }
                let result = try JSONDecoder().decode(SluiceTrialResult.self, from: Data(outcome.output.utf8))
                let latency = try topology.map { try probeLatency($0, set) }
                return (result, latency)
            }
        }
    }

    private func sluiceTrial(_ set: ServiceSet, daemon: Bool, verifyEndpoints: Bool) throws -> SluiceTrialResult {
        try sluiceTrial(set, probe: false, daemon: daemon, verifyEndpoints: verifyEndpoints).0
    }

    /// A kube-proxy layout loaded by its own tool into a fresh node namespace, then read back.
    private func peerTrial(
        _ implementation: Implementation, _ set: ServiceSet, file: String, probe: Bool
    ) throws
        -> (PeerTrial, [LatencyFigures]?)
    {
        try withNamespace("node") { node in
            let topology = probe ? try DatapathTopology.build(node: node, endpoints: set.endpointsPerService) : nil
            defer { topology?.remove() }
            let name = node.name!
            let command =
                implementation == .kubeProxyNFTables
                ? ["ip", "netns", "exec", name, "nft", "-f", file]
                : ["ip", "netns", "exec", name, iptablesRestore, "--noflush", file]
            let outcome = try spawn(command)
            guard outcome.status == 0 else { throw BenchError("\(command.joined(separator: " ")) failed") }
            try verifyPeer(implementation, set, namespace: name)
            let latency = try topology.map { try probeLatency($0, set) }
            let change = set.count >= 2 ? try peerChange(implementation, set, file: file, namespace: name) : nil
            let trial = PeerTrial(
                load: outcome.wall.seconds, peakRSSBytes: outcome.maxRSSKiB * 1024,
                harnessRSSBytes: outcome.parentRSSKiB * 1024, change: change)
            return (trial, latency)
        }
    }

    /// kube-proxy's partial sync for the one-endpoint change Sluice's trial makes (endpoint 3 of the changed
    /// Service replaced), loaded by the same tool into the loaded namespace and checked: the new endpoint's DNAT
    /// is there, the old one's chain is gone.
    private func peerChange(
        _ implementation: Implementation, _ set: ServiceSet, file: String, namespace: String
    ) throws -> Double {
        let index = set.changedIndex
        let text =
            implementation == .kubeProxyNFTables
            ? KubeProxyNFTablesLayout(services: set).endpointChange(index, slot: 3)
            : KubeProxyIPTablesLayout(services: set).endpointChange(index, slot: 3)
        let changeFile = file + ".change"
        try text.write(toFile: changeFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: changeFile) }
        let command =
            implementation == .kubeProxyNFTables
            ? ["ip", "netns", "exec", namespace, "nft", "-f", changeFile]
            : ["ip", "netns", "exec", namespace, iptablesRestore, "--noflush", changeFile]
        let outcome = try spawn(command)
        guard outcome.status == 0 else { throw BenchError("\(command.joined(separator: " ")) failed") }
        let fresh = "\(set.endpoint(index, 3, generation: 1)):\(ServiceSet.targetPort)"
        let stale = "\(set.endpoint(index, 3)):\(ServiceSet.targetPort)"
        let listing =
            implementation == .kubeProxyNFTables
            ? try runTool([
                "ip", "netns", "exec", namespace, "nft", "list", "table", "ip", KubeProxyNFTablesLayout.table,
            ])
            : try runTool(["ip", "netns", "exec", namespace, iptablesSave, "-t", "nat"])
        guard listing.contains(fresh + "\n") || listing.contains(fresh + " "), !listing.contains("to \(stale)\n"),
            !listing.contains("--to-destination \(stale)\n")
        else { throw BenchError("\(implementation) partial sync did not replace \(stale) by \(fresh)") }
        return outcome.wall.seconds
    }

    /// Lists what the peer's tool loaded: every Service in the dispatch and every endpoint's DNAT must be there.
    private func verifyPeer(_ implementation: Implementation, _ set: ServiceSet, namespace: String) throws {
        if implementation == .kubeProxyNFTables {
            let map = try runTool([
                "ip", "netns", "exec", namespace, "nft", "list", "map", "ip", "kube-proxy", "service-ips",
            ])
            let services = map.components(separatedBy: ": goto service-").count - 1
            let chains = try runTool(["ip", "netns", "exec", namespace, "nft", "list", "chains", "ip"])
            let endpoints = chains.components(separatedBy: "chain endpoint-").count - 1
            guard services == set.count, endpoints == set.endpointCount else {
                throw BenchError("nft read back \(services) services, \(endpoints) endpoint chains for \(set.label)")
            }
        } else {
            let saved = try runTool(["ip", "netns", "exec", namespace, iptablesSave, "-t", "nat"])
            let lines = saved.split(separator: "\n")
            let services = lines.count { $0.hasPrefix("-A KUBE-SERVICES ") && $0.contains("-j KUBE-SVC-") }
            let endpoints = lines.count { $0.hasPrefix("-A KUBE-SEP-") && $0.contains("-j DNAT") }
            guard services == set.count, endpoints == set.endpointCount else {
                throw BenchError(
                    "\(iptablesSave) read back \(services) services, \(endpoints) DNAT rules for \(set.label)")
            }
        }
    }

    /// ``latencyRepetitions`` probes of ``connects`` connections to the probe Service, one after another on the
    /// same rules, each with its own warm-up.
    private func probeLatency(_ topology: DatapathTopology, _ set: ServiceSet) throws -> [LatencyFigures] {
        try (0..<latencyRepetitions).map { _ in
            LatencyFigures(
                try topology.connectLatencies(
                    to: set.clusterIP(set.probeIndex), port: UInt16(ServiceSet.servicePort), count: connects))
        }
    }

    /// This executable, to start `sluice-trial` children.
    static let executablePath: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0
            ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }()
}
