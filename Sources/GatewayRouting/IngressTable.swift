import KubeAPI

/// The compiled Ingresses of the served classes: host first, then path, then the default backend.
///
/// The Ingress API matches the host before the paths: a request whose Host equals a rule's host (or whose
/// Host minus its first label equals a wildcard's suffix: `*.foo.com` covers `bar.foo.com` but neither
/// `foo.com` nor `baz.bar.foo.com`) is routed by that host's paths only, merged over every served Ingress;
/// only requests for no listed host use the rules without host. A request that matches no path of its host
/// goes to the default backend (of the oldest Ingress that has one), else 404.
struct IngressTable: Sendable {
    private var exact = HostIndex()
    /// Keyed by the suffix after `*.`.
    private var wildcard = HostIndex()
    private var any: Int?
    private var lists: [IngressHost] = []
    private var defaultBackend: RouteAction?
    private(set) var reports: [IngressReport] = []

    struct IngressHost: Sendable {
        var entries: [RouteEntry] = []
        /// The TLS secret an Ingress lists for this host, recorded for the answer.
        var tlsSecret: String?
    }

    /// The annotation that named the class before `ingressClassName` existed; still widely written.
    static let legacyClassAnnotation = "kubernetes.io/ingress.class"

    init(ingresses: [Ingress], classes: [IngressClass], configuration: RoutingConfiguration, context: ReferenceContext)
    {
        let classesByName = Dictionary(classes.map { ($0.metadata.name, $0) }) { first, _ in first }
        let defaults = classes.filter(\.isDefaultClass).map(\.metadata.name)
        let ordered = ingresses.sorted {
            ($0.metadata.creationTimestamp ?? "~", $0.metadata.namespace, $0.metadata.name)
                < ($1.metadata.creationTimestamp ?? "~", $1.metadata.namespace, $1.metadata.name)
        }
        var tls: [(pattern: HostnamePattern, secret: String)] = []
        for ingress in ordered {
            let className =
                ingress.spec.ingressClassName ?? ingress.metadata.annotations[Self.legacyClassAnnotation]
                ?? (defaults.count == 1 ? defaults[0] : nil)
            let served: Bool
            let why: String
            if let wanted = configuration.ingressClassName {
                served = className == wanted
                why = "class \(className ?? "(none)") is not the requested class \(wanted)"
            } else if let className {
                if let ingressClass = classesByName[className] {
                    served = configuration.servesController(ingressClass.spec.controller)
                    why = "IngressClass \(className) belongs to controller \(ingressClass.spec.controller)"
                } else {
                    served = configuration.servesUndeclaredClasses || configuration.controllerNames == nil
                    why = "IngressClass \(className) does not exist"
                }
            } else {
                served =
                    defaults.isEmpty && (configuration.servesUndeclaredClasses || configuration.controllerNames == nil)
                why =
                    defaults.isEmpty
                    ? "no ingressClassName and no default IngressClass"
                    : "no ingressClassName and several default IngressClasses (\(defaults.joined(separator: ", ")))"
            }
            var conditions = [
                StatusCondition(
                    type: "Accepted", status: served, reason: served ? "Accepted" : "NotServed",
                    message: served ? "served by Sluice" : why)
            ]
            if served {
                var problems: [RefProblem] = []
                add(ingress, context: context, problems: &problems)
                for entry in ingress.spec.tls {
                    for host in entry.hosts { tls.append((HostnamePattern(host), entry.secretName ?? "")) }
                }
                conditions.append(
                    problems.first.map { first in
                        StatusCondition(
                            type: "ResolvedRefs", status: false, reason: first.reason,
                            message: problems.map(\.message).joined(separator: "; "))
                    }
                        ?? StatusCondition(
                            type: "ResolvedRefs", status: true, reason: "ResolvedRefs",
                            message: "all references resolved"))
            }
            reports.append(
                IngressReport(
                    namespace: ingress.metadata.namespace, name: ingress.metadata.name, ingressClassName: className,
                    conditions: conditions))
        }
        reports.sort { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        for index in lists.indices {
            lists[index].entries.sort { $0.precedence < $1.precedence }
        }
        for (key, slot) in exact.elements {
            lists[slot].tlsSecret = tls.first { HostnamePattern.exact(key).isCovered(by: $0.pattern) }?.secret
        }
        for (suffix, slot) in wildcard.elements {
            lists[slot].tlsSecret = tls.first { $0.pattern == .wildcard(suffix: suffix) }?.secret
        }
    }

    private mutating func add(_ ingress: Ingress, context: ReferenceContext, problems: inout [RefProblem]) {
        let source = RouteSource(kind: Ingress.kind, namespace: ingress.metadata.namespace, name: ingress.metadata.name)
        if let backend = ingress.spec.defaultBackend, defaultBackend == nil {
            defaultBackend = RouteAction(
                source: source, rule: nil, ruleName: nil, filters: [],
                backends: [Self.choice(backend, ingress: ingress, context: context, problems: &problems)])
        }
        for (ruleIndex, rule) in ingress.spec.rules.enumerated() {
            let slot = slot(for: HostnamePattern(rule.host))
            for (pathIndex, path) in (rule.http?.paths ?? []).enumerated() {
                let value = path.path ?? "/"
                let isExact = path.pathType == .exact
                // ImplementationSpecific is served as Prefix (documented in docs/routing.md).
                let condition: PathCondition = isExact ? .exact(Array(value.utf8)) : .prefix(value)
                let length: Int =
                    switch condition {
                    case .prefix(let bytes): bytes.count
                    default: value.utf8.count
                    }
                let action = RouteAction(
                    source: source, rule: ruleIndex, ruleName: nil, filters: [],
                    backends: [Self.choice(path.backend, ingress: ingress, context: context, problems: &problems)])
                let precedence = Precedence(
                    host: HostSpecificity(preciseCharacters: 0, characters: 0), pathRank: isExact ? 1 : 0,
                    pathLength: length, hasMethod: false, headerCount: 0, queryCount: 0,
                    created: ingress.metadata.creationTimestamp, source: source, rule: ruleIndex, match: pathIndex,
                    lengthBeforeRank: true)
                let conditions = MatchConditions(
                    path: condition, pathValue: value, method: nil, headers: [], queryParameters: [])
                lists[slot].entries.append(RouteEntry(conditions: conditions, precedence: precedence, action: action))
            }
        }
    }

    private mutating func slot(for pattern: HostnamePattern) -> Int {
        let existing: Int? =
            switch pattern {
            case .any: any
            case .exact(let name): exact[name]
            case .wildcard(let suffix): wildcard[suffix]
            }
        if let existing { return existing }
        lists.append(IngressHost())
        let slot = lists.count - 1
        switch pattern {
        case .any: any = slot
        case .exact(let name): exact[name] = slot
        case .wildcard(let suffix): wildcard[suffix] = slot
        }
        return slot
    }

    private static func choice(
        _ backend: IngressBackend, ingress: Ingress, context: ReferenceContext, problems: inout [RefProblem]
    ) -> BackendChoice {
        let result: Result<String, RefProblem>
        if let service = backend.service {
            let port: ServicePortSelector =
                service.port.name.map { .name($0) } ?? .number(service.port.number ?? 0)
            result = context.resolveService(namespace: ingress.metadata.namespace, name: service.name, port: port)
        } else {
            let kind = backend.resource?.kind ?? "?"
            result = .failure(
                RefProblem(
                    reason: "InvalidKind", message: "resource backend \(kind) is not supported: only Services are"))
        }
        switch result {
        case .success(let target): return BackendChoice(target: target, weight: 1, filters: [])
        case .failure(let problem):
            problems.append(problem)
            return BackendChoice(target: nil, weight: 1, filters: [])
        }
    }

    /// The entry (or default backend) for a request, and the host's TLS secret.
    func match(_ request: RouteRequest) -> (action: RouteAction, entry: RouteEntry?, tlsSecret: String?)? {
        var host = request.host
        var path = request.path
        let slot: Int? = host.withUTF8 { header in
            let host = HostHeader.hostPart(header)
            if let slot = exact[host] { return slot }
            if let dot = host.firstIndex(of: UInt8(ascii: ".")),
                let slot = wildcard[UnsafeBufferPointer(rebasing: host[(dot + 1)...])]
            {
                return slot
            }
            return any
        }
        guard let slot else { return defaultBackend.map { ($0, nil, nil) } }
        let list = lists[slot]
        let entry = path.withUTF8 { bytes in
            let end = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.count
            let pathOnly = UnsafeBufferPointer(rebasing: bytes[0..<end])
            return list.entries.first { $0.conditions.matches(request, path: pathOnly) }
        }
        if let entry { return (entry.action, entry, list.tlsSecret) }
        return defaultBackend.map { ($0, nil, list.tlsSecret) }
    }
}
