import Glibc

/// Runs one system call, retrying `EINTR` and turning `-1`/`errno` into a ``NetNamespaceError``.
///
/// Every system call of this module goes through here, so errors always name the operation and namespace, and a
/// signal arriving mid-call (common in a daemon with a signal handler) never surfaces as a spurious failure.
@discardableResult
func systemCall(
    _ operation: NetNamespaceError.Operation, path: String, _ call: () -> Int32
) throws(NetNamespaceError) -> Int32 {
    while true {
        let result = call()
        if result != -1 {
            return result
        }
        let code = errno
        if code != EINTR {
            throw NetNamespaceError(operation, path: path, code: code)
        }
    }
}
