import KubeAPI

/// A Gateway whose class Sluice serves, with each listener judged once.
struct ServedGateway: Sendable {
    var gateway: Gateway
    /// The class's controller, written into route status as `controllerName`.
    var controllerName: String
    var listeners: [ServedListener]

    var key: String { gateway.namespacedName }

    init(_ gateway: Gateway, controllerName: String, context: ReferenceContext) {
        self.gateway = gateway
        self.controllerName = controllerName
        var listeners: [ServedListener] = []
        for listener in gateway.spec.listeners {
            listeners.append(ServedListener(listener, gateway: gateway, earlier: listeners, context: context))
        }
        self.listeners = listeners
    }

    /// Whether routes in `namespace` may attach to the listener (`allowedRoutes.namespaces`).
    func allows(_ listener: ServedListener, routeNamespace namespace: String, context: ReferenceContext) -> Bool {
        let allowed = listener.listener.allowedRoutes.namespaces
        switch allowed.from {
        case .all: return true
        case .same: return namespace == gateway.metadata.namespace
        case .selector: return allowed.selector?.matches(context.labels(ofNamespace: namespace)) ?? false
        case .unrecognized: return false
        }
    }
}

/// One listener and what Sluice makes of it.
struct ServedListener: Sendable {
    static let httpRouteKind = RouteGroupKind(kind: HTTPRoute.kind)

    var listener: Listener
    var hostname: HostnamePattern
    /// Whether HTTPRoutes may attach: an HTTP or HTTPS listener whose `allowedRoutes.kinds` (if any)
    /// include HTTPRoute, and which does not conflict with an earlier listener.
    var servesHTTPRoutes: Bool
    var conditions: [StatusCondition]
    var supportedKinds: [String]

    init(_ listener: Listener, gateway: Gateway, earlier: [ServedListener], context: ReferenceContext) {
        self.listener = listener
        let pattern = HostnamePattern(listener.hostname)
        hostname = pattern
        let isHTTP = listener.protocol == "HTTP" || listener.protocol == "HTTPS"
        let kinds = listener.allowedRoutes.kinds
        let kindsSupported = isHTTP && (kinds.isEmpty || kinds.contains(Self.httpRouteKind))
        supportedKinds = kindsSupported ? [HTTPRoute.kind] : []
        var conditions: [StatusCondition] = []

        let samePort = earlier.filter { $0.listener.port == listener.port }
        let conflict: StatusCondition? =
            if samePort.contains(where: { Self.family($0.listener.protocol) != Self.family(listener.protocol) }) {
                StatusCondition(
                    type: "Conflicted", status: true, reason: "ProtocolConflict",
                    message: "another listener on port \(listener.port) uses a different protocol")
            } else if samePort.contains(where: { $0.hostname == pattern && $0.listener.protocol == listener.protocol })
            {
                StatusCondition(
                    type: "Conflicted", status: true, reason: "HostnameConflict",
                    message: "an earlier listener on port \(listener.port) has hostname \(pattern)")
            } else {
                nil
            }
        conditions.append(
            conflict
                ?? StatusCondition(type: "Conflicted", status: false, reason: "NoConflicts", message: "no conflicts"))

        if !isHTTP {
            conditions.append(
                StatusCondition(
                    type: "Accepted", status: false, reason: "UnsupportedProtocol",
                    message: "protocol \(listener.protocol) is not served by Sluice's HTTP router"))
        } else {
            conditions.append(StatusCondition(type: "Accepted", status: true, reason: "Accepted", message: "accepted"))
        }
        var refsProblem: StatusCondition?
        if isHTTP && !kindsSupported {
            refsProblem = StatusCondition(
                type: "ResolvedRefs", status: false, reason: "InvalidRouteKinds",
                message: "allowedRoutes.kinds has no kind Sluice serves (HTTPRoute)")
        } else if listener.protocol == "HTTPS", let tls = listener.tls {
            refsProblem = Self.certificateProblem(tls, gateway: gateway, context: context)
        }
        conditions.append(
            refsProblem
                ?? StatusCondition(type: "ResolvedRefs", status: true, reason: "ResolvedRefs", message: "resolved"))
        let serves = isHTTP && kindsSupported && conflict == nil
        let programmed = serves && refsProblem == nil
        conditions.append(
            StatusCondition(
                type: "Programmed", status: programmed, reason: programmed ? "Programmed" : "Invalid",
                message: programmed ? "programmed" : "not programmed; see the other conditions"))
        self.conditions = conditions
        servesHTTPRoutes = serves
    }

    /// Protocols that can share a port: HTTP with HTTP, HTTPS/TLS with each other.
    private static func family(_ name: String) -> String {
        name == "HTTPS" || name == "TLS" ? "TLS" : name
    }

    private static func certificateProblem(
        _ tls: GatewayTLSConfig, gateway: Gateway, context: ReferenceContext
    )
        -> StatusCondition?
    {
        for reference in tls.certificateRefs {
            let namespace = reference.namespace ?? gateway.metadata.namespace
            let described = "\(namespace)/\(reference.name)"
            guard reference.group.isEmpty && reference.kind == Secret.kind else {
                return StatusCondition(
                    type: "ResolvedRefs", status: false, reason: "InvalidCertificateRef",
                    message: "certificateRef \(reference.kind) \(described) is not a core Secret")
            }
            if namespace != gateway.metadata.namespace
                && !context.isGranted(
                    from: gatewayAPIGroup, Gateway.kind, in: gateway.metadata.namespace, to: "", Secret.kind,
                    named: reference.name, in: namespace)
            {
                return StatusCondition(
                    type: "ResolvedRefs", status: false, reason: "RefNotPermitted",
                    message:
                        "certificateRef Secret \(described) is in another namespace and no ReferenceGrant allows it")
            }
            if context.secrets[described] == nil {
                return StatusCondition(
                    type: "ResolvedRefs", status: false, reason: "InvalidCertificateRef",
                    message: "certificateRef Secret \(described) not found")
            }
        }
        return nil
    }
}
