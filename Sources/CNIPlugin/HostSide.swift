import Glibc
import LinkNetlink

/// The host half of an attachment: the bridge and the host end of the pod's veth.
struct HostSide {
    let connection: LinkConnection
    let network: NetworkConfiguration

    init(network: NetworkConfiguration) throws(CNIError) {
        self.network = network
        do {
            connection = try LinkConnection()
        } catch {
            throw CNIError.kernel(error, in: "host namespace")
        }
    }

    /// The host end's name: `sl` and 12 hex digits of a hash of network, container ID and interface name.
    ///
    /// Deterministic, so DEL and GC find the veth with nothing but the attachment's identity, even when the pod's
    /// namespace is already gone (containerd sends DEL with an empty `CNI_NETNS`) or ADD crashed before it could
    /// report anything. 48 bits make a collision between two live attachments on a node vanishingly unlikely.
    static func vethName(network: String, attachment: AttachmentID) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(network)\u{0}\(attachment.containerID)\u{0}\(attachment.interfaceName)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash & 0xffff_ffff_ffff, radix: 16)
        return "sl" + String(repeating: "0", count: 12 - digits.count) + digits
    }

    /// Whether `name` has the shape of ``vethName(network:attachment:)``.
    static func isVethName(_ name: String) -> Bool {
        name.utf8.count == 14 && name.hasPrefix("sl")
            && name.utf8.dropFirst(2).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Finds or creates the bridge, brings it up, and (with `isGateway`) gives it the gateway addresses.
    ///
    /// Many ADDs race here on a fresh node; creating an existing bridge or address is treated as success.
    func ensureBridge(gateways: [InetPrefix]) throws(CNIError) -> Link {
        let name = network.bridge
        let bridge: Link
        do throws(LinkError) {
            bridge = try findOrCreateBridge(named: name)
        } catch {
            throw CNIError.kernel(error, in: "bridge \(name)")
        }
        guard bridge.kind == "bridge" else {
            throw CNIError(
                .invalidConfiguration,
                "bridge: \(name) exists and is a \(bridge.kind ?? "physical") link, not a bridge; choose another name")
        }
        do throws(LinkError) {
            if !bridge.isUp {
                try connection.setUp(index: bridge.index, name: name)
            }
            if network.promiscMode && !bridge.isPromiscuous {
                try connection.setPromiscuous(true, index: bridge.index, name: name)
            }
        } catch {
            throw CNIError.kernel(error, in: "bridge \(name)")
        }
        if network.isGateway {
            try ensureGatewayAddresses(gateways, on: bridge)
        }
        return bridge
    }

    private func findOrCreateBridge(named name: String) throws(LinkError) -> Link {
        if let bridge = try connection.link(named: name) {
            return bridge
        }
        // Another ADD may have created it first.
        try ignoringExists { () throws(LinkError) in try connection.createBridge(named: name, mtu: network.mtu) }
        guard let bridge = try connection.link(named: name) else {
            throw LinkError("get link", object: name, code: ENODEV)
        }
        return bridge
    }

    /// Gives the bridge each gateway address. The common case — the bridge already has it — costs one request
    /// answered "exists", not a dump of every address on the node (which grows with its pods): only a newly added
    /// gateway is checked against other addresses of its family on the bridge.
    private func ensureGatewayAddresses(_ gateways: [InetPrefix], on bridge: Link) throws(CNIError) {
        for gateway in gateways {
            let conflicting: [InterfaceAddress]
            do throws(LinkError) {
                do {
                    try connection.addAddress(gateway, index: bridge.index, name: bridge.name)
                } catch let error where error.isExists {
                    continue  // already the bridge's: nothing else to check or set
                }
                conflicting = try connection.addresses(index: bridge.index).filter {
                    $0.address != gateway && $0.address.address.isIPv6 == gateway.address.isIPv6
                        && ($0.address.contains(gateway.address) || gateway.contains($0.address.address))
                        && !$0.address.address.isLinkLocal
                }
                if network.forceAddress && !conflicting.isEmpty {
                    for address in conflicting {
                        try connection.deleteAddress(address.address, index: bridge.index, name: bridge.name)
                    }
                    // Deleting a primary IPv4 address takes its subnet's secondaries with it (ours included):
                    // add the gateway again now that it stands alone.
                    try ignoringExists { () throws(LinkError) in
                        try connection.addAddress(gateway, index: bridge.index, name: bridge.name)
                    }
                } else if !conflicting.isEmpty {
                    try? connection.deleteAddress(gateway, index: bridge.index, name: bridge.name)
                }
            } catch {
                throw CNIError.kernel(error, in: "bridge \(bridge.name)")
            }
            if let first = conflicting.first, !network.forceAddress {
                throw CNIError(
                    .invalidConfiguration,
                    "bridge \(bridge.name) already has \(first.address), not the gateway \(gateway); "
                        + "set forceAddress to replace it")
            }
            if gateway.address.isIPv6 {
                writeSysctl("net.ipv6.conf.all.forwarding", "1")
            } else {
                writeSysctl("net.ipv4.ip_forward", "1")
            }
        }
    }

    /// Creates the veth pair: host end `hostName` on the bridge, pod end `CNI_IFNAME` born in the pod's namespace.
    ///
    /// A host end left by an earlier crashed ADD of the same attachment has the same name; it is deleted and the
    /// creation retried once (the pod end's name was checked free before anything was changed).
    func createVeth(
        hostName: String, bridge: Link, namespacePath: String, interfaceName: String
    ) throws(CNIError) -> Link {
        let namespaceFile = open(namespacePath, O_RDONLY | O_CLOEXEC)
        guard namespaceFile >= 0 else {
            throw CNIError(
                .unknownContainer, "CNI_NETNS \(namespacePath) cannot be opened: \(String(cString: strerror(errno)))")
        }
        defer { close(namespaceFile) }
        let peer = VethPeer(name: interfaceName, namespaceFD: namespaceFile, mac: network.mac)
        do throws(LinkError) {
            do {
                try connection.createVeth(named: hostName, mtu: network.mtu, master: bridge.index, peer: peer)
            } catch {
                guard error.isExists else {
                    throw error
                }
                try? connection.deleteLink(named: hostName)
                try connection.createVeth(named: hostName, mtu: network.mtu, master: bridge.index, peer: peer)
            }
            guard let host = try connection.link(named: hostName) else {
                throw LinkError("get link", object: hostName, code: ENODEV)
            }
            return host
        } catch {
            throw CNIError.kernel(error, in: "veth \(hostName) for \(interfaceName) in \(namespacePath)")
        }
    }

    /// Brings the host end up with its bridge-port options: hairpin, and for `macspoofchk` a locked port that
    /// only accepts the pod's MAC (a static FDB entry), so the pod cannot send as another address.
    func finishHostEnd(_ host: Link, bridge: Link, podMAC: MACAddress?) throws(CNIError) {
        do {
            if network.hairpinMode {
                try connection.setBridgePort(index: host.index, name: host.name, hairpin: true)
            }
            if network.macSpoofCheck, let podMAC {
                try connection.replaceFDBEntry(mac: podMAC, index: host.index, name: host.name, onMaster: true)
                try connection.setBridgePort(index: host.index, name: host.name, locked: true, learning: false)
            }
            try connection.setUp(index: host.index, name: host.name)
        } catch {
            throw CNIError.kernel(error, in: "veth \(host.name) on bridge \(bridge.name)")
        }
    }

    /// Deletes the host end (and so the pod end with it); a missing veth is not an error.
    func deleteVeth(named name: String) throws(CNIError) {
        do {
            try connection.deleteLink(named: name)
        } catch {
            // Already gone is fine: DEL is idempotent.
            guard error.isNotFound else {
                throw CNIError.kernel(error, in: "deleting veth \(name)")
            }
        }
    }
}

/// Runs `body`, treating "already exists" as success: shared objects (the bridge, its gateway address) and
/// objects left by an earlier attempt are fine to find in place.
func ignoringExists(_ body: () throws(LinkError) -> Void) throws(LinkError) {
    do {
        try body()
    } catch {
        guard error.isExists else {
            throw error
        }
    }
}

extension InetAddress {
    /// `fe80::/10`: the kernel's own per-link IPv6 addresses, never in conflict with a gateway.
    var isLinkLocal: Bool { isIPv6 && value >> 118 == 0x3fa }
}
