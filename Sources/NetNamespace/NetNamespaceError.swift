import Glibc

/// A failed namespace operation, with enough context to act on it without a debugger.
///
/// Namespace failures are usually environmental (no `CAP_SYS_ADMIN`, a stale file under `/run/netns`, a pod that
/// is already gone), so the message names the step in kernel terms, the namespace file and the errno the kernel
/// gave, e.g. `network namespace /run/netns/pod1: setns(CLONE_NEWNET) failed: Invalid argument (errno 22)`.
public struct NetNamespaceError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The step that failed. Raw values name the system call (and flags) so a kernel hacker can grep for them.
    public enum Operation: String, Sendable, Hashable {
        /// The name is empty, `.` or `..`, contains `/`, or exceeds `NAME_MAX`: iproute2 refuses the same names.
        case validateName = "validate namespace name"
        /// Creating `/run/netns` (`mkdir`).
        case makeRunDirectory = "mkdir"
        /// Making `/run/netns` a recursively shared mount (`mount --make-rshared`) so unmounts propagate.
        case shareRunDirectory = "mount(MS_SHARED|MS_REC)"
        /// Bind-mounting `/run/netns` onto itself so it becomes a mount point that can be made shared.
        case bindRunDirectory = "mount(MS_BIND|MS_REC)"
        /// Creating the empty file that the namespace is bind-mounted onto (`open(O_CREAT|O_EXCL)`).
        case createFile = "open(O_CREAT|O_EXCL)"
        /// Creating the namespace itself (`unshare(CLONE_NEWNET)`).
        case unshare = "unshare(CLONE_NEWNET)"
        /// Pinning the new namespace by bind-mounting `/proc/thread-self/ns/net` onto its file.
        case bindNamespace = "mount(MS_BIND)"
        /// Detaching the namespace's bind mount (`umount2(MNT_DETACH)`).
        case unmount = "umount2(MNT_DETACH)"
        /// Removing the namespace file (`unlink`).
        case unlink = "unlink"
        /// Opening the namespace file to enter it (`open(O_RDONLY)`).
        case open = "open(O_RDONLY)"
        /// Switching the dedicated thread into the namespace (`setns(CLONE_NEWNET)`).
        case enter = "setns(CLONE_NEWNET)"
        /// Starting the dedicated thread that switches namespaces (`pthread_create`).
        case startThread = "pthread_create"
    }

    /// The step that failed.
    public let operation: Operation
    /// The namespace file involved (`/run/netns/NAME`, `/proc/PID/ns/net`, …).
    public let path: String
    /// The `errno` value the kernel (or libc) reported.
    public let code: Int32

    init(_ operation: Operation, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// True when the namespace file does not exist (`ENOENT`): callers tearing down may treat it as already done.
    public var isNotFound: Bool { code == ENOENT }

    public var description: String {
        "network namespace \(path): \(operation.rawValue) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
