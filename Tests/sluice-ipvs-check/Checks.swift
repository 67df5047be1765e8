import Foundation
import IPVS
import IPVSNetlink
import KubeAPI
import LinkNetlink
import Logging
import NFTables
import NFTablesNetlink
import ServiceProxy
import SluiceAgent
import SluiceTestSupport

/// The checks run inside the VM, as root, in the VM's own root namespace (the "node"); pods are namespaces made
/// here. Each prints `CHECK PASS name` or `CHECK FAIL name: why`; the host-side test expects every name to pass.
struct Checks {
    /// Failed checks so far (a reference, so the checks themselves can use `self` freely).
    final class Tally {
        var failed = 0
    }
    let outcomes = Tally()
    var failed: Int { outcomes.failed }
    let logger: Logger = {
        var logger = Logger(label: "ipvs-check")
        logger.logLevel = .warning
        return logger
    }()

    func check(_ name: String, _ body: () async throws -> [String]) async {
        do {
            let problems = try await body()
            if problems.isEmpty {
                say("CHECK PASS \(name)")
            } else {
                outcomes.failed += 1
                say("CHECK FAIL \(name): \(problems.joined(separator: "; "))")
            }
        } catch {
            outcomes.failed += 1
            say("CHECK FAIL \(name): \(error)")
        }
    }

    func syncer(
        scheduler: String = "rr", drainTimeout: Duration = .seconds(900), strictARP: Bool = false
    ) throws -> IPVSServiceSyncer {
        IPVSServiceSyncer(
            configuration: ProxyConfiguration(
                nodeName: Scenario.nodeName, clusterCIDRs: [IPCIDR(Scenario.clusterCIDR)!]),
            scheduler: scheduler, connection: try IPVSConnection(), links: try LinkConnection(),
            nftables: try NFTablesConnection(), drainTimeout: drainTimeout, strictARP: strictARP, logger: logger)
    }

    func cleanUp() throws {
        try ProxyModeCleanup.removeIPVSModeState(
            nftables: try NFTablesConnection(), links: try LinkConnection(), logger: logger)
    }

    /// Node addresses NodePorts answer on: the node ends of the pod veths.
    static let nodeAddresses = ["10.244.1.1", "10.244.2.1", "10.244.3.1"].compactMap(IPAddress.init)

    func dummyAddresses() throws -> Set<IPAddress> {
        let links = try LinkConnection()
        guard let dummy = try links.link(named: IPVSServiceSyncer.dummyInterface) else { return [] }
        return Set(try links.addresses(index: dummy.index).compactMap { IPAddress(bytes: $0.address.address.bytes) })
    }

    /// `ipvsadm -Ln` parsed into one line per virtual service: `TCP 10.96.0.10:80 rr [persistent 30] | dest…`.
    static func ipvsadmTable() throws -> [String] {
        let text = try runProcess(["ipvsadm", "-Ln"]).output()
        var out: [String] = []
        var current: String?
        var destinations: [String] = []
        func flush() {
            if let current { out.append(([current] + destinations.sorted()).joined(separator: " | ")) }
            destinations = []
        }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard let first = fields.first else { continue }
            if ["TCP", "UDP", "SCTP"].contains(first) {
                flush()
                var text = "\(first) \(fields[1]) \(fields[2])"
                if let p = fields.firstIndex(of: "persistent") { text += " persistent \(fields[p + 1])" }
                current = text
            } else if first == "->", fields.count >= 4, fields[1] != "RemoteAddress:Port" {
                destinations.append("\(fields[1]) \(fields[2]) \(fields[3])")
            }
        }
        flush()
        return out.sorted()
    }

    /// The same form for a model of the table.
    static func render(_ table: [VirtualServiceKey: ServiceEntry]) -> [String] {
        table.keys.map { key in
            let entry = table[key]!
            var text = "\(key) \(entry.service.scheduler)"
            if entry.service.flags.contains(.persistent) { text += " persistent \(entry.service.timeout)" }
            let destinations = entry.destinations.values.map { "\($0.key) Masq \($0.weight)" }.sorted()
            return ([text] + destinations).joined(separator: " | ")
        }.sorted()
    }

    static func difference(_ what: String, _ actual: [String], _ expected: [String]) -> [String] {
        guard actual != expected else { return [] }
        let missing = Set(expected).subtracting(actual).sorted()
        let extra = Set(actual).subtracting(expected).sorted()
        return ["\(what): missing \(missing), unexpected \(extra)"]
    }
}
