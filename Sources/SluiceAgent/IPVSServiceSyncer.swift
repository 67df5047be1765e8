import Foundation
import IPVS
import IPVSNetlink
import KubeAPI
import LinkNetlink
import Logging
import NFTables
import NFTablesNetlink
import ServiceProxy

/// `--proxy-mode=ipvs`: keeps the kernel's IPVS table, the Service IPs on the dummy interface and the mode's small
/// nftables table equal to the desired state compiled from the same `ServiceProxy` the nftables backend uses.
///
/// Like `ServiceSyncer` it adopts what a previous run left (only differences are sent, live virtual services are
/// kept) and then sends only the changes of each sync. Unlike nftables, IPVS has no transactions: a request the
/// kernel refuses is reported against its Service, every other change still applies, and the refused virtual
/// service is retried at the next sync.
public actor IPVSServiceSyncer {
    /// The dummy interface holding Service IPs (kube-proxy's is `kube-ipvs0`).
    public static let dummyInterface = "sluice-ipvs0"
    /// NodePorts live on node addresses, which Sluice does not own: a virtual service there is Sluice's when its
    /// port is in this range (the Kubernetes default `--service-node-port-range`).
    public static let nodePortRange: ClosedRange<UInt16> = 30000...32767
    /// `--ipvs-strict-arp`, kube-proxy's `strictARP`: the node answers ARP only for addresses of the interface
    /// asked (`arp_ignore=1`) and announces only such addresses (`arp_announce=2`), so the Service IPs on the dummy
    /// interface are never claimed on the wire — what MetalLB's layer-2 mode needs next to IPVS.
    private let strictARP: Bool

    private var proxy: ServiceProxy
    private var ipvs: IPVSProxier
    private let connection: IPVSConnection
    private let links: LinkConnection
    private var table: OwnedTable
    private let filter: IPVSFilterTable
    private let logger: Logger
    /// Whether node addresses were given (`--nodeport-addresses`) or are read from the namespace's links.
    private let fixedNodeAddresses: [IPCIDR]
    private let drainTimeout: Duration

    /// What the kernel holds (as far as this syncer knows): the base the next diff starts from.
    private var kernel: [VirtualServiceKey: ServiceEntry] = [:]
    /// Virtual services whose last change the kernel refused: re-diffed at every sync.
    private var pending: Set<VirtualServiceKey> = []
    /// Destinations at weight 0 waiting for their connections to end, with the time they are deleted regardless.
    private var draining: [VirtualServiceKey: [DestinationKey: ContinuousClock.Instant]] = [:]
    private var boundAddresses: Set<IPAddress> = []
    private var dummyIndex: Int32 = 0
    private var adopted = false

    /// What the last sync did, for logs, metrics and tests.
    public struct Report: Sendable {
        /// IPVS requests sent (one per changed virtual service or destination; dumps at adoption included).
        public var ipvsMessages: Int
        /// nftables messages of the mode's table.
        public var nftMessages: Int
        public var operations: [IPVSOperation]
        public var addressesAdded: Int
        public var addressesRemoved: Int
        public var changedServices: Int
        /// Destinations deleted after draining.
        public var drained: Int
        /// Refusals by the kernel, each naming its Service, and compile problems.
        public var errors: [String]
    }

    public private(set) var lastReport: Report?
    public var healthChecks: [HealthCheck] { proxy.healthChecks }

    /// The node's zone as the Services were compiled for it.
    public var nodeZone: String? { proxy.layout.configuration.nodeZone }

    /// Follows a change of the node's zone label, as the nftables backend does: topology-hinted Services get
    /// their destinations chosen again at the next `flush()`.
    public func setNodeZone(_ zone: String?) {
        proxy.setNodeZone(zone)
    }
    public var programmedServiceCount: Int { ipvs.serviceCount }
    public var virtualServiceCount: Int { ipvs.virtualServiceCount }
    /// Destinations currently draining (weight 0), for tests and metrics.
    public var drainingCount: Int { draining.values.reduce(0) { $0 + $1.count } }

    /// - Parameters:
    ///   - configuration: the shared compiler's configuration (node name, cluster CIDRs, NodePort CIDRs).
    ///   - scheduler: `--ipvs-scheduler`.
    ///   - drainTimeout: how long a removed endpoint may keep connections before its destination is deleted.
    ///   - Connections are opened in the namespace to program (the caller's thread).
    public init(
        configuration: ProxyConfiguration, scheduler: String, connection: IPVSConnection, links: LinkConnection,
        nftables: NFTablesConnection, drainTimeout: Duration = .seconds(900), strictARP: Bool = false, logger: Logger
    ) {
        self.strictARP = strictARP
        proxy = ServiceProxy(configuration: configuration)
        var ipvsConfiguration = IPVSConfiguration(
            scheduler: scheduler, clusterCIDRs: configuration.clusterCIDRs,
            masqueradeMark: configuration.masqueradeMark)
        ipvsConfiguration.masqueradePodEgress = configuration.masqueradePodEgress
        ipvs = IPVSProxier(configuration: ipvsConfiguration)
        filter = IPVSFilterTable(configuration: ipvsConfiguration)
        table = OwnedTable(filter.table, sets: filter.sets(), connection: nftables, label: "table \(filter.table)")
        self.connection = connection
        self.links = links
        self.logger = logger
        fixedNodeAddresses = configuration.nodePortAddresses
        self.drainTimeout = drainTimeout
    }

    /// Compiles the snapshot and programs the difference. The first call adopts what the kernel holds.
    @discardableResult
    public func sync(_ snapshot: ManifestSet) throws -> Report {
        proxy.replaceAll(
            services: snapshot.services, endpointSlices: snapshot.endpointSlices, endpoints: snapshot.endpoints)
        return try program()
    }

    /// Folds watch events into the desired state; `flush()` programs them.
    public func receive(_ events: [ServiceEvent]) {
        for event in events { proxy.apply(event) }
    }

    /// Programs what `receive` folded in since the last sync.
    @discardableResult
    public func flush() throws -> Report {
        try program()
    }

    private func program() throws -> Report {
        let sync = proxy.sync()
        var changes = IPVSProxier.Changes()
        for name in sync.changedServices.sorted() {
            ipvs.update(name, frontends: proxy.compiled(name)?.frontends ?? [], into: &changes)
        }
        do {
            return try program(sync, changes)
        } catch {
            // The kernel may hold part of this sync: the next one re-reads it and converges (the desired state
            // already holds every change).
            adopted = false
            logger.error("IPVS sync failed, the next sync re-reads the kernel: \(error)")
            throw error
        }
    }

    private func program(_ sync: ServiceProxy.Sync, _ compiled: IPVSProxier.Changes) throws -> Report {
        let messagesBefore = connection.messagesSent
        var changes = compiled
        if !adopted { try prepareNode(&changes) }
        var errors = sync.diagnostics + changes.diagnostics
        let operations: [IPVSOperation]
        var nftMessages = 0
        if !adopted {
            let owned = boundAddresses
            kernel = try connection.table { self.isOwned($0, boundAddresses: owned) }
            operations = IPVSDiff.operations(from: kernel, to: ipvs.desired)
            for (key, entry) in kernel {
                for destination in entry.destinations.values
                where destination.weight == 0 && ipvs.entry(key)?.destinations[destination.key] == nil {
                    draining[key, default: [:]][destination.key] = ContinuousClock.now + drainTimeout
                }
            }
        } else {
            operations = IPVSDiff.operations(from: kernel, to: ipvs.desired, keys: changes.keys.union(pending))
        }
        // Addresses first: a virtual service's packets only reach IPVS once the kernel takes its IP as local.
        let (added, removedLater) = try updateAddresses(adopting: !adopted, changes: changes)
        let result = try connection.apply(operations) { self.ipvs.owner(of: $0) }
        pending = []
        for operation in result.applied {
            IPVSDiff.apply(operation, to: &kernel)
            if case .updateDestination(let key, let destination) = operation, destination.weight == 0,
                ipvs.entry(key)?.destinations[destination.key] == nil
            {
                draining[key, default: [:]][destination.key] = ContinuousClock.now + drainTimeout
            }
            if case .deleteService(let key) = operation { draining[key] = nil }
        }
        for failure in result.failures {
            if case .rejected(let operation, _, _) = failure { pending.insert(operation.serviceKey) }
            errors.append(failure.description)
        }
        let removed = try removeAddresses(removedLater)
        if adopted {
            let incremental = filter.transaction(adding: changes.elementsAdded, deleting: changes.elementsRemoved)
            nftMessages = try table.apply(incremental, full: { fullFilterTransaction() }, logger: logger).report
                .messages
        } else if !table.adopted {
            // The first apply creates the table, or converges an existing one to the full state.
            let full = fullFilterTransaction()
            nftMessages = try table.apply(full, full: { full }, logger: logger).report.messages
        } else {
            // Adopting again after a failed sync: the table exists and is ours; repair it against the full state.
            _ = try table.repairDrift(full: fullFilterTransaction(), logger: logger)
        }
        adopted = true
        let drained = try drain()
        let report = Report(
            ipvsMessages: connection.messagesSent - messagesBefore, nftMessages: nftMessages, operations: operations,
            addressesAdded: added, addressesRemoved: removed, changedServices: sync.changedServices.count,
            drained: drained, errors: errors)
        lastReport = report
        for problem in errors { logger.error("\(problem)") }
        logger.info(
            "synced (ipvs)",
            metadata: [
                "services": "\(sync.changedServices.count)", "ipvs-requests": "\(report.ipvsMessages)",
                "nft-messages": "\(nftMessages)", "refused": "\(result.failures.count)",
            ])
        return report
    }

    /// First sync: the dummy interface, the IPVS sysctls, the node addresses NodePorts answer on, and the other
    /// mode's state removed (switching from `nftables` to `ipvs`).
    private func prepareNode(_ changes: inout IPVSProxier.Changes) throws {
        try ProxyModeCleanup.removeNFTablesModeTable(
            connection: table.connection, name: proxy.layout.table.name, logger: logger)
        if try links.link(named: Self.dummyInterface) == nil {
            try links.createDummy(named: Self.dummyInterface)
        }
        guard let dummy = try links.link(named: Self.dummyInterface) else {
            throw LinkError("find", object: Self.dummyInterface, code: ENODEV)
        }
        // Left down, as kube-proxy leaves kube-ipvs0: its addresses are local all the same, and a down link gets no
        // IPv6 link-local address and no routes of its own.
        dummyIndex = dummy.index
        boundAddresses = try dummyAddresses()
        // As kube-proxy: IPVS connections get conntrack entries (so masquerade applies), connections to a deleted
        // destination are expired, and a persistence template of a weight-0 destination is not reused; with
        // strictARP, the ARP settings above.
        var settings = [("conntrack", "1"), ("expire_nodest_conn", "1"), ("expire_quiescent_template", "1")].map {
            ("/proc/sys/net/ipv4/vs/\($0)", $1)
        }
        if strictARP {
            settings += [
                ("/proc/sys/net/ipv4/conf/all/arp_ignore", "1"), ("/proc/sys/net/ipv4/conf/all/arp_announce", "2"),
            ]
        }
        for (path, value) in settings {
            do {
                try value.write(toFile: path, atomically: false, encoding: .utf8)
            } catch {
                logger.warning("cannot set \(path): \(error)")
            }
        }
        ipvs.setNodeAddresses(try nodeAddresses(), into: &changes)
    }

    /// The addresses NodePorts answer on: local addresses in `--nodeport-addresses`, or every local address
    /// except loopback, link-local IPv6 and the Service IPs on the dummy interface.
    private func nodeAddresses() throws -> [IPAddress] {
        let loopbackIndices = Set(try links.links().filter { $0.name == "lo" }.map(\.index))
        return try links.addresses().compactMap { entry -> IPAddress? in
            guard entry.index != dummyIndex, !loopbackIndices.contains(entry.index),
                let address = IPAddress(bytes: entry.address.address.bytes)
            else { return nil }
            if case .v6(let high, _) = address, high >> 54 == 0x3FA { return nil }  // fe80::/10
            if fixedNodeAddresses.isEmpty { return address }
            return fixedNodeAddresses.contains { $0.contains(address) } ? address : nil
        }.sorted()
    }

    /// The Service IPs bound on the dummy interface (a link-local IPv6 address the kernel may add is not one).
    private func dummyAddresses() throws -> Set<IPAddress> {
        Set(
            try links.addresses(index: dummyIndex).compactMap { entry -> IPAddress? in
                guard let address = IPAddress(bytes: entry.address.address.bytes) else { return nil }
                if case .v6(let high, _) = address, high >> 54 == 0x3FA { return nil }
                return address
            })
    }

    /// Whether a virtual service found in the kernel is Sluice's: on a Service IP it bound, or a NodePort on a
    /// node address.
    private func isOwned(_ key: VirtualServiceKey, boundAddresses: Set<IPAddress>) -> Bool {
        if boundAddresses.contains(key.address) || ipvs.addresses.contains(key.address) { return true }
        return Self.nodePortRange.contains(key.port) && ipvs.configuration.nodeAddresses.contains(key.address)
    }

    /// Binds new Service IPs now; returns how many, and the ones to unbind once their services are gone.
    private func updateAddresses(adopting: Bool, changes: IPVSProxier.Changes) throws -> (Int, Set<IPAddress>) {
        let desired = ipvs.addresses
        let toAdd = adopting ? desired.subtracting(boundAddresses) : changes.addressesAdded.subtracting(boundAddresses)
        let toRemove =
            adopting ? boundAddresses.subtracting(desired) : changes.addressesRemoved.intersection(boundAddresses)
        for address in toAdd.sorted() {
            let prefix = Self.hostPrefix(address)
            do {
                try links.addAddress(prefix, index: dummyIndex, name: Self.dummyInterface)
            } catch {
                guard error.isExists else { throw error }
            }
            boundAddresses.insert(address)
        }
        return (toAdd.count, toRemove)
    }

    private func removeAddresses(_ addresses: Set<IPAddress>) throws -> Int {
        for address in addresses.sorted() {
            do {
                try links.deleteAddress(Self.hostPrefix(address), index: dummyIndex, name: Self.dummyInterface)
            } catch {
                guard error.isNotFound else { throw error }
            }
            boundAddresses.remove(address)
        }
        return addresses.count
    }

    static func hostPrefix(_ address: IPAddress) -> InetPrefix {
        InetPrefix(address: InetAddress(bytes: address.bytes)!, length: address.family.bitWidth)!
    }

    private func fullFilterTransaction() -> Transaction {
        var tx = filter.baseTransaction()
        tx.append(contentsOf: filter.transaction(adding: ipvs.elements, deleting: []))
        return tx
    }

    /// Deletes draining destinations whose connections ended (or whose grace time is over); returns how many.
    /// A destination that became desired again is no longer draining (the diff already restored its weight).
    @discardableResult
    public func drain() throws -> Int {
        var deletes: [IPVSOperation] = []
        let now = ContinuousClock.now
        for key in draining.keys.sorted() {
            guard kernel[key] != nil else {
                draining[key] = nil
                continue
            }
            let states = Dictionary(
                try connection.destinations(of: key).map { ($0.destination.key, $0) }, uniquingKeysWith: { a, _ in a })
            for (destination, deadline) in draining[key]! {
                if ipvs.entry(key)?.destinations[destination] != nil || states[destination] == nil {
                    draining[key]![destination] = nil
                    continue
                }
                let state = states[destination]!
                // UDP and SCTP flows never end on their own: waiting would only hold a terminating endpoint for
                // the whole timeout. Deleted now, their next packet finds a live destination
                // (`expire_nodest_conn`), as kube-proxy does.
                if key.proto != .tcp || state.activeConnections + state.inactiveConnections == 0 || now >= deadline {
                    deletes.append(.deleteDestination(key, destination))
                }
            }
            if draining[key]!.isEmpty { draining[key] = nil }
        }
        guard !deletes.isEmpty else { return 0 }
        let result = try connection.apply(deletes) { self.ipvs.owner(of: $0) }
        for operation in result.applied {
            IPVSDiff.apply(operation, to: &kernel)
            if case .deleteDestination(let key, let destination) = operation {
                draining[key]?[destination] = nil
                if draining[key]?.isEmpty == true { draining[key] = nil }
            }
        }
        for failure in result.failures { logger.error("drain: \(failure)") }
        return result.applied.count
    }

    /// Re-reads the kernel and the node's addresses and repairs any difference from the desired state (a virtual
    /// service deleted by hand, an address removed, a node address added), then deletes destinations that finished
    /// draining. Returns the number of IPVS
    /// operations the repair needed.
    @discardableResult
    public func repairDrift() throws -> Int {
        guard adopted else { return 0 }
        // Node addresses may have changed since the start: NodePorts follow them.
        var changes = IPVSProxier.Changes()
        ipvs.setNodeAddresses(try nodeAddresses(), into: &changes)
        boundAddresses = try dummyAddresses()
        let owned = boundAddresses
        kernel = try connection.table { self.isOwned($0, boundAddresses: owned) }
        let operations = IPVSDiff.operations(from: kernel, to: ipvs.desired)
        _ = try updateAddresses(adopting: true, changes: IPVSProxier.Changes())
        let result = try connection.apply(operations) { self.ipvs.owner(of: $0) }
        for operation in result.applied { IPVSDiff.apply(operation, to: &kernel) }
        for failure in result.failures {
            if case .rejected(let operation, _, _) = failure { pending.insert(operation.serviceKey) }
            logger.error("drift repair: \(failure)")
        }
        _ = try table.repairDrift(full: fullFilterTransaction(), logger: logger)
        // The periodic repair is also when draining destinations are looked at between syncs.
        try drain()
        if !operations.isEmpty {
            logger.warning("repaired IPVS drift", metadata: ["operations": "\(operations.count)"])
        }
        return operations.count
    }
}
