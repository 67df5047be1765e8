import ConntrackNetlink
import KubeAPI
import Logging
import NFTables
import NFTablesNetlink
import ServiceProxy

/// Keeps the kernel's Service ruleset equal to the desired state: adopts what a previous run left, then
/// sends only differences. Owns the netlink connection (bound to the namespace it was opened in).
public actor ServiceSyncer {
    private var proxy: ServiceProxy
    private var table: OwnedTable
    private let conntrack: ConntrackConnection?
    private let logger: Logger

    /// What the last sync did, for logs, metrics and tests.
    public struct Report: Sendable {
        public var messages: Int
        public var bytes: Int
        public var elementOperations: Int
        public var changedServices: Int
        public var diagnostics: [String]
        /// Stale UDP conntrack entries deleted after the ruleset was applied.
        public var conntrackEntriesDeleted: Int
        /// Remembered affinity entries deleted because their endpoint left.
        public var affinityEntriesPurged: Int
    }

    public private(set) var lastReport: Report?
    public var healthChecks: [HealthCheck] { proxy.healthChecks }
    public var programmedElementCount: Int { proxy.programmedElementCount }
    /// Services with programmed frontends.
    public var programmedServiceCount: Int { proxy.serviceNames.count }

    /// - Parameters:
    ///   - connection: opened in the namespace to program.
    ///   - conntrack: opened in the same namespace; stale UDP flows are deleted through it (`nil`: not at all).
    public init(
        configuration: ProxyConfiguration, connection: NFTablesConnection, conntrack: ConntrackConnection?,
        logger: Logger
    ) {
        proxy = ServiceProxy(configuration: configuration)
        table = OwnedTable(
            proxy.layout.table, sets: proxy.layout.sets(), connection: connection, label: "table \(proxy.layout.table)")
        self.conntrack = conntrack
        self.logger = logger
    }

    /// Compiles the snapshot and programs the difference. The first call adopts an existing table.
    ///
    /// A kernel rejection leaves the kernel as before the call and the changes pending: the next sync retries
    /// them. The error names the object the kernel refused.
    @discardableResult
    public func sync(_ snapshot: ManifestSet) throws -> Report {
        proxy.replaceAll(
            services: snapshot.services, endpointSlices: snapshot.endpointSlices, endpoints: snapshot.endpoints)
        return try program()
    }

    /// Folds watch events into the desired state without programming them: the objects are parsed and
    /// dropped at once, so a source streaming a large list never holds it whole. `flush()` programs them.
    public func receive(_ events: [ServiceEvent]) {
        for event in events { proxy.apply(event) }
    }

    /// The node's zone as the Service rules were compiled for it.
    public var nodeZone: String? { proxy.layout.configuration.nodeZone }

    /// Follows a change of the node's zone label: Services with topology hints are recompiled at the next
    /// `flush()`, so a node moved to another zone stops preferring its old zone's endpoints without a restart.
    public func setNodeZone(_ zone: String?) {
        proxy.setNodeZone(zone)
    }

    /// Programs what `receive` folded in since the last sync (one transaction), like `sync(_:)` does.
    @discardableResult
    public func flush() throws -> Report {
        try program()
    }

    private func program() throws -> Report {
        let sync = proxy.sync()
        do {
            let proxy = self.proxy
            let (applied, transaction) = try table.apply(
                sync.transaction, full: { proxy.fullTransaction() }, logger: logger)
            var deleted = 0
            for filter in ConntrackCleanup.filters(before: sync.udpBefore, after: sync.udpAfter) {
                do {
                    deleted += try conntrack?.delete(filter) ?? 0
                } catch {
                    logger.error("conntrack cleanup \(filter): \(error)")
                }
            }
            let purged = sync.affinityChanged ? purgeStaleAffinity() : 0
            let report = Report(
                messages: applied.messages, bytes: applied.bytes, elementOperations: transaction.elementCount,
                changedServices: sync.changedServices.count, diagnostics: sync.diagnostics,
                conntrackEntriesDeleted: deleted, affinityEntriesPurged: purged)
            lastReport = report
            for problem in sync.diagnostics { logger.error("\(problem)") }
            logger.info(
                "synced",
                metadata: [
                    "services": "\(sync.changedServices.count)", "bytes": "\(applied.bytes)",
                    "elements": "\(transaction.elementCount)",
                ])
            return report
        } catch {
            proxy.rollBack(sync)
            logger.error("sync failed, previous ruleset kept: \(error)")
            throw error
        }
    }

    /// Deletes remembered affinity entries whose endpoint left their frontend (returns how many).
    private func purgeStaleAffinity() -> Int {
        var purged = 0
        for family in DatapathLayout.Family.all {
            guard let map = table.sets.first(where: { $0.name == family.affinity }) else { continue }
            do {
                let stale = proxy.staleAffinityEntries(
                    try table.connection.elements(of: map), family: family.addressFamily)
                guard !stale.isEmpty else { continue }
                var tx = Transaction(existingSets: [map])
                tx.deleteElements(stale, from: map.ref)
                try table.connection.apply(tx, existingSets: table.sets)
                purged += stale.count
            } catch {
                // An entry may expire between the dump and the delete; the next change retries.
                logger.warning("affinity cleanup of \(family.affinity): \(error)")
            }
        }
        return purged
    }

    /// Re-reads the kernel and repairs any difference from the desired state (someone deleted a chain,
    /// a map element, the whole table). Returns the number of operations needed.
    @discardableResult
    public func repairDrift() throws -> Int {
        try table.repairDrift(full: proxy.fullTransaction(), logger: logger)
    }
}
