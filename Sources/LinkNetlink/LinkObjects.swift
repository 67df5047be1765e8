internal import CNLRoute
import Glibc

/// A network interface as the kernel reports it (`ip link show`).
public struct Link: Sendable, Hashable {
    /// The interface index, unique within its namespace.
    public let index: Int32
    /// The interface name, at most 15 bytes.
    public let name: String
    /// The link kind (`veth`, `bridge`, `vxlan`), or `nil` for physical and loopback devices.
    public let kind: String?
    /// The index of the bridge (or bond) this link is a port of, or `nil`.
    public let master: Int32?
    /// The MTU.
    public let mtu: Int
    /// The hardware address, when the link has an Ethernet one.
    public let mac: MACAddress?
    /// Whether the link is administratively up (`IFF_UP`).
    public let isUp: Bool
    /// Whether promiscuous mode is on (`IFF_PROMISC`).
    public let isPromiscuous: Bool

    /// Reads a libnl `rtnl_link`.
    init(_ link: OpaquePointer) {
        index = rtnl_link_get_ifindex(link)
        name = rtnl_link_get_name(link).map { String(cString: $0) } ?? ""
        kind = rtnl_link_get_type(link).map { String(cString: $0) }
        let masterIndex = rtnl_link_get_master(link)
        master = masterIndex > 0 ? masterIndex : nil
        mtu = Int(rtnl_link_get_mtu(link))
        mac = rtnl_link_get_addr(link).flatMap { MACAddress(bytes: addressBytes($0)) }
        let flags = rtnl_link_get_flags(link)
        isUp = flags & UInt32(IFF_UP) != 0
        isPromiscuous = flags & UInt32(IFF_PROMISC) != 0
    }
}

/// The far end of a veth pair to create: its name, the namespace it is born in, and optionally its MAC.
public struct VethPeer: Sendable, Hashable {
    /// The peer's name in its namespace, e.g. the pod's `eth0`.
    public var name: String
    /// An open file descriptor of the namespace to create the peer in (`IFLA_NET_NS_FD`); `nil` for the same
    /// namespace as the connection. The caller keeps it open until the request returns.
    public var namespaceFD: Int32?
    /// The peer's MAC address; `nil` lets the kernel pick a random one.
    public var mac: MACAddress?

    public init(name: String, namespaceFD: Int32? = nil, mac: MACAddress? = nil) {
        self.name = name
        self.namespaceFD = namespaceFD
        self.mac = mac
    }
}

/// An address configured on an interface (`ip address show`).
public struct InterfaceAddress: Sendable, Hashable {
    /// The index of the interface holding the address.
    public let index: Int32
    /// The address with its prefix length, host bits kept.
    public let address: InetPrefix

    public init(index: Int32, address: InetPrefix) {
        self.index = index
        self.address = address
    }
}

/// A unicast route of the main table (`ip route`).
public struct Route: Sendable, Hashable, CustomStringConvertible {
    /// The destination prefix; `0.0.0.0/0` or `::/0` for a default route.
    public var destination: InetPrefix
    /// The next hop, or `nil` for a directly connected (link-scope) route.
    public var gateway: InetAddress?
    /// The outgoing interface's index, or `nil` to let the kernel find it from the gateway.
    public var index: Int32?
    /// The metric (`RTA_PRIORITY`), or `nil` for the kernel's default.
    public var priority: UInt32?
    /// Whether the gateway is taken to be on the link even without a connected route to it (`onlink`,
    /// `RTNH_F_ONLINK`), as an overlay's route via a remote VTEP address on a VXLAN device needs.
    public var isOnLink: Bool

    public init(
        destination: InetPrefix, gateway: InetAddress? = nil, index: Int32? = nil, priority: UInt32? = nil,
        isOnLink: Bool = false
    ) {
        self.destination = destination
        self.gateway = gateway
        self.index = index
        self.priority = priority
        self.isOnLink = isOnLink
    }

    /// `ip route` syntax: `0.0.0.0/0 via 10.244.1.1 dev #3`.
    public var description: String {
        var text = destination.canonical.description
        if let gateway {
            text += " via \(gateway)"
        }
        if let index {
            text += " dev #\(index)"
        }
        if isOnLink {
            text += " onlink"
        }
        return text
    }
}
