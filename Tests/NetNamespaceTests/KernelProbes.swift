import Glibc

/// Ways for a test to ask the kernel which network namespace the current thread (or a socket) is in.

/// The inode of the network namespace of the calling thread; equal inodes mean the same namespace.
func currentThreadNamespaceInode() -> UInt {
    inode(of: "/proc/thread-self/ns/net")
}

/// The inode of the namespace file at `path` (a bind-mounted namespace reports the namespace's own inode).
func inode(of path: String) -> UInt {
    var info = stat()
    guard stat(path, &info) == 0 else {
        return 0
    }
    return info.st_ino
}

/// Whether the calling thread's namespace has an interface named `name` (`if_nametoindex` asks through a socket
/// created in the caller's namespace, unlike `/sys/class/net`, which shows the namespace `/sys` was mounted in).
func hasInterface(_ name: String) -> Bool {
    if_nametoindex(name) != 0
}

/// A new UDP/IPv4 socket in the calling thread's namespace (-1 on failure).
func udpSocket() -> Int32 {
    socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
}

/// Binds `socket` to `address` port 0 and returns the errno (0 on success); binding to an address only works in
/// the namespace that has it.
func bind(_ socket: Int32, toIPv4 address: String) -> Int32 {
    var socketAddress = sockaddr_in()
    socketAddress.sin_family = sa_family_t(AF_INET)
    guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
        return EINVAL
    }
    let result = withUnsafePointer(to: &socketAddress) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return result == 0 ? 0 : errno
}
