import Foundation

/// One run's results: written as `<mode>-<stamp>.md` and `.json` to the output directory, with the SVG plots
/// beside them (`<mode>-<stamp>-sync.svg`, `-connect.svg`).
struct Report: Codable {
    var mode: String
    var stamp: String
    var machine: Machine
    var repetitions: Int
    var peerRepetitions: Int
    var iptablesRestore: String
    var mapLoad: [MapLoadResult]
    var services: [ServiceScenarioResult]
    var latencies: [LatencyResult]
    /// Connect-latency probes per size and implementation; absent in files from before repeated probes (one).
    var latencyRepetitions: Int?

    /// What the figures were measured on (they mean little without it).
    struct Machine: Codable {
        var cores: Int
        var cpu: String
        var kernel: String
        var nft: String
        var iptables: String
        /// 1-minute load average at the start: other work on the machine shows up in every figure.
        var loadAverage: String

        static func current(iptablesRestore: String) -> Machine {
            let host = HostDescription.current()
            return Machine(
                cores: host.cores, cpu: host.cpu, kernel: host.kernel,
                nft: firstLine(try? runTool(["nft", "--version"])),
                iptables: firstLine(
                    try? runTool([iptablesRestore.replacingOccurrences(of: "-restore", with: ""), "--version"])),
                loadAverage: host.loadAverage)
        }
    }

    func write(to directory: String) throws {
        let base = URL(fileURLWithPath: directory).appendingPathComponent("\(mode)-\(stamp)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try markdown(plotPrefix: "\(mode)-\(stamp)").write(
            to: base.appendingPathExtension("md"), atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: base.appendingPathExtension("json"))
        try syncPlot().render().write(
            to: URL(fileURLWithPath: base.path + "-sync.svg"), atomically: true, encoding: .utf8)
        try connectPlot().render().write(
            to: URL(fileURLWithPath: base.path + "-connect.svg"), atomically: true, encoding: .utf8)
        say("\nwrote \(base.path).md, .json, -sync.svg, -connect.svg")
    }

    // MARK: markdown

    func markdown(plotPrefix: String) -> String {
        var md = "# sluice-bench, \(mode) run \(stamp)\n\n"
        md += "Machine: \(machine.cores) cores (\(machine.cpu)), Linux \(machine.kernel), \(machine.nft), "
        md += "\(machine.iptables) via `\(iptablesRestore)`; load average at start \(machine.loadAverage). "
        md += "Medians of \(repetitions) repetitions for Sluice and \(peerRepetitions) for the kube-proxy layouts "
        md += "(min–max in brackets)"
        if let probes = latencyRepetitions, probes > 1 {
            md += "; connect latency: medians of the p50s and p99s of \(probes) probes per size and implementation"
        }
        md += ".\n\n"
        md += servicesMarkdown()
        md +=
            "\n![sync time vs Services](\(plotPrefix)-sync.svg)\n\n![connect latency vs Services](\(plotPrefix)-connect.svg)\n\n"
        md += "## nftables map load (foundation)\n\n"
        md += MapLoadResult.markdownHeader + "\n" + mapLoad.map(\.markdownRow).joined(separator: "\n") + "\n"
        return md
    }

    func servicesMarkdown() -> String {
        var md = "## Services: cold sync (ClusterIP, TCP, N Services × E endpoints)\n\n"
        md += "| Services × endpoints | Sluice compile | encode | apply | **Sluice total** | sluiced cold sync "
        md +=
            "| sluiced, streamed source | kernel (prebuilt batch) | kube-proxy nft -f | kube-proxy iptables-restore | nft ÷ Sluice "
        md += "| iptables ÷ Sluice | Sluice ÷ kernel | batch |\n"
        md += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for row in services {
            let total = row.samples(\.total)
            let kernel = row.samples(\.kernel)
            md += "| \(row.label) | \(human(row.samples(\.compile).median)) | \(human(row.samples(\.encode).median)) "
            md += "| \(human(row.samples(\.apply).median)) | **\(humanSpread(total))** "
            md += "| \(humanSpread(row.daemonSamples(\.daemonColdSync))) "
            md += "| \(humanSpread(row.streamedSamples(\.daemonColdSync))) | \(humanSpread(kernel)) "
            md += "| \(humanSpread(row.nftLoad)) | \(humanSpread(row.iptablesLoad)) "
            md += "| \(ratio(row.nftLoad.median, total.median)) | \(ratio(row.iptablesLoad.median, total.median)) "
            md += "| \(ratio(total.median, kernel.median)) "
            md += "| \(mebibytes(row.samples { $0.batchBytes.map(Double.init) }.median)) |\n"
        }

        md +=
            "\n## Services: changes after the cold sync (Sluice: compile + encode + apply, bytes sent; kube-proxy layouts: their partial sync loaded by their tool)\n\n"
        md += "| Services × endpoints | one endpoint (watch event) | one endpoint (whole snapshot) "
        md +=
            "| one Service added | 1% endpoint churn | sluiced, one endpoint (snapshot) | sluiced, one endpoint (event) "
            + "| kube-proxy nftables, one endpoint (partial sync, nft -f) | kube-proxy iptables, one endpoint (partial restore) |\n"
        md += "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for row in services {
            func cell(_ figures: (SluiceTrialResult) -> IncrementalFigures?) -> String {
                let times = row.samples { figures($0)?.total }
                let bytes = row.sluice.compactMap { figures($0)?.bytes }.first
                return "\(humanSpread(times))" + (bytes.map { ", \($0) B" } ?? "")
            }
            let churned = row.sluice.first?.churnServices.map { " (\($0) Services)" } ?? ""
            md += "| \(row.label) | \(cell(\.endpointChange)) | \(cell(\.snapshotChange)) | \(cell(\.serviceAdded)) "
            md += "| \(cell(\.churn))\(churned) | \(humanSpread(row.daemonSamples(\.daemonChange))) "
            md += "| \(humanSpread(row.streamedSamples(\.daemonChange))) "
            md += "| \(humanSpread(Samples(values: row.kubeProxyNFTables.compactMap(\.change)))) "
            md += "| \(humanSpread(Samples(values: row.kubeProxyIPTables.compactMap(\.change)))) |\n"
        }

        md += "\n## Peak memory (RSS of the process doing the work)\n\n"
        md += "| Services × endpoints | Sluice proxier (sluice-trial) | of which: input objects → compiled → encoded "
        md += "| sluiced, snapshot source | sluiced, streamed source | nft -f | iptables-restore |\n"
        md += "|---|---:|---:|---:|---:|---:|---:|\n"
        for row in services {
            let phases = [\SluiceTrialResult.rssAfterInputBytes, \.rssAfterCompileBytes, \.rssAfterEncodeBytes].map {
                path in mebibytes(row.samples { $0[keyPath: path].map(Double.init) }.median)
            }
            md += "| \(row.label) | \(mebibytes(row.samples { $0.peakRSSBytes.map(Double.init) }.median)) "
            md += "| \(phases.joined(separator: " → ")) "
            md += "| \(mebibytes(row.daemonSamples { $0.peakRSSBytes.map(Double.init) }.median)) "
            md += "| \(mebibytes(row.streamedSamples { $0.peakRSSBytes.map(Double.init) }.median)) "
            md += "| \(mebibytes(Samples(values: row.kubeProxyNFTables.map { Double($0.peakRSSBytes) }).median)) "
            md += "| \(mebibytes(Samples(values: row.kubeProxyIPTables.map { Double($0.peakRSSBytes) }).median)) |\n"
        }

        let floor = services.flatMap { $0.kubeProxyNFTables + $0.kubeProxyIPTables }.map(\.harnessRSSBytes).max()
        if let floor {
            md += "\nPeers' figures are `ru_maxrss` of the loading process, which cannot read below the harness's RSS "
            md += "when it started them (at most \(mebibytes(Double(floor))) in this run).\n"
        }

        md += "\n## Datapath: new-connection latency to a ClusterIP (p50 / p99)\n\n"
        if latencies.contains(where: { $0.probes > 1 }) {
            md += "Medians over repeated probes on the same rules, their range in brackets.\n\n"
        }
        md += "| Services programmed | Sluice | kube-proxy nftables | kube-proxy iptables | connects each |\n"
        md += "|---:|---:|---:|---:|---:|\n"
        for count in Set(latencies.map(\.services)).sorted() {
            func cell(_ implementation: Implementation) -> String {
                guard
                    let result = latencies.first(where: { $0.services == count && $0.implementation == implementation })
                else { return "–" }
                return "\(microsecondsSpread(result.p50s)) / \(microsecondsSpread(result.p99s)) µs"
            }
            let probe = latencies.first { $0.services == count }
            let connects = probe.map {
                $0.probes > 1 ? "\($0.probes) × \($0.figures.connects)" : "\($0.figures.connects)"
            }
            md +=
                "| \(count) | \(cell(.sluice)) | \(cell(.kubeProxyNFTables)) | \(cell(.kubeProxyIPTables)) | \(connects ?? "–") |\n"
        }

        md += "\n## Targets (reported, not asserted)\n\n" + targets().map { "- \($0)\n" }.joined()
        let notes = services.flatMap(\.notes)
        if !notes.isEmpty { md += "\n## Notes\n\n" + notes.map { "- \($0)\n" }.joined() }
        return md
    }

    /// Each target of issues 3 and 9 against this run's medians: met or missed, and by how much.
    func targets() -> [String] {
        var out: [String] = []
        func verdict(_ ok: Bool) -> String { ok ? "**met**" : "**missed**" }
        func row(_ services: Int) -> ServiceScenarioResult? {
            self.services.first { $0.services == services && $0.endpointsPerService == 10 }
        }
        if let r = row(10_000) {
            let total = r.samples(\.total).median
            let daemon = r.daemonSamples(\.daemonColdSync).median
            out.append(
                "10k × 10 cold sync ≤ 0.5 s: \(verdict(total <= 0.5)) — Sluice total \(human(total)); "
                    + "sluiced's own path \(human(daemon)) \(daemon <= 0.5 ? "(met)" : "(missed)")")
            let nft = r.nftLoad.median
            if nft.isFinite {
                out.append(
                    "≥ 25× faster than kube-proxy's nftables layout via nft -f at 10k: \(verdict(nft / total >= 25)) — "
                        + "\(ratio(nft, total)) (\(human(nft)) vs \(human(total)))")
            }
            let kernel = r.samples(\.kernel).median
            out.append(
                "Sluice within 1.5× of the kernel's own cost at 10k: \(verdict(total / kernel <= 1.5)) — "
                    + "Sluice total ÷ kernel = \(ratio(total, kernel)) (apply alone ÷ kernel = "
                    + "\(ratio(r.samples(\.apply).median, kernel)))")
        }
        if let r = row(30_000) {
            let total = r.samples(\.total).median
            let daemon = r.daemonSamples(\.daemonColdSync).median
            out.append(
                "30k × 10 cold sync ≤ 2 s: \(verdict(total <= 2)) — Sluice total \(human(total)); sluiced's own path "
                    + "\(human(daemon))")
            let change = r.samples { $0.endpointChange?.total }.median
            let snapshot = r.samples { $0.snapshotChange?.total }.median
            out.append(
                "one endpoint change ≤ 5 ms (at 30k): \(verdict(change <= 0.005)) — \(human(change)) as a watch event; "
                    + "\(human(snapshot)) when it arrives as a whole snapshot (\(snapshot <= 0.005 ? "met" : "missed"))"
            )
            let rss = r.streamedSamples { $0.peakRSSBytes.map(Double.init) }.median
            let snapshotRSS = r.daemonSamples { $0.peakRSSBytes.map(Double.init) }.median
            out.append(
                "sluiced RSS at 30k Services / 300k endpoints ≤ 150 MB: \(verdict(rss <= 150_000_000)) — "
                    + "\(mebibytes(rss)) peak fed by a list/watch-style source; \(mebibytes(snapshotRSS)) when the "
                    + "whole snapshot is held as objects (the manifest-directory source)")
        }
        // Judged on the median p50 of the repeated probes (a single probe in older files).
        let sluice = latencies.filter { $0.implementation == .sluice }.sorted { $0.services < $1.services }
        if let first = sluice.first, let last = sluice.last, last.services > first.services {
            let (from, to) = (first.p50s.median, last.p50s.median)
            let growth = to / from - 1
            let probes = sluice.map(\.probes).min() ?? 1
            let what = probes > 1 ? "median p50 of \(probes) probes" : "p50"
            var line =
                "connect latency flat (≤ 10% growth) from \(first.services) to \(last.services) Services: "
                + "\(verdict(growth <= 0.10)) — Sluice \(what) \(String(format: "%.0f → %.0f µs (%+.0f%%)", from, to, growth * 100))"
            line += " (p50 at each size: \(sluice.map { microsecondsSpread($0.p50s) }.joined(separator: ", ")) µs)"
            let ipt = latencies.filter { $0.implementation == .kubeProxyIPTables }.sorted { $0.services < $1.services }
            if let a = ipt.first, let b = ipt.last, b.services > a.services {
                line += String(
                    format: "; iptables layout p50 %.0f → %.0f µs (%+.0f%%) from %d to %d", a.p50s.median,
                    b.p50s.median, (b.p50s.median / a.p50s.median - 1) * 100, a.services, b.services)
            }
            out.append(line)
        }
        return out
    }

    // MARK: plots

    /// Cold sync time against Services (× 10 endpoints), log–log: one line per implementation.
    func syncPlot() -> LinePlot {
        let rows = services.filter { $0.endpointsPerService == 10 }
        func points(_ value: (ServiceScenarioResult) -> Double) -> [(x: Double, y: Double)] {
            rows.map { (Double($0.services), value($0)) }.filter { $0.1.isFinite }
        }
        return LinePlot(
            title: "Cold sync of N Services × 10 endpoints (median)", xLabel: "Services",
            yLabel: "time to program the kernel",
            series: [
                .init(name: "Sluice (compile+apply)", color: "#1b7837", points: points { $0.samples(\.total).median }),
                .init(
                    name: "sluiced cold sync", color: "#5aae61", dashed: true,
                    points: points { $0.daemonSamples(\.daemonColdSync).median }),
                .init(
                    name: "kernel (prebuilt batch)", color: "#777777", dashed: true,
                    points: points { $0.samples(\.kernel).median }),
                .init(name: "kube-proxy nftables", color: "#d6604d", points: points { $0.nftLoad.median }),
                .init(name: "kube-proxy iptables", color: "#4393c3", points: points { $0.iptablesLoad.median }),
            ],
            formatY: { $0 < 1 ? String(format: "%.0f ms", $0 * 1000) : String(format: "%g s", $0) })
    }

    /// Connect latency (p50 solid, p99 dashed) against Services programmed.
    func connectPlot() -> LinePlot {
        let colors: [Implementation: String] = [
            .sluice: "#1b7837", .kubeProxyNFTables: "#d6604d", .kubeProxyIPTables: "#4393c3",
        ]
        var series: [LinePlot.Series] = []
        for implementation in Implementation.allCases {
            let mine = latencies.filter { $0.implementation == implementation }
            guard !mine.isEmpty else { continue }
            let name = implementation == .sluice ? "Sluice" : implementation.short
            series.append(
                .init(
                    name: "\(name) p50", color: colors[implementation]!,
                    points: mine.map { (Double($0.services), $0.figures.p50) }))
            series.append(
                .init(
                    name: "\(name) p99", color: colors[implementation]!, dashed: true,
                    points: mine.map { (Double($0.services), $0.figures.p99) }))
        }
        return LinePlot(
            title: "New TCP connection to a ClusterIP (connect → established)", xLabel: "Services programmed",
            yLabel: "latency (µs)", logX: true, logY: false, series: series, formatY: { String(format: "%.0f", $0) })
    }
}
