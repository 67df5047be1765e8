import Glibc
import LinkNetlink
import NetNamespace

extension CNIError {
    /// A failed link, address or route operation, as code 100 naming the object and errno.
    static func kernel(_ error: LinkError, in place: String) -> CNIError {
        CNIError(.kernelFailure, "\(place): \(error)")
    }

    /// Anything thrown while working inside the pod's namespace, mapped to the code that fits it: a namespace
    /// that is missing or is not a network namespace is code 3 (unknown container), a CNI error stays itself,
    /// anything else is a kernel failure.
    static func fromPodNamespace(_ error: any Error, path: String) -> CNIError {
        switch error {
        case let error as CNIError:
            return error
        case let error as NetNamespaceError where error.code == ENOENT || error.code == EINVAL:
            return CNIError(
                .unknownContainer,
                "CNI_NETNS \(path) is not a network namespace (it does not exist or is not an nsfs file)",
                details: error.description)
        case let error as LinkError:
            return kernel(error, in: "container namespace \(path)")
        default:
            return CNIError(.kernelFailure, "container namespace \(path): \(error)")
        }
    }
}

/// Writes a sysctl through `/proc/sys`, in the calling thread's network namespace (the `net.*` entries resolve
/// against the namespace of the thread that opens them). Reads first and skips the write when the value is
/// already right, so a busy node does not rewrite `ip_forward` for every pod.
///
/// - Returns: `false` when the entry does not exist (e.g. IPv6 disabled) or cannot be written.
@discardableResult
func writeSysctl(_ name: String, _ value: String) -> Bool {
    let path = "/proc/sys/" + name.split(separator: ".").joined(separator: "/")
    let file = open(path, O_RDWR | O_CLOEXEC)
    guard file >= 0 else {
        return false
    }
    defer { close(file) }
    var current = [UInt8](repeating: 0, count: 32)
    let count = read(file, &current, current.count)
    if count > 0, String(decoding: current[..<count], as: UTF8.self).trimmingWhitespace == value {
        return true
    }
    let bytes = Array(value.utf8)
    return pwrite(file, bytes, bytes.count, 0) == bytes.count
}
