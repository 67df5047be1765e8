import Glibc
import NetNamespace
import Synchronization

/// A network namespace owned by one test: uniquely named, `lo` up, and deleted when the test is done.
///
/// Privileged tests must never touch the host's root namespace and must leave nothing behind. Every operation here
/// addresses this namespace by name (`ip -n NAME`, `ip netns exec NAME`), and the namespace is deleted by
/// ``delete()``, by ``withTestNamespaces(_:isolation:body:)`` on every exit path, or, as a last resort, when the
/// object is deinitialized. Deleting it destroys everything inside: veths (and their peers elsewhere), bridges,
/// addresses, routes and nftables tables.
public final class TestNamespace: Sendable {
    /// The underlying namespace, e.g. to hand its ``NetworkNamespace/path`` to code under test as `CNI_NETNS`.
    public let namespace: NetworkNamespace
    /// The name under `/run/netns`, as `ip netns list` shows it.
    public let name: String
    private let isDeleted = Atomic(false)

    private init(namespace: NetworkNamespace, name: String) {
        self.namespace = namespace
        self.name = name
    }

    deinit {
        // Fallback for a test that forgot to clean up; errors have nowhere to go from here.
        try? delete()
    }

    /// Creates a namespace named `sl-<label>-<pid>-<random>` and brings its `lo` up.
    ///
    /// The label says which test made it when one is found lying around; the pid tells whether its creator is
    /// still running. Labels are cut to 10 characters to keep names short in `ip netns list`.
    public static func make(_ label: String) throws -> TestNamespace {
        let namespace = try createUniquelyNamed(label)
        let test = TestNamespace(namespace: namespace, name: namespace.name!)
        try test.setUp("lo")
        return test
    }

    /// Creates the namespace, drawing a new name when another test happened to draw the same one.
    private static func createUniquelyNamed(_ label: String) throws(NetNamespaceError) -> NetworkNamespace {
        var attempt = 1
        while true {
            let created = Result { () throws(NetNamespaceError) in
                try NetworkNamespace.create(named: uniqueName(label))
            }
            switch created {
            case .failure(let error) where error.code == EEXIST && attempt < 3:
                attempt += 1
            default:
                return try created.get()
            }
        }
    }

    /// A fresh name `sl-<label>-<pid>-<6 hex digits>`, at most 28 characters.
    public static func uniqueName(_ label: String) -> String {
        let safeLabel = String(label.prefix(10).map { $0 == "/" ? "-" : $0 })
        let suffix = String(UInt32.random(in: 0..<0x100_0000), radix: 16)
        return "sl-\(safeLabel)-\(getpid())-\(String(repeating: "0", count: 6 - suffix.count))\(suffix)"
    }

    /// Runs `body` on a thread switched into this namespace; see ``NetworkNamespace/run(_:)``.
    public func run<T>(_ body: @Sendable () throws -> sending T) throws -> sending T {
        try namespace.run(body)
    }

    /// Runs a program inside this namespace (`ip netns exec NAME argv…`) and returns its standard output.
    ///
    /// `ip netns exec` also remounts `/sys` for the program, so tools that read `/sys/class/net` see this
    /// namespace's interfaces.
    ///
    /// - Throws: ``ProcessError/failed(_:)`` with status and standard error when the program exits non-zero.
    @discardableResult
    public func exec(_ argv: [String], stdin: String? = nil) throws -> String {
        try execStatus(argv, stdin: stdin).output()
    }

    /// Runs a program inside this namespace and returns its status and output whatever the status, for tests
    /// that expect a failure (a ping that policy must drop, an `nft` command that must be rejected).
    public func execStatus(_ argv: [String], stdin: String? = nil) throws -> ProcessResult {
        try runProcess(["ip", "netns", "exec", name] + argv, stdin: stdin)
    }

    /// Deletes the namespace; calling it again (or deinitializing afterwards) does nothing.
    ///
    /// - Throws: ``NetNamespaceError`` when the kernel refuses; a namespace that is already gone is not an error.
    public func delete() throws {
        guard !isDeleted.exchange(true, ordering: .acquiringAndReleasing) else {
            return
        }
        do throws(NetNamespaceError) {
            try namespace.delete()
        } catch let error where error.isNotFound {
            // Someone (the test itself, `ip netns delete`) already removed it: the goal is reached.
        }
    }
}
