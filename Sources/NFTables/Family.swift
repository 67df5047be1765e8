/// The nftables address family a table lives in.
///
/// Sluice programs one `inet` table for dual-stack work (one set of chains sees IPv4 and IPv6), but
/// the IR accepts every family so tests and peers (kube-proxy's layouts) can be expressed too.
public enum TableFamily: String, Sendable, Hashable, CaseIterable, Codable {
    case ip, ip6, inet, arp, bridge, netdev

    /// The `NFPROTO_*` number the kernel uses for this family (netlink header `nfgen_family`).
    public var nfproto: UInt8 {
        switch self {
        case .inet: 1
        case .ip: 2
        case .arp: 3
        case .netdev: 5
        case .bridge: 7
        case .ip6: 10
        }
    }

    /// The family for an `NFPROTO_*` number, as read back from the kernel.
    public init?(nfproto: UInt8) {
        guard let family = Self.allCases.first(where: { $0.nfproto == nfproto }) else { return nil }
        self = family
    }
}
