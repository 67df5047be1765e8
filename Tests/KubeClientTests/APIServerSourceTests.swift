import Foundation
import KubeAPI
import KubeClient
import Logging
import ServiceProxy
import Testing

@testable import SluiceAgent

/// How API events become syncer input and sync rounds, without a kernel.
struct APIServerSourceTests {
    @Test func changesDuringARoundAreCoalescedIntoTheNextOne() async throws {
        let trigger = SyncTrigger()
        var rounds = trigger.rounds(minimumInterval: .milliseconds(100)).makeAsyncIterator()
        trigger.changed("services", initialList: true)
        let first = await rounds.next()
        #expect(first == SyncTrigger.Round(changed: ["services"], listed: ["services"]))
        trigger.changed("pods", initialList: true)
        trigger.changed("services")
        trigger.changed("pods")
        let second = await rounds.next()
        #expect(second == SyncTrigger.Round(changed: ["services", "pods"], listed: ["pods"]))
    }

    @Test func aRelistDeletesWhatVanishedAndInvalidObjectsCountAsAbsent() {
        let logger = Logger(label: "test")
        var broken = APIServerFixture.service("broken")
        broken.spec.ports[0].port = 70000
        let events = APIServerSource.serviceEvents(
            .listed(
                [APIServerFixture.service("web"), broken], removed: [ObjectMeta(name: "gone", namespace: "default")],
                initial: false), logger: logger)
        #expect(events.count == 3)
        guard case .serviceDeleted(let gone) = events[0], case .service(let web) = events[1],
            case .serviceDeleted(let rejected) = events[2]
        else {
            Issue.record("unexpected events \(events)")
            return
        }
        #expect(gone == ServiceName(namespace: "default", name: "gone"))
        #expect(web.metadata.name == "web")
        #expect(rejected == ServiceName(namespace: "default", name: "broken"))

        let removedSlice = ObjectMeta(
            name: "web-abc", namespace: "default", labels: [EndpointSlice.serviceNameLabel: "web"])
        let sliceEvents = APIServerSource.sliceEvents(
            .listed([], removed: [removedSlice], initial: false), logger: logger)
        guard case .endpointSliceDeleted(let slice) = sliceEvents.first else {
            Issue.record("unexpected events \(sliceEvents)")
            return
        }
        #expect(slice.serviceName == "web" && slice.metadata.name == "web-abc")
    }

    @Test func healthFailsOnlyAfterTheAPIServerHasNotAnsweredForTheThreshold() {
        let metrics = AgentMetrics(sources: ["services"], staleAfter: .seconds(10))
        let start = Date(timeIntervalSince1970: 1_000)
        metrics.recordAPIReachable(false, at: start)
        metrics.recordAPIReachable(false, at: start + 8)
        #expect(metrics.isHealthy(now: start + 9))
        #expect(!metrics.isHealthy(now: start + 10), "the outage counts from its first failure")
        #expect(metrics.exposition().contains("\nsluice_api_server_reachable 0\n"))
        metrics.recordAPIReachable(true, at: start + 11)
        #expect(metrics.isHealthy(now: start + 30))
        #expect(metrics.exposition().contains("\nsluice_api_server_reachable 1\n"))
    }
}
