import Foundation
import IPVSNetlink
import KubeAPI
import LinkNetlink
import Logging
import NFTablesNetlink
import ServiceProxy
import SluiceAgent

/// `bench SERVICES ENDPOINTS`: programs the same Services through the nftables backend and the IPVS backend in
/// this (VM) namespace, then one endpoint change each, and prints one `BENCH` line per measurement. Times under
/// emulation mean little alone: `sluice-bench ipvs` reports the IPVS/nftables ratios.
enum Bench {
    static func snapshot(services: Int, endpoints: Int, shift: Bool = false) -> ManifestSet {
        var set = ManifestSet()
        for n in 0..<services {
            let ip = "10.96.\(n / 250).\(n % 250 + 1)"
            set.services.append(
                Scenario.service("svc-\(n)", clusterIP: ip))
            var ips = (0..<endpoints).map { e in "10.\(100 + e).\(n / 250).\(n % 250 + 1)" }
            if shift && n == services / 2 { ips[0] = "10.250.0.1" }
            set.endpointSlices.append(Scenario.slice("svc-\(n)", ips))
        }
        return set
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func run(services: Int, endpoints: Int) async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let base = snapshot(services: services, endpoints: endpoints)
        let changed = snapshot(services: services, endpoints: endpoints, shift: true)
        let clock = ContinuousClock()
        let configuration = ProxyConfiguration(nodeName: Scenario.nodeName)

        let nft = ServiceSyncer(
            configuration: configuration, connection: try NFTablesConnection(), conntrack: nil, logger: logger)
        var start = clock.now
        let nftInitial = try await nft.sync(base)
        let nftInitialTime = clock.now - start
        start = clock.now
        let nftChange = try await nft.sync(changed)
        let nftChangeTime = clock.now - start
        say("BENCH nftables initial messages=\(nftInitial.messages) seconds=\(seconds(nftInitialTime))")
        say("BENCH nftables change messages=\(nftChange.messages) seconds=\(seconds(nftChangeTime))")
        try ProxyModeCleanup.removeNFTablesModeTable(
            connection: try NFTablesConnection(), name: configuration.tableName, logger: logger)

        let ipvs = IPVSServiceSyncer(
            configuration: configuration, scheduler: "rr", connection: try IPVSConnection(),
            links: try LinkConnection(), nftables: try NFTablesConnection(), logger: logger)
        start = clock.now
        let ipvsInitial = try await ipvs.sync(base)
        let ipvsInitialTime = clock.now - start
        start = clock.now
        let ipvsChange = try await ipvs.sync(changed)
        let ipvsChangeTime = clock.now - start
        say(
            "BENCH ipvs initial messages=\(ipvsInitial.ipvsMessages + ipvsInitial.nftMessages) "
                + "seconds=\(seconds(ipvsInitialTime)) errors=\(ipvsInitial.errors.count)")
        say(
            "BENCH ipvs change messages=\(ipvsChange.ipvsMessages + ipvsChange.nftMessages) "
                + "seconds=\(seconds(ipvsChangeTime)) errors=\(ipvsChange.errors.count)")
    }
}
