import Synchronization

/// Coalesces change notifications from many watches into sync rounds: any number of changes while a sync runs
/// (or while the minimum sync period has not passed) become one more round, which learns every source that
/// changed and every source whose initial list arrived since the last round.
public final class SyncTrigger: Sendable {
    /// What happened since the last round.
    public struct Round: Sendable, Equatable {
        /// Sources with any change (a list or an event).
        public var changed: Set<String> = []
        /// Sources whose first list arrived: ready once this round is applied.
        public var listed: Set<String> = []
    }

    private let pending = Mutex(Round())
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    /// A trigger with nothing pending.
    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Notes a change of `source`; `initialList` marks its first complete list.
    public func changed(_ source: String, initialList: Bool = false) {
        pending.withLock { round in
            round.changed.insert(source)
            if initialList { round.listed.insert(source) }
        }
        continuation.yield()
    }

    /// Rounds, each at least `minimumInterval` after the previous one started, until the task is cancelled or
    /// `finish()` is called.
    public func rounds(minimumInterval: Duration) -> AsyncStream<Round> {
        AsyncStream { continuation in
            let task = Task {
                var last: ContinuousClock.Instant?
                for await _ in self.stream {
                    if let last {
                        let wait = minimumInterval - (ContinuousClock.now - last)
                        if wait > .zero { try? await Task.sleep(for: wait) }
                    }
                    let round = self.takeRound()
                    guard !round.changed.isEmpty else { continue }
                    last = ContinuousClock.now
                    continuation.yield(round)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func takeRound() -> Round {
        pending.withLock { round in
            defer { round = Round() }
            return round
        }
    }

    /// Ends `rounds` once the pending round is delivered.
    public func finish() { continuation.finish() }
}
