import Foundation
import SluiceAgent
import Testing

/// `/healthz` and `/readyz` logic, on a clock the test controls.
struct AgentMetricsTests {
    @Test func healthFollowsTheLastSuccessfulSyncAndReadinessEverySource() {
        let metrics = AgentMetrics(sources: ["manifests", "api"], staleAfter: .seconds(60))
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(metrics.isHealthy(now: start), "nothing to do yet is healthy")
        metrics.recordSync(seconds: 0.004, succeeded: true, at: start)
        metrics.recordSync(seconds: 0.5, succeeded: false, at: start.addingTimeInterval(10))
        #expect(metrics.isHealthy(now: start.addingTimeInterval(30)), "one failure is not yet unhealthy")
        #expect(!metrics.isHealthy(now: start.addingTimeInterval(61)), "failing for longer than staleAfter")
        metrics.recordSync(seconds: 0.003, succeeded: true, at: start.addingTimeInterval(62))
        #expect(metrics.isHealthy(now: start.addingTimeInterval(200)))

        #expect(!metrics.isReady)
        metrics.markReady("manifests")
        #expect(!metrics.isReady, "every source must have delivered its initial state")
        metrics.markReady("api")
        #expect(metrics.isReady)

        let text = metrics.exposition()
        #expect(text.contains("sluice_sync_proxy_rules_duration_seconds_count 3\n"))
        #expect(text.contains("sluice_sync_proxy_rules_duration_seconds_bucket{le=\"0.004\"} 2\n"), "\(text)")
        #expect(text.contains("sluice_sync_errors_total 1\n"))
    }
}
