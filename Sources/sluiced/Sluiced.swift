import ArgumentParser
import ConntrackNetlink
import Foundation
import GatewayRouting
import IPVS
import IPVSNetlink
import KubeAPI
import KubeClient
import LinkNetlink
import Logging
import NFTablesNetlink
import NetworkPolicy
import Overlay
import ServiceProxy
import SluiceAgent

/// The node agent: watches Kubernetes objects and keeps this node's kernel in sync with them.
@main
struct Sluiced: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluiced",
        abstract: "Program this node's Service and NetworkPolicy data plane (nftables) from Kubernetes objects.",
        discussion: """
            Runs in the network namespace it is started in (use `ip netns exec` to target another). With
            --manifests it loads a directory of YAML/JSON manifests and applies every change made to it;
            invalid objects are logged with their file, kind, name and field and everything else is programmed.
            With --kubeconfig or --in-cluster it lists and watches the API server instead.
            On start it adopts an existing Sluice table without disturbing established connections.
            """)

    @Option(help: "A directory (or file) of manifests to load and watch (the default source).")
    var manifests: String?

    @Option(help: "Watch the API server of this kubeconfig's current context instead of manifests.")
    var kubeconfig: String?

    @Flag(help: "Watch the API server with this pod's service account instead of manifests.")
    var inCluster = false

    @Option(help: "API source: seconds between Service rule syncs at least (changes in between are batched).")
    var minSyncPeriod = 1.0

    @Option(help: "The name of this node (its Node object, local endpoints).")
    var nodeName: String

    @Option(name: .customLong("cluster-cidr"), help: "A pod CIDR of the cluster (repeatable).")
    var clusterCIDRs: [String] = []

    @Option(name: .customLong("nodeport-addresses"), help: "CIDRs whose local addresses answer NodePorts (repeatable).")
    var nodePortAddresses: [String] = []

    @Flag(help: "Sync once and exit (no watching; with the API server: once every initial list is applied).")
    var once = false

    @Option(help: "Pod network between nodes from their Node objects: none, vxlan or host-gw.")
    var overlay = "none"

    @Option(
        name: .customLong("cni-data-dir"),
        help: """
            The CNI IPAM stores (one directory per network): local pods' addresses recorded by sluice-cni are \
            enforced before the API reports them. Empty to ignore.
            """)
    var cniDataDirectory = CNIAllocations.defaultDataDirectory

    @Option(
        name: .customLong("metrics-bind-address"),
        help: "HOST:PORT for /metrics, /healthz and /readyz (empty: off).")
    var metricsBindAddress = "127.0.0.1:10249"

    @Option(
        name: .customLong("cni-conf"),
        help: """
            Write this node's CNI conflist here (e.g. /etc/cni/net.d/10-sluice.conflist), from its Node object's \
            pod CIDRs, and rewrite it when they change. Empty: do not write one.
            """)
    var cniConfigPath = ""

    @Option(
        name: .customLong("proxy-mode"),
        help: "Service backend: nftables or ipvs (switching removes the other mode's state; see docs/ipvs.md).")
    var proxyMode = "nftables"

    @Option(name: .customLong("ipvs-scheduler"), help: "IPVS mode: the scheduler of every virtual service.")
    var ipvsScheduler = "rr"

    @Flag(
        name: .customLong("ipvs-strict-arp"),
        help: "IPVS mode: arp_ignore=1 and arp_announce=2 on all interfaces, as kube-proxy's strictARP (MetalLB L2).")
    var ipvsStrictARP = false

    @Option(
        name: .customLong("ipvs-timeouts"),
        help: "IPVS mode: TCP,TCPFIN,UDP connection timeouts in seconds (ipvsadm --set; 0 keeps one; empty: all).")
    var ipvsTimeouts = ""

    @Option(help: "Seconds between drift repairs (re-reading the kernel's table).")
    var resyncPeriod = 60

    @Option(
        help: """
            Seconds after which /healthz reports unhealthy while syncs keep failing or the API server does not \
            answer (the programmed rules stay in place meanwhile).
            """)
    var unhealthyAfter = 60.0

    @Flag(
        help: """
            API source: run the routing controller: watch Gateway API and Ingress objects (when their APIs are \
            served), compile the route table and write the status of Gateways and HTTPRoutes of our classes.
            """)
    var routingController = false

    @Option(help: "The GatewayClass controllerName the routing controller serves.")
    var gatewayControllerName = RoutingConfiguration.gatewayControllerName

    @Option(help: "The IngressClass spec.controller the routing controller serves.")
    var ingressControllerName = RoutingConfiguration.ingressControllerName

    @Option(help: "Seconds between API discovery checks for Gateway API / Ingress kinds not served yet.")
    var apiDiscoveryPeriod = 60.0

    @Option(name: .customLong("v"), help: "Log verbosity: 0 errors and warnings, 1 info, 2 debug.")
    var verbosity = 1

    func validate() throws {
        let sources = [manifests != nil, kubeconfig != nil, inCluster].filter { $0 }.count
        guard sources == 1 else {
            throw ValidationError("give exactly one source: --manifests DIR, --kubeconfig PATH or --in-cluster")
        }
        guard minSyncPeriod >= 0 else { throw ValidationError("--min-sync-period must not be negative") }
        guard unhealthyAfter > 0, apiDiscoveryPeriod > 0 else {
            throw ValidationError("--unhealthy-after and --api-discovery-period must be positive")
        }
        guard !routingController || manifests == nil else {
            throw ValidationError("--routing-controller needs the API server (--kubeconfig or --in-cluster)")
        }
        guard ["none", "vxlan", "host-gw"].contains(overlay) else {
            throw ValidationError("--overlay \(overlay): expected none, vxlan or host-gw")
        }
        guard ["nftables", "ipvs"].contains(proxyMode) else {
            throw ValidationError("--proxy-mode \(proxyMode): expected nftables or ipvs")
        }
        guard ipvsTimeouts.isEmpty || parsedIPVSTimeouts != nil else {
            throw ValidationError("--ipvs-timeouts \(ipvsTimeouts): expected TCP,TCPFIN,UDP seconds, e.g. 900,120,300")
        }
        guard IPVSConfiguration.schedulers.contains(ipvsScheduler) else {
            throw ValidationError(
                "--ipvs-scheduler \(ipvsScheduler): expected one of \(IPVSConfiguration.schedulers.joined(separator: ", "))"
            )
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbosity >= 2 ? .debug : verbosity == 1 ? .info : .warning
            return handler
        }
        let logger = Logger(label: "sluiced")
        if !once { Termination.install(logger: logger) }
        guard let manifests else { return try await runFromAPIServer(logger: logger) }
        let source = ManifestDirectorySource(
            paths: [manifests], alsoWatch: cniDataDirectory.isEmpty ? [] : [cniDataDirectory])
        let cniDirectory = cniDataDirectory
        func allocations() -> [ObjectName: [IPAddress]] {
            cniDirectory.isEmpty ? [:] : CNIAllocations.read(dataDirectory: cniDirectory)
        }
        let first = source.load()
        for diagnostic in first.diagnostics { logger.error("\(diagnostic)") }

        let plane = try makeDataPlane(nodes: first.nodes, deriveMissingMAC: false, logger: logger)
        let syncer = plane.services
        let policies = plane.policies
        if once {
            try await syncer.syncServices(first)
            try await policies.sync(first, allocations: allocations())
            syncOverlay(plane, nodes: first.nodes, logger: logger)
            return
        }
        let health = try HealthCheckServer()
        let metrics = AgentMetrics(sources: ["manifests"], staleAfter: .seconds(unhealthyAfter))
        let metricsServer =
            try metricsBindAddress.isEmpty ? nil : MetricsServer(address: metricsBindAddress, metrics: metrics)
        defer { metricsServer?.stop() }
        let repairs = repairDrift(plane, logger: logger)
        defer { repairs.cancel() }
        var isFirst = true
        for await snapshot in source.snapshots() {
            // A stopping daemon lets this round finish and starts no other (Termination).
            guard Termination.gate.enter() else { continue }
            defer { Termination.gate.leave() }
            if !isFirst { for diagnostic in snapshot.diagnostics { logger.error("\(diagnostic)") } }
            isFirst = false
            // The node's zone label may change at run time, as in the API source.
            _ = await followZone(plane, nodes: snapshot.nodes, logger: logger)
            let synced = await syncServices(plane, health: health, metrics: metrics, logger: logger) {
                try await syncer.syncServices(snapshot)
            }
            let allocated = allocations()
            do { try await policies.sync(snapshot, allocations: allocated) } catch {
                logger.error("policy sync failed: \(error)")
            }
            syncOverlay(plane, nodes: snapshot.nodes, logger: logger)
            metrics.recordProgrammed(
                services: await syncer.programmedServiceCount, endpoints: await syncer.programmedElementCount,
                policyElements: await policies.programmedElementCount,
                cniAllocations: allocated.values.reduce(0) { $0 + $1.count })
            if synced { metrics.markReady("manifests") }
        }
    }

    /// The Service backend of `--proxy-mode`, after removing the other mode's state from this namespace.
    func serviceBackend(_ config: ProxyConfiguration, logger: Logger) throws -> any ServiceBackend {
        guard proxyMode == "ipvs" else {
            try ProxyModeCleanup.removeIPVSModeState(
                nftables: try NFTablesConnection(), links: try LinkConnection(), logger: logger)
            return ServiceSyncer(
                configuration: config, connection: try NFTablesConnection(), conntrack: try ConntrackConnection(),
                logger: logger)
        }
        let connection = try IPVSConnection()
        if let timeouts = parsedIPVSTimeouts {
            try connection.setTimeouts(tcp: timeouts[0], tcpFin: timeouts[1], udp: timeouts[2])
        }
        return IPVSServiceSyncer(
            configuration: config, scheduler: ipvsScheduler, connection: connection, links: try LinkConnection(),
            nftables: try NFTablesConnection(), strictARP: ipvsStrictARP, logger: logger)
    }

    /// `--ipvs-timeouts` as three numbers, or `nil` when empty or malformed.
    var parsedIPVSTimeouts: [UInt32]? {
        let parts = ipvsTimeouts.split(separator: ",", omittingEmptySubsequences: false).map { UInt32($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }

    /// Writes `--cni-conf` for this node from its Node object (no-op without the flag or a pod CIDR).
    func writeCNIConfig(nodes: [Node], overlayMTU: Int?, logger: Logger) {
        guard !cniConfigPath.isEmpty, let node = nodes.first(where: { $0.metadata.name == nodeName }) else { return }
        guard let text = CNIConfigWriter.conflist(for: node, mtu: overlayMTU, masquerade: overlay == "none") else {
            logger.warning("Node \(nodeName) has no pod CIDR yet: no CNI configuration written")
            return
        }
        do {
            if try CNIConfigWriter.write(text, to: cniConfigPath) {
                logger.info("wrote CNI configuration", metadata: ["path": "\(cniConfigPath)"])
            }
        } catch {
            logger.error("cannot write CNI configuration \(cniConfigPath): \(error)")
        }
    }

    func cidrs(_ texts: [String], _ flag: String) throws -> [IPCIDR] {
        try texts.map { text in
            guard let cidr = IPCIDR(text) else { throw ValidationError("--\(flag) \(text): not a CIDR") }
            return cidr
        }
    }
}
