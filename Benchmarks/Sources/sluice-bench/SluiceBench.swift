import ArgumentParser
import Foundation
import NFTables
import NFTablesNetlink
import NetNamespace

/// Side-by-side, process-level measurements on the real kernel, each run in a fresh network namespace.
@main
struct SluiceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-bench",
        abstract: "Measures Sluice's nftables programming against nft -f and the kernel's own cost (needs root).")

    @Flag(help: "A smoke run: the smallest size, one repetition (CI runs this so the harness never rots).")
    var quick = false

    @Option(help: "Repetitions per measurement (the median is reported).")
    var repetitions = 5

    @Option(help: "Directory for the JSON and Markdown results.")
    var output = "Benchmarks/results"

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("sluice-bench needs root: it creates network namespaces") }
        let sizes = quick ? [10_000] : [10_000, 100_000, 200_000]
        let reps = quick ? 1 : repetitions
        var rows: [MapLoadResult] = []
        for size in sizes {
            let result = try MapLoadScenario(elements: size).measure(repetitions: reps)
            print(result.markdownRow)
            rows.append(result)
        }
        try Report(rows: rows, quick: quick).write(to: output)
    }
}

/// One verdict map keyed by `ipv4_addr . inet_proto . inet_service` (Sluice's Service dispatch shape) filled
/// with N elements in one transaction: Sluice over netlink (encode + apply), the prebuilt batch alone (the
/// kernel's cost), and `nft -f` of the same ruleset as text.
struct MapLoadScenario {
    let elements: Int

    func transaction() -> Transaction {
        let table = TableRef(family: .inet, name: "bench")
        let map = NFTSet(
            table: table, name: "service-ips", key: TypeSpec([.ipv4Address, .inetProtocol, .inetService]),
            data: .verdict)
        var tx = Transaction()
        tx.add(Table(family: .inet, name: table.name))
        tx.add(Chain(table: table, name: "svc"))
        tx.add(map)
        var list: [SetElement] = []
        list.reserveCapacity(elements)
        for i in 0..<elements {
            let address = Value.ipv4(0x0A00_0000 | UInt32(i / 2))
            let proto: Value = i % 2 == 0 ? .tcp : .udp
            list.append(SetElement(address, proto, .port(80), data: .verdict(i % 3 == 0 ? .goto("svc") : .accept)))
        }
        tx.addElements(list, to: map.ref)
        return tx
    }

    func measure(repetitions: Int) throws -> MapLoadResult {
        let clock = ContinuousClock()
        var build: [Duration] = []
        var encode: [Duration] = []
        var apply: [Duration] = []
        var render: [Duration] = []
        var nft: [Duration] = []
        var bytes = 0
        for _ in 0..<repetitions {
            var tx = Transaction()
            build.append(clock.measure { tx = transaction() })
            var prepared: NFTablesConnection.PreparedBatch?
            encode.append(try clock.measure { prepared = try NFTablesConnection.prepare(tx) })
            let batch = prepared!
            bytes = batch.byteCount
            let (applied, count) = try inFreshNamespace { () throws -> (Duration, Int) in
                let connection = try NFTablesConnection()
                let took = try clock.measure { try connection.apply(batch) }
                let table = try connection.listTable(TableRef(family: .inet, name: "bench"))
                return (took, table?.set(named: "service-ips")?.elements.count ?? 0)
            }
            guard count == elements else { throw BenchError("netlink load read back \(count) of \(elements) elements") }
            apply.append(applied)

            var text = ""
            render.append(clock.measure { text = tx.description })
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-\(getpid()).nft")
            try text.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let name = "slb-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let ns = try NetworkNamespace.create(named: name)
            defer { try? ns.delete() }
            nft.append(try clock.measure { try run(["ip", "netns", "exec", name, "nft", "-f", file.path]) })
            let listed = try run(["ip", "netns", "exec", name, "nft", "list", "map", "inet", "bench", "service-ips"])
            let nftCount =
                listed.components(separatedBy: " : accept").count + listed.components(separatedBy: " : goto svc").count
                - 2
            guard nftCount == elements else { throw BenchError("nft -f load listed \(nftCount) of \(elements)") }
        }
        return MapLoadResult(
            elements: elements, batchBytes: bytes, build: median(build), encode: median(encode),
            apply: median(apply), applySpread: spread(apply), render: median(render), nft: median(nft),
            nftSpread: spread(nft))
    }

    private func inFreshNamespace<T: Sendable>(_ body: @Sendable () throws -> sending T) throws -> T {
        let ns = try NetworkNamespace.create(named: "slb-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? ns.delete() }
        return try ns.run(body)
    }
}

struct MapLoadResult: Codable {
    var elements: Int
    var batchBytes: Int
    var build: Duration
    var encode: Duration
    var apply: Duration
    var applySpread: [Duration]
    var render: Duration
    var nft: Duration
    var nftSpread: [Duration]

    var sluiceTotal: Duration { encode + apply }

    static let markdownHeader = """
        | elements | batch MiB | Sluice encode | kernel apply (prebuilt batch) | Sluice total | nft -f | nft -f ÷ Sluice | Sluice ÷ kernel |
        |---:|---:|---:|---:|---:|---:|---:|---:|
        """

    var markdownRow: String {
        let ratio = seconds(nft) / seconds(sluiceTotal)
        let overKernel = seconds(sluiceTotal) / seconds(apply)
        return "| \(elements) | \(String(format: "%.1f", Double(batchBytes) / 1_048_576)) | \(ms(encode)) | "
            + "\(ms(apply)) (\(applySpread.map(ms).joined(separator: "–"))) | \(ms(sluiceTotal)) | "
            + "\(ms(nft)) (\(nftSpread.map(ms).joined(separator: "–"))) | \(String(format: "%.1f×", ratio)) | "
            + "\(String(format: "%.2f×", overKernel)) |"
    }
}

struct Report {
    var rows: [MapLoadResult]
    var quick: Bool

    func write(to directory: String) throws {
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let base = URL(fileURLWithPath: directory).appendingPathComponent("\(quick ? "quick" : "full")-\(stamp)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var markdown = "# nftables map load, \(quick ? "quick" : "full") run \(stamp)\n\n"
        markdown += "Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, kernel "
        markdown +=
            "\((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?")\n\n"
        markdown += MapLoadResult.markdownHeader + "\n" + rows.map(\.markdownRow).joined(separator: "\n") + "\n"
        try markdown.write(to: base.appendingPathExtension("md"), atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(rows).write(to: base.appendingPathExtension("json"))
        print("\nwrote \(base.path).md and .json")
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@discardableResult
func run(_ argv: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = argv
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError("\(argv.joined(separator: " ")) failed") }
    return String(decoding: data, as: UTF8.self)
}

func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
func spread(_ values: [Duration]) -> [Duration] { [values.min()!, values.max()!] }
func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}
func ms(_ d: Duration) -> String { String(format: "%.0f ms", seconds(d) * 1000) }
