import CNamespaceCalls
import Glibc

/// A Linux network namespace, identified by the file that pins it.
///
/// Pods, nodes in multi-node tests and the CNI plugin's target (`CNI_NETNS`) are all network namespaces. A
/// namespace is referred to by a path: a bind-mounted file under `/run/netns` (what `ip netns` and podman create)
/// or a process's `/proc/PID/ns/net` (what containerd's `ctr` passes). The value is only a handle; nothing is
/// opened until ``run(_:)`` enters it.
public struct NetworkNamespace: Sendable, Hashable {
    /// The name under `/run/netns` for namespaces made by ``create(named:)``; `nil` when opened by path only.
    public let name: String?
    /// The file that pins the namespace, e.g. `/run/netns/NAME` or `/proc/PID/ns/net`.
    public let path: String

    /// Refers to an existing namespace by its file, e.g. the `CNI_NETNS` a container runtime passes.
    ///
    /// Nothing is checked here; a missing or wrong file surfaces as a ``NetNamespaceError`` from ``run(_:)``.
    public init(path: String) {
        self.name = nil
        self.path = path
    }

    private init(name: String) {
        self.name = name
        self.path = RunDirectory.path + "/" + name
    }

    /// Creates a new, empty network namespace named `name`, exactly like `ip netns add NAME`.
    ///
    /// It is visible in `ip netns list`, usable with `ip -n NAME` / `ip netns exec NAME`, and lives until
    /// ``delete()``, independently of this process. As with iproute2: `/run/netns` is made a shared mount point,
    /// an empty file is created there, a dedicated thread `unshare`s a new network namespace and its
    /// `/proc/thread-self/ns/net` is bind-mounted onto the file. The new namespace has only `lo`, and it is down.
    ///
    /// - Throws: ``NetNamespaceError``; `EEXIST` from ``NetNamespaceError/Operation/createFile`` when the name is
    ///   taken, `EPERM` without `CAP_SYS_ADMIN`. On failure nothing is left behind.
    public static func create(named name: String) throws(NetNamespaceError) -> NetworkNamespace {
        let namespace = NetworkNamespace(name: name)
        let path = namespace.path
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), name.utf8.count <= NAME_MAX else {
            throw NetNamespaceError(.validateName, path: path, code: EINVAL)
        }
        try RunDirectory.prepare()
        let file = try systemCall(.createFile, path: path) { open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0) }
        close(file)
        do throws(NetNamespaceError) {
            try DedicatedThread.run(for: path) { () throws(NetNamespaceError) in
                try systemCall(.unshare, path: path) { unshare(CLONE_NEWNET) }
                try systemCall(.bindNamespace, path: path) {
                    mount("/proc/thread-self/ns/net", path, "none", UInt(MS_BIND), nil)
                }
            }.get()
        } catch {
            unlink(path)
            throw error
        }
        return namespace
    }

    /// Removes the namespace file like `ip netns delete`: detaches its bind mount, then unlinks it.
    ///
    /// The kernel frees the namespace (and destroys its veths, bridges, routes and nftables tables) once nothing
    /// else holds it: no process inside, no open file descriptor or socket, no other mount of it. A file that is
    /// not (or no longer) a mount point is unlinked all the same, so half-created leftovers can be removed.
    ///
    /// - Throws: ``NetNamespaceError``; when the file does not exist its ``NetNamespaceError/isNotFound`` is true,
    ///   which teardown code may ignore.
    public func delete() throws(NetNamespaceError) {
        let path = path
        do throws(NetNamespaceError) {
            try systemCall(.unmount, path: path) { umount2(path, Int32(MNT_DETACH)) }
        } catch let error where error.code == EINVAL {
            // Not a mount point: nothing pins a namespace here, only the file remains.
        }
        try systemCall(.unlink, path: path) { unlink(path) }
    }

    /// Runs `body` inside this namespace on the calling thread, which returns to its own namespace afterwards.
    ///
    /// Only for single-threaded programs that own their only thread, like the CNI plugin: there a thread per
    /// switch (``run(_:)``) costs more than the work it does, and nothing else can run on the thread while it is
    /// inside. Never from async code or a thread pool. If the thread cannot return to its namespace the process
    /// stops rather than carry on in the wrong one.
    ///
    /// - Throws: like ``run(_:)``: ``NetNamespaceError`` when the namespace cannot be entered, otherwise whatever
    ///   `body` throws.
    public func runOnCallingThread<T>(_ body: () throws -> T) throws -> T {
        let here = "/proc/thread-self/ns/net"
        let origin = try systemCall(.open, path: here) { open(here, O_RDONLY | O_CLOEXEC) }
        defer { close(origin) }
        let path = path
        let file = try systemCall(.open, path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(file) }
        try systemCall(.enter, path: path) { setns(file, CLONE_NEWNET) }
        defer {
            if setns(origin, CLONE_NEWNET) != 0 {
                fatalError("cannot return from network namespace \(path) to the thread's own (errno \(errno))")
            }
        }
        return try body()
    }

    /// Runs `body` inside this namespace and returns its result (or rethrows its error).
    ///
    /// `body` runs synchronously on a new thread that enters the namespace with `setns(CLONE_NEWNET)` and exits
    /// afterwards, because the switch is per thread and a reused thread would carry it into unrelated work. The
    /// calling thread never changes namespace and blocks until `body` returns, so this is safe from any thread and
    /// from many threads at once; from an async context it occupies the calling cooperative thread for that time,
    /// so keep `body` short and never `await` a namespace switch (hence the synchronous closure).
    ///
    /// Sockets (including netlink sockets) and other kernel objects created in `body` stay bound to this namespace
    /// for their whole life and may be used afterwards from any thread: return the file descriptor (or the
    /// object owning it) from `body` to talk to this namespace without switching again.
    ///
    /// - Throws: ``NetNamespaceError`` when the namespace cannot be entered (missing file: `ENOENT` from
    ///   ``NetNamespaceError/Operation/open``; not a network namespace: `EINVAL` from
    ///   ``NetNamespaceError/Operation/enter``), otherwise whatever `body` throws.
    public func run<T>(_ body: @Sendable () throws -> sending T) throws -> sending T {
        let path = path
        return try DedicatedThread.run(for: path) { () throws -> T in
            let file = try systemCall(.open, path: path) { open(path, O_RDONLY | O_CLOEXEC) }
            defer { close(file) }
            try systemCall(.enter, path: path) { setns(file, CLONE_NEWNET) }
            return try body()
        }.get()
    }
}
