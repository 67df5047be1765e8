import KubeAPI
import LinkNetlink
import Logging
import Overlay

/// How `sluiced` sets up this node's end of the pod network from its own Node object: which backend, and for
/// VXLAN the device settings the other nodes already know from this node's annotations.
public enum OverlaySetup {
    /// Why the overlay cannot start (named after the Node and what is missing).
    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Creates the syncer (and for VXLAN the device) for `nodeName`, in the current network namespace.
    ///
    /// VXLAN uses the node's first IPv4 InternalIP as underlay address (its interface as underlay device),
    /// `sluice.dev/vtep-ip` (default: the pod CIDR's network address) as VTEP address and
    /// `sluice.dev/vtep-mac` as the device's MAC: the manifest source cannot write annotations back, so they
    /// are read from the Node object the other nodes see too.
    ///
    /// - Parameter deriveMissingMAC: without a `sluice.dev/vtep-mac` annotation, use a MAC derived from the node's
    ///   name (stable across restarts) — for a source that can then write it (``advertisement(nodeName:nodes:)``).
    public static func syncer(
        backend: OverlayBackend, nodeName: String, nodes: [Node], deriveMissingMAC: Bool = false, logger: Logger
    ) throws -> OverlaySyncer {
        let connection = try LinkConnection()
        guard case .vxlan = backend else {
            return OverlaySyncer(mode: .hostGateway, connection: connection, logger: logger)
        }
        guard let node = nodes.first(where: { $0.metadata.name == nodeName }) else {
            throw SetupError(description: "Node \(nodeName): not among the manifests; --overlay vxlan needs it")
        }
        guard
            let internalIP = node.status.addresses.first(where: {
                $0.type == .internalIP && IPAddress($0.address)?.family == .ipv4
            }), let local = InetAddress(internalIP.address)
        else {
            throw SetupError(description: "Node \(nodeName): no IPv4 InternalIP in status.addresses")
        }
        let underlay = try connection.addresses().first { $0.address.address == local }
        guard let underlay, let device = try connection.link(index: underlay.index) else {
            throw SetupError(description: "Node \(nodeName): no local interface holds its InternalIP \(local)")
        }
        let podNetwork = node.spec.podCIDRs.compactMap(IPCIDR.init).first { $0.family == .ipv4 }?.network.description
        guard let vtepText = node.metadata.annotations[VTEPAnnotation.address] ?? podNetwork,
            let vtep = InetAddress(vtepText)
        else {
            throw SetupError(description: "Node \(nodeName): no VTEP address (\(VTEPAnnotation.address) or podCIDR)")
        }
        let mac: MACAddress
        if let macText = node.metadata.annotations[VTEPAnnotation.mac] {
            guard let parsed = MACAddress(macText) else {
                throw SetupError(description: "Node \(nodeName): annotation \(VTEPAnnotation.mac) is not a MAC")
            }
            mac = parsed
        } else if deriveMissingMAC {
            mac = Self.derivedMAC(nodeName)
        } else {
            throw SetupError(description: "Node \(nodeName): annotation \(VTEPAnnotation.mac) missing")
        }
        let settings = OverlaySyncer.VXLANSettings(
            underlayDevice: device.name, localAddress: local, vtepAddress: vtep, mac: mac)
        let syncer = OverlaySyncer(mode: .vxlan(settings), connection: connection, logger: logger)
        _ = try syncer.prepareDevice()
        return syncer
    }

    /// A locally administered unicast MAC from the node's name: the same on every start, so a restarted agent does
    /// not invalidate the FDB entries other nodes hold for it.
    public static func derivedMAC(_ nodeName: String) -> MACAddress {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in nodeName.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let bytes = (0..<5).map { UInt8(truncatingIfNeeded: hash >> (8 * $0)) }
        return MACAddress(bytes: [0x0a] + bytes)!
    }

    /// The annotations this node must carry for the others to reach its VTEP (`sluice.dev/vtep-mac` and
    /// `sluice.dev/vtep-ip`), when they differ from what its Node object has; empty when nothing needs writing.
    public static func advertisement(device: Link?, vtep: String?, node: Node?) -> [String: String] {
        guard let device, let mac = device.mac, let vtep else { return [:] }
        var wanted = [VTEPAnnotation.mac: mac.description, VTEPAnnotation.address: vtep]
        for (key, value) in wanted where node?.metadata.annotations[key] == value { wanted[key] = nil }
        return wanted
    }
}
