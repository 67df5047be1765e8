import LinkNetlink

/// A CNI result: the interfaces, addresses, routes and DNS settings of an attachment.
///
/// ADD prints one in the configuration's `cniVersion`; a chained plugin receives the previous one as
/// `prevResult` (in whatever version its producer used, 0.3.0 to 1.1.0) and extends it; CHECK compares the
/// kernel against it. Fields introduced by 1.1.0 (interface `mtu`, `socketPath`, `pciID`; route `mtu`, `advmss`,
/// `priority`, `table`, `scope`) are kept through a chain and printed only for 1.1.0.
public struct CNIResult: Sendable, Hashable {
    /// An interface the attachment created or uses.
    public struct Interface: Sendable, Hashable {
        public var name: String
        public var mac: String?
        public var mtu: Int?
        /// The namespace path for interfaces inside the container; `nil` for host interfaces.
        public var sandbox: String?
        public var socketPath: String?
        public var pciID: String?

        public init(name: String, mac: String? = nil, mtu: Int? = nil, sandbox: String? = nil) {
            self.name = name
            self.mac = mac
            self.mtu = mtu
            self.sandbox = sandbox
        }
    }

    /// An address assigned to an interface.
    public struct IPConfig: Sendable, Hashable {
        /// The address with its subnet's prefix length.
        public var address: InetPrefix
        public var gateway: InetAddress?
        /// Index into ``CNIResult/interfaces``.
        public var interface: Int?

        public init(address: InetPrefix, gateway: InetAddress? = nil, interface: Int? = nil) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }
    }

    /// A route inside the container.
    public struct RouteEntry: Sendable, Hashable {
        public var destination: InetPrefix
        public var gateway: InetAddress?
        public var mtu: Int?
        public var advmss: Int?
        public var priority: Int?
        public var table: Int?
        public var scope: Int?

        public init(destination: InetPrefix, gateway: InetAddress? = nil) {
            self.destination = destination
            self.gateway = gateway
        }
    }

    public var interfaces: [Interface] = []
    public var ips: [IPConfig] = []
    public var routes: [RouteEntry] = []
    /// The `dns` object, passed through unchanged.
    public var dns: JSON?

    public init() {}

    /// The result as a document of `version`.
    public func document(version: String) -> JSON {
        let isV11 = version == "1.1.0"
        var members: [(String, JSON)] = [("cniVersion", .string(version))]
        if !interfaces.isEmpty {
            members.append(("interfaces", .array(interfaces.map { $0.document(includeV11: isV11) })))
        }
        if !ips.isEmpty {
            members.append(
                ("ips", .array(ips.map { $0.document(tagVersion: CNIVersion.tagsIPVersion(version)) })))
        }
        if !routes.isEmpty {
            members.append(("routes", .array(routes.map { $0.document(includeV11: isV11) })))
        }
        members.append(("dns", dns ?? .object([])))
        return .object(members)
    }

    /// Parses a result of any supported version (a `prevResult`).
    ///
    /// - Throws: ``CNIError`` 7 naming the field below `path` that is malformed.
    public init(parsing json: JSON, path: String) throws(CNIError) {
        guard case .object = json else {
            throw CNIError(.invalidConfiguration, "\(path): expected an object")
        }
        let reader = ConfigReader(json, path: path)
        if let version = try reader.string("cniVersion"), !CNIVersion.supported.contains(version) {
            throw CNIError(.incompatibleVersion, "\(path).cniVersion \(version) is not a version sluice-cni can read")
        }
        for entry in try reader.objects("interfaces") ?? [] {
            guard let name = try entry.string("name") else {
                throw CNIError(.invalidConfiguration, "\(entry.path).name: is missing")
            }
            var interface = Interface(
                name: name, mac: try entry.string("mac"), mtu: try entry.integer("mtu", in: 0...65535),
                sandbox: try entry.string("sandbox"))
            interface.socketPath = try entry.string("socketPath")
            interface.pciID = try entry.string("pciID")
            interfaces.append(interface)
        }
        for entry in try reader.objects("ips") ?? [] {
            guard let address = try entry.prefix("address") else {
                throw CNIError(.invalidConfiguration, "\(entry.path).address: is missing")
            }
            ips.append(
                IPConfig(
                    address: address, gateway: try entry.address("gateway"),
                    interface: try entry.integer("interface", in: 0...Int(Int32.max))))
        }
        for entry in try reader.objects("routes") ?? [] {
            guard let destination = try entry.prefix("dst") else {
                throw CNIError(.invalidConfiguration, "\(entry.path).dst: is missing")
            }
            var route = RouteEntry(destination: destination, gateway: try entry.address("gw"))
            route.mtu = try entry.integer("mtu", in: 0...65535)
            route.advmss = try entry.integer("advmss", in: 0...65535)
            route.priority = try entry.integer("priority", in: 0...Int(UInt32.max))
            route.table = try entry.integer("table", in: 0...Int(UInt32.max))
            route.scope = try entry.integer("scope", in: 0...255)
            routes.append(route)
        }
        dns = reader.value("dns")
    }
}

extension CNIResult.Interface {
    func document(includeV11: Bool) -> JSON {
        var members: [(String, JSON)] = [("name", .string(name))]
        if let mac {
            members.append(("mac", .string(mac)))
        }
        if includeV11, let mtu {
            members.append(("mtu", .number(Double(mtu))))
        }
        if let sandbox {
            members.append(("sandbox", .string(sandbox)))
        }
        if includeV11, let socketPath {
            members.append(("socketPath", .string(socketPath)))
        }
        if includeV11, let pciID {
            members.append(("pciID", .string(pciID)))
        }
        return .object(members)
    }
}

extension CNIResult.IPConfig {
    func document(tagVersion: Bool) -> JSON {
        var members: [(String, JSON)] = []
        if tagVersion {
            members.append(("version", .string(address.address.isIPv6 ? "6" : "4")))
        }
        members.append(("address", .string(address.description)))
        if let gateway {
            members.append(("gateway", .string(gateway.description)))
        }
        if let interface {
            members.append(("interface", .number(Double(interface))))
        }
        return .object(members)
    }
}

extension CNIResult.RouteEntry {
    func document(includeV11: Bool) -> JSON {
        var members: [(String, JSON)] = [("dst", .string(destination.description))]
        if let gateway {
            members.append(("gw", .string(gateway.description)))
        }
        if includeV11 {
            for (key, value) in [
                ("mtu", mtu), ("advmss", advmss), ("priority", priority), ("table", table), ("scope", scope),
            ] {
                if let value {
                    members.append((key, .number(Double(value))))
                }
            }
        }
        return .object(members)
    }
}
