import ArgumentParser
import Foundation
import KubeAPI
import Logging
import NFTables
import NFTablesNetlink
import NetNamespace
import ServiceProxy
import SluiceAgent

/// One Sluice measurement in a process of its own (the harness starts `sluice-bench sluice-trial` per
/// repetition), so that peak RSS is that of a proxier holding exactly this Service set and figures of earlier
/// scenarios never accumulate. Prints a ``SluiceTrialResult`` as JSON on standard output.
struct SluiceTrial: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-trial",
        abstract: "One Sluice Service measurement in the given namespace (started by the harness).",
        shouldDisplay: false)

    @Option(help: "Name of the namespace (under /run/netns) to program.")
    var namespace: String

    @Option(help: "A second empty namespace: the prebuilt batch is applied there again (the kernel's own cost).")
    var kernelNamespace: String?

    @Option var services: Int
    @Option var endpoints: Int

    @Flag(help: "Read the endpoint map back too (slow at 300k elements; the harness asks for it once per size).")
    var verifyEndpoints = false

    @Flag(
        help: "Measure the daemon path instead: ServiceSyncer.sync (adoption check, compile, apply) as sluiced runs it."
    )
    var daemon = false

    @Flag(
        help:
            "With --daemon: feed the syncer watch events in pages of 500 objects, built and dropped page by page, as a list/watch source does, instead of one snapshot held whole."
    )
    var stream = false

    func run() async throws {
        let set = ServiceSet(count: services, endpointsPerService: endpoints)
        let node = NetworkNamespace(path: "/run/netns/\(namespace)")
        var result: SluiceTrialResult
        if daemon && stream {
            result = try await streamedDaemonPath(set, node)
        } else {
            let manifests = set.manifests()
            result = daemon ? try await daemonPath(set, manifests, node) : try pipeline(set, manifests, node)
        }
        // Set before the read-back by the paths themselves (reading 300k elements back costs the harness more
        // memory than the proxier holds); a path that did not set it is measured here.
        if result.peakRSSBytes == nil { result.peakRSSBytes = peakRSSBytes() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(result))
    }

    static func proxyConfiguration() -> ProxyConfiguration {
        ProxyConfiguration(nodeName: "node-a", clusterCIDRs: [IPCIDR(ServiceSet.clusterCIDR)!])
    }

    /// Compile, encode and apply timed apart, then the incremental scenarios on the same proxier and connection.
    private func pipeline(
        _ set: ServiceSet, _ manifests: ManifestSet, _ node: NetworkNamespace
    ) throws
        -> SluiceTrialResult
    {
        let clock = ContinuousClock()
        var result = SluiceTrialResult()
        result.rssAfterInputBytes = currentRSSBytes()
        var proxy = ServiceProxy(configuration: Self.proxyConfiguration())
        let knownSets = proxy.layout.sets()
        var sync: ServiceProxy.Sync?
        result.compile =
            clock.measure {
                proxy.replaceAll(services: manifests.services, endpointSlices: manifests.endpointSlices)
                sync = proxy.sync()
            }.seconds
        guard let cold = sync, cold.diagnostics.isEmpty else {
            throw BenchError("compile reported: \(sync?.diagnostics.prefix(3).joined(separator: "; ") ?? "nothing")")
        }
        result.rssAfterCompileBytes = currentRSSBytes()
        var prepared: NFTablesConnection.PreparedBatch?
        result.encode = try clock.measure { prepared = try NFTablesConnection.prepare(cold.transaction) }.seconds
        result.rssAfterEncodeBytes = currentRSSBytes()
        let batch = prepared!
        result.batchBytes = batch.byteCount
        result.batchMessages = batch.messageCount
        let connection = try node.run { try NFTablesConnection() }
        result.apply = try clock.measure { try connection.apply(batch) }.seconds
        result.peakRSSBytes = peakRSSBytes()
        if let kernelNamespace {
            let other = try NetworkNamespace(path: "/run/netns/\(kernelNamespace)").run { try NFTablesConnection() }
            result.kernel = try clock.measure { try other.apply(batch) }.seconds
            try verify(other, services: set.count, endpoints: set.endpointCount)
        }
        guard set.count >= 2 else {
            try verify(connection, services: set.count, endpoints: set.endpointCount)
            return result
        }

        // One endpoint of one Service changes, as a watch event delivers it.
        result.endpointChange = try step(&proxy, connection, knownSets) {
            $0.upsert(set.slice(set.changedIndex, changedSlot: 3))
        }
        // The same change undone, arriving as a whole snapshot (the manifest-directory source, an API relist):
        // the proxier finds the one changed Service by comparing everything.
        result.snapshotChange = try step(&proxy, connection, knownSets) {
            $0.replaceAll(services: manifests.services, endpointSlices: manifests.endpointSlices)
        }
        let added = set.count
        result.serviceAdded = try step(&proxy, connection, knownSets) {
            $0.upsert(set.service(added))
            $0.upsert(set.slice(added))
        }
        let churned = set.churnIndices
        result.churnServices = churned.count
        result.churn = try step(&proxy, connection, knownSets) { proxy in
            for index in churned { proxy.upsert(set.slice(index, changedSlot: 5)) }
        }
        // The cold load plus one added Service; the changed endpoints replaced others one for one.
        try verify(connection, services: set.count + 1, endpoints: set.endpointCount + set.endpointsPerService)
        return result
    }

    /// One incremental sync: the input change and compile, encode, apply, with the bytes sent.
    private func step(
        _ proxy: inout ServiceProxy, _ connection: NFTablesConnection, _ knownSets: [NFTSet],
        change: (inout ServiceProxy) -> Void
    ) throws -> IncrementalFigures {
        let clock = ContinuousClock()
        var sync: ServiceProxy.Sync?
        let compile = clock.measure {
            change(&proxy)
            sync = proxy.sync()
        }
        var prepared: NFTablesConnection.PreparedBatch?
        let encode = try clock.measure {
            prepared = try NFTablesConnection.prepare(sync!.transaction, existingSets: knownSets)
        }
        var report: NFTablesConnection.ApplyReport?
        let apply = try clock.measure { report = try connection.apply(prepared!) }
        return IncrementalFigures(
            compile: compile.seconds, encode: encode.seconds, apply: apply.seconds, bytes: report!.bytes,
            elements: sync!.transaction.elementCount)
    }

    /// sluiced's own path: one `ServiceSyncer.sync` from cold (it checks for a table to adopt, compiles the
    /// snapshot and the full desired state, converges and applies), then one endpoint change as a new snapshot.
    private func daemonPath(
        _ set: ServiceSet, _ manifests: ManifestSet, _ node: NetworkNamespace
    ) async throws
        -> SluiceTrialResult
    {
        let clock = ContinuousClock()
        var result = SluiceTrialResult()
        let syncer = try node.run { () throws -> ServiceSyncer in
            var logger = Logger(label: "sluice-bench")
            logger.logLevel = .error
            return ServiceSyncer(
                configuration: Self.proxyConfiguration(), connection: try NFTablesConnection(), conntrack: nil,
                logger: logger)
        }
        result.daemonColdSync = try await clock.measure { try await syncer.sync(manifests) }.seconds
        result.batchBytes = await syncer.lastReport?.bytes
        if set.count >= 2 {
            var changed = manifests
            changed.endpointSlices[set.changedIndex] = set.slice(set.changedIndex, changedSlot: 3)
            result.daemonChange = try await clock.measure { try await syncer.sync(changed) }.seconds
        }
        result.peakRSSBytes = peakRSSBytes()
        let connection = try node.run { try NFTablesConnection() }
        try verify(connection, services: set.count, endpoints: set.endpointCount)
        return result
    }

    /// sluiced fed by a list/watch source: the objects arrive as events in pages of 500 (an API list page), are
    /// parsed into the proxier's compact inputs and dropped; one flush programs the cold state. Then one endpoint
    /// change as one event. Peak RSS is then the daemon's own, not that of a snapshot held whole.
    private func streamedDaemonPath(_ set: ServiceSet, _ node: NetworkNamespace) async throws -> SluiceTrialResult {
        let clock = ContinuousClock()
        var result = SluiceTrialResult()
        let syncer = try node.run { () throws -> ServiceSyncer in
            var logger = Logger(label: "sluice-bench")
            logger.logLevel = .error
            return ServiceSyncer(
                configuration: Self.proxyConfiguration(), connection: try NFTablesConnection(), conntrack: nil,
                logger: logger)
        }
        result.daemonColdSync = try await clock.measure {
            for start in stride(from: 0, to: set.count, by: 500) {
                var page: [ServiceEvent] = []
                page.reserveCapacity(1000)
                for index in start..<min(set.count, start + 500) {
                    page.append(.service(set.service(index)))
                    page.append(.endpointSlice(set.slice(index)))
                }
                await syncer.receive(page)
            }
            try await syncer.flush()
        }.seconds
        result.batchBytes = await syncer.lastReport?.bytes
        if set.count >= 2 {
            result.daemonChange = try await clock.measure {
                await syncer.receive([.endpointSlice(set.slice(set.changedIndex, changedSlot: 3))])
                try await syncer.flush()
            }.seconds
        }
        result.peakRSSBytes = peakRSSBytes()
        let connection = try node.run { try NFTablesConnection() }
        try verify(connection, services: set.count, endpoints: set.endpointCount)
        return result
    }

    /// Reads the Service map back over netlink (and, with `--verify-endpoints`, the endpoint map): each must hold
    /// exactly what was sent. Only one repetition per size reads the endpoint map back because dumping a hash set
    /// of 300k elements costs the kernel seconds (each dump chunk restarts the hash walk).
    private func verify(_ connection: NFTablesConnection, services: Int, endpoints: Int) throws {
        let layout = ServiceProxy(configuration: Self.proxyConfiguration()).layout
        func count(_ name: String) throws -> Int {
            guard let set = layout.sets().first(where: { $0.name == name }) else { return -1 }
            return try connection.elements(of: set).count
        }
        let serviceIPs = try count("service-ips4")
        guard serviceIPs == services else { throw BenchError("read back \(serviceIPs) service-ips4, want \(services)") }
        if verifyEndpoints {
            let endpointElements = try count("endpoints4")
            guard endpointElements == endpoints else {
                throw BenchError("read back \(endpointElements) endpoints4, want \(endpoints)")
            }
        }
    }
}

/// Compile/encode/apply of one incremental sync, and its size on the wire.
struct IncrementalFigures: Codable, Sendable {
    var compile: Double
    var encode: Double
    var apply: Double
    var bytes: Int
    var elements: Int
    var total: Double { compile + encode + apply }
}

/// What one ``SluiceTrial`` measured (seconds, bytes); absent figures were not part of that trial.
struct SluiceTrialResult: Codable, Sendable {
    var compile: Double?
    var encode: Double?
    var apply: Double?
    var kernel: Double?
    var batchBytes: Int?
    var batchMessages: Int?
    var endpointChange: IncrementalFigures?
    var snapshotChange: IncrementalFigures?
    var serviceAdded: IncrementalFigures?
    var churn: IncrementalFigures?
    var churnServices: Int?
    var daemonColdSync: Double?
    var daemonChange: Double?
    var peakRSSBytes: Int?
    /// Resident memory with only the input (the Service and EndpointSlice objects) built, after compiling the
    /// cold transaction, and after encoding it: where the proxier's memory goes.
    var rssAfterInputBytes: Int?
    var rssAfterCompileBytes: Int?
    var rssAfterEncodeBytes: Int?

    var total: Double? {
        guard let compile, let encode, let apply else { return nil }
        return compile + encode + apply
    }
}
