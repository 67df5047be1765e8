import ConntrackNetlink
import KubeAPI
import ServiceProxy

/// Which UDP conntrack entries a sync makes stale, as kube-proxy clears them.
///
/// - An endpoint that left a frontend: its flows would keep going to it (UDP never tears down), so entries
///   of that frontend DNATed to it are deleted.
/// - A frontend that had no endpoints and now has some: earlier packets left entries (rejected, never
///   DNATed) that would keep new packets of the same flow from being load-balanced.
public enum ConntrackCleanup {
    public static func filters(before: Set<UDPFrontend>, after: Set<UDPFrontend>) -> [ConntrackFilter] {
        var previous: [FrontendKey: Set<IPAddress>] = [:]
        for f in before { previous[FrontendKey(f), default: []].formUnion(f.endpoints) }
        var current: [FrontendKey: Set<IPAddress>] = [:]
        for f in after { current[FrontendKey(f), default: []].formUnion(f.endpoints) }
        var filters: Set<ConntrackFilter> = []
        for (key, endpoints) in previous {
            for gone in endpoints.subtracting(current[key] ?? []) {
                filters.insert(
                    ConntrackFilter(
                        family: gone.family == .ipv4 ? .ipv4 : .ipv6, l4proto: 17,
                        originalDestination: key.address?.bytes, originalDestinationPort: key.port,
                        replySource: gone.bytes))
            }
        }
        for (key, endpoints) in current where !endpoints.isEmpty && (previous[key] ?? []).isEmpty {
            guard let address = key.address else {
                for family in [ConntrackFamily.ipv4, .ipv6] where endpoints.contains(where: { matches($0, family) }) {
                    filters.insert(ConntrackFilter(family: family, l4proto: 17, originalDestinationPort: key.port))
                }
                continue
            }
            filters.insert(
                ConntrackFilter(
                    family: address.family == .ipv4 ? .ipv4 : .ipv6, l4proto: 17, originalDestination: address.bytes,
                    originalDestinationPort: key.port))
        }
        return filters.sorted { "\($0)" < "\($1)" }
    }

    private static func matches(_ address: IPAddress, _ family: ConntrackFamily) -> Bool {
        (address.family == .ipv4) == (family == .ipv4)
    }

    private struct FrontendKey: Hashable {
        var address: IPAddress?
        var port: UInt16
        init(_ f: UDPFrontend) {
            address = f.address
            port = f.port
        }
    }
}
