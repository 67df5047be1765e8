import KubeAPI

/// The transport protocols IPVS balances (`IPPROTO_*` numbers, as the kernel's `IPVS_SVC_ATTR_PROTOCOL` takes
/// them); a Service port of any other protocol cannot become a virtual service.
public enum IPVSProtocol: UInt16, Sendable, Hashable, Comparable, CustomStringConvertible {
    case tcp = 6
    case udp = 17
    case sctp = 132

    public static func < (lhs: IPVSProtocol, rhs: IPVSProtocol) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .tcp: "TCP"
        case .udp: "UDP"
        case .sctp: "SCTP"
        }
    }
}

/// What identifies an IPVS virtual service in the kernel: address, protocol and port (the kernel's lookup key).
public struct VirtualServiceKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var proto: IPVSProtocol
    public var port: UInt16

    public init(address: IPAddress, proto: IPVSProtocol, port: UInt16) {
        self.address = address
        self.proto = proto
        self.port = port
    }

    public var family: AddressFamily { address.family }

    public static func < (lhs: VirtualServiceKey, rhs: VirtualServiceKey) -> Bool {
        (lhs.address, lhs.proto, lhs.port) < (rhs.address, rhs.proto, rhs.port)
    }

    /// `ipvsadm -Ln` style: `TCP 10.96.0.10:80`, `UDP [fd00::a]:53`.
    public var description: String { "\(proto) \(Endpoint(address: address, port: port))" }
}

/// An address and port printed the way `ipvsadm` does (IPv6 in brackets).
struct Endpoint: CustomStringConvertible {
    var address: IPAddress
    var port: UInt16
    var description: String { address.family == .ipv4 ? "\(address):\(port)" : "[\(address)]:\(port)" }
}

/// Virtual service flags (`IP_VS_SVC_F_*`). Only the ones the kernel lets a client set are modelled; the kernel
/// adds `IP_VS_SVC_F_HASHED` on its own, and readers strip it before comparing.
public struct ServiceFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `IP_VS_SVC_F_PERSISTENT`: one client keeps its destination for the service's timeout (ClientIP affinity).
    public static let persistent = ServiceFlags(rawValue: 0x0001)
    /// `IP_VS_SVC_F_HASHED`: set by the kernel on every service in its table; never sent.
    public static let hashed = ServiceFlags(rawValue: 0x0002)
    /// `IP_VS_SVC_F_ONEPACKET`: UDP schedules every datagram (not used by Services).
    public static let onePacket = ServiceFlags(rawValue: 0x0004)
    /// `IP_VS_SVC_F_SCHED1`: for `sh`/`mh`, fall back to another destination when the chosen one has weight 0.
    public static let schedulerFallback = ServiceFlags(rawValue: 0x0008)
    /// `IP_VS_SVC_F_SCHED2`: for `sh`/`mh`, hash the source port too.
    public static let schedulerPort = ServiceFlags(rawValue: 0x0010)
    /// `IP_VS_SVC_F_SCHED3`: reserved for schedulers (no current scheduler reads it).
    public static let scheduler3 = ServiceFlags(rawValue: 0x0020)

    /// The flags a client may set (the mask sent with `IPVS_SVC_ATTR_FLAGS`).
    public static let settable: ServiceFlags = [
        .persistent, .onePacket, .schedulerFallback, .schedulerPort, .scheduler3,
    ]
}

/// How IPVS delivers to a destination (`IP_VS_CONN_F_FWD_MASK` values). Services use masquerading: the
/// destination sees the client's address and replies through this node, like DNAT.
public enum ForwardingMethod: UInt32, Sendable, Hashable {
    /// `IP_VS_CONN_F_MASQ`
    case masquerade = 0
    /// `IP_VS_CONN_F_LOCALNODE`
    case localNode = 1
    /// `IP_VS_CONN_F_TUNNEL`
    case tunnel = 2
    /// `IP_VS_CONN_F_DROUTE`
    case directRoute = 3
}

/// A virtual service's own settings (what `IPVS_CMD_NEW_SERVICE`/`SET_SERVICE` carries), without destinations.
public struct VirtualService: Sendable, Hashable, CustomStringConvertible {
    public var key: VirtualServiceKey
    /// Scheduler module name without the `ip_vs_` prefix (`rr`, `wrr`, `lc`, `wlc`, `sh`, `mh`, …).
    public var scheduler: String
    public var flags: ServiceFlags
    /// Persistence timeout in seconds (0 unless `.persistent`).
    public var timeout: UInt32
    /// Persistence granularity: a host mask (`255.255.255.255`, or 128 for IPv6) keeps one client per entry.
    public var netmask: UInt32

    public init(key: VirtualServiceKey, scheduler: String, persistence: UInt32? = nil, flags: ServiceFlags = []) {
        self.key = key
        self.scheduler = scheduler
        var flags = flags
        if persistence != nil { flags.insert(.persistent) }
        self.flags = flags
        timeout = persistence ?? 0
        netmask = Self.hostNetmask(key.family)
    }

    /// The netmask a single-client persistence entry uses in this family (as the kernel stores it).
    public static func hostNetmask(_ family: AddressFamily) -> UInt32 { family == .ipv4 ? 0xFFFF_FFFF : 128 }

    public var description: String {
        var text = "\(key) \(scheduler)"
        if flags.contains(.persistent) { text += " persistent \(timeout)" }
        return text
    }
}

/// What identifies a destination within its virtual service.
public struct DestinationKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    public static func < (lhs: DestinationKey, rhs: DestinationKey) -> Bool {
        (lhs.address, lhs.port) < (rhs.address, rhs.port)
    }

    public var description: String { Endpoint(address: address, port: port).description }
}

/// A real server of a virtual service (`IPVS_CMD_ATTR_DEST`).
public struct Destination: Sendable, Hashable, CustomStringConvertible {
    public var key: DestinationKey
    /// 0 stops new connections (a terminating endpoint draining); existing ones continue.
    public var weight: UInt32
    public var forwarding: ForwardingMethod

    public init(key: DestinationKey, weight: UInt32 = 1, forwarding: ForwardingMethod = .masquerade) {
        self.key = key
        self.weight = weight
        self.forwarding = forwarding
    }

    public var description: String { "\(key) weight \(weight)" }
}

/// A virtual service with its destinations: the unit desired and kernel state are compared by.
public struct ServiceEntry: Sendable, Hashable {
    public var service: VirtualService
    /// By key; order is irrelevant to the kernel.
    public var destinations: [DestinationKey: Destination]

    public init(service: VirtualService, destinations: [Destination] = []) {
        self.service = service
        self.destinations = Dictionary(destinations.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
