import Glibc
import Synchronization

/// `/run/netns`, the directory where iproute2, CNI runtimes (podman) and Sluice keep named network namespaces.
enum RunDirectory {
    static let path = "/run/netns"

    /// Serializes ``prepare()`` within this process, so that concurrent `create` calls (parallel tests) cannot both
    /// find `/run/netns` unshared and stack two bind mounts onto it.
    private static let preparation = Mutex(())

    /// Makes sure `/run/netns` exists and is a recursively shared mount point, exactly as `ip netns add` does.
    ///
    /// Namespace files are bind mounts. With the directory shared, unmounting one (on delete) propagates into
    /// every mount namespace that copied it (`ip netns exec` and container runtimes make such copies), so the
    /// kernel can free the namespace instead of keeping it alive through a forgotten copy.
    static func prepare() throws(NetNamespaceError) {
        try preparation.withLock { (_) throws(NetNamespaceError) in
            do throws(NetNamespaceError) {
                try systemCall(.makeRunDirectory, path: path) { mkdir(path, 0o755) }
            } catch let error where error.code == EEXIST {
                // Already there: the common case.
            }
            var boundOntoItself = false
            while true {
                do throws(NetNamespaceError) {
                    try systemCall(.shareRunDirectory, path: path) {
                        mount("", path, "none", UInt(MS_SHARED | MS_REC), nil)
                    }
                    return
                } catch let error where error.code == EINVAL && !boundOntoItself {
                    // Not a mount point yet: make it one, then make that shared (iproute2's netns_add).
                    try systemCall(.bindRunDirectory, path: path) {
                        mount(path, path, "none", UInt(MS_BIND | MS_REC), nil)
                    }
                    boundOntoItself = true
                }
            }
        }
    }
}
