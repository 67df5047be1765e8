import Logging
import NFTables
import NFTablesNetlink

/// One nftables table the agent owns, as the syncers program it: the first apply adopts what a previous run
/// left (rewriting only differences), later applies send the compiler's incremental transaction, and drift
/// repair re-reads the kernel against the full desired state.
struct OwnedTable {
    let ref: TableRef
    /// The table's sets as compiled: the encoder needs their flags for element encoding.
    let sets: [NFTSet]
    let connection: NFTablesConnection
    let label: String
    private(set) var adopted = false

    init(_ ref: TableRef, sets: [NFTSet], connection: NFTablesConnection, label: String) {
        self.ref = ref
        self.sets = sets
        self.connection = connection
        self.label = label
    }

    /// Applies `incremental`, or on the first call over an existing table the convergence to `full()`.
    /// Returns what was sent and the transaction itself (for reports).
    mutating func apply(
        _ incremental: Transaction, full: () -> Transaction, logger: Logger
    ) throws -> (report: NFTablesConnection.ApplyReport, transaction: Transaction) {
        var transaction = incremental
        var existing = sets
        if !adopted {
            // A compiler's first transaction already holds everything; only an existing table needs the full
            // desired state to diff against.
            let kernel = try connection.listTable(ref)
            if let kernel {
                existing = kernel.sets.map(\.set)
                transaction = Convergence.transaction(from: kernel, to: full())
            }
            logger.info(
                "adopting \(label)",
                metadata: ["existing": "\(kernel != nil)", "operations": "\(transaction.operations.count)"])
        }
        let report = try connection.apply(transaction, existingSets: existing)
        adopted = true
        return (report, transaction)
    }

    /// Re-reads the kernel and repairs any difference from `full` (a deleted element, chain or the whole table).
    /// Returns the number of element operations needed.
    func repairDrift(full: Transaction, logger: Logger) throws -> Int {
        let kernel = try connection.listTable(ref)
        let transaction = Convergence.transaction(from: kernel, to: full)
        let elementFixes = transaction.elementCount
        try connection.apply(transaction, existingSets: kernel?.sets.map(\.set) ?? sets)
        if elementFixes > 0 { logger.warning("repaired drift in \(label)", metadata: ["elements": "\(elementFixes)"]) }
        return elementFixes
    }
}
