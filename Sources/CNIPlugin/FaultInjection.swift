import Glibc

/// Crash points for proving that a plugin killed mid-ADD leaves nothing GC cannot clean.
///
/// A runtime may kill a plugin at any moment (timeouts, node shutdown, OOM). The fault-injection tests set
/// `SLUICE_CNI_DEBUG_CRASH_AT=<checkpoint>` and the plugin sends itself `SIGKILL` on reaching that checkpoint, so
/// the test controls exactly where the crash lands. The variable is a documented debugging aid (see
/// `cni-conf/README.md`); no runtime sets it, and unset it costs one `getenv` per checkpoint.
public enum FaultInjection {
    /// The steps of ADD after which a crash is interesting, in order.
    public enum Checkpoint: String, Sendable, CaseIterable {
        /// An address record's temporary file is written but not yet linked into place.
        case ipamRecordWritten = "ipam-record-written"
        /// Every address of the attachment is recorded in the store.
        case addressesReserved = "addresses-reserved"
        /// The bridge exists and is up.
        case bridgeReady = "bridge-ready"
        /// The veth pair exists (host side on the bridge, pod side unconfigured).
        case vethCreated = "veth-created"
        /// The pod side has its addresses and routes.
        case podConfigured = "pod-configured"
        /// The nftables elements (masquerade, hostPorts) are in place; only the result is left to print.
        case nftablesProgrammed = "nftables-programmed"
    }

    /// The environment variable naming the checkpoint to crash at.
    public static let variable = "SLUICE_CNI_DEBUG_CRASH_AT"

    /// Kills the process with `SIGKILL` when `SLUICE_CNI_DEBUG_CRASH_AT` names `checkpoint`.
    static func checkpoint(_ checkpoint: Checkpoint) {
        guard let value = getenv(variable), String(cString: value) == checkpoint.rawValue else {
            return
        }
        kill(getpid(), SIGKILL)
    }
}
