import KubeAPI
import KubeClient
import Logging
import ServiceProxy

/// The API server as `sluiced`'s source: Services and EndpointSlices stream straight into `ServiceSyncer.receive`
/// (parsed and dropped, never cached twice), while Namespaces, Pods, NetworkPolicies and Nodes are kept in caches
/// the policy and overlay syncers snapshot. Every change is reported to a `SyncTrigger`, which turns bursts into
/// rate-limited sync rounds.
public final class APIServerSource: Sendable {
    /// The source names used for readiness (`AgentMetrics.markReady`) and change notifications.
    public enum Source {
        /// Services (into the Service syncer).
        public static let services = "services"
        /// EndpointSlices (into the Service syncer).
        public static let endpointSlices = "endpointslices"
        /// Namespaces (policy cache).
        public static let namespaces = "namespaces"
        /// Pods, cluster-wide (policy cache).
        public static let pods = "pods"
        /// NetworkPolicies (policy cache).
        public static let networkPolicies = "networkpolicies"
        /// Nodes (zone, overlay).
        public static let nodes = "nodes"
        /// Every source: the agent is ready when each has been listed and applied.
        public static let all: Set<String> = [services, endpointSlices, namespaces, pods, networkPolicies, nodes]
    }

    /// The connection every informer shares.
    public let client: KubernetesClient
    /// The caches the policy and overlay syncers snapshot.
    public let namespaces = ObjectCache<Namespace>()
    public let pods = ObjectCache<Pod>()
    public let networkPolicies = ObjectCache<NetworkPolicy>()
    public let nodes = ObjectCache<Node>()
    /// Services as listed, kept only when `cachesServices` (the routing controller resolves backends with
    /// them); the Service syncer does not need them.
    public let services = ObjectCache<Service>()
    private let cachesServices: Bool
    private let trigger: SyncTrigger
    private let restarted: @Sendable (WatchRestart) -> Void
    private let reachable: @Sendable (Bool) -> Void
    private let logger: Logger
    /// Tuning of every reflector (tests shorten the backoff).
    private let watchTimeoutSeconds: Int
    private let initialBackoff: Duration

    /// - Parameters:
    ///   - cachesServices: also keep every Service in `services`.
    ///   - restarted: called on every resumed or relisted watch (`AgentMetrics.recordWatchRestart`).
    ///   - reachable: hears every answer and failure of the API server (`AgentMetrics.recordAPIReachable`).
    public init(
        client: KubernetesClient, trigger: SyncTrigger, watchTimeoutSeconds: Int = 300,
        initialBackoff: Duration = .milliseconds(200), cachesServices: Bool = false, logger: Logger,
        restarted: @escaping @Sendable (WatchRestart) -> Void = { _ in },
        reachable: @escaping @Sendable (Bool) -> Void = { _ in }
    ) {
        self.client = client
        self.trigger = trigger
        self.cachesServices = cachesServices
        self.reachable = reachable
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.initialBackoff = initialBackoff
        self.logger = logger
        self.restarted = restarted
    }

    private func reflector<Object: KubernetesObject>(_ type: Object.Type, _ resource: APIResource) -> Reflector<Object>
    {
        Reflector(
            type, client: client, resource: resource, watchTimeoutSeconds: watchTimeoutSeconds,
            initialBackoff: initialBackoff, logger: logger)
    }

    /// Watches Namespaces, Pods, NetworkPolicies and Nodes into the caches until cancelled.
    public func runClusterInformers() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.fill(self.namespaces, .namespaces, Source.namespaces) }
            group.addTask { await self.fill(self.pods, .pods, Source.pods) }
            group.addTask { await self.fill(self.networkPolicies, .networkPolicies, Source.networkPolicies) }
            group.addTask { await self.fill(self.nodes, .nodes, Source.nodes) }
        }
    }

    private func fill<Object: KubernetesObject>(
        _ cache: ObjectCache<Object>, _ resource: APIResource, _ name: String
    )
        async
    {
        let trigger = self.trigger
        await reflector(Object.self, resource).run(
            handle: { event in
                cache.apply(event)
                if case .listed(_, _, let initial) = event {
                    trigger.changed(name, initialList: initial)
                } else {
                    trigger.changed(name)
                }
            }, restarted: { self.restarted($0) }, reachable: { self.reachable($0) })
    }

    /// Watches Services and EndpointSlices into `syncer` (folded, not programmed: the sync loop flushes) until
    /// cancelled. Invalid objects are logged and treated as absent, as the manifest source skips them.
    public func runServiceInformers(into syncer: any ServiceBackend) async {
        let trigger = self.trigger
        let logger = self.logger
        await withDiscardingTaskGroup { group in
            group.addTask {
                await self.reflector(Service.self, .services).run(
                    handle: { event in
                        if self.cachesServices { self.services.apply(event) }
                        await syncer.receive(Self.serviceEvents(event, logger: logger))
                        trigger.changed(Source.services, initialList: event.isInitialList)
                    }, restarted: { self.restarted($0) }, reachable: { self.reachable($0) })
            }
            group.addTask {
                await self.reflector(EndpointSlice.self, .endpointSlices).run(
                    handle: { event in
                        await syncer.receive(Self.sliceEvents(event, logger: logger))
                        trigger.changed(Source.endpointSlices, initialList: event.isInitialList)
                    }, restarted: { self.restarted($0) }, reachable: { self.reachable($0) })
            }
        }
    }

    /// What the policy and overlay syncers consume, from the caches. Invalid NetworkPolicies go to
    /// `invalidNetworkPolicies` so the pods they select stay isolated (fail closed), as with manifests.
    public func snapshot() -> ManifestSet {
        var set = ManifestSet()
        set.namespaces = namespaces.snapshot()
        set.pods = pods.snapshot()
        set.nodes = nodes.snapshot()
        for policy in networkPolicies.snapshot() {
            if policy.validate().isEmpty {
                set.networkPolicies.append(policy)
            } else {
                set.invalidNetworkPolicies.append(policy)
            }
        }
        return set
    }

    static func serviceEvents(_ event: InformerEvent<Service>, logger: Logger) -> [ServiceEvent] {
        func name(_ meta: ObjectMeta) -> ServiceName { ServiceName(namespace: meta.namespace, name: meta.name) }
        func upsert(_ service: Service) -> ServiceEvent {
            let errors = service.validate()
            guard errors.isEmpty else {
                for error in errors {
                    logger.error("Service \(service.namespacedName): \(error.path): \(error.message)")
                }
                return .serviceDeleted(name(service.metadata))
            }
            return .service(service)
        }
        switch event {
        case .listed(let services, let removed, _):
            return removed.map { .serviceDeleted(name($0)) } + services.map(upsert)
        case .added(let service), .modified(let service): return [upsert(service)]
        case .deleted(let service): return [.serviceDeleted(name(service.metadata))]
        }
    }

    static func sliceEvents(_ event: InformerEvent<EndpointSlice>, logger: Logger) -> [ServiceEvent] {
        func upsert(_ slice: EndpointSlice) -> ServiceEvent {
            let errors = slice.validate()
            guard errors.isEmpty else {
                for error in errors {
                    logger.error("EndpointSlice \(slice.namespacedName): \(error.path): \(error.message)")
                }
                return .endpointSliceDeleted(slice)
            }
            return .endpointSlice(slice)
        }
        switch event {
        case .listed(let slices, let removed, _):
            // Removal needs only the slice's identity and its Service label, which the metadata carries.
            return removed.map { .endpointSliceDeleted(EndpointSlice(metadata: $0, addressType: .ipv4)) }
                + slices.map(upsert)
        case .added(let slice), .modified(let slice): return [upsert(slice)]
        case .deleted(let slice): return [.endpointSliceDeleted(slice)]
        }
    }
}

extension InformerEvent {
    var isInitialList: Bool {
        if case .listed(_, _, let initial) = self { return initial }
        return false
    }
}
