import ArgumentParser
import Foundation

/// `sluice-bench ipvs`: the IPVS backend against the nftables backend, both programming the same Services inside
/// the same VM (this kernel has no IPVS). Absolute times under software emulation say little about real hardware,
/// so the report is messages and the IPVS/nftables ratios.
struct IPVSBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvs",
        abstract: "IPVS mode vs nftables mode: messages and time to program N Services × E endpoints and one endpoint "
            + "change, inside a VM with IPVS (ratios).")

    @Flag(help: "A smoke run: 100 × 10, one repetition.")
    var quick = false

    @Option(help: "Service × endpoint sizes, e.g. 1000x10 (repeatable).")
    var sizes: [String] = ["1000x10", "10000x10"]

    @Option(help: "Repetitions (one VM boot each; median and range are reported).")
    var repetitions = 3

    @Option(help: "The VM runner (scripts/run-in-vm.sh of this repository).")
    var runInVM = "scripts/run-in-vm.sh"

    @Option(help: "Directory for the Markdown and JSON results.")
    var output = "Benchmarks/results"

    /// One backend's figures of one boot.
    struct Figures: Codable {
        var initialMessages: Int
        var initialSeconds: Double
        var changeMessages: Int
        var changeSeconds: Double
    }

    struct SizeResult: Codable {
        var services: Int
        var endpoints: Int
        var nftables: [Figures] = []
        var ipvs: [Figures] = []
    }

    func run() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("sluice-ipvs-check").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("\(binary) missing: swift build --product sluice-ipvs-check (same configuration)")
        }
        guard FileManager.default.isExecutableFile(atPath: runInVM) else {
            throw ValidationError("\(runInVM) not found: run from the repository root or give --run-in-vm")
        }
        let stripped = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-ipvs-bench-\(getpid())")
            .path
        try runTool(["strip", "-o", stripped, binary])
        defer { try? FileManager.default.removeItem(atPath: stripped) }
        let plan = quick ? ["100x10"] : sizes
        var results: [SizeResult] = []
        for size in plan {
            let parts = size.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--sizes \(size): expected SERVICESxENDPOINTS") }
            var result = SizeResult(services: parts[0], endpoints: parts[1])
            for _ in 0..<(quick ? 1 : repetitions) {
                let text = try runTool(
                    [
                        "env", "VM_MEM=1536M", runInVM, "-t", "1800", "-m", "dummy", "-m", "nf_tables", "-m",
                        "nft_chain_nat", "-m", "nft_nat", "-m", "nft_masq", "-m", "nft_reject_inet", "-m",
                        "nft_fib_inet", "-m", "nft_ct", "-m", "nft_numgen", "-m", "nft_hash", stripped, "bench",
                        "\(parts[0])", "\(parts[1])",
                    ])
                let (nft, ipvs) = try Self.parse(text)
                result.nftables.append(nft)
                result.ipvs.append(ipvs)
                say(
                    "\(size): nftables \(nft.initialMessages) msgs \(human(nft.initialSeconds)), change "
                        + "\(nft.changeMessages) msgs \(human(nft.changeSeconds)); ipvs \(ipvs.initialMessages) msgs "
                        + "\(human(ipvs.initialSeconds)), change \(ipvs.changeMessages) msgs \(human(ipvs.changeSeconds))"
                )
            }
            results.append(result)
        }
        try write(results)
    }

    /// Reads the four `BENCH` lines of one boot.
    static func parse(_ text: String) throws -> (Figures, Figures) {
        var values: [String: (Int, Double)] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("BENCH ") {
            let fields = line.split(separator: " ")
            guard fields.count >= 5 else { continue }
            var messages = 0
            var seconds = Double.nan
            for field in fields.dropFirst(3) {
                let pair = field.split(separator: "=")
                guard pair.count == 2 else { continue }
                if pair[0] == "messages" { messages = Int(pair[1]) ?? 0 }
                if pair[0] == "seconds" { seconds = Double(pair[1]) ?? .nan }
                if pair[0] == "errors", pair[1] != "0" { throw BenchError("IPVS refused requests: \(line)") }
            }
            values["\(fields[1]) \(fields[2])"] = (messages, seconds)
        }
        func figures(_ backend: String) throws -> Figures {
            guard let initial = values["\(backend) initial"], let change = values["\(backend) change"] else {
                throw BenchError("no \(backend) figures in the VM's output:\n\(text)")
            }
            return Figures(
                initialMessages: initial.0, initialSeconds: initial.1, changeMessages: change.0,
                changeSeconds: change.1)
        }
        return (try figures("nftables"), try figures("ipvs"))
    }

    func write(_ results: [SizeResult]) throws {
        var rows: [String] = []
        for r in results {
            let nftInitial = Samples(values: r.nftables.map(\.initialSeconds))
            let ipvsInitial = Samples(values: r.ipvs.map(\.initialSeconds))
            let nftChange = Samples(values: r.nftables.map(\.changeSeconds))
            let ipvsChange = Samples(values: r.ipvs.map(\.changeSeconds))
            rows.append(
                "| \(r.services) × \(r.endpoints) | \(r.nftables.first?.initialMessages ?? 0) | "
                    + "\(r.ipvs.first?.initialMessages ?? 0) | \(ratio(ipvsInitial.median, nftInitial.median)) | "
                    + "\(r.nftables.first?.changeMessages ?? 0) | \(r.ipvs.first?.changeMessages ?? 0) | "
                    + "\(ratio(ipvsChange.median, nftChange.median)) | \(humanSpread(nftInitial)) / "
                    + "\(humanSpread(ipvsInitial)) | \(humanSpread(nftChange)) / \(humanSpread(ipvsChange)) |")
        }
        let table = """
            | Services × endpoints | nftables msgs | IPVS msgs | IPVS/nftables time | change: nftables msgs | change: IPVS msgs | change: IPVS/nftables time | emulated time nft / IPVS | change nft / IPVS |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|
            \(rows.joined(separator: "\n"))
            """
        print(table)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let base = URL(fileURLWithPath: output).appendingPathComponent("ipvs-\(quick ? "quick" : "full")-\(stamp)")
        let reps = quick ? 1 : repetitions
        try
            ("# IPVS mode vs nftables mode (in one VM)\n\nMedians of \(reps) boot(s) (min–max); times are under "
            + "emulation: read the ratios.\n\n" + table + "\n").write(
                to: base.appendingPathExtension("md"), atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: base.appendingPathExtension("json"))
        print("wrote \(base.path).md")
    }
}
