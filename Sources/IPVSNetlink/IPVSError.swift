import Glibc
import IPVS

/// Why an IPVS request failed, naming the Service (and virtual service) it was for, so a log line alone says what
/// to fix.
public enum IPVSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kernel has no `IPVS` generic netlink family (the `ip_vs` module is not loaded or not built).
    case unavailable(errno: Int32)
    /// A system call on the netlink socket failed.
    case system(operation: String, errno: Int32)
    /// The kernel refused one request; `owner` names the Service whose virtual service it was, when known.
    case rejected(operation: IPVSOperation, owner: String?, errno: Int32)
    /// A dump reply this code cannot read.
    case malformedReply(String)

    public var errno: Int32? {
        switch self {
        case .unavailable(let code), .system(_, let code), .rejected(_, _, let code): code
        case .malformedReply: nil
        }
    }

    public var description: String {
        switch self {
        case .unavailable(let code):
            return "IPVS is not available in this kernel (generic netlink family \"IPVS\": "
                + "\(String(cString: strerror(code)))); load the ip_vs module"
        case .system(let operation, let code):
            return "\(operation): \(String(cString: strerror(code))) (errno \(code))"
        case .rejected(let operation, let owner, let code):
            let who = owner.map { "\($0): " } ?? ""
            return "\(who)kernel refused to \(operation): \(String(cString: strerror(code)))\(hint(operation, code))"
        case .malformedReply(let text):
            return "unreadable IPVS reply: \(text)"
        }
    }

    private func hint(_ operation: IPVSOperation, _ code: Int32) -> String {
        switch (operation, code) {
        case (.addService(let s), ENOENT), (.updateService(let s), ENOENT):
            " (scheduler \"\(s.scheduler)\" is not available: no module ip_vs_\(s.scheduler))"
        case (.addService(let s), EAFNOSUPPORT), (.addService(let s), EPROTONOSUPPORT):
            " (protocol \(s.key.proto) or address family not supported by this kernel's IPVS)"
        default:
            ""
        }
    }
}
