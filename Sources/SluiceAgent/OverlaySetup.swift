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
    public static func syncer(
        backend: OverlayBackend, nodeName: String, nodes: [Node], logger: Logger
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
        guard let macText = node.metadata.annotations[VTEPAnnotation.mac], let mac = MACAddress(macText) else {
            throw SetupError(description: "Node \(nodeName): annotation \(VTEPAnnotation.mac) missing or not a MAC")
        }
        let settings = OverlaySyncer.VXLANSettings(
            underlayDevice: device.name, localAddress: local, vtepAddress: vtep, mac: mac)
        let syncer = OverlaySyncer(mode: .vxlan(settings), connection: connection, logger: logger)
        _ = try syncer.prepareDevice()
        return syncer
    }
}
