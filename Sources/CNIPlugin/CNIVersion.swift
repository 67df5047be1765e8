/// The CNI spec versions this plugin speaks, and what differs between them.
///
/// Runtimes on Debian 12 (podman 4.3, containerd 1.6) embed libcni 1.1 and speak up to 1.0.0; Kubernetes runtimes
/// speak 1.1.0. Results are printed in the configuration's version, so every supported version needs its result
/// shape (0.3.x and 0.4.0 tag each IP with `"version"`; 1.0.0 dropped it).
public enum CNIVersion {
    /// Every version accepted in `cniVersion`, oldest first, as VERSION reports them.
    public static let supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    /// The newest version, the one VERSION and version-less errors answer in.
    public static let latest = "1.1.0"

    /// Whether results of `version` tag IPs with `"version": "4"|"6"` (pre-1.0 results).
    static func tagsIPVersion(_ version: String) -> Bool {
        version.hasPrefix("0.")
    }

    /// Whether `version` has the CHECK command (0.4.0 and later).
    static func hasCheck(_ version: String) -> Bool {
        version != "0.3.0" && version != "0.3.1"
    }

    /// Whether `version` has GC and STATUS (1.1.0).
    static func hasGarbageCollection(_ version: String) -> Bool {
        version == "1.1.0"
    }
}
