import LinkNetlink

/// The `ipam` section, in the reference `host-local` plugin's format, validated and with defaults filled in.
///
/// A network has one or more range sets; ADD takes one address from each (one IPv4 set plus one IPv6 set is
/// dual-stack). A range set is a list of ranges of one family that are tried in turn, so a node's pool can grow
/// by adding a range without renumbering.
public struct IPAMConfiguration: Sendable, Hashable {
    /// The range sets, in configuration order (the order of IPs in the result).
    public var rangeSets: [[AddressRange]]
    /// `routes`: added inside the pod; a route without `gw` goes via the gateway of its family.
    public var routes: [RouteConfiguration]
    /// `dataDir`: where the allocation store lives; the network's directory is `dataDir/<network name>`.
    public var dataDirectory: String

    /// host-local's default store location, so switching an existing node from host-local keeps its allocations.
    public static let defaultDataDirectory = "/var/lib/cni/networks"

    /// Reads `ranges` (or the legacy single-range keys `subnet`, `rangeStart`, `rangeEnd`, `gateway`), `routes`
    /// and `dataDir`.
    init(_ reader: ConfigReader, networkName: String) throws(CNIError) {
        var sets: [[AddressRange]] = []
        if let rangesJSON = try reader.array("ranges") {
            for (setIndex, setJSON) in rangesJSON.enumerated() {
                let setPath = "\(reader.path(of: "ranges"))[\(setIndex)]"
                guard case .array(let rangeJSONs) = setJSON, !rangeJSONs.isEmpty else {
                    throw CNIError(.invalidConfiguration, "\(setPath): expected a non-empty array of ranges")
                }
                var set: [AddressRange] = []
                for (rangeIndex, rangeJSON) in rangeJSONs.enumerated() {
                    guard case .object = rangeJSON else {
                        throw CNIError(.invalidConfiguration, "\(setPath)[\(rangeIndex)]: expected an object")
                    }
                    set.append(try AddressRange(ConfigReader(rangeJSON, path: "\(setPath)[\(rangeIndex)]")))
                }
                try Self.validate(set, path: setPath)
                sets.append(set)
            }
        } else if reader.value("subnet") != nil {
            sets = [[try AddressRange(reader)]]
        }
        guard !sets.isEmpty else {
            throw CNIError(.invalidConfiguration, "\(reader.path): needs ranges (or subnet) to allocate from")
        }
        for (index, set) in sets.enumerated() {
            for other in sets[..<index] where Self.overlaps(set, other) {
                throw CNIError(.invalidConfiguration, "\(reader.path).ranges[\(index)] overlaps an earlier range set")
            }
        }
        rangeSets = sets
        routes = try (reader.objects("routes") ?? []).map { (route) throws(CNIError) in try RouteConfiguration(route) }
        dataDirectory = try reader.string("dataDir") ?? Self.defaultDataDirectory
        guard dataDirectory.hasPrefix("/") else {
            throw reader.invalid("dataDir", "\"\(dataDirectory)\" must be an absolute path")
        }
    }

    /// A range set's ranges share one family and do not overlap.
    private static func validate(_ set: [AddressRange], path: String) throws(CNIError) {
        for (index, range) in set.enumerated() {
            for (earlierIndex, earlier) in set[..<index].enumerated() {
                guard earlier.subnet.address.isIPv6 == range.subnet.address.isIPv6 else {
                    throw CNIError(.invalidConfiguration, "\(path)[\(index)]: mixes IPv4 and IPv6 in one range set")
                }
                if range.start <= earlier.end && earlier.start <= range.end {
                    throw CNIError(.invalidConfiguration, "\(path)[\(index)]: overlaps range \(earlierIndex)")
                }
            }
        }
    }

    private static func overlaps(_ a: [AddressRange], _ b: [AddressRange]) -> Bool {
        a.contains { x in b.contains { y in x.start <= y.end && y.start <= x.end } }
    }
}

/// One range of a range set: a subnet and the part of it handed out.
public struct AddressRange: Sendable, Hashable {
    /// `subnet`, host bits cleared: the prefix length pods get.
    public var subnet: InetPrefix
    /// `rangeStart`: the first address handed out (default: the subnet's second address).
    public var start: InetAddress
    /// `rangeEnd`: the last address handed out (default: the last address, before the broadcast for IPv4).
    public var end: InetAddress
    /// `gateway`: the pods' gateway and the bridge's address with `isGateway` (default: the subnet's first host).
    /// Never handed out to a pod.
    public var gateway: InetAddress

    /// Creates a range with host-local's defaults for whatever is `nil`.
    ///
    /// - Throws: ``CNIError`` (7) when the subnet is too small or an address lies outside it.
    public init(
        subnet: InetPrefix, start: InetAddress? = nil, end: InetAddress? = nil, gateway: InetAddress? = nil,
        path: String = "ipam"
    ) throws(CNIError) {
        let subnet = subnet.canonical
        let hostBits = subnet.address.bitWidth - subnet.length
        guard hostBits >= 2 else {
            throw CNIError(
                .invalidConfiguration, "\(path).subnet: \(subnet) is too small; it needs room for a gateway and pods")
        }
        self.subnet = subnet
        let network = subnet.network
        let lastUsable = subnet.address.isIPv6 ? subnet.last : InetAddress(ipv4: UInt32(subnet.last.value) - 1)
        self.gateway = gateway ?? network.advanced(by: 1)!
        self.start = start ?? network.advanced(by: 1)!
        self.end = end ?? lastUsable
        for (key, address) in [("rangeStart", self.start), ("rangeEnd", self.end), ("gateway", self.gateway)] {
            guard subnet.contains(address) else {
                throw CNIError(.invalidConfiguration, "\(path).\(key): \(address) is outside subnet \(subnet)")
            }
        }
        guard self.start <= self.end else {
            throw CNIError(
                .invalidConfiguration, "\(path): rangeStart \(self.start) is after rangeEnd \(self.end)")
        }
        guard self.start != network || subnet.address.isIPv6 else {
            throw CNIError(.invalidConfiguration, "\(path).rangeStart: \(network) is the network address")
        }
    }

    init(_ reader: ConfigReader) throws(CNIError) {
        guard let subnet = try reader.prefix("subnet") else {
            throw CNIError(.invalidConfiguration, "\(reader.path(of: "subnet")): is missing")
        }
        let start = try reader.address("rangeStart")
        let end = try reader.address("rangeEnd")
        let gateway = try reader.address("gateway")
        for address in [start, end, gateway].compactMap({ $0 }) where address.isIPv6 != subnet.address.isIPv6 {
            throw CNIError(
                .invalidConfiguration, "\(reader.path): \(address) is not of the same family as subnet \(subnet)")
        }
        try self.init(subnet: subnet, start: start, end: end, gateway: gateway, path: reader.path)
    }

    /// Whether `address` may be handed out from this range.
    public func contains(_ address: InetAddress) -> Bool {
        address.isIPv6 == start.isIPv6 && start <= address && address <= end
    }

    /// The number of addresses between `start` and `end`, inclusive.
    public var size: UInt128 { end.value - start.value + 1 }
}

/// A route to install in the pod: `dst`, and `gw` (default: the gateway of the pod's address of that family).
public struct RouteConfiguration: Sendable, Hashable {
    public var destination: InetPrefix
    public var gateway: InetAddress?

    public init(destination: InetPrefix, gateway: InetAddress? = nil) {
        self.destination = destination
        self.gateway = gateway
    }

    init(_ reader: ConfigReader) throws(CNIError) {
        guard let destination = try reader.prefix("dst") else {
            throw CNIError(.invalidConfiguration, "\(reader.path(of: "dst")): is missing")
        }
        self.destination = destination.canonical
        gateway = try reader.address("gw")
        if let gateway, gateway.isIPv6 != destination.address.isIPv6 {
            throw reader.invalid("gw", "\(gateway) is not of the same family as dst \(destination)")
        }
    }
}
