import Foundation
import GatewayRouting
import KubeAPI
import KubeClient
import Logging
import Synchronization

/// The routing controller of `sluiced --routing-controller`: watches the Gateway API and Ingress kinds the API
/// server serves, compiles them with `GatewayRouter` (the same compiler `sluice route` uses on manifests), and
/// writes the status of the Gateways and HTTPRoutes it controls.
///
/// Optional APIs are found through discovery: a group version that answers 404 (Gateway API CRDs not
/// installed) is logged once and asked again every `discoveryInterval`, so installing the CRDs later works
/// without a restart. Each change is reported to the agent's `SyncTrigger` as ``source``; the agent's loop
/// calls ``sync(namespaces:services:)``.
public final class RoutingController: Sendable {
    /// The readiness and change-notification name of everything routing watches.
    public static let source = "routing"

    /// The kinds it watches, with the group version discovery must show before each is watched.
    enum Kind: String, CaseIterable, Sendable {
        case gatewayClasses = "gatewayclasses"
        case gateways
        case httpRoutes = "httproutes"
        case referenceGrants = "referencegrants"
        case ingresses
        case ingressClasses = "ingressclasses"
    }

    /// The group versions asked, in order; a kind is watched at the first one that serves it.
    static let groupVersions: [(group: String, version: String, kinds: [Kind])] = [
        (gatewayAPIGroup, "v1", [.gatewayClasses, .gateways, .httpRoutes, .referenceGrants]),
        (gatewayAPIGroup, "v1beta1", [.referenceGrants]),
        ("networking.k8s.io", "v1", [.ingresses, .ingressClasses]),
    ]

    /// The agent's API connection, shared with its other informers.
    public let client: KubernetesClient
    /// GatewayClass `controllerName`s and IngressClass `controller`s served; status entries with these
    /// `controllerName`s are this controller's to write.
    public let configuration: RoutingConfiguration
    private let controllerNames: Set<String>
    private let trigger: SyncTrigger
    private let discoveryInterval: Duration
    private let initialBackoff: Duration
    private let watchTimeoutSeconds: Int
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let reachable: @Sendable (Bool) -> Void

    let gatewayClasses = ObjectCache<StatusCarrying<GatewayClass>>()
    let gateways = ObjectCache<StatusCarrying<Gateway>>()
    let httpRoutes = ObjectCache<StatusCarrying<HTTPRoute>>()
    let referenceGrants = ObjectCache<ReferenceGrant>()
    let ingresses = ObjectCache<Ingress>()
    let ingressClasses = ObjectCache<IngressClass>()
    let secrets = ObjectCache<Secret>()

    private struct State {
        /// Kinds being watched, and whether each has delivered its first list.
        var watched: [Kind: Bool] = [:]
        var secretsListed = false
        /// Group versions that have answered discovery at least once (served or not).
        var discovered: Set<String> = []
        /// Group versions reported absent, so the log says it once.
        var reportedAbsent: Set<String> = []
        /// Whether the initial state was announced to the trigger.
        var announcedSynced = false
        /// Invalid objects already logged, with the resourceVersion logged.
        var reportedInvalid: [String: String] = [:]
        var table: RouteTable?
        var statusWrites = 0
    }
    private let state = Mutex(State())

    /// - Parameters:
    ///   - discoveryInterval: how often group versions found absent (or failing) are asked again.
    ///   - reachable: hears each answer or failure of the API server (`AgentMetrics.recordAPIReachable`).
    ///   - clock: the time written as `lastTransitionTime` (tests fix it).
    public init(
        client: KubernetesClient, trigger: SyncTrigger,
        configuration: RoutingConfiguration = RoutingConfiguration(), discoveryInterval: Duration = .seconds(60),
        watchTimeoutSeconds: Int = 300, initialBackoff: Duration = .milliseconds(200), logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() },
        reachable: @escaping @Sendable (Bool) -> Void = { _ in }
    ) {
        self.client = client
        self.trigger = trigger
        self.configuration = configuration
        controllerNames =
            configuration.controllerNames ?? [
                RoutingConfiguration.gatewayControllerName, RoutingConfiguration.ingressControllerName,
            ]
        self.discoveryInterval = discoveryInterval
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.initialBackoff = initialBackoff
        self.logger = logger
        self.clock = clock
        self.reachable = reachable
    }

    /// The route table of the last sync: what a Gateway data plane on this node would serve.
    public var table: RouteTable? { state.withLock { $0.table } }

    /// Status patches sent so far (metrics, tests).
    public var statusWrites: Int { state.withLock { $0.statusWrites } }

    /// Whether every served kind (and the TLS Secrets) has been listed once discovery answered: before that a
    /// sync would judge routes against a partial picture and write wrong status.
    public var hasSynced: Bool {
        state.withLock { state in
            state.discovered.count == Self.groupVersions.count && state.secretsListed
                && state.watched.values.allSatisfy { $0 }
        }
    }

    /// Discovers and watches until cancelled.
    public func runInformers() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await self.watch(.tlsSecrets, into: self.secrets) { state in state.secretsListed = true }
            }
            while !Task.isCancelled {
                var failed = false
                for (groupName, version, kinds) in Self.groupVersions {
                    let name = "\(groupName)/\(version)"
                    let pending = state.withLock { state in kinds.filter { state.watched[$0] == nil } }
                    guard !pending.isEmpty else {
                        // Everything it could offer is watched already (ReferenceGrants found in v1).
                        state.withLock { _ = $0.discovered.insert(name) }
                        continue
                    }
                    let served: Set<String>?
                    do {
                        served = try await client.servedResources(group: groupName, version: version)
                        reachable(true)
                    } catch {
                        if Task.isCancelled { return }
                        reachable(KubeClientError.isAnswer(error))
                        failed = true
                        logger.warning("discovery of \(name): \(error); asking again")
                        continue
                    }
                    let firstAbsence = state.withLock { state in
                        state.discovered.insert(name)
                        return served == nil && state.reportedAbsent.insert(name).inserted
                    }
                    if firstAbsence {
                        logger.info(
                            "\(name) is not served (CRDs not installed?); asking again every \(discoveryInterval)")
                    }
                    for kind in pending where served?.contains(kind.rawValue) ?? false {
                        state.withLock { $0.watched[kind] = false }
                        logger.info("watching \(kind.rawValue).\(groupName)/\(version)")
                        group.addTask { await self.watch(kind, version: version) }
                    }
                }
                announceIfSynced()
                let complete = state.withLock { state in Kind.allCases.allSatisfy { state.watched[$0] != nil } }
                if complete { return }
                // A failed discovery (API unreachable) is retried sooner than an absent group is asked again.
                try? await Task.sleep(for: failed ? min(discoveryInterval, .seconds(5)) : discoveryInterval)
            }
        }
    }

    private func watch(_ kind: Kind, version: String) async {
        let listed: @Sendable (inout State) -> Void = { $0.watched[kind] = true }
        switch kind {
        case .gatewayClasses: await watch(.gatewayClasses, into: gatewayClasses, listed: listed)
        case .gateways: await watch(.gateways, into: gateways, listed: listed)
        case .httpRoutes: await watch(.httpRoutes, into: httpRoutes, listed: listed)
        case .referenceGrants: await watch(.referenceGrants(version: version), into: referenceGrants, listed: listed)
        case .ingresses: await watch(.ingresses, into: ingresses, listed: listed)
        case .ingressClasses: await watch(.ingressClasses, into: ingressClasses, listed: listed)
        }
    }

    private func watch<Object: KubernetesObject>(
        _ resource: APIResource, into cache: ObjectCache<Object>, listed: @escaping @Sendable (inout State) -> Void
    ) async {
        let reflector = Reflector(
            Object.self, client: client, resource: resource, watchTimeoutSeconds: watchTimeoutSeconds,
            initialBackoff: initialBackoff, logger: logger)
        await reflector.run(
            handle: { event in
                cache.apply(event)
                if case .listed = event { self.state.withLock { listed(&$0) } }
                if !self.announceIfSynced() { self.trigger.changed(Self.source) }
            }, reachable: { self.reachable($0) })
    }

    /// Tells the trigger the initial state is complete, once; returns whether it did now.
    @discardableResult
    private func announceIfSynced() -> Bool {
        guard hasSynced else { return false }
        let first = state.withLock { state in
            defer { state.announcedSynced = true }
            return !state.announcedSynced
        }
        if first { trigger.changed(Self.source, initialList: true) }
        return first
    }

    /// What one sync did.
    public struct SyncReport: Sendable, Equatable {
        /// Status patches sent (successful or not).
        public var writes = 0
        /// Failures, each naming its object.
        public var failures: [String] = []
    }

    /// Compiles the route table from the watched objects plus `namespaces` and `services` (which the agent
    /// watches anyway), then writes the status that differs from what the API holds. Invalid objects are left
    /// out with an error naming them (logged once per version), as the manifest loader leaves them out.
    /// Does nothing before ``hasSynced``.
    @discardableResult
    public func sync(namespaces: [Namespace], services: [Service]) async -> SyncReport {
        guard hasSynced else { return SyncReport() }
        var set = ManifestSet()
        set.namespaces = namespaces
        set.services = services
        set.secrets = valid(secrets.snapshot())
        let classObjects = gatewayClasses.snapshot()
        set.gatewayClasses = valid(classObjects).map(\.base)
        let gatewayObjects = gateways.snapshot()
        let routeObjects = httpRoutes.snapshot()
        set.gateways = valid(gatewayObjects).map(\.base)
        set.httpRoutes = valid(routeObjects).map(\.base)
        set.referenceGrants = valid(referenceGrants.snapshot())
        set.ingresses = valid(ingresses.snapshot())
        set.ingressClasses = valid(ingressClasses.snapshot())
        let router = GatewayRouter(set, configuration: configuration)
        let status = router.status
        state.withLock { $0.table = router.table }

        var report = SyncReport()
        let now = GatewayStatusPatch.timestamp(clock())
        let classesByName = Dictionary(classObjects.map { ($0.metadata.name, $0) }) { first, _ in first }
        for classReport in status.gatewayClasses where controllerNames.contains(classReport.controllerName) {
            guard let object = classesByName[classReport.name],
                let patch = GatewayStatusPatch.gatewayClass(
                    classReport, current: object.status, generation: object.metadata.generation, now: now)
            else { continue }
            await write(patch, of: object, .gatewayClasses, cache: gatewayClasses, report: &report)
        }
        let gatewaysByName = Dictionary(gatewayObjects.map { ($0.base.namespacedName, $0) }) { first, _ in first }
        for gatewayReport in status.gateways {
            guard let object = gatewaysByName["\(gatewayReport.namespace)/\(gatewayReport.name)"],
                let patch = GatewayStatusPatch.gateway(
                    gatewayReport, current: object.status, generation: object.metadata.generation, now: now)
            else { continue }
            await write(patch, of: object, .gateways, cache: gateways, report: &report)
        }
        let routeReports = Dictionary(status.httpRoutes.map { ("\($0.namespace)/\($0.name)", $0) }) { first, _ in
            first
        }
        let served = Set(status.gateways.map { "\($0.namespace)/\($0.name)" })
        for route in routeObjects {
            guard
                let patch = GatewayStatusPatch.httpRoute(
                    routeReports[route.base.namespacedName], current: route.status, controllerNames: controllerNames,
                    servedGateways: served, generation: route.metadata.generation, now: now)
            else { continue }
            await write(patch, of: route, .httpRoutes, cache: httpRoutes, report: &report)
        }
        state.withLock { $0.statusWrites += report.writes }
        return report
    }

    /// One conditional merge patch of `status`; the stored object it returns goes into the cache at once, so the
    /// next sync compares against it even before the watch delivers it.
    private func write<Base: KubernetesObject>(
        _ status: JSONValue, of object: StatusCarrying<Base>, _ resource: APIResource,
        cache: ObjectCache<StatusCarrying<Base>>, report: inout SyncReport
    ) async {
        let name = "\(Base.kind) \(object.base.namespacedName)"
        report.writes += 1
        do {
            var metadata: [String: JSONValue] = [:]
            if let version = object.metadata.resourceVersion { metadata["resourceVersion"] = .string(version) }
            let patch = try JSONEncoder().encode(JSONValue.object(["metadata": .object(metadata), "status": status]))
            let stored = try await client.patchStatus(
                resource, namespace: Base.isNamespaced ? object.metadata.namespace : nil, name: object.metadata.name,
                patch: patch)
            if let updated = try? JSONDecoder().decode(StatusCarrying<Base>.self, from: stored) {
                cache.apply(.modified(updated))
            }
            logger.info("wrote status of \(name)")
        } catch KubeClientError.httpStatus(409, _) {
            // Someone changed it since our copy: the watch brings the new version, and a sync with it.
            logger.debug("status of \(name): conflict; retrying with the next version")
        } catch {
            report.failures.append("status of \(name): \(error)")
            logger.error("cannot write status of \(name): \(error)")
        }
    }

    /// The objects that pass validation; the others are logged (once per resourceVersion) and left out.
    private func valid<Object: KubernetesObject>(_ objects: [Object]) -> [Object] {
        objects.filter { object in
            let errors = object.validate()
            let key = "\(Object.kind) \(object.namespacedName)"
            guard !errors.isEmpty else {
                state.withLock { _ = $0.reportedInvalid.removeValue(forKey: key) }
                return true
            }
            let version = object.metadata.resourceVersion ?? ""
            let isNew = state.withLock { state in
                defer { state.reportedInvalid[key] = version }
                return state.reportedInvalid[key] != version
            }
            if isNew {
                for error in errors { logger.error("\(key): \(error.path): \(error.message); skipped") }
            }
            return false
        }
    }
}
