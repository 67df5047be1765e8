import Glibc
import NFTables
import NFTablesNetlink

/// Adds and removes the elements of attachments in ``PluginTable`` in the calling thread's network namespace.
struct PluginTableWriter {
    private let connection: NFTablesConnection

    /// Serializes creating the table: `add rule` is not idempotent, so two first ADDs racing would each append the
    /// rules. Element batches need no lock (each is atomic on its own).
    static let lockPath = "/run/sluice-cni/nftables.lock"

    init() throws(CNIError) {
        do {
            connection = try NFTablesConnection()
        } catch {
            throw CNIError(.kernelFailure, "nftables: cannot open a netlink socket: \(error)")
        }
    }

    /// Adds elements in one batch, creating the table first when it does not exist yet.
    func add(_ elements: [(SetRef, [SetElement])], context: String) throws(CNIError) {
        guard !elements.isEmpty else {
            return
        }
        var transaction = Transaction(existingSets: PluginTable.sets)
        for (set, members) in elements {
            transaction.addElements(members, to: set)
        }
        if try applyUnlessTableMissing(transaction, context: context) {
            return
        }
        // The table does not exist yet (first ADD in this namespace): create it with the elements, under the lock.
        try withTableLock { () throws(CNIError) in
            if try applyUnlessTableMissing(transaction, context: context) {
                return
            }
            var full = PluginTable.skeleton
            full.append(contentsOf: transaction)
            guard try applyUnlessTableMissing(full, context: context) else {
                throw CNIError(.kernelFailure, "nftables table \(PluginTable.table) could not be created (\(context))")
            }
        }
    }

    /// Applies `transaction`; `false` when it failed only because the table (or one of its sets) is missing.
    private func applyUnlessTableMissing(_ transaction: Transaction, context: String) throws(CNIError) -> Bool {
        do {
            try connection.apply(transaction, existingSets: PluginTable.sets)
            return true
        } catch {
            guard error.errno == ENOENT else {
                throw Self.failure(error, context: context)
            }
            return false
        }
    }

    /// Deletes every element whose comment satisfies `matches`, in one batch. A missing table means nothing to do.
    func remove(where matches: (String) -> Bool) throws(CNIError) {
        var transaction: Transaction?
        for set in PluginTable.sets {
            let elements: [SetElement]
            do {
                elements = try connection.elements(of: set)
            } catch {
                guard error.errno == ENOENT else {
                    throw Self.failure(error, context: "listing \(set.ref)")
                }
                // No table: nothing of anyone's to remove.
                return
            }
            let doomed = elements.filter { $0.comment.map(matches) ?? false }
            if !doomed.isEmpty {
                if transaction == nil { transaction = Transaction(existingSets: PluginTable.sets) }
                transaction?.deleteElements(doomed, from: set.ref)
            }
        }
        guard let transaction, !transaction.isEmpty else {
            return
        }
        do {
            try connection.apply(transaction, existingSets: PluginTable.sets)
        } catch {
            throw Self.failure(error, context: "removing elements")
        }
    }

    private func withTableLock(_ body: () throws(CNIError) -> Void) throws(CNIError) {
        mkdir("/run/sluice-cni", 0o755)
        let file = open(Self.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard file >= 0 else {
            throw CNIError(.ioFailure, "cannot open \(Self.lockPath): \(String(cString: strerror(errno)))")
        }
        defer { close(file) }
        while flock(file, LOCK_EX) != 0 && errno == EINTR {}
        try body()
    }

    private static func failure(_ error: NetlinkError, context: String) -> CNIError {
        var message = "nftables table \(PluginTable.table) (\(context)): \(error)"
        if error.errno == EEXIST || error.errno == EBUSY {
            message += "; a hostPort may already be mapped to another pod"
        }
        return CNIError(.kernelFailure, message)
    }
}
