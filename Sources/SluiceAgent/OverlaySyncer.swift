import Glibc
import LinkNetlink
import Logging
import Overlay

/// Keeps one node's overlay entries in the kernel equal to an ``OverlayPlan``: routes to remote pod CIDRs and, for
/// VXLAN, the VXLAN device with one permanent neighbour and one FDB entry per remote node.
///
/// Desired state lives in memory: each ``sync(_:)`` adds what the plan has and the last sync did not, and removes
/// exactly what the last sync programmed and the plan no longer has (the entries of a node that left or changed).
/// Additions use replace semantics, so a restarted agent converges over entries a previous run left behind.
///
/// Not thread-safe: use it from one task or thread at a time, like its ``LinkConnection``.
public final class OverlaySyncer {
    /// The VXLAN device of this node.
    public struct VXLANSettings: Sendable, Hashable {
        /// The device name, at most 15 bytes.
        public var name: String
        /// The VXLAN network identifier, the same on every node.
        public var vni: UInt32
        /// The UDP port, the same on every node (8472: Linux and flannel's default).
        public var port: UInt16
        /// The link tunnelled packets leave by; the device MTU is its MTU minus the encapsulation overhead.
        public var underlayDevice: String
        /// This node's underlay address: the source of tunnelled packets and other nodes' FDB destination.
        public var localAddress: InetAddress
        /// The device's own address, advertised as `sluice.dev/vtep-ip` (by convention the pod CIDR's network
        /// address); added as a host prefix so it claims no subnet.
        public var vtepAddress: InetAddress
        /// The device's MAC, advertised as `sluice.dev/vtep-mac`; `nil` lets the kernel choose one.
        public var mac: MACAddress?

        public init(
            name: String = "sluice.vxlan", vni: UInt32 = 1, port: UInt16 = 8472, underlayDevice: String,
            localAddress: InetAddress, vtepAddress: InetAddress, mac: MACAddress? = nil
        ) {
            self.name = name
            self.vni = vni
            self.port = port
            self.underlayDevice = underlayDevice
            self.localAddress = localAddress
            self.vtepAddress = vtepAddress
            self.mac = mac
        }

        /// VXLAN's encapsulation overhead: outer IP, UDP, VXLAN and inner Ethernet headers.
        public var overhead: Int { localAddress.isIPv6 ? 70 : 50 }
    }

    /// The backend, with what it needs on this node.
    public enum Mode: Sendable, Hashable {
        case vxlan(VXLANSettings)
        case hostGateway
    }

    /// What one sync did, for logs, metrics and tests.
    public struct Report: Sendable, Hashable {
        public var added = 0
        public var removed = 0
        /// Entries the kernel refused; they stay pending and are retried by the next sync.
        public var failures: [String] = []

        public init(added: Int = 0, removed: Int = 0, failures: [String] = []) {
            self.added = added
            self.removed = removed
            self.failures = failures
        }
    }

    private let mode: Mode
    private let connection: LinkConnection
    private let logger: Logger
    private var device: Link?

    /// The VXLAN device once prepared (its MAC is what this node advertises); `nil` for host-gw.
    public var vxlanDevice: Link? { device }

    /// This node's VTEP address, as advertised in `sluice.dev/vtep-ip`; `nil` for host-gw.
    public var vtepAddress: String? {
        if case .vxlan(let settings) = mode { return settings.vtepAddress.description }
        return nil
    }
    private var routes: Set<OverlayRoute> = []
    private var neighbors: Set<OverlayNeighbor> = []
    private var fdbEntries: Set<OverlayFDBEntry> = []

    /// - Parameter connection: opened in the namespace to program (the node's).
    public init(mode: Mode, connection: LinkConnection, logger: Logger) {
        self.mode = mode
        self.connection = connection
        self.logger = logger
    }

    /// Creates the VXLAN device (or adopts an existing VXLAN link of that name), brings it up and gives it the
    /// VTEP address; returns it, so that the agent can advertise its MAC. `nil` for host-gw.
    @discardableResult
    public func prepareDevice() throws(LinkError) -> Link? {
        guard case .vxlan(let settings) = mode else {
            return nil
        }
        if let existing = try connection.link(named: settings.name), existing.kind == "vxlan" {
            device = existing
        } else {
            guard let underlay = try connection.link(named: settings.underlayDevice) else {
                throw LinkError("find underlay", object: settings.underlayDevice, code: ENODEV)
            }
            try connection.createVXLAN(
                named: settings.name, vni: settings.vni, port: settings.port, underlayIndex: underlay.index,
                localAddress: settings.localAddress, learning: false, mtu: underlay.mtu - settings.overhead,
                mac: settings.mac)
            guard let created = try connection.link(named: settings.name) else {
                throw LinkError("find vxlan", object: settings.name, code: ENODEV)
            }
            device = created
            logger.info("created VXLAN device", metadata: ["device": "\(settings.name)", "mtu": "\(created.mtu)"])
        }
        let link = device!
        try connection.setUp(index: link.index, name: link.name)
        let vtep = InetPrefix(address: settings.vtepAddress, length: settings.vtepAddress.bitWidth)!
        do {
            try connection.addAddress(vtep, index: link.index, name: link.name)
        } catch let error where error.isExists {
            // Adopted from a previous run.
        }
        return try connection.link(index: link.index)
    }

    /// Programs the difference between `plan` and the last sync, logging the plan's problems.
    @discardableResult
    public func sync(_ plan: OverlayPlan) throws(LinkError) -> Report {
        for problem in plan.problems {
            logger.warning("overlay skipped input", metadata: ["problem": "\(problem)"])
        }
        var deviceIndex: Int32?
        if case .vxlan = mode {
            if device == nil {
                try prepareDevice()
            }
            deviceIndex = device?.index
        }
        var report = Report()
        let wantedRoutes = plan.routes
        // Neighbour and FDB entries live on the VXLAN device; host-gw has none.
        let wantedNeighbors = deviceIndex == nil ? [] : plan.neighbors
        let wantedFDB = deviceIndex == nil ? [] : plan.fdbEntries

        // Remove first: a node whose address changed frees its old entries before the new ones go in.
        for route in routes.subtracting(wantedRoutes) {
            if attempt(
                &report, removing: true, "route \(route)",
                { () throws(LinkError) in
                    try connection.deleteRoute(kernelRoute(route, deviceIndex: deviceIndex))
                })
            {
                routes.remove(route)
            }
        }
        for neighbor in neighbors.subtracting(wantedNeighbors) {
            if attempt(
                &report, removing: true, "neighbour \(neighbor)",
                { () throws(LinkError) in
                    try connection.deleteNeighbor(
                        try inet(neighbor.address), index: deviceIndex ?? 0, name: deviceName)
                })
            {
                neighbors.remove(neighbor)
            }
        }
        for entry in fdbEntries.subtracting(wantedFDB) {
            if attempt(
                &report, removing: true, "fdb entry \(entry)",
                { () throws(LinkError) in
                    try connection.deleteFDBEntry(
                        mac: try mac(entry.mac), index: deviceIndex ?? 0, name: deviceName, onMaster: false)
                })
            {
                fdbEntries.remove(entry)
            }
        }

        // Add in dependency order: where to send the MAC, what the gateway's MAC is, then the route.
        for entry in wantedFDB.subtracting(fdbEntries) {
            if attempt(
                &report, removing: false, "fdb entry \(entry)",
                { () throws(LinkError) in
                    try connection.replaceFDBEntry(
                        mac: try mac(entry.mac), index: deviceIndex ?? 0, name: deviceName, onMaster: false,
                        destination: try inet(entry.destination))
                })
            {
                fdbEntries.insert(entry)
            }
        }
        for neighbor in wantedNeighbors.subtracting(neighbors) {
            if attempt(
                &report, removing: false, "neighbour \(neighbor)",
                { () throws(LinkError) in
                    try connection.replaceNeighbor(
                        try inet(neighbor.address), mac: try mac(neighbor.mac), index: deviceIndex ?? 0,
                        name: deviceName)
                })
            {
                neighbors.insert(neighbor)
            }
        }
        for route in wantedRoutes.subtracting(routes) {
            if attempt(
                &report, removing: false, "route \(route)",
                { () throws(LinkError) in
                    try connection.replaceRoute(kernelRoute(route, deviceIndex: deviceIndex))
                })
            {
                routes.insert(route)
            }
        }
        return report
    }

    private var deviceName: String { device?.name ?? "" }

    /// Runs one kernel change, counting it; a removal of something already gone counts as done.
    @discardableResult
    private func attempt(
        _ report: inout Report, removing: Bool, _ what: String, _ body: () throws(LinkError) -> Void
    ) -> Bool {
        do {
            try body()
        } catch let error where removing && error.isNotFound {
        } catch {
            report.failures.append("\(removing ? "remove" : "add") \(what): \(error)")
            logger.error("overlay entry failed", metadata: ["entry": "\(what)", "error": "\(error)"])
            return false
        }
        if removing {
            report.removed += 1
        } else {
            report.added += 1
        }
        return true
    }

    private func kernelRoute(_ route: OverlayRoute, deviceIndex: Int32?) throws(LinkError) -> Route {
        guard let destination = InetPrefix(route.destination.description) else {
            throw LinkError("convert", object: "\(route.destination)", code: EINVAL)
        }
        return Route(
            destination: destination, gateway: try inet(route.gateway), index: route.isOnLink ? deviceIndex : nil,
            isOnLink: route.isOnLink)
    }
}

private func inet(_ address: some CustomStringConvertible) throws(LinkError) -> InetAddress {
    guard let converted = InetAddress(address.description) else {
        throw LinkError("convert", object: address.description, code: EINVAL)
    }
    return converted
}

private func mac(_ text: String) throws(LinkError) -> MACAddress {
    guard let converted = MACAddress(text) else {
        throw LinkError("convert", object: text, code: EINVAL)
    }
    return converted
}
