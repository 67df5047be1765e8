import Foundation
import Synchronization

/// What `sluiced` reports about itself: sync durations and outcomes, what is programmed, errors.
///
/// Named like kube-proxy's series where one exists (`…_sync_proxy_rules_duration_seconds`,
/// `…_sync_proxy_rules_last_timestamp_seconds`), so dashboards and alerts built for kube-proxy carry over.
public final class AgentMetrics: Sendable {
    /// Histogram bucket bounds in seconds: 1 ms doubling to ~16 s, as kube-proxy's sync histogram.
    static let buckets: [Double] = (0..<15).map { 0.001 * pow(2, Double($0)) }

    struct State {
        var bucketCounts = [Int](repeating: 0, count: AgentMetrics.buckets.count)
        var syncCount = 0
        var syncSum = 0.0
        var lastSuccess: Date?
        var lastAttempt: Date?
        var lastFailed = false
        var failures = 0
        var services = 0
        var endpoints = 0
        var policyElements = 0
        var cniAllocations = 0
        var watchRestarts = 0
        var readySources: Set<String> = []
        var expectedSources: Set<String> = []
        /// When the API server last stopped answering (every attempt since failed); `nil` while it answers.
        var unreachableSince: Date?
        var statusWrites = 0
    }

    private let state = Mutex(State())
    /// After this long with the last sync failing, `/healthz` reports unhealthy.
    public let staleAfter: Duration

    /// - Parameter sources: what must have delivered its initial state before `/readyz` says ready.
    public init(sources: Set<String>, staleAfter: Duration = .seconds(60)) {
        self.staleAfter = staleAfter
        state.withLock { $0.expectedSources = sources }
    }

    /// One sync of the Service rules: how long it took and whether the kernel took it.
    public func recordSync(seconds: Double, succeeded: Bool, at time: Date = Date()) {
        state.withLock { s in
            s.syncCount += 1
            s.syncSum += seconds
            for (index, bound) in Self.buckets.enumerated() where seconds <= bound { s.bucketCounts[index] += 1 }
            s.lastAttempt = time
            s.lastFailed = !succeeded
            if succeeded { s.lastSuccess = time } else { s.failures += 1 }
        }
    }

    /// What is programmed now.
    public func recordProgrammed(services: Int, endpoints: Int, policyElements: Int, cniAllocations: Int) {
        state.withLock { s in
            s.services = services
            s.endpoints = endpoints
            s.policyElements = policyElements
            s.cniAllocations = cniAllocations
        }
    }

    /// A source (manifests, an informer) has delivered its initial state and it was applied.
    public func markReady(_ source: String) {
        state.withLock { _ = $0.readySources.insert(source) }
    }

    /// A watch resumed or relisted: frequent restarts point at an unhealthy API connection.
    public func recordWatchRestart() { state.withLock { $0.watchRestarts += 1 } }

    /// The API server answered (`true`) or an attempt to reach it failed (`false`). Only a run of failures with
    /// no answer in between counts: one watch failing while others work is a reconnect, not an outage.
    public func recordAPIReachable(_ reachable: Bool, at time: Date = Date()) {
        state.withLock { s in
            if reachable {
                s.unreachableSince = nil
            } else if s.unreachableSince == nil {
                s.unreachableSince = time
            }
        }
    }

    /// Gateway/HTTPRoute status patches sent by the routing controller.
    public func recordStatusWrites(_ count: Int) { state.withLock { $0.statusWrites += count } }

    /// Healthy unless the last sync failed and nothing has succeeded for `staleAfter` (like kube-proxy: a proxy
    /// that cannot program its rules for a while is unhealthy; one that has nothing to do is not), or the API
    /// server has not answered for `staleAfter` (the rules stay as programmed, but they are going stale).
    public func isHealthy(now: Date = Date()) -> Bool {
        state.withLock { s in
            let threshold = Double(staleAfter.components.seconds) + Double(staleAfter.components.attoseconds) / 1e18
            if let since = s.unreachableSince, now.timeIntervalSince(since) >= threshold { return false }
            guard s.lastFailed, let attempt = s.lastAttempt else { return true }
            let since = s.lastSuccess ?? attempt
            return now.timeIntervalSince(since) < threshold
        }
    }

    /// Ready once every expected source has been applied: traffic is steered only to what is programmed.
    public var isReady: Bool { state.withLock { $0.expectedSources.isSubset(of: $0.readySources) } }

    /// The Prometheus text exposition.
    public func exposition() -> String {
        let s = state.withLock { $0 }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        out += "# HELP sluice_sync_proxy_rules_duration_seconds Time to compile and program Service rule changes.\n"
        out += "# TYPE sluice_sync_proxy_rules_duration_seconds histogram\n"
        for (bound, count) in zip(Self.buckets, s.bucketCounts) {
            out += "sluice_sync_proxy_rules_duration_seconds_bucket{le=\"\(bound)\"} \(count)\n"
        }
        out += "sluice_sync_proxy_rules_duration_seconds_bucket{le=\"+Inf\"} \(s.syncCount)\n"
        out += "sluice_sync_proxy_rules_duration_seconds_sum \(s.syncSum)\n"
        out += "sluice_sync_proxy_rules_duration_seconds_count \(s.syncCount)\n"
        metric(
            "sluice_sync_proxy_rules_last_timestamp_seconds", "gauge", "When Service rules were last programmed.",
            "\(s.lastSuccess?.timeIntervalSince1970 ?? 0)")
        metric(
            "sluice_sync_errors_total", "counter", "Syncs the kernel refused or that failed.", "\(s.failures)")
        metric("sluice_programmed_services", "gauge", "Services with programmed frontends.", "\(s.services)")
        metric(
            "sluice_programmed_service_elements", "gauge", "Service map elements programmed (endpoints and more).",
            "\(s.endpoints)")
        metric(
            "sluice_programmed_policy_elements", "gauge", "NetworkPolicy set elements programmed.",
            "\(s.policyElements)")
        metric(
            "sluice_cni_allocations", "gauge", "Pod addresses recorded by sluice-cni on this node.",
            "\(s.cniAllocations)")
        metric("sluice_watch_restarts_total", "counter", "Times a watch had to be restarted.", "\(s.watchRestarts)")
        metric(
            "sluice_api_server_reachable", "gauge", "Whether the API server answered the last attempt (0: failing).",
            s.unreachableSince == nil ? "1" : "0")
        metric(
            "sluice_routing_status_writes_total", "counter", "Gateway and HTTPRoute status patches sent.",
            "\(s.statusWrites)")
        return out
    }

    /// `/healthz`'s body, like kube-proxy's.
    func healthBody(now: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        let last = state.withLock { $0.lastSuccess }.map(formatter.string(from:)) ?? ""
        return "{\"lastUpdated\": \"\(last)\",\"currentTime\": \"\(formatter.string(from: now))\"}"
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` for an ``AgentMetrics`` on one address (127.0.0.1 by default:
/// the metrics are for the node's own scraper, not the network).
public final class MetricsServer: Sendable {
    private let listener: Int32
    private let metrics: AgentMetrics
    private let running = Atomic<Bool>(true)

    /// - Parameter address: `HOST:PORT`, IPv4 or `[IPv6]`.
    public init(address: String, metrics: AgentMetrics) throws {
        self.metrics = metrics
        listener = try Self.listen(address)
        let thread = Thread { [self] in serve() }
        thread.name = "sluice-metrics"
        thread.start()
    }

    /// Stops accepting connections (the thread ends with the listening socket).
    public func stop() {
        running.store(false, ordering: .relaxed)
        shutdown(listener, Int32(SHUT_RDWR))
    }

    static func listen(_ address: String) throws -> Int32 {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...])
        else { throw HealthCheckError.system("--metrics-bind-address \(address): expected HOST:PORT", EINVAL) }
        let host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return try LocalHTTP.listen(host: host, port: port, what: address)
    }

    private func serve() {
        while running.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            respond(client)
        }
    }

    private func respond(_ client: Int32) {
        defer { close(client) }
        let (status, type, body): (String, String, String) =
            switch LocalHTTP.readRequestPath(client) {
            case "/metrics": ("200 OK", "text/plain; version=0.0.4", metrics.exposition())
            case "/healthz":
                (metrics.isHealthy() ? "200 OK" : "503 Service Unavailable", "application/json", metrics.healthBody())
            case "/readyz":
                metrics.isReady
                    ? ("200 OK", "text/plain", "ok\n") : ("503 Service Unavailable", "text/plain", "not ready\n")
            default: ("404 Not Found", "text/plain", "not found\n")
            }
        LocalHTTP.respond(client, status: status, type: type, body: body)
    }
}
