import KubeAPI
import Logging
import NFTablesNetlink
import Overlay
import ServiceProxy
import SluiceAgent

/// What both sources program — the Service backend of `--proxy-mode`, NetworkPolicies and the `--overlay` — built
/// the same way from the flags and the first Node list, so the manifest and API-server modes differ only in how
/// changes reach them.
struct DataPlane {
    let services: any ServiceBackend
    let policies: PolicySyncer
    let overlayBackend: OverlayBackend?
    let overlay: OverlaySyncer?
}

extension Sluiced {
    /// - Parameter deriveMissingMAC: the API source can advertise a derived VTEP MAC on its Node; manifests cannot.
    func makeDataPlane(nodes: [Node], deriveMissingMAC: Bool, logger: Logger) throws -> DataPlane {
        var config = ProxyConfiguration(
            nodeName: nodeName, nodeZone: Self.zone(of: nodeName, in: nodes),
            clusterCIDRs: try cidrs(clusterCIDRs, "cluster-cidr"),
            nodePortAddresses: try cidrs(nodePortAddresses, "nodeport-addresses"))
        // The overlay carries pod addresses between nodes only: traffic leaving the cluster network is masqueraded.
        config.masqueradePodEgress = overlay != "none"
        let backend: OverlayBackend? =
            switch overlay {
            case "vxlan": .vxlan
            case "host-gw": .hostGateway
            default: nil
            }
        return DataPlane(
            services: try serviceBackend(config, logger: logger),
            policies: PolicySyncer(nodeName: nodeName, connection: try NFTablesConnection(), logger: logger),
            overlayBackend: backend,
            overlay: try backend.map {
                try OverlaySetup.syncer(
                    backend: $0, nodeName: nodeName, nodes: nodes, deriveMissingMAC: deriveMissingMAC, logger: logger)
            })
    }

    /// Rewrites `--cni-conf` and the overlay's routes/FDB for `nodes` (problems are logged, not thrown).
    func syncOverlay(_ plane: DataPlane, nodes: [Node], logger: Logger) {
        writeCNIConfig(nodes: nodes, overlayMTU: plane.overlay?.vxlanDevice?.mtu, logger: logger)
        guard let syncer = plane.overlay, let backend = plane.overlayBackend else { return }
        let plan = OverlayCompiler.compile(nodes: nodes, localNode: nodeName, backend: backend)
        for problem in plan.problems { logger.error("\(problem)") }
        do {
            let report = try syncer.sync(plan)
            for failure in report.failures { logger.error("overlay: \(failure)") }
            logger.info("overlay synced", metadata: ["added": "\(report.added)", "removed": "\(report.removed)"])
        } catch {
            logger.error("overlay sync failed: \(error)")
        }
    }

    /// Follows this node's zone label: when it changed, topology-hinted Services are recompiled at the next
    /// Service sync. Returns whether it changed.
    func followZone(_ plane: DataPlane, nodes: [Node], logger: Logger) async -> Bool {
        let zone = Self.zone(of: nodeName, in: nodes)
        guard zone != (await plane.services.nodeZone) else { return false }
        logger.info("node zone is now \(zone ?? "unset")")
        await plane.services.setNodeZone(zone)
        return true
    }

    /// One Service sync — `apply` programs a snapshot (manifests) or what the watches folded in (API) — with the
    /// health-check node ports following it and its duration and outcome recorded; returns whether it succeeded.
    func syncServices(
        _ plane: DataPlane, health: HealthCheckServer, metrics: AgentMetrics, logger: Logger,
        _ apply: () async throws -> Void
    ) async -> Bool {
        let started = ContinuousClock.now
        var synced = false
        do {
            try await apply()
            synced = true
            for (port, problem) in health.update(await plane.services.healthChecks) {
                logger.error("health check node port \(port): \(problem)")
            }
        } catch {
            logger.error("sync failed: \(error)")
        }
        let elapsed = ContinuousClock.now - started
        metrics.recordSync(
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            succeeded: synced)
        return synced
    }

    /// Every `--resync-period`, re-reads the kernel and repairs drift in Services and policies (never while the
    /// daemon is stopping: see `Termination`).
    func repairDrift(_ plane: DataPlane, logger: Logger) -> Task<Void, any Error> {
        let period = resyncPeriod
        let services = plane.services
        let policies = plane.policies
        return Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(period))
                guard Termination.gate.enter() else { continue }
                defer { Termination.gate.leave() }
                do { try await services.repairServiceDrift() } catch {
                    logger.error("drift repair failed: \(error)")
                }
                do { try await policies.repairDrift() } catch { logger.error("policy drift repair failed: \(error)") }
            }
        }
    }
}
