import KubeAPI
import Logging
import NFTables
import NFTablesNetlink
import NetworkPolicy

/// Keeps the kernel's NetworkPolicy table equal to the desired state: adopts what a previous run left, then sends
/// only differences, each as one atomic batch. Owns its netlink connection (bound to the namespace it was opened
/// in) and its own table, so the Service syncer and this one never touch each other's objects.
public actor PolicySyncer {
    private var enforcer: PolicyEnforcer
    private var table: OwnedTable
    private let logger: Logger

    /// What the last sync did, for logs, metrics and tests.
    public struct Report: Sendable {
        public var messages: Int
        public var bytes: Int
        public var elementOperations: Int
        /// Local pods whose contributions were recompiled.
        public var changedPods: Int
        /// Rejected policies (and the pods they keep isolated), address conflicts.
        public var diagnostics: [String]
    }

    public private(set) var lastReport: Report?
    public var programmedElementCount: Int { enforcer.programmedElementCount }

    /// - Parameters:
    ///   - nodeName: pods scheduled here are enforced; `nil` enforces every pod (a single-node lab).
    ///   - connection: opened in the namespace to program.
    public init(nodeName: String?, connection: NFTablesConnection, logger: Logger) {
        enforcer = PolicyEnforcer(configuration: PolicyConfiguration(nodeName: nodeName))
        table = OwnedTable(
            enforcer.layout.table, sets: enforcer.layout.sets(), connection: connection,
            label: "policy table \(enforcer.layout.table)")
        self.logger = logger
    }

    /// Compiles the snapshot's namespaces, pods and policies and programs the difference; the first call adopts an
    /// existing table. Policies the snapshot rejected keep isolating (see `RejectedPolicy`).
    ///
    /// A kernel rejection leaves both the kernel and this syncer's state as before the call (the changes stay
    /// pending and are retried with the next snapshot); the error names the object the kernel refused.
    ///
    /// - Parameter allocations: local pods' addresses from the CNI plugin's store (`CNIAllocations`), for pods
    ///   whose status has none yet.
    @discardableResult
    public func sync(_ snapshot: ManifestSet, allocations: [ObjectName: [IPAddress]] = [:]) throws -> Report {
        let before = enforcer
        enforcer.replaceAll(
            namespaces: snapshot.namespaces, pods: snapshot.pods,
            policies: snapshot.networkPolicies + snapshot.invalidNetworkPolicies,
            rejected: RejectedPolicy.rejected(by: snapshot), allocations: allocations)
        let sync = enforcer.sync()
        do {
            let enforcer = self.enforcer
            let (applied, transaction) = try table.apply(
                sync.transaction, full: { enforcer.fullTransaction() }, logger: logger)
            let report = Report(
                messages: applied.messages, bytes: applied.bytes, elementOperations: transaction.elementCount,
                changedPods: sync.changedPods.count, diagnostics: sync.diagnostics)
            lastReport = report
            for problem in sync.diagnostics { logger.error("\(problem)") }
            logger.info(
                "policies synced",
                metadata: [
                    "pods": "\(sync.changedPods.count)", "bytes": "\(applied.bytes)",
                    "elements": "\(transaction.elementCount)",
                ])
            return report
        } catch {
            enforcer = before
            logger.error("policy sync failed, previous ruleset kept: \(error)")
            throw error
        }
    }

    /// Re-reads the kernel and repairs any difference from the desired state (a deleted element, chain or the
    /// whole table). Returns the number of element operations needed.
    @discardableResult
    public func repairDrift() throws -> Int {
        try table.repairDrift(full: enforcer.fullTransaction(), logger: logger)
    }
}
