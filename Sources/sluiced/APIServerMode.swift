import ConntrackNetlink
import Foundation
import GatewayRouting
import KubeAPI
import KubeClient
import Logging
import NFTablesNetlink
import NetworkPolicy
import Overlay
import ServiceProxy
import SluiceAgent

extension Sluiced {
    /// `--kubeconfig` / `--in-cluster`: list and watch the API server. Services and EndpointSlices are folded into
    /// the Service syncer as they arrive and flushed at most once per `--min-sync-period`; policies and the overlay
    /// are recompiled from the caches when their kinds change. Each source is ready once its first list is applied;
    /// with `--once` it exits then.
    func runFromAPIServer(logger: Logger) async throws {
        let cluster =
            if let kubeconfig { try ClusterConfiguration.kubeconfig(at: kubeconfig) } else {
                try ClusterConfiguration.inCluster()
            }
        let client = try KubernetesClient(configuration: cluster, logger: logger)
        let expected = APIServerSource.Source.all.union(routingController ? [RoutingController.source] : [])
        let metrics = AgentMetrics(sources: expected, staleAfter: .seconds(unhealthyAfter))
        let trigger = SyncTrigger()
        let source = APIServerSource(
            client: client, trigger: trigger, cachesServices: routingController, logger: logger,
            restarted: { restart in
                metrics.recordWatchRestart()
                logger.info("watch restarted: \(restart)")
            }, reachable: { metrics.recordAPIReachable($0) })
        // Up before anything is listed: while the API server cannot be reached, /healthz turns unhealthy after
        // --unhealthy-after and /readyz stays unready, and no rule programmed by a previous run is touched.
        let metricsServer =
            try metricsBindAddress.isEmpty ? nil : MetricsServer(address: metricsBindAddress, metrics: metrics)
        defer { metricsServer?.stop() }
        let clusterInformers = Task { await source.runClusterInformers() }
        defer { clusterInformers.cancel() }
        let routing =
            routingController
            ? RoutingController(
                client: client, trigger: trigger,
                configuration: RoutingConfiguration(controllerNames: [gatewayControllerName, ingressControllerName]),
                discoveryInterval: .seconds(apiDiscoveryPeriod), logger: logger,
                reachable: { metrics.recordAPIReachable($0) }) : nil
        let routingInformers = Task { await routing?.runInformers() }
        defer { routingInformers.cancel() }

        // The node's zone (topology-aware routing) and the overlay's first plan come from the Node list.
        while !source.nodes.hasSynced { try await Task.sleep(for: .milliseconds(50)) }
        let nodes = source.nodes.snapshot()
        let plane = try makeDataPlane(nodes: nodes, deriveMissingMAC: true, logger: logger)
        let syncer = plane.services
        let policies = plane.policies
        let overlaySyncer = plane.overlay
        // Advertise this node's VTEP on its Node object: the other nodes read it from there.
        let advertisement = OverlaySetup.advertisement(
            device: overlaySyncer?.vxlanDevice, vtep: overlaySyncer?.vtepAddress,
            node: nodes.first { $0.metadata.name == nodeName })
        if !advertisement.isEmpty {
            do {
                try await client.annotateNode(nodeName, advertisement)
                logger.info("advertised VTEP", metadata: ["annotations": "\(advertisement)"])
            } catch {
                logger.error("cannot annotate Node \(nodeName) with its VTEP: \(error)")
            }
        }
        let serviceInformers = Task { await source.runServiceInformers(into: syncer) }
        defer { serviceInformers.cancel() }
        let health = try HealthCheckServer()
        let repairs = repairDrift(plane, logger: logger)
        defer { repairs.cancel() }

        let cniDirectory = cniDataDirectory
        let serviceSources: Set = [APIServerSource.Source.services, APIServerSource.Source.endpointSlices]
        let policySources: Set = [
            APIServerSource.Source.namespaces, APIServerSource.Source.pods, APIServerSource.Source.networkPolicies,
        ]
        // A pod's CNI allocation appearing is a policy change too: it may be isolated before the API reports its IP.
        let allocationWatch = Task {
            guard !cniDirectory.isEmpty else { return }
            for await _ in CNIAllocations.changes(dataDirectory: cniDirectory) {
                trigger.changed(APIServerSource.Source.pods, initialList: false)
            }
        }
        defer { allocationWatch.cancel() }
        var unready = expected
        for await round in trigger.rounds(minimumInterval: .milliseconds(Int64(minSyncPeriod * 1000))) {
            // A stopping daemon lets this round finish and starts no other (Termination).
            guard Termination.gate.enter() else { continue }
            defer { Termination.gate.leave() }
            var applied: Set<String> = []
            var changed = round.changed
            // The node's zone label may change at run time: topology-hinted Services select endpoints again.
            if round.changed.contains(APIServerSource.Source.nodes),
                await followZone(plane, nodes: source.nodes.snapshot(), logger: logger)
            {
                changed.insert(APIServerSource.Source.services)
            }
            // Services wait for both of their lists: a Service without its slices would briefly reject traffic.
            let servicesListed =
                !unready.contains(APIServerSource.Source.services)
                || round.listed.contains(APIServerSource.Source.services)
            let slicesListed =
                !unready.contains(APIServerSource.Source.endpointSlices)
                || round.listed.contains(APIServerSource.Source.endpointSlices)
            if !changed.isDisjoint(with: serviceSources) && servicesListed && slicesListed {
                if await syncServices(
                    plane, health: health, metrics: metrics, logger: logger, { try await syncer.flushServices() })
                {
                    applied.formUnion(serviceSources)
                }
            } else if !changed.isDisjoint(with: serviceSources) {
                // The other list is still coming: fold this round into the next one.
                for name in changed.intersection(serviceSources) {
                    trigger.changed(name, initialList: round.listed.contains(name))
                }
            }
            let snapshot = source.snapshot()
            let allocated = cniDirectory.isEmpty ? [:] : CNIAllocations.read(dataDirectory: cniDirectory)
            if !round.changed.isDisjoint(with: policySources) {
                do {
                    try await policies.sync(snapshot, allocations: allocated)
                    applied.formUnion(policySources)
                } catch {
                    logger.error("policy sync failed: \(error)")
                }
            }
            if round.changed.contains(APIServerSource.Source.nodes) {
                syncOverlay(plane, nodes: snapshot.nodes, logger: logger)
                applied.insert(APIServerSource.Source.nodes)
            }
            // Routes resolve their backends and namespaces against Services and Namespaces too.
            let routingInputs: Set = [
                RoutingController.source, APIServerSource.Source.services, APIServerSource.Source.namespaces,
            ]
            if let routing, !changed.isDisjoint(with: routingInputs), routing.hasSynced,
                source.services.hasSynced, source.namespaces.hasSynced
            {
                let report = await routing.sync(
                    namespaces: source.namespaces.snapshot(), services: source.services.snapshot())
                metrics.recordStatusWrites(report.writes)
                applied.insert(RoutingController.source)
            }
            metrics.recordProgrammed(
                services: await syncer.programmedServiceCount, endpoints: await syncer.programmedElementCount,
                policyElements: await policies.programmedElementCount,
                cniAllocations: allocated.values.reduce(0) { $0 + $1.count })
            for name in round.listed.intersection(applied) where unready.contains(name) {
                unready.remove(name)
                metrics.markReady(name)
                logger.info("source ready: \(name)")
            }
            // A first list whose sync failed (or waited for its partner) is retried in a later round.
            for name in round.listed.subtracting(applied) { trigger.changed(name, initialList: true) }
            if once && unready.isEmpty { break }
        }
        serviceInformers.cancel()
        clusterInformers.cancel()
        routingInformers.cancel()
        await serviceInformers.value
        await clusterInformers.value
        await routingInformers.value
        try await client.shutdown()
    }

    /// This node's `topology.kubernetes.io/zone`, from its Node object.
    static func zone(of nodeName: String, in nodes: [Node]) -> String? {
        nodes.first { $0.metadata.name == nodeName }?.metadata.labels["topology.kubernetes.io/zone"]
    }
}
