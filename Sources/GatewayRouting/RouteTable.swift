import KubeAPI

/// The compiled routing state a data plane serves from: per Gateway port, hostname keys with their ordered
/// entries; and the served Ingresses. A value: keep one while the router compiles the next.
public struct RouteTable: Sendable {
    private let ports: [GatewayPort: PortRoutes]
    private let ingress: IngressTable

    init(ports: [GatewayPort: PortRoutes], ingress: IngressTable) {
        self.ports = ports
        self.ingress = ingress
    }

    /// The Gateway ports with at least one listener that serves HTTP routes.
    public var gatewayPorts: [GatewayPort] { ports.keys.sorted { ($0.gateway, $0.port) < ($1.gateway, $1.port) } }

    /// The number of hostname keys of a port (listener and route hostnames), for measurements.
    public func hostnameKeyCount(of port: GatewayPort) -> Int { ports[port]?.keyCount ?? 0 }

    /// The hot path: the matched route, rule and listener for a request on a Gateway port, without applying
    /// filters. `nil` means 404.
    public func match(_ request: RouteRequest, on port: GatewayPort) -> RouteMatch? {
        guard let found = ports[port]?.match(request) else { return nil }
        return RouteMatch(entry: found.entry, listener: found.listener)
    }

    /// What happens to a request on a Gateway port: match, filters, redirect, backend choice.
    public func answer(
        _ request: RouteRequest, on port: GatewayPort, backendResponseHeaders: [HTTPField] = []
    )
        -> RouteAnswer
    {
        guard let routes = ports[port] else {
            return .notFound("Gateway \(port.gateway) has no served HTTP or HTTPS listener on port \(port.port)")
        }
        guard let found = routes.match(request) else {
            var host = request.host
            let hasListener = host.withUTF8 { routes.slot(forHost: $0) } != nil
            return .notFound(
                hasListener
                    ? "no rule of the routes attached to the listener matches"
                    : "no listener on port \(port.port) accepts host \(HostHeader.host(of: request.host))")
        }
        var evaluation = Evaluation(
            request: request, action: found.entry.action, entry: found.entry,
            backendResponseHeaders: backendResponseHeaders)
        evaluation.listener = found.listener
        evaluation.answer.listener = found.listener.name
        return evaluation.run()
    }

    /// What happens to a request sent to the served Ingresses.
    public func answerIngress(_ request: RouteRequest, backendResponseHeaders: [HTTPField] = []) -> RouteAnswer {
        guard let found = ingress.match(request) else {
            return .notFound("no Ingress rule matches and no Ingress has a default backend")
        }
        var evaluation = Evaluation(
            request: request, action: found.action, entry: found.entry, backendResponseHeaders: backendResponseHeaders)
        evaluation.answer.tlsSecret = found.tlsSecret
        if found.entry == nil { evaluation.answer.reason = "no rule matches: the default backend" }
        return evaluation.run()
    }
}

/// The hot path's result: which rule of which route took the request.
public struct RouteMatch: Sendable {
    let entry: RouteEntry
    let listener: ListenerSlot

    public var route: RouteSource { entry.action.source }
    public var rule: Int? { entry.action.rule }
    public var listenerName: String { listener.name }
}

/// Applies a matched rule to a request: the rule's filters in order, then the backend choice and the chosen
/// backend's own filters.
private struct Evaluation {
    let request: RouteRequest
    let action: RouteAction
    /// The PathPrefix value that matched, which `ReplacePrefixMatch` replaces.
    let matchedPrefix: String?
    let backendResponseHeaders: [HTTPField]
    /// The listener's port and protocol, which redirects without port or scheme fall back to.
    var listener: ListenerSlot?
    var answer: RouteAnswer

    private var headers: [HTTPField]
    private var target: String
    private var host: String
    private var responseModifiers: [(set: [HTTPField], add: [HTTPField], remove: [String])] = []
    private var redirect: HTTPRequestRedirectFilter?
    private var failure: String?

    init(request: RouteRequest, action: RouteAction, entry: RouteEntry?, backendResponseHeaders: [HTTPField]) {
        self.request = request
        self.action = action
        if let entry, case .prefix = entry.conditions.path {
            matchedPrefix = entry.conditions.pathValue
        } else {
            matchedPrefix = nil
        }
        self.backendResponseHeaders = backendResponseHeaders
        headers = request.headers
        target = request.path
        host = request.host
        answer = RouteAnswer(
            status: 200, backend: nil, backends: [], route: action.source.description, routeKind: action.source.kind,
            rule: action.rule, ruleName: action.ruleName, listener: nil, redirect: nil, path: nil, host: nil,
            requestHeaders: nil, responseHeaders: [:], mirrors: [], tlsSecret: nil, reason: "forwarded")
    }

    /// The scheme the client used: as given, else the listener's protocol.
    private var scheme: String {
        request.scheme ?? (listener?.protocol == "HTTPS" ? "https" : "http")
    }

    private var query: String {
        request.query.map { "?" + $0 } ?? ""
    }

    private mutating func apply(_ filters: [CompiledFilter]) {
        for filter in filters {
            switch filter {
            case .requestHeaders(let set, let add, let remove):
                headers.apply(set: set, add: add, remove: remove)
            case .responseHeaders(let set, let add, let remove):
                responseModifiers.append((set, add, remove))
            case .redirect(let filter):
                redirect = filter
            case .rewrite(let rewrite):
                if let hostname = rewrite.hostname { host = hostname }
                if let modifier = rewrite.path {
                    target =
                        PathRewrite.apply(modifier, to: String(request.pathOnly), matchedPrefix: matchedPrefix) + query
                }
            case .mirror(let backend, let percent):
                if let backend { answer.mirrors.append(RouteAnswer.Mirror(backend: backend, percent: percent)) }
            case .unsupported(let reason):
                failure = failure ?? reason
            }
        }
    }

    private func responseHeaders(_ initial: [HTTPField]) -> [String: String] {
        var fields = initial
        for modifier in responseModifiers {
            fields.apply(set: modifier.set, add: modifier.add, remove: modifier.remove)
        }
        return fields.dictionary
    }

    private mutating func fail(_ reason: String) -> RouteAnswer {
        answer.status = 500
        answer.backend = nil
        answer.reason = reason
        answer.responseHeaders = responseHeaders([])
        return answer
    }

    /// The spec's redirect: absent scheme and hostname keep the request's; an absent port is the scheme's
    /// well-known port when the filter sets a scheme, else the listener's port; the Location leaves out 80
    /// for http and 443 for https.
    private mutating func redirected(_ filter: HTTPRequestRedirectFilter) -> RouteAnswer {
        let scheme = filter.scheme ?? self.scheme
        let hostname = filter.hostname ?? HostHeader.host(of: request.host)
        let port =
            filter.port
            ?? (filter.scheme != nil ? Self.wellKnownPort(scheme) : listener?.port ?? Self.wellKnownPort(scheme))
        let path = PathRewrite.apply(filter.path, to: String(request.pathOnly), matchedPrefix: matchedPrefix)
        let authority = port == Self.wellKnownPort(scheme) ? hostname : "\(hostname):\(port)"
        let location = "\(scheme)://\(authority)\(path)\(query)"
        answer.status = filter.statusCode
        answer.redirect = RouteAnswer.Redirect(
            location: location, scheme: scheme, host: hostname, port: port, path: path)
        answer.reason = "redirected"
        answer.responseHeaders = responseHeaders([HTTPField(name: "Location", value: location)])
        return answer
    }

    private static func wellKnownPort(_ scheme: String) -> Int { scheme == "https" ? 443 : 80 }

    mutating func run() -> RouteAnswer {
        apply(action.filters)
        if let failure { return fail(failure) }
        if let redirect { return redirected(redirect) }
        let candidates = action.backends.filter { $0.weight > 0 }
        answer.backends = candidates.map { RouteAnswer.WeightedBackend(backend: $0.target, weight: $0.weight) }
        let chosen = candidates.reduce(nil as BackendChoice?) { best, candidate in
            guard let best, best.weight >= candidate.weight else { return candidate }
            return best
        }
        guard let chosen else {
            return fail(action.backends.isEmpty ? "the rule has no backendRefs" : "every backendRef has weight 0")
        }
        guard let backend = chosen.target else {
            return fail("the chosen backendRef is invalid (see the route's ResolvedRefs condition)")
        }
        apply(chosen.filters)
        if let failure { return fail(failure) }
        if let redirect { return redirected(redirect) }
        answer.backend = backend
        answer.path = target
        answer.host = host
        answer.requestHeaders = headers.dictionary
        answer.responseHeaders = responseHeaders(backendResponseHeaders)
        return answer
    }
}
