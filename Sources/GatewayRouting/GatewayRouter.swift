import KubeAPI

/// Identifies one port of one Gateway: what a proxy's listening socket serves.
public struct GatewayPort: Hashable, Sendable, CustomStringConvertible {
    /// `namespace/name` of the Gateway.
    public var gateway: String
    public var port: Int

    public init(gateway: String, port: Int) {
        self.gateway = gateway
        self.port = port
    }

    public var description: String { "\(gateway):\(port)" }
}

/// The routing compiler: Gateways, HTTPRoutes, ReferenceGrants, Services and Ingresses in; a `RouteTable` for
/// the data plane and the status a controller would write out.
///
/// HTTPRoute changes are incremental (`apply(_:)`, `removeHTTPRoute(namespace:name:)`): the route's old
/// entries leave and its new ones enter only the hostname keys they cover, so the cost follows the route's
/// hostnames, not the size of the table. Changes to anything else (Gateways, classes, Services, grants,
/// namespaces, Ingresses) are rare and compile everything again (`init`).
public struct GatewayRouter: Sendable {
    public let configuration: RoutingConfiguration
    private var context: ReferenceContext
    /// Served Gateways by `namespace/name`.
    private var gateways: [String: ServedGateway] = [:]
    /// Gateways that exist but belong to another controller: routes' status for them is not ours to write.
    private var foreignGateways: Set<String> = []
    /// GatewayClasses whose controller this router serves, by name, with that controller.
    private var servedClasses: [(name: String, controllerName: String)] = []
    /// Where each served listener sits: Gateway → listener name → (port, index in that port's listeners).
    private var listenerSlots: [String: [String: (port: Int, index: Int)]] = [:]
    private var ports: [GatewayPort: PortRoutes] = [:]
    private var routes: [RouteSource: RouteState] = [:]
    private var ingress: IngressTable

    private struct ContributionKey: Hashable {
        var port: GatewayPort
        var listener: Int
        var hostname: HostnamePattern
    }

    private struct RouteState: Sendable {
        var report: HTTPRouteReport
        var contributions: [(port: GatewayPort, contribution: RouteContribution)]
        /// Listeners (`gateway`, `listener name`) the route counts towards in `attachedRoutes`.
        var attached: Set<[String]>
    }

    /// Compiles everything in `manifests` (which the loader has validated).
    public init(_ manifests: ManifestSet, configuration: RoutingConfiguration = RoutingConfiguration()) {
        self.configuration = configuration
        context = ReferenceContext(
            services: manifests.services, secrets: manifests.secrets, namespaces: manifests.namespaces,
            grants: manifests.referenceGrants)
        ingress = IngressTable(
            ingresses: manifests.ingresses, classes: manifests.ingressClasses, configuration: configuration,
            context: context)
        let classes = Dictionary(manifests.gatewayClasses.map { ($0.metadata.name, $0) }) { first, _ in first }
        servedClasses = classes.keys.sorted().compactMap { name in
            let controller = classes[name]!.spec.controllerName
            return configuration.servesController(controller) ? (name, controller) : nil
        }
        for gateway in manifests.gateways {
            let controller: String
            if let gatewayClass = classes[gateway.spec.gatewayClassName] {
                guard configuration.servesController(gatewayClass.spec.controllerName) else {
                    foreignGateways.insert(gateway.namespacedName)
                    continue
                }
                controller = gatewayClass.spec.controllerName
            } else {
                guard configuration.servesUndeclaredClasses || configuration.controllerNames == nil else {
                    foreignGateways.insert(gateway.namespacedName)
                    continue
                }
                controller = RoutingConfiguration.gatewayControllerName
            }
            let served = ServedGateway(gateway, controllerName: controller, context: context)
            gateways[served.key] = served
            for listener in served.listeners where listener.servesHTTPRoutes {
                let key = GatewayPort(gateway: served.key, port: listener.listener.port)
                var port = ports[key] ?? PortRoutes()
                let slot = ListenerSlot(
                    name: listener.listener.name, hostname: listener.hostname, protocol: listener.listener.protocol,
                    port: listener.listener.port)
                if port.addListener(slot) {
                    listenerSlots[served.key, default: [:]][slot.name] = (slot.port, port.listeners.count - 1)
                }
                ports[key] = port
            }
        }
        for route in manifests.httpRoutes {
            // The loader validated these already (ManifestSet holds only valid objects).
            let state = attach(route, validated: true)
            add(state, sorted: false)
            routes[RouteSource(kind: HTTPRoute.kind, namespace: route.metadata.namespace, name: route.metadata.name)] =
                state
        }
        for key in ports.keys { ports[key]!.sortAll() }
    }

    /// The compiled table, a value the data plane can keep while the router moves on.
    public var table: RouteTable { RouteTable(ports: ports, ingress: ingress) }

    /// Adds or replaces one HTTPRoute. It is validated first (it may come from an API watch rather than the
    /// loader): an invalid rule is dropped (`PartiallyInvalid`), an invalid route rejected (`UnsupportedValue`).
    public mutating func apply(_ route: HTTPRoute) {
        let source = RouteSource(kind: HTTPRoute.kind, namespace: route.metadata.namespace, name: route.metadata.name)
        removeContributions(of: source)
        let state = attach(route, validated: false)
        add(state, sorted: true)
        routes[source] = state
    }

    /// Removes one HTTPRoute; unknown names are ignored.
    public mutating func removeHTTPRoute(namespace: String, name: String) {
        let source = RouteSource(kind: HTTPRoute.kind, namespace: namespace, name: name)
        removeContributions(of: source)
        routes[source] = nil
    }

    private mutating func removeContributions(of source: RouteSource) {
        guard let old = routes[source] else { return }
        for (port, contribution) in old.contributions { ports[port]?.remove(contribution) }
    }

    private mutating func add(_ state: RouteState, sorted: Bool) {
        if state.contributions.count == 1, let (port, contribution) = state.contributions.first {
            var none: Set<Int>? = nil
            ports[port]?.add(contribution, sorted: sorted, skipping: &none)
            return
        }
        var touched: [GatewayPort: Set<Int>?] = [:]
        for (port, contribution) in state.contributions {
            ports[port]?.add(contribution, sorted: sorted, skipping: &touched[port, default: Set<Int>()])
        }
    }

    // MARK: - Attachment

    /// Judges every parentRef of a route, and collects the entries of its valid rules for every listener it
    /// attaches to, once per effective hostname (route hostnames intersected with the listener's).
    private func attach(_ route: HTTPRoute, validated: Bool) -> RouteState {
        let compiled = CompiledRoute(route, context: context, validate: !validated)
        var parents: [RouteParentReport] = []
        var contributions: [(port: GatewayPort, contribution: RouteContribution)] = []
        var seen = Set<ContributionKey>()
        var attached = Set<[String]>()
        let resolvedRefs =
            compiled.refProblems.first.map { first in
                StatusCondition(
                    type: "ResolvedRefs", status: false, reason: first.reason,
                    message: compiled.refProblems.map(\.message).joined(separator: "; "))
            }
            ?? StatusCondition(
                type: "ResolvedRefs", status: true, reason: "ResolvedRefs", message: "all references resolved")

        for parent in route.spec.parentRefs {
            let namespace = parent.namespace ?? route.metadata.namespace
            let key = "\(namespace)/\(parent.name)"
            let isGateway = parent.group == gatewayAPIGroup && parent.kind == Gateway.kind
            if isGateway && foreignGateways.contains(key) { continue }
            func report(
                _ accepted: Bool, _ reason: String, _ message: String, extra: [StatusCondition] = []
            )
                -> RouteParentReport
            {
                RouteParentReport(
                    parentRef: parent,
                    controllerName: gateways[key]?.controllerName ?? RoutingConfiguration.gatewayControllerName,
                    conditions: [StatusCondition(type: "Accepted", status: accepted, reason: reason, message: message)]
                        + extra + [resolvedRefs])
            }
            guard isGateway else {
                parents.append(report(false, "NoMatchingParent", "parentRef kind \(parent.kind) is not supported"))
                continue
            }
            guard let gateway = gateways[key] else {
                parents.append(report(false, "NoMatchingParent", "Gateway \(key) not found"))
                continue
            }
            let selected = gateway.listeners.filter {
                (parent.sectionName == nil || $0.listener.name == parent.sectionName)
                    && (parent.port == nil || $0.listener.port == parent.port)
            }
            guard !selected.isEmpty else {
                let wanted = [parent.sectionName.map { "named \($0)" }, parent.port.map { "on port \($0)" }]
                parents.append(
                    report(
                        false, "NoMatchingParent",
                        "Gateway \(key) has no listener \(wanted.compactMap { $0 }.joined(separator: " "))"))
                continue
            }
            let allowed = selected.filter {
                $0.servesHTTPRoutes && gateway.allows($0, routeNamespace: route.metadata.namespace, context: context)
            }
            guard !allowed.isEmpty else {
                parents.append(
                    report(
                        false, "NotAllowedByListeners",
                        "no selected listener of Gateway \(key) allows HTTPRoutes from namespace \(route.metadata.namespace)"
                    ))
                continue
            }
            let effective = allowed.map { listener in
                (listener, compiled.hostnames.compactMap { $0.intersection(listener.hostname) })
            }.filter { !$0.1.isEmpty }
            guard !effective.isEmpty else {
                parents.append(
                    report(
                        false, "NoMatchingListenerHostname",
                        "no hostname of the route intersects the hostnames of the listeners of Gateway \(key)"))
                continue
            }
            if compiled.isInvalid {
                let problems =
                    compiled.routeProblems
                    + compiled.droppedRules.keys.sorted().flatMap {
                        compiled.droppedRules[$0]!
                    }
                parents.append(
                    report(
                        false, compiled.hasIncompatibleFilters ? "IncompatibleFilters" : "UnsupportedValue",
                        "all rules are invalid: " + problems.joined(separator: "; ")))
                continue
            }
            var extra: [StatusCondition] = []
            if !compiled.droppedRules.isEmpty {
                let dropped = compiled.droppedRules.keys.sorted().map { index in
                    "rule \(index) (\(compiled.droppedRules[index]!.joined(separator: "; ")))"
                }
                extra.append(
                    StatusCondition(
                        type: "PartiallyInvalid", status: true, reason: "UnsupportedValue",
                        message: "Dropped Rule(s): " + dropped.joined(separator: ", ")))
            }
            parents.append(
                report(
                    true, "Accepted",
                    "attached to listener(s) " + effective.map(\.0.listener.name).joined(separator: ", "), extra: extra)
            )
            for (listener, hostnames) in effective {
                guard let slot = listenerSlots[key]?[listener.listener.name] else { continue }
                attached.insert([key, listener.listener.name])
                let port = GatewayPort(gateway: key, port: slot.port)
                for hostname in hostnames
                where seen.insert(ContributionKey(port: port, listener: slot.index, hostname: hostname)).inserted {
                    let entries = compiled.entries.map { $0.with(host: hostname.specificity) }
                        .sorted { $0.precedence < $1.precedence }
                    contributions.append(
                        (
                            port,
                            RouteContribution(
                                source: compiled.source, listener: slot.index, pattern: hostname, entries: entries)
                        ))
                }
            }
        }
        contributions.sort { $0.contribution.pattern.specificity > $1.contribution.pattern.specificity }
        return RouteState(
            report: HTTPRouteReport(namespace: route.metadata.namespace, name: route.metadata.name, parents: parents),
            contributions: contributions, attached: attached)
    }

    // MARK: - Status

    /// GatewayClass, Gateway, listener, HTTPRoute and Ingress status, sorted by namespace and name.
    public var status: RoutingStatus {
        var status = RoutingStatus()
        status.gatewayClasses = servedClasses.map { served in
            GatewayClassReport(
                name: served.name, controllerName: served.controllerName,
                conditions: [
                    StatusCondition(
                        type: "Accepted", status: true, reason: "Accepted",
                        message: "\(served.controllerName) is Sluice's")
                ])
        }
        var attachedCounts: [[String]: Int] = [:]
        for state in routes.values {
            for listener in state.attached { attachedCounts[listener, default: 0] += 1 }
        }
        for key in gateways.keys.sorted() {
            let served = gateways[key]!
            let listeners = served.listeners.map { listener in
                ListenerReport(
                    name: listener.listener.name, port: listener.listener.port, protocol: listener.listener.protocol,
                    hostname: listener.listener.hostname,
                    attachedRoutes: attachedCounts[[key, listener.listener.name]] ?? 0,
                    supportedKinds: listener.supportedKinds, conditions: listener.conditions)
            }
            let programmed = listeners.contains {
                $0.conditions.contains { $0.type == "Programmed" && $0.status == "True" }
            }
            status.gateways.append(
                GatewayReport(
                    namespace: served.gateway.metadata.namespace, name: served.gateway.metadata.name,
                    gatewayClassName: served.gateway.spec.gatewayClassName,
                    conditions: [
                        StatusCondition(
                            type: "Accepted", status: true, reason: "Accepted", message: "served by Sluice"),
                        StatusCondition(
                            type: "Programmed", status: programmed, reason: programmed ? "Programmed" : "Invalid",
                            message: programmed ? "programmed" : "no listener is programmed"),
                    ], listeners: listeners))
        }
        status.httpRoutes = routes.keys.sorted().map { routes[$0]!.report }.filter { !$0.parents.isEmpty }
        status.ingresses = ingress.reports
        return status
    }
}
