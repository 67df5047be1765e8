import Glibc
import Synchronization

/// Lets a stopping daemon finish the kernel work it has started, and start no more.
///
/// An nftables sync is one atomic batch, but an IPVS sync and an overlay update are many netlink requests: a
/// daemon that exits in the middle of one leaves half of it until the next start repairs it. Each round of
/// kernel work is bracketed with ``enter()`` / ``leave()``; on SIGTERM ``stop(timeout:)`` refuses new rounds and
/// waits for the ones in flight before the process exits.
public final class SyncGate: Sendable {
    private let inFlight = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    public init() {}

    /// Starts a round of kernel work; `false` (and nothing to `leave()`) once the daemon is stopping.
    public func enter() -> Bool {
        // Counted before the check: `stop` either sees this round and waits for it, or this round sees `stopping`.
        inFlight.add(1, ordering: .sequentiallyConsistent)
        if stopping.load(ordering: .sequentiallyConsistent) {
            inFlight.subtract(1, ordering: .sequentiallyConsistent)
            return false
        }
        return true
    }

    /// Ends a round started by a successful ``enter()``.
    public func leave() {
        inFlight.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// Refuses new rounds and blocks the calling thread (a signal handler's, never a cooperative one) until the
    /// rounds in flight have left or `timeout` has passed.
    ///
    /// - Returns: whether every round left in time.
    @discardableResult
    public func stop(timeout: Duration) -> Bool {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let deadline = ContinuousClock.now + timeout
        while inFlight.load(ordering: .sequentiallyConsistent) > 0 {
            guard ContinuousClock.now < deadline else {
                return false
            }
            usleep(2_000)
        }
        return true
    }
}
