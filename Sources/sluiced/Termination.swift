import Dispatch
import Glibc
import Logging
import SluiceAgent

/// How sluiced stops: on SIGTERM or SIGINT it starts no new sync, lets the one in flight finish (``gate``; at most
/// ``drainTimeout``), logs and exits 0, leaving every programmed rule in place — Services and policies keep working
/// while the agent restarts, and the next start adopts what the kernel holds. An nftables batch is atomic anyway;
/// an IPVS sync or an overlay update is many requests, which is why the in-flight one is waited for.
enum Termination {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    /// Brackets every round of kernel work in the daemon's loops.
    static let gate = SyncGate()
    /// How long a stop waits for the round in flight.
    static let drainTimeout: Duration = .seconds(30)

    static func install(logger: Logger) {
        // A parent may have blocked these (test runners and some supervisors do); a daemon must receive them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                logger.info("signal \(number): stopping after the sync in flight; the programmed rules stay in place")
                if !gate.stop(timeout: drainTimeout) {
                    logger.warning("the sync in flight did not finish within \(drainTimeout); stopping anyway")
                }
                exit(0)
            }
            source.resume()
            sources.append(source)
        }
    }
}
