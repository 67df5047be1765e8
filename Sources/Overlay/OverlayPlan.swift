import KubeAPI

/// How pod traffic to another node's pod CIDR leaves this node.
public enum OverlayBackend: Sendable, Hashable {
    /// Encapsulated in VXLAN: nodes need only reach each other's underlay addresses.
    case vxlan
    /// Plain routes via the other node's address: every node must be on one L2 segment.
    case hostGateway
}

/// The Node annotations through which each node's agent advertises its VXLAN tunnel endpoint (VTEP), flannel-style.
///
/// Each agent writes them on its own Node and reads them from the others:
/// - `sluice.dev/vtep-mac`: the MAC address of the node's VXLAN device, `aa:bb:cc:dd:ee:ff` (unicast);
/// - `sluice.dev/vtep-ip`: the address of that device, which other nodes use as the on-link gateway to the node's
///   pod CIDR (by convention the pod CIDR's network address, e.g. `10.244.1.0`).
public enum VTEPAnnotation {
    public static let mac = "sluice.dev/vtep-mac"
    public static let address = "sluice.dev/vtep-ip"
}

/// A route to one remote node's pod CIDR (`ip route add DESTINATION via GATEWAY [dev DEVICE onlink]`).
public struct OverlayRoute: Sendable, Hashable, CustomStringConvertible {
    /// The remote node's pod CIDR, canonical.
    public let destination: IPCIDR
    /// The remote VTEP address (VXLAN) or node address (host-gw).
    public let gateway: IPAddress
    /// True for VXLAN: the gateway is reached through the VXLAN device without a connected route (`onlink`).
    public let isOnLink: Bool

    public init(destination: IPCIDR, gateway: IPAddress, isOnLink: Bool) {
        self.destination = destination
        self.gateway = gateway
        self.isOnLink = isOnLink
    }

    public var description: String { "\(destination) via \(gateway)\(isOnLink ? " onlink" : "")" }
}

/// A permanent neighbour entry on the VXLAN device: the remote VTEP address resolves to its MAC without ARP.
public struct OverlayNeighbor: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let mac: String

    public init(address: IPAddress, mac: String) {
        self.address = address
        self.mac = mac
    }

    public var description: String { "\(address) lladdr \(mac)" }
}

/// A VXLAN forwarding entry: frames for the remote VTEP MAC are sent to the remote node's underlay address.
public struct OverlayFDBEntry: Sendable, Hashable, CustomStringConvertible {
    public let mac: String
    public let destination: IPAddress

    public init(mac: String, destination: IPAddress) {
        self.mac = mac
        self.destination = destination
    }

    public var description: String { "\(mac) dst \(destination)" }
}

/// What one remote node needs on this node: routes, plus for VXLAN one neighbour and one FDB entry.
public struct RemoteNodeEntries: Sendable, Hashable {
    public let node: String
    public let routes: [OverlayRoute]
    public let neighbor: OverlayNeighbor?
    public let fdbEntry: OverlayFDBEntry?

    public init(
        node: String, routes: [OverlayRoute], neighbor: OverlayNeighbor? = nil, fdbEntry: OverlayFDBEntry? = nil
    ) {
        self.node = node
        self.routes = routes
        self.neighbor = neighbor
        self.fdbEntry = fdbEntry
    }
}

/// A Node (or part of one) the compiler skipped, and why; the other nodes are unaffected.
public struct OverlayProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public let node: String
    public let message: String

    public init(node: String, message: String) {
        self.node = node
        self.message = message
    }

    public var description: String { "Node \(node): \(message)" }
}

/// The desired overlay state of one node: entries per remote node, and the problems found in the input.
public struct OverlayPlan: Sendable, Hashable {
    /// Entries keyed by remote node name.
    public let remoteNodes: [String: RemoteNodeEntries]
    public let problems: [OverlayProblem]

    public init(remoteNodes: [String: RemoteNodeEntries], problems: [OverlayProblem]) {
        self.remoteNodes = remoteNodes
        self.problems = problems
    }

    public var routes: Set<OverlayRoute> { Set(remoteNodes.values.flatMap(\.routes)) }
    public var neighbors: Set<OverlayNeighbor> { Set(remoteNodes.values.compactMap(\.neighbor)) }
    public var fdbEntries: Set<OverlayFDBEntry> { Set(remoteNodes.values.compactMap(\.fdbEntry)) }
}
