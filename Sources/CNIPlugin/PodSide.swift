import LinkNetlink
import NetNamespace

/// The pod half of an attachment: work done inside the pod's network namespace.
///
/// The plugin is single-threaded, so it switches its own thread in and back out
/// (`NetworkNamespace.runOnCallingThread`) rather than starting a thread per switch.
enum PodSide {
    /// What the pod end gets: addresses, routes, and the interface they go on.
    struct Plan: Sendable {
        let interfaceName: String
        let addresses: [InetPrefix]
        let routes: [CNIResult.RouteEntry]
    }

    /// Fails with code 3 when the namespace does not exist and 101 when `name` is taken, before anything is
    /// changed anywhere.
    static func checkInterfaceFree(_ name: String, in namespace: NetworkNamespace) throws(CNIError) {
        do {
            try namespace.runOnCallingThread {
                let connection = try LinkConnection()
                if try connection.link(named: name) != nil {
                    throw CNIError(
                        .interfaceExists,
                        "interface \(name) already exists in container namespace \(namespace.path); "
                            + "choose another CNI_IFNAME or delete the old attachment first")
                }
            }
        } catch {
            throw CNIError.fromPodNamespace(error, path: namespace.path)
        }
    }

    /// Configures the pod end: loopback up, no duplicate address detection, addresses, link up, routes.
    ///
    /// - Returns: the pod end's MAC address.
    static func configure(_ plan: Plan, in namespace: NetworkNamespace) throws(CNIError) -> MACAddress? {
        do {
            return try namespace.runOnCallingThread { () throws -> MACAddress? in
                let connection = try LinkConnection()
                if let loopback = try connection.link(named: "lo"), !loopback.isUp {
                    try connection.setUp(index: loopback.index, name: "lo")
                }
                guard let link = try connection.link(named: plan.interfaceName) else {
                    throw CNIError(.kernelFailure, "interface \(plan.interfaceName) vanished from \(namespace.path)")
                }
                if plan.addresses.contains(where: \.address.isIPv6) {
                    // IPAM addresses are unique by construction: waiting ~1 s for DAD per pod buys nothing.
                    writeSysctl("net.ipv6.conf.\(plan.interfaceName).accept_dad", "0")
                }
                for address in plan.addresses {
                    // Present already after an earlier attempt: fine.
                    try ignoringExists { () throws(LinkError) in
                        try connection.addAddress(address, index: link.index, name: plan.interfaceName)
                    }
                }
                try connection.setUp(index: link.index, name: plan.interfaceName)
                for route in plan.routes {
                    // Present already after an earlier attempt, or the kernel's own connected route: fine.
                    try ignoringExists { () throws(LinkError) in
                        try connection.addRoute(
                            Route(destination: route.destination, gateway: route.gateway, index: link.index))
                    }
                }
                return link.mac
            }
        } catch {
            throw CNIError.fromPodNamespace(error, path: namespace.path)
        }
    }

    /// CHECK: the interface exists with every expected address and every expected route.
    static func verify(_ plan: Plan, in namespace: NetworkNamespace) throws(CNIError) {
        do {
            try namespace.runOnCallingThread {
                let connection = try LinkConnection()
                guard let link = try connection.link(named: plan.interfaceName) else {
                    throw CNIError(.checkFailed, "interface \(plan.interfaceName) is missing from \(namespace.path)")
                }
                guard link.isUp else {
                    throw CNIError(.checkFailed, "interface \(plan.interfaceName) in \(namespace.path) is down")
                }
                let present = Set(try connection.addresses(index: link.index).map(\.address))
                for address in plan.addresses where !present.contains(address) {
                    throw CNIError(
                        .checkFailed, "interface \(plan.interfaceName) in \(namespace.path) lacks address \(address)")
                }
                let routes = try connection.routes()
                for route in plan.routes {
                    let found = routes.contains {
                        $0.destination.canonical == route.destination.canonical
                            && (route.gateway == nil || $0.gateway == route.gateway)
                    }
                    guard found else {
                        let via = route.gateway.map { " via \($0)" } ?? ""
                        throw CNIError(
                            .checkFailed, "route \(route.destination)\(via) is missing from \(namespace.path)")
                    }
                }
            }
        } catch {
            throw CNIError.fromPodNamespace(error, path: namespace.path)
        }
    }
}
