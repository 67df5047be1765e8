import Foundation

/// Every timing of one implementation over all rounds, in seconds, one value per invocation (the raw figures go
/// to the JSON so any other statistic can be computed later).
struct CNIImplementationResult: Codable {
    var implementation: CNIImplementation
    /// `/bin/true` started exactly like the plugin: what the launcher and an exec cost by themselves.
    var launchFloor = InvocationSamples()
    var version = InvocationSamples()
    /// The first ADD of a round, which also creates the bridge and gives it the gateway address.
    var firstAdd = InvocationSamples()
    var addSingle = InvocationSamples()
    var delSingle = InvocationSamples()
    /// Each ADD of a burst, from the release of its gate to its own exit.
    var burstAdd = InvocationSamples()
    /// A whole burst, from the release of the gate to the last exit.
    var burstAddWall = Samples()
    var burstDel = InvocationSamples()
    var burstDelWall = Samples()
    /// Per burst: the share of all cores busy (any process) while it ran.
    var burstAddMachineBusy = Samples()
    var burstDelMachineBusy = Samples()
}

/// Wall and CPU time of each invocation of one kind, in seconds.
struct InvocationSamples: Codable {
    var wall = Samples()
    /// User + system time of the process and the children it waited for.
    var cpu = Samples()

    mutating func append(_ completion: PluginCompletion) {
        wall.append(completion.wall.seconds)
        cpu.append(completion.cpu.seconds)
    }
}

/// The CNI scenario's results: `cni-<stamp>.md` and `.json` (`cni-quick-<stamp>` for smoke runs).
struct CNIReport: Codable {
    var mode: String
    var stamp: String
    var machine: Report.Machine
    var workload: CNIWorkload
    var launcher: PluginLauncher
    var implementations: [CNIImplementationResult]

    func write(to directory: String) throws {
        let name = mode == "full" ? "cni-\(stamp)" : "cni-\(mode)-\(stamp)"
        let base = URL(fileURLWithPath: directory).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ("# sluice-bench cni, \(mode) run \(stamp)\n\n" + markdown()).write(
            to: base.appendingPathExtension("md"), atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: base.appendingPathExtension("json"))
        say("\nwrote \(base.path).md, .json")
    }

    func markdown() -> String {
        guard implementations.count == 2 else { return "" }
        let sluice = implementations[0]
        let reference = implementations[1]
        let burst = workload.burst
        var md = "Machine: \(machine.cores) cores (\(machine.cpu)), Linux \(machine.kernel); load average at start "
        md += "\(machine.loadAverage). \(workload.rounds) rounds per implementation, each in a fresh node namespace "
        md += "with a fresh IPAM store: \(workload.versionExecs) VERSION execs, one first ADD, \(workload.singles) "
        md += "ADDs then DELs one at a time, \(burst) ADDs at once then \(burst) DELs at once. Launcher: "
        md +=
            launcher == .setns
            ? "the bench's child enters the node namespace (clone with CLONE_VM, setns, execve). "
            : "`nsenter --net=`. "
        md += "Every child is started first and waits at a gate; each timing starts when the gate opens (a burst "
        md += "starts at once). "
        md += "Sluice: `\(sluice.implementation.binary)` (\(sluice.implementation.version)); reference: "
        md += "`\(reference.implementation.binary)` (\(reference.implementation.version)). p99 is the nearest-rank "
        md += "percentile over every invocation of all rounds.\n\n"
        md += "| operation | samples each | Sluice p50 | p99 | max | reference p50 | p99 | max "
        md += "| reference ÷ Sluice (p50) | (p99) |\n"
        md += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        let rows: [(String, KeyPath<CNIImplementationResult, Samples>)] = [
            ("launch floor: `/bin/true` started the same way", \.launchFloor.wall),
            ("VERSION", \.version.wall),
            ("first ADD of a round (creates the bridge)", \.firstAdd.wall),
            ("ADD, one at a time", \.addSingle.wall),
            ("DEL, one at a time", \.delSingle.wall),
            ("ADD, \(burst) at once (each)", \.burstAdd.wall),
            ("\(burst) ADDs at once: first start → last exit", \.burstAddWall),
            ("DEL, \(burst) at once (each)", \.burstDel.wall),
            ("\(burst) DELs at once: first start → last exit", \.burstDelWall),
        ]
        for (label, path) in rows {
            let ours = sluice[keyPath: path]
            let theirs = reference[keyPath: path]
            md += "| \(label) | \(ours.values.count) "
            md += "| \(human(ours.percentile(0.5))) | \(human(ours.percentile(0.99))) | \(human(ours.max)) "
            md += "| \(human(theirs.percentile(0.5))) | \(human(theirs.percentile(0.99))) | \(human(theirs.max)) "
            md += "| \(ratio(theirs.percentile(0.5), ours.percentile(0.5))) "
            md += "| \(ratio(theirs.percentile(0.99), ours.percentile(0.99))) |\n"
        }
        md += "\nCPU time per invocation (user + system of the plugin and the children it waited for, from `wait4`), "
        md += "p50 — on \(machine.cores) cores a burst of \(burst) cannot finish before \(burst) × CPU ÷ "
        md += "\(machine.cores):\n\n"
        md += "| operation | Sluice | reference | reference ÷ Sluice |\n|---|---:|---:|---:|\n"
        let cpuRows: [(String, KeyPath<CNIImplementationResult, Samples>)] = [
            ("launch floor (`/bin/true`)", \.launchFloor.cpu), ("VERSION", \.version.cpu),
            ("ADD, one at a time", \.addSingle.cpu), ("DEL, one at a time", \.delSingle.cpu),
            ("ADD, \(burst) at once (each)", \.burstAdd.cpu), ("DEL, \(burst) at once (each)", \.burstDel.cpu),
        ]
        for (label, path) in cpuRows {
            let ours = sluice[keyPath: path].percentile(0.5)
            let theirs = reference[keyPath: path].percentile(0.5)
            md += "| \(label) | \(human(ours)) | \(human(theirs)) | \(ratio(theirs, ours)) |\n"
        }
        md += "\nWhile the bursts ran, the machine's cores were busy (any process, from `/proc/stat`; median per "
        md += "burst) / the plugins' own CPU time as a share of all cores:\n\n"
        md += "| burst | Sluice | reference |\n|---|---:|---:|\n"
        for (label, busy, cpu, wall) in [
            (
                "\(burst) ADDs", \CNIImplementationResult.burstAddMachineBusy, \CNIImplementationResult.burstAdd.cpu,
                \CNIImplementationResult.burstAddWall
            ),
            ("\(burst) DELs", \.burstDelMachineBusy, \.burstDel.cpu, \.burstDelWall),
        ] {
            func cell(_ result: CNIImplementationResult) -> String {
                let own = result[keyPath: cpu].values.reduce(0, +)
                let capacity = result[keyPath: wall].values.reduce(0, +) * Double(machine.cores)
                let busyShare = result[keyPath: busy]
                return "\(percent(busyShare.median)) / \(percent(capacity > 0 ? own / capacity : .nan))"
            }
            md += "| \(label) | \(cell(sluice)) | \(cell(reference)) |\n"
        }
        md += "\n### Targets (reported, not asserted)\n\n"
        md += targets(sluice, reference).map { "- " + $0 }.joined(separator: "\n") + "\n"
        return md
    }

    /// Issue 9's CNI targets, each with the figure it is judged on.
    private func targets(_ sluice: CNIImplementationResult, _ reference: CNIImplementationResult) -> [String] {
        func verdict(_ met: Bool) -> String { met ? "**met**" : "**missed**" }
        let version = sluice.version.wall.percentile(0.5)
        let add = sluice.addSingle.wall.percentile(0.5)
        let burstP99 = sluice.burstAdd.wall.percentile(0.99)
        let floor = sluice.launchFloor.wall.percentile(0.5)
        let burstNote = workload.burst == 30 ? "" : " (this run's burst is \(workload.burst), not 30)"
        let speedups: [(String, Double, Double)] = [
            ("VERSION p50", reference.version.wall.percentile(0.5), version),
            ("ADD p50", reference.addSingle.wall.percentile(0.5), add),
            ("DEL p50", reference.delSingle.wall.percentile(0.5), sluice.delSingle.wall.percentile(0.5)),
            ("burst ADD p99", reference.burstAdd.wall.percentile(0.99), burstP99),
            ("burst DEL p99", reference.burstDel.wall.percentile(0.99), sluice.burstDel.wall.percentile(0.99)),
        ]
        let allTwice = speedups.allSatisfy { $0.1 / $0.2 >= 2 }
        return [
            "VERSION exec ≤ 5 ms: \(verdict(version <= 0.005)) — p50 \(human(version)), p99 "
                + "\(human(sluice.version.wall.percentile(0.99))) (launch floor p50 \(human(floor)))",
            "ADD ≤ 10 ms, one at a time: \(verdict(add <= 0.010)) — p50 \(human(add)), p99 "
                + "\(human(sluice.addSingle.wall.percentile(0.99)))",
            "ADD ≤ 50 ms p99 in a 30-pod parallel burst: \(verdict(burstP99 <= 0.050)) — p99 \(human(burstP99)), "
                + "p50 \(human(sluice.burstAdd.wall.percentile(0.5)))\(burstNote)",
            "at least 2× faster than the reference plugins: \(verdict(allTwice)) — "
                + speedups.map { "\($0.0) \(ratio($0.1, $0.2))" }.joined(separator: ", "),
        ]
    }
}

private func percent(_ fraction: Double) -> String {
    fraction.isFinite ? String(format: "%.0f%%", fraction * 100) : "–"
}

extension Samples {
    /// Nearest-rank percentile (`p` in 0…1): the smallest value with at least `p` of the samples at or below it.
    func percentile(_ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}
