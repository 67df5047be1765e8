import KubeAPI
import NFTables

/// Compiles the policies selecting one local pod into its contribution (pure).
///
/// Ingress named ports resolve against the pod itself; egress named ports against each destination pod, so they
/// need the peer's member pods even for ipBlock and everyone peers (an address that is no pod has no named ports).
struct PolicyCompiler: Sendable {
    let layout: PolicyLayout

    /// Peers whose member pods `contribution` will ask for.
    func memberKeys(_ policies: [CompiledPolicy]) -> Set<PeerKey> {
        var keys: Set<PeerKey> = []
        for policy in policies {
            for direction in PolicyDirection.allCases where policy.isolates.contains(direction) {
                for rule in policy.rules(direction) {
                    let needsAll = direction == .egress && rule.ports.contains(where: \.isNamed)
                    for peer in rule.peers.isEmpty ? [.everyone] : rule.peers {
                        let isSelector = if case .pods = peer { true } else { false }
                        if isSelector || needsAll { keys.insert(peer) }
                    }
                }
            }
        }
        return keys
    }

    /// - Parameters:
    ///   - policies: the policies of the pod's namespace that select it.
    ///   - members: the pods matching a peer (for every key `memberKeys` returned), in name order.
    func contribution(
        for pod: PolicyPod, policies: [CompiledPolicy], members: (PeerKey) -> [PolicyPod]
    ) -> PodPolicyContribution {
        var out = PodPolicyContribution(pod: pod.name, addresses: pod.addresses)
        out.peerKeys = memberKeys(policies)
        for direction in PolicyDirection.allCases {
            let isolating = policies.filter { $0.isolates.contains(direction) }
            guard !isolating.isEmpty else { continue }
            out.isolatedBy[direction] = isolating.map(\.name)
            var grants = Grants()
            for policy in isolating {
                for rule in policy.rules(direction) {
                    grants.add(rule, direction: direction, pod: pod, members: members)
                }
            }
            for address in pod.addresses {
                emit(grants, direction: direction, at: address, into: &out)
            }
        }
        if !out.isolatedBy.isEmpty {
            for address in pod.addresses {
                let f = PolicyLayout.Family.of(address.family)
                out.add(f.selfSet, SetElement(key: ElementKey([address.value, address.value])))
            }
        }
        return out
    }

    /// The elements of one direction for one of the pod's addresses: its isolation entry and the allowed peers of
    /// the same family, made disjoint.
    private func emit(
        _ grants: Grants, direction: PolicyDirection, at address: IPAddress, into out: inout PodPolicyContribution
    ) {
        let f = PolicyLayout.Family.of(address.family)
        let pod = address.value
        out.add(f.pods(direction), SetElement(key: ElementKey(pod), data: .verdict(PolicyLayout.isolation(direction))))
        for piece in DisjointCover.intervals(grants.any[address.family] ?? []) {
            let peer = (AddressRange.value(piece.first, address.family), AddressRange.value(piece.last, address.family))
            let key = ElementKey(ranges: [(pod, pod), peer])
            out.add(f.any(direction), SetElement(key: key), reasons: piece.labels)
        }
        let byProtocol = grants.ported[address.family] ?? [:]
        for (proto, number) in [(TransportProtocol.tcp, Value.tcp), (.udp, .udp), (.sctp, .sctp)] {
            for box in DisjointCover.boxes(byProtocol[proto] ?? []) {
                let key = ElementKey(ranges: [
                    (pod, pod),
                    (AddressRange.value(box.x.first, address.family), AddressRange.value(box.x.last, address.family)),
                    (number, number),
                    (.port(UInt16(box.y.first)), .port(UInt16(box.y.last))),
                ])
                out.add(f.ports(direction), SetElement(key: key), reasons: box.labels)
            }
        }
    }
}

/// The traffic the rules of one direction allow, before it is made disjoint: peer ranges allowed every protocol,
/// and peer ranges times port ranges per protocol, each labelled with its rule.
private struct Grants {
    typealias Item = DisjointCover.Item<PolicyRuleRef>

    var any: [AddressFamily: [Item]] = [:]
    var ported: [AddressFamily: [TransportProtocol: [(x: Item, y: (first: UInt128, last: UInt128))]]] = [:]

    mutating func add(
        _ rule: CompiledRule, direction: PolicyDirection, pod: PolicyPod, members: (PeerKey) -> [PolicyPod]
    ) {
        for peer in rule.peers.isEmpty ? [.everyone] : rule.peers {
            let ranges = Self.ranges(of: peer, members: members)
            if rule.ports.isEmpty {
                for range in ranges { any[range.family, default: []].append(item(range, rule.ref)) }
                continue
            }
            for port in rule.ports {
                if direction == .egress && port.isNamed {
                    // Resolved per destination pod: only pods declaring the name (and protocol) are reachable by it.
                    for member in members(peer) {
                        for (proto, first, last) in port.ranges(on: member) {
                            for address in member.addresses where peer.contains(address) {
                                addPorts(AddressRange(address), proto, first, last, rule.ref)
                            }
                        }
                    }
                } else {
                    for (proto, first, last) in port.ranges(on: pod) {
                        for range in ranges { addPorts(range, proto, first, last, rule.ref) }
                    }
                }
            }
        }
    }

    private mutating func addPorts(
        _ range: AddressRange, _ proto: TransportProtocol, _ first: UInt16, _ last: UInt16, _ ref: PolicyRuleRef
    ) {
        ported[range.family, default: [:]][proto, default: []].append(
            (item(range, ref), (UInt128(first), UInt128(last))))
    }

    private func item(_ range: AddressRange, _ ref: PolicyRuleRef) -> Item {
        Item(first: range.first, last: range.last, label: ref)
    }

    private static func ranges(of peer: PeerKey, members: (PeerKey) -> [PolicyPod]) -> [AddressRange] {
        switch peer {
        case .everyone: AddressFamily.allCases.map(AddressRange.all)
        case .block(let ranges): ranges
        case .pods: members(peer).flatMap { $0.addresses.map(AddressRange.init) }
        }
    }
}
