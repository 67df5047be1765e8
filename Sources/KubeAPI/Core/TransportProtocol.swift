/// The layer-4 protocol of a port (core/v1 `Protocol`).
///
/// Named `TransportProtocol` rather than `Protocol` because `.Protocol` is Swift's metatype syntax.
/// Kubernetes defaults every absent port protocol to TCP, so decoding does the same.
public enum TransportProtocol: KubernetesEnum {
    case tcp
    case udp
    case sctp
    case unrecognized(String)

    public static let knownCases: [TransportProtocol] = [.tcp, .udp, .sctp]

    public var rawValue: String {
        switch self {
        case .tcp: "TCP"
        case .udp: "UDP"
        case .sctp: "SCTP"
        case .unrecognized(let value): value
        }
    }
}
