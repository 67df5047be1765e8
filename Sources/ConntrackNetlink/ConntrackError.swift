import Glibc

/// Why a conntrack operation failed, naming what was being done (and which flow) so that a log line alone says
/// what went wrong.
public enum ConntrackError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A system call on the netlink socket failed.
    case system(operation: String, errno: Int32)
    /// The kernel answered a request with an error; `operation` names the request and, for a delete, the flow.
    case rejected(operation: String, errno: Int32)
    /// The filter can never match as written (an address of the wrong length for its family); nothing was sent.
    case invalidFilter(String)
    /// The kernel sent a flow this code cannot read (a missing tuple or address).
    case malformedReply(String)

    /// The kernel's error number, when the failure came with one.
    public var errno: Int32? {
        switch self {
        case .system(_, let code), .rejected(_, let code): code
        case .invalidFilter, .malformedReply: nil
        }
    }

    public var description: String {
        switch self {
        case .system(let operation, let code):
            "\(operation): \(String(cString: strerror(code))) (errno \(code))"
        case .rejected(let operation, let code):
            "kernel refused to \(operation): \(String(cString: strerror(code))) (errno \(code))"
        case .invalidFilter(let reason):
            "invalid conntrack filter, nothing sent: \(reason)"
        case .malformedReply(let reason):
            "unreadable conntrack reply: \(reason)"
        }
    }
}
