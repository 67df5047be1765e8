import Glibc

/// A failed rtnetlink operation, naming the object and the errno the kernel gave.
///
/// Link failures are usually about state (a name already taken, a device that vanished with its namespace, a
/// missing privilege), so the message says what was being done to which object in `ip` terms, e.g.
/// `create veth sl3f2a… (peer eth0 in /proc/42/ns/net): File exists (errno 17)`.
public struct LinkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being done, e.g. `create bridge`, `add address`, `list links`.
    public let operation: String
    /// The object, e.g. `cni0`, `10.244.1.5/24 on eth0`.
    public let object: String
    /// The errno reported by the kernel (or by the socket layer).
    public let code: Int32

    /// Creates an error; this module's calls are the usual source.
    public init(_ operation: String, object: String, code: Int32) {
        self.operation = operation
        self.object = object
        self.code = code
    }

    /// The object already exists (`EEXIST`): callers creating shared objects (a bridge) may adopt it.
    public var isExists: Bool { code == EEXIST }

    /// The object does not exist (`ENODEV`, `ENOENT`, `ESRCH`, `EADDRNOTAVAIL`): teardown may treat it as done.
    public var isNotFound: Bool { [ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL].contains(code) }

    public var description: String {
        "\(operation) \(object): \(String(cString: strerror(code))) (errno \(code))"
    }
}
