import Foundation
import NFTables
import NFTablesNetlink
import NetNamespace

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
            let ns = try BenchNamespaces.create("mapload")
            defer { BenchNamespaces.delete(ns) }
            let name = ns.name!
            nft.append(try clock.measure { try runTool(["ip", "netns", "exec", name, "nft", "-f", file.path]) })
            let listed = try runTool([
                "ip", "netns", "exec", name, "nft", "list", "map", "inet", "bench", "service-ips",
            ])
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
        try withNamespace("mapload") { try $0.run(body) }
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

func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
func spread(_ values: [Duration]) -> [Duration] { [values.min()!, values.max()!] }
func seconds(_ d: Duration) -> Double { d.seconds }
func ms(_ d: Duration) -> String { String(format: "%.0f ms", seconds(d) * 1000) }
