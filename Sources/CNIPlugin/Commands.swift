import LinkNetlink
import NetNamespace

/// ADD, DEL, CHECK, GC and STATUS for one validated configuration.
struct Commands {
    let environment: PluginEnvironment
    let network: NetworkConfiguration

    var attachment: AttachmentID {
        AttachmentID(containerID: environment.containerID, interfaceName: environment.interfaceName)
    }

    var hostVethName: String { HostSide.vethName(network: network.name, attachment: attachment) }

    // MARK: ADD

    /// Attaches the container; on any failure after the first change, everything done is undone (the DEL path,
    /// which is idempotent) before the error is reported.
    func add() throws(CNIError) -> CNIResult {
        let namespace = NetworkNamespace(path: environment.networkNamespace)
        try PodSide.checkInterfaceFree(environment.interfaceName, in: namespace)
        do {
            return try attach(namespace)
        } catch {
            try? delete()
            throw error
        }
    }

    /// `namespace/name` of the Kubernetes pod, when the runtime says (kubelet's runtimes pass `K8S_POD_*` in
    /// `CNI_ARGS`): recorded next to its addresses so `sluiced` can enforce policy before the API reports them.
    private var podName: String? {
        guard let namespace = environment.arguments["K8S_POD_NAMESPACE"], !namespace.isEmpty,
            let name = environment.arguments["K8S_POD_NAME"], !name.isEmpty
        else { return nil }
        return "\(namespace)/\(name)"
    }

    private func attach(_ namespace: NetworkNamespace) throws(CNIError) -> CNIResult {
        var ips: [CNIResult.IPConfig] = []
        if let configuration = network.ipam {
            ips = try IPAM(configuration, network: network.name).allocate(
                for: attachment, requested: network.requestedAddresses, pod: podName)
        } else if !network.requestedAddresses.isEmpty {
            throw CNIError(.invalidConfiguration, "IP addresses were requested but the network has no ipam section")
        }
        FaultInjection.checkpoint(.addressesReserved)

        let host = try HostSide(network: network)
        let gateways = ips.compactMap { ip in
            ip.gateway.flatMap { InetPrefix(address: $0, length: ip.address.length) }
        }
        let bridge = try host.ensureBridge(gateways: gateways)
        FaultInjection.checkpoint(.bridgeReady)

        let hostEnd = try host.createVeth(
            hostName: hostVethName, bridge: bridge, namespacePath: namespace.path,
            interfaceName: environment.interfaceName)
        FaultInjection.checkpoint(.vethCreated)

        let routes = podRoutes(for: ips)
        let plan = PodSide.Plan(interfaceName: environment.interfaceName, addresses: ips.map(\.address), routes: routes)
        let podMAC = try PodSide.configure(plan, in: namespace)
        FaultInjection.checkpoint(.podConfigured)

        try host.finishHostEnd(hostEnd, bridge: bridge, podMAC: podMAC)
        let elements = PluginTable.elements(network: network, attachment: attachment, addresses: ips.map(\.address))
        if !elements.isEmpty {
            try PluginTableWriter().add(elements, context: "ADD of \(attachment)")
            if network.hostPortSNAT && !network.portMappings.isEmpty {
                // Lets `127.0.0.1:hostPort` on the node reach the pod (the localhost masquerade rule does the rest).
                writeSysctl("net.ipv4.conf.\(bridge.name).route_localnet", "1")
            }
        }
        FaultInjection.checkpoint(.nftablesProgrammed)

        var result = network.previousResult ?? CNIResult()
        let offset = result.interfaces.count
        result.interfaces += [
            CNIResult.Interface(name: bridge.name, mac: bridge.mac?.description),
            CNIResult.Interface(name: hostEnd.name, mac: hostEnd.mac?.description, mtu: hostEnd.mtu),
            CNIResult.Interface(
                name: environment.interfaceName, mac: podMAC?.description, mtu: hostEnd.mtu, sandbox: namespace.path),
        ]
        result.ips += ips.map { ip in
            var ip = ip
            ip.interface = offset + 2
            return ip
        }
        result.routes += routes
        if let dns = network.dns {
            result.dns = dns
        }
        return result
    }

    /// The pod's routes: the IPAM section's (via the family's gateway when they name none) and, with
    /// `isDefaultGateway`, a default route per family via its gateway.
    private func podRoutes(for ips: [CNIResult.IPConfig]) -> [CNIResult.RouteEntry] {
        func gateway(isIPv6: Bool) -> InetAddress? {
            ips.first { $0.address.address.isIPv6 == isIPv6 }?.gateway
        }
        var routes: [CNIResult.RouteEntry] = []
        for route in network.ipam?.routes ?? [] {
            let isIPv6 = route.destination.address.isIPv6
            guard ips.contains(where: { $0.address.address.isIPv6 == isIPv6 }) else {
                continue
            }
            routes.append(
                CNIResult.RouteEntry(destination: route.destination, gateway: route.gateway ?? gateway(isIPv6: isIPv6)))
        }
        if network.isDefaultGateway {
            for isIPv6 in [false, true] {
                guard let gateway = gateway(isIPv6: isIPv6),
                    !routes.contains(where: { $0.destination.length == 0 && $0.destination.address.isIPv6 == isIPv6 })
                else {
                    continue
                }
                let any = InetPrefix(address: InetAddress(isIPv6: isIPv6, value: 0)!, length: 0)!
                routes.append(CNIResult.RouteEntry(destination: any, gateway: gateway))
            }
        }
        return routes
    }

    // MARK: DEL

    /// Detaches the container: nftables elements, the veth, then the addresses. Each step tolerates its object
    /// being gone already, and none needs the pod's namespace, so DEL works with an empty or vanished `CNI_NETNS`
    /// and can be repeated. Addresses go last: a DEL killed halfway leaves a record that the next DEL or GC
    /// still finds.
    func delete() throws(CNIError) {
        let tag = PluginTable.tag(network: network.name, attachment: attachment)
        try PluginTableWriter().remove { $0 == tag }
        try HostSide(network: network).deleteVeth(named: hostVethName)
        if let configuration = network.ipam {
            try IPAM(configuration, network: network.name).release(attachment)
        }
    }

    // MARK: CHECK

    /// Verifies the attachment against `prevResult`: pod interface, addresses and routes; the host end on the
    /// bridge; the address records in the store.
    func check() throws(CNIError) {
        guard let previous = network.previousResult else {
            throw CNIError(.invalidConfiguration, "CHECK needs prevResult (the result of ADD) in the configuration")
        }
        let podInterface = previous.interfaces.firstIndex {
            $0.name == environment.interfaceName && $0.sandbox != nil
        }
        let addresses = previous.ips.filter { $0.interface == nil || $0.interface == podInterface }.map(\.address)
        let plan = PodSide.Plan(
            interfaceName: environment.interfaceName, addresses: addresses, routes: previous.routes)
        try PodSide.verify(plan, in: NetworkNamespace(path: environment.networkNamespace))

        let host = try HostSide(network: network)
        do {
            guard let hostEnd = try host.connection.link(named: hostVethName) else {
                throw CNIError(.checkFailed, "host veth \(hostVethName) of \(attachment) is missing")
            }
            guard let bridge = try host.connection.link(named: network.bridge), hostEnd.master == bridge.index else {
                throw CNIError(.checkFailed, "host veth \(hostVethName) is not a port of bridge \(network.bridge)")
            }
        } catch let error as LinkError {
            throw CNIError.kernel(error, in: "host namespace")
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.kernelFailure, "host namespace: \(error)")
        }
        if let configuration = network.ipam {
            let ipam = try IPAM(configuration, network: network.name)
            let held = Set(
                try ipam.store.withLock(ipam.store.reservations).filter { $0.belongs(to: attachment) }.map(\.address))
            for address in addresses where !held.contains(address.address) {
                throw CNIError(
                    .checkFailed, "IP \(address.address) is not recorded for \(attachment) in the IPAM store")
            }
        }
    }

    // MARK: GC

    /// Releases everything of this network that belongs to an attachment not in the runtime's valid list:
    /// address records (and temporary files of crashed writers), host veths on the bridge, nftables elements.
    func garbageCollect() throws(CNIError) {
        let valid = network.validAttachments
        if let configuration = network.ipam {
            let store = try IPAM(configuration, network: network.name).store
            try store.withLock { () throws(CNIError) in
                for reservation in try store.reservations()
                where !valid.contains(where: { reservation.belongs(to: $0) }) {
                    try store.release(reservation.address)
                }
                try store.removeTemporaryFiles()
                try store.removeOrphanPodRecords()
            }
        }
        let host = try HostSide(network: network)
        let keep = Set(valid.map { HostSide.vethName(network: network.name, attachment: $0) })
        do {
            if let bridge = try host.connection.link(named: network.bridge) {
                for link in try host.connection.links()
                where link.master == bridge.index && HostSide.isVethName(link.name) && !keep.contains(link.name) {
                    try host.deleteVeth(named: link.name)
                }
            }
        } catch let error as LinkError {
            throw CNIError.kernel(error, in: "GC of bridge \(network.bridge)")
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.kernelFailure, "GC of bridge \(network.bridge): \(error)")
        }
        try PluginTableWriter().remove { tag in
            guard let owner = PluginTable.attachment(fromTag: tag), owner.network == network.name else {
                return false
            }
            return !valid.contains(owner.attachment)
        }
    }

    // MARK: STATUS

    /// Ready when the address store is usable and every range set has a free address.
    func status() throws(CNIError) {
        guard let configuration = network.ipam else {
            return
        }
        let ipam: IPAM
        do {
            ipam = try IPAM(configuration, network: network.name)
        } catch {
            throw CNIError(.notAvailable, "IPAM store is unusable: \(error.message)")
        }
        let reservations: [Reservation]
        do {
            reservations = try ipam.store.withLock(ipam.store.reservations)
        } catch {
            throw CNIError(.notAvailable, "IPAM store is unusable: \(error.message)")
        }
        let taken = Set(reservations.map(\.address))
        for allocator in ipam.allocators {
            let count = reservations.filter { allocator.owns($0.address) }.count
            guard allocator.hasFreeAddress(reservedCount: count, reserved: { taken.contains($0) }) else {
                throw CNIError(
                    .notAvailable,
                    "range set \(allocator.setIndex) of network \(network.name) is exhausted (\(count) addresses in use)"
                )
            }
        }
    }
}
