import Dispatch
import SluiceAgent
import Synchronization
import Testing

/// How a stopping sluiced lets kernel work in flight finish and starts no more (no kernel needed).
@Suite struct SyncGateTests {
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set(_ newValue: Bool) { value.store(newValue, ordering: .sequentiallyConsistent) }
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    }

    @Test func stopWaitsForTheRoundInFlightAndRefusesNewOnes() {
        let gate = SyncGate()
        #expect(gate.enter())
        let finished = Flag()
        let finishedBeforeStopReturned = Flag()
        let drained = Flag()
        let stopped = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            drained.set(gate.stop(timeout: .seconds(10)))
            finishedBeforeStopReturned.set(finished.isSet)
            stopped.signal()
        }
        // stop() is waiting: the round is still in flight.
        #expect(stopped.wait(timeout: .now() + .milliseconds(100)) == .timedOut)
        finished.set(true)
        gate.leave()
        #expect(stopped.wait(timeout: .now() + .seconds(10)) == .success)
        #expect(drained.isSet)
        #expect(finishedBeforeStopReturned.isSet)
        // Once stopping, no new round starts.
        #expect(!gate.enter())
    }

    @Test func stopGivesUpAfterItsTimeout() {
        let gate = SyncGate()
        #expect(gate.enter())
        #expect(!gate.stop(timeout: .milliseconds(20)))
        gate.leave()
        #expect(gate.stop(timeout: .milliseconds(20)))
    }
}
