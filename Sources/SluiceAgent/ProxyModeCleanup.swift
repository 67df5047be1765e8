import IPVS
import IPVSNetlink
import KubeAPI
import LinkNetlink
import Logging
import NFTables
import NFTablesNetlink

/// Switching a node between `--proxy-mode=nftables` and `ipvs` removes what the other mode left behind, so
/// the two never both answer for a Service IP (kube-proxy does the same when its mode changes).
public enum ProxyModeCleanup {
    /// Deletes the nftables mode's table (entering IPVS mode). Returns whether there was one.
    @discardableResult
    public static func removeNFTablesModeTable(
        connection: NFTablesConnection, name: String, logger: Logger
    ) throws
        -> Bool
    {
        try removeTable(TableRef(family: .inet, name: name), connection: connection, logger: logger)
    }

    private static func removeTable(_ ref: TableRef, connection: NFTablesConnection, logger: Logger) throws -> Bool {
        guard try connection.listTable(ref) != nil else { return false }
        var tx = Transaction()
        tx.delete(ref)
        try connection.apply(tx)
        logger.info("removed table \(ref) of the other proxy mode")
        return true
    }

    /// A connection to IPVS, or `nil` when the kernel has none (then no virtual service can exist).
    static func openIPVS() throws(IPVSError) -> IPVSConnection? {
        do {
            return try IPVSConnection()
        } catch {
            guard case .unavailable = error else { throw error }
            return nil
        }
    }

    /// What `removeIPVSModeState` removed.
    public struct Removed: Sendable, Hashable {
        public var virtualServices = 0
        public var table = false
        public var dummyInterface = false
    }

    /// Removes the IPVS mode's state (entering nftables mode): its virtual services (those on Service IPs of the
    /// dummy interface, and NodePorts on local addresses), its nftables table and the dummy interface. Without
    /// IPVS in the kernel only the table and interface are looked for.
    @discardableResult
    public static func removeIPVSModeState(
        nftables: NFTablesConnection, links: LinkConnection, tableName: String = IPVSConfiguration().tableName,
        logger: Logger
    ) throws -> Removed {
        var removed = Removed()
        removed.table = try removeTable(TableRef(family: .inet, name: tableName), connection: nftables, logger: logger)
        let dummy = try links.link(named: IPVSServiceSyncer.dummyInterface)
        let addresses = try links.addresses()
        let serviceIPs = Set(
            addresses.filter { $0.index == dummy?.index }.compactMap { IPAddress(bytes: $0.address.address.bytes) })
        let localIPs = Set(addresses.compactMap { IPAddress(bytes: $0.address.address.bytes) })
        if let ipvs = try openIPVS() {
            let ours = try ipvs.services().map(\.key).filter {
                serviceIPs.contains($0.address)
                    || (IPVSServiceSyncer.nodePortRange.contains($0.port) && localIPs.contains($0.address))
            }
            let result = try ipvs.apply(ours.map { .deleteService($0) })
            for failure in result.failures { logger.error("cleanup: \(failure)") }
            removed.virtualServices = result.applied.count
        }
        if dummy != nil {
            try links.deleteLink(named: IPVSServiceSyncer.dummyInterface)
            removed.dummyInterface = true
        }
        if removed != Removed() {
            logger.info(
                "removed IPVS mode state",
                metadata: [
                    "virtual-services": "\(removed.virtualServices)", "table": "\(removed.table)",
                    "dummy": "\(removed.dummyInterface)",
                ])
        }
        return removed
    }
}
