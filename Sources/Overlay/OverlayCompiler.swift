import KubeAPI

/// Compiles Node objects into the overlay entries one node needs to reach every other node's pods.
///
/// Pure: Nodes and the local node's name in, an ``OverlayPlan`` out. Nodes are taken in name order, so when two
/// pod CIDRs overlap the outcome does not depend on input order: the local node's CIDRs always win, then the node
/// whose name sorts first; the other node is skipped whole.
public enum OverlayCompiler {
    /// The entries `localNode` needs for every other valid Node, and a problem for each Node (or pod CIDR) skipped.
    ///
    /// - Parameters:
    ///   - nodes: every Node of the cluster, the local one included (its pod CIDRs are reserved, not routed).
    ///   - backend: VXLAN needs each remote node's `sluice.dev/vtep-mac` and `sluice.dev/vtep-ip` annotations and an
    ///     InternalIP (the FDB destination); host-gw needs an InternalIP of each pod CIDR's family.
    public static func compile(nodes: [Node], localNode: String, backend: OverlayBackend) -> OverlayPlan {
        var problems: [OverlayProblem] = []
        var claimed: [(node: String, cidr: IPCIDR)] = []
        let rank = { (node: Node) in (node.metadata.name == localNode ? 0 : 1, node.metadata.name) }
        let ordered = nodes.sorted { rank($0) < rank($1) }
        var remoteNodes: [String: RemoteNodeEntries] = [:]
        for node in ordered {
            let name = node.metadata.name
            let cidrs: [IPCIDR]
            switch podCIDRs(of: node) {
            case .failure(let problem):
                problems.append(problem)
                continue
            case .success(let parsed):
                cidrs = parsed
            }
            if let clash = firstOverlap(cidrs, claimed) {
                problems.append(
                    OverlayProblem(
                        node: name, message: "pod CIDR \(clash.cidr) overlaps \(clash.other) of Node \(clash.owner)"))
                continue
            }
            claimed += cidrs.map { (name, $0) }
            guard name != localNode else {
                continue
            }
            switch entries(for: node, cidrs: cidrs, backend: backend) {
            case .failure(let problem):
                problems.append(problem)
            case .success(let (entries, skipped)):
                problems += skipped
                remoteNodes[name] = entries
            }
        }
        return OverlayPlan(remoteNodes: remoteNodes, problems: problems)
    }

    private static func podCIDRs(of node: Node) -> Result<[IPCIDR], OverlayProblem> {
        let name = node.metadata.name
        let texts = node.spec.podCIDRs.isEmpty ? node.spec.podCIDR.map { [$0] } ?? [] : node.spec.podCIDRs
        guard !texts.isEmpty else {
            return .failure(OverlayProblem(node: name, message: "spec.podCIDR is not set"))
        }
        var cidrs: [IPCIDR] = []
        for (index, text) in texts.enumerated() {
            guard let cidr = IPCIDR(text) else {
                return .failure(
                    OverlayProblem(node: name, message: "spec.podCIDRs[\(index)] \"\(text)\" is not a CIDR"))
            }
            cidrs.append(cidr.canonical)
        }
        return .success(cidrs)
    }

    private static func firstOverlap(
        _ cidrs: [IPCIDR], _ claimed: [(node: String, cidr: IPCIDR)]
    )
        -> (cidr: IPCIDR, other: IPCIDR, owner: String)?
    {
        for cidr in cidrs {
            for other in claimed where cidr.contains(other.cidr) || other.cidr.contains(cidr) {
                return (cidr, other.cidr, other.node)
            }
        }
        return nil
    }

    /// The node's InternalIP of `family`, else its first InternalIP.
    private static func internalIP(of node: Node, family: AddressFamily?) -> IPAddress? {
        let addresses = node.status.addresses.filter { $0.type == .internalIP }.compactMap { IPAddress($0.address) }
        return addresses.first { family == nil || $0.family == family } ?? (family == nil ? addresses.first : nil)
    }

    private static func entries(
        for node: Node, cidrs: [IPCIDR], backend: OverlayBackend
    )
        -> Result<(RemoteNodeEntries, [OverlayProblem]), OverlayProblem>
    {
        let name = node.metadata.name
        var skipped: [OverlayProblem] = []
        switch backend {
        case .hostGateway:
            var routes: [OverlayRoute] = []
            for cidr in cidrs {
                guard let nodeIP = internalIP(of: node, family: cidr.family) else {
                    skipped.append(
                        OverlayProblem(
                            node: name, message: "no \(cidr.family) InternalIP in status.addresses for pod CIDR \(cidr)"
                        ))
                    continue
                }
                routes.append(OverlayRoute(destination: cidr, gateway: nodeIP, isOnLink: false))
            }
            guard !routes.isEmpty else {
                return .failure(skipped.first ?? OverlayProblem(node: name, message: "no routable pod CIDR"))
            }
            return .success((RemoteNodeEntries(node: name, routes: routes), skipped))
        case .vxlan:
            let annotations = node.metadata.annotations
            guard let macText = annotations[VTEPAnnotation.mac] else {
                return .failure(OverlayProblem(node: name, message: "annotation \(VTEPAnnotation.mac) is missing"))
            }
            guard let mac = normalizedMAC(macText) else {
                return .failure(
                    OverlayProblem(
                        node: name,
                        message: "annotation \(VTEPAnnotation.mac) \"\(macText)\" is not a unicast MAC address"))
            }
            guard let vtepText = annotations[VTEPAnnotation.address] else {
                return .failure(OverlayProblem(node: name, message: "annotation \(VTEPAnnotation.address) is missing"))
            }
            guard let vtep = IPAddress(vtepText) else {
                return .failure(
                    OverlayProblem(
                        node: name, message: "annotation \(VTEPAnnotation.address) \"\(vtepText)\" is not an IP address"
                    ))
            }
            guard let underlay = internalIP(of: node, family: nil) else {
                return .failure(OverlayProblem(node: name, message: "status.addresses has no InternalIP"))
            }
            var routes: [OverlayRoute] = []
            for cidr in cidrs {
                guard cidr.family == vtep.family else {
                    skipped.append(
                        OverlayProblem(
                            node: name, message: "pod CIDR \(cidr) skipped: the VTEP address \(vtep) is \(vtep.family)")
                    )
                    continue
                }
                routes.append(OverlayRoute(destination: cidr, gateway: vtep, isOnLink: true))
            }
            guard !routes.isEmpty else {
                return .failure(skipped.first ?? OverlayProblem(node: name, message: "no routable pod CIDR"))
            }
            return .success(
                (
                    RemoteNodeEntries(
                        node: name, routes: routes, neighbor: OverlayNeighbor(address: vtep, mac: mac),
                        fdbEntry: OverlayFDBEntry(mac: mac, destination: underlay)), skipped
                ))
        }
    }

    /// `aa:bb:cc:dd:ee:ff` in lower case, or `nil` unless the text is six hex pairs forming a unicast address.
    static func normalizedMAC(_ text: String) -> String? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 }) else {
            return nil
        }
        let bytes = parts.compactMap { UInt8($0, radix: 16) }
        guard bytes.count == 6, bytes[0] & 1 == 0, bytes != [0, 0, 0, 0, 0, 0] else {
            return nil
        }
        return parts.map { $0.lowercased() }.joined(separator: ":")
    }
}
