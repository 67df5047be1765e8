import Dispatch
import Glibc
import Logging

/// How sluiced stops: on SIGTERM or SIGINT it logs and exits 0, leaving every programmed rule in place — Services
/// and policies keep working while the agent restarts, and the next start adopts the table. A kernel batch is
/// atomic, so a sync cut short leaves the previous or the next state, never half of one.
enum Termination {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

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
                logger.info("signal \(number): stopping; the programmed rules stay in place")
                exit(0)
            }
            source.resume()
            sources.append(source)
        }
    }
}
