import GatewayRouting
import KubeAPI

/// Synthetic Gateway API input for measuring the route table: the routes, the requests, and what each request
/// must match.
///
/// `sluice-bench routing` (issue 9's figures) and the hidden `sluice route benchmark` both measure this one
/// workload, so their numbers describe the same table and the same request mix. It lives beside the harness, not
/// in `GatewayRouting`, because nothing but measurements needs it.
///
/// The cluster: one Gateway `bench/gateway` whose only listener (HTTP, port 80, no hostname) admits routes from
/// every namespace; Services `svc-0` … `svc-99` on port 8080; ``routes`` HTTPRoutes `route-N` spread round-robin
/// over ``hostnames`` precise hosts `host-(N % hostnames).example.com`; and ``wildcardRoutes`` routes `wildcard-J`
/// on `*.example.com` (numbered on from ``routes``, so their paths never collide with a precise route's). Every
/// route `N` has two rules:
///
/// - rule 0: `Exact /app-N/health` or `PathPrefix /app-N` → `svc-(N % 100)`;
/// - rule 1: `PathPrefix /app-N/beta` with header `x-canary: true` → `svc-(N % 100)` and `svc-((N + 1) % 100)`.
///
/// So one host key holds the entries of `routes / hostnames` precise routes plus every wildcard route, and a
/// lookup scans that list in precedence order: hostnames, Exact and PathPrefix paths and header conditions all
/// take part.
public struct RouteWorkload: Sendable {
    /// HTTPRoutes on precise hostnames.
    public let routes: Int
    /// Distinct precise hostnames those routes spread over.
    public let hostnames: Int

    /// Routes on `*.example.com`: their entries land in every precise host key beneath the wildcard, as a
    /// catch-all team route does in a real cluster.
    public static let wildcardRoutes = 10
    /// The Gateway port every route attaches to.
    public static let port = GatewayPort(gateway: "bench/gateway", port: 80)

    public init(routes: Int, hostnames: Int) {
        precondition(routes > 0 && hostnames > 0, "a workload needs routes and hostnames")
        self.routes = routes
        self.hostnames = hostnames
    }

    /// HTTPRoute objects in the input (precise and wildcard).
    public var routeCount: Int { routes + Self.wildcardRoutes }
    /// Rules over all routes (two per route).
    public var ruleCount: Int { routeCount * 2 }
    /// Match conditions over all rules (three per route: Exact, PathPrefix, PathPrefix + header).
    public var matchCount: Int { routeCount * 3 }
    /// The hostname keys a correct table holds: one per precise hostname in use, `*.example.com`, and the
    /// listener's catch-all (it has no hostname).
    public var expectedHostnameKeys: Int { min(hostnames, routes) + 2 }

    /// What a request must match: the route's name and rule index (all routes live in namespace `bench`).
    public struct ExpectedMatch: Hashable, Sendable, CustomStringConvertible {
        public var route: String
        public var rule: Int

        public var description: String { "bench/\(route) rule \(rule)" }
    }

    /// A request with the answer a correct table gives it; `expected == nil` means no route takes it (404).
    public struct Probe: Sendable {
        public var request: RouteRequest
        public var expected: ExpectedMatch?
    }

    // MARK: - Input

    /// The Gateway, its class, the Services and every HTTPRoute, as valid objects (what the loader would return).
    public func manifests() -> ManifestSet {
        var manifests = ManifestSet()
        manifests.gatewayClasses = [
            GatewayClass(
                metadata: ObjectMeta(name: "sluice"),
                spec: GatewayClassSpec(controllerName: RoutingConfiguration.gatewayControllerName))
        ]
        manifests.gateways = [
            Gateway(
                metadata: ObjectMeta(name: "gateway", namespace: "bench"),
                spec: GatewaySpec(
                    gatewayClassName: "sluice",
                    listeners: [
                        Listener(
                            name: "http", port: 80, protocol: "HTTP",
                            allowedRoutes: AllowedRoutes(namespaces: RouteNamespaces(from: .all)))
                    ]))
        ]
        manifests.services = (0..<100).map { index in
            Service(
                metadata: ObjectMeta(name: "svc-\(index)", namespace: "bench"),
                spec: ServiceSpec(clusterIP: "10.96.0.\(index + 1)", ports: [ServicePort(port: 8080)]))
        }
        manifests.httpRoutes = (0..<routes).map { route(preciseRouteName($0), hostname: preciseHost($0), index: $0) }
        manifests.httpRoutes += (0..<Self.wildcardRoutes).map {
            route(wildcardRouteName($0), hostname: "*.example.com", index: routes + $0)
        }
        return manifests
    }

    /// The name of precise route `index`.
    public func preciseRouteName(_ index: Int) -> String { "route-\(index)" }
    /// The name of wildcard route `index` (0 ..< ``wildcardRoutes``).
    public func wildcardRouteName(_ index: Int) -> String { "wildcard-\(index)" }

    private func preciseHost(_ index: Int) -> String { "host-\(index % hostnames).example.com" }

    private func route(_ name: String, hostname: String, index: Int) -> HTTPRoute {
        let backend = HTTPBackendRef(name: "svc-\(index % 100)", port: 8080)
        return HTTPRoute(
            metadata: ObjectMeta(name: name, namespace: "bench"),
            spec: HTTPRouteSpec(
                parentRefs: [ParentReference(name: "gateway")], hostnames: [hostname],
                rules: [
                    HTTPRouteRule(
                        matches: [
                            HTTPRouteMatch(path: HTTPPathMatch(type: .exact, value: "/app-\(index)/health")),
                            HTTPRouteMatch(path: HTTPPathMatch(type: .pathPrefix, value: "/app-\(index)")),
                        ], backendRefs: [backend]),
                    HTTPRouteRule(
                        matches: [
                            HTTPRouteMatch(
                                path: HTTPPathMatch(type: .pathPrefix, value: "/app-\(index)/beta"),
                                headers: [HTTPHeaderMatch(name: "x-canary", value: "true")])
                        ],
                        backendRefs: [backend, HTTPBackendRef(name: "svc-\((index + 1) % 100)", port: 8080)]),
                ]))
    }

    // MARK: - Requests

    /// `count` requests in a fixed mix, each with its expected match. Per 8 requests: 4 PathPrefix hits
    /// (`/app-N/api/items?page=2`), 1 Exact hit (`/app-N/health`), 1 header-qualified hit
    /// (`/app-N/beta/x` with `X-Canary: true`, rule 1), 1 path miss on a known host (`/missing/N`) and 1 unknown
    /// host (`unknown-N.example.org`, which also walks the wildcard probes to the catch-all). Hosts are written
    /// in mixed case with a port, as clients send them. Route indices are spread by a fixed multiplicative hash,
    /// so the sample is the same in every run.
    public func requests(count: Int) -> [Probe] {
        (0..<count).map { position in
            let index = (position &* 2_654_435_761) % routes
            let host = "Host-\(index % hostnames).example.com:80"
            let name = preciseRouteName(index)
            switch position % 8 {
            case 0:
                return Probe(
                    request: RouteRequest(host: host, path: "/app-\(index)/health"),
                    expected: ExpectedMatch(route: name, rule: 0))
            case 1:
                return Probe(
                    request: RouteRequest(
                        host: host, path: "/app-\(index)/beta/x", headers: [HTTPField(name: "X-Canary", value: "true")]
                    ),
                    expected: ExpectedMatch(route: name, rule: 1))
            case 2: return Probe(request: RouteRequest(host: host, path: "/missing/\(index)"), expected: nil)
            case 3: return Probe(request: RouteRequest(host: "unknown-\(index).example.org", path: "/"), expected: nil)
            default:
                return Probe(
                    request: RouteRequest(host: host, path: "/app-\(index)/api/items?page=2"),
                    expected: ExpectedMatch(route: name, rule: 0))
            }
        }
    }

    /// Requests that only route `index`'s own conditions take, with their expected match: its Exact path, a path
    /// under its prefix, its canary path with the header (rule 1) and without it (back to rule 0's prefix).
    /// Indices from ``routes`` on are the wildcard routes, asked for on a host no precise route names.
    public func ownRequests(ofRoute index: Int) -> [Probe] {
        let isWildcard = index >= routes
        let host = isWildcard ? "w-\(index).example.com" : preciseHost(index)
        let name = isWildcard ? wildcardRouteName(index - routes) : preciseRouteName(index)
        let canary = [HTTPField(name: "x-canary", value: "true")]
        return [
            Probe(
                request: RouteRequest(host: host, path: "/app-\(index)/health"), expected: .init(route: name, rule: 0)),
            Probe(request: RouteRequest(host: host, path: "/app-\(index)/v1"), expected: .init(route: name, rule: 0)),
            Probe(
                request: RouteRequest(host: host, path: "/app-\(index)/beta/x", headers: canary),
                expected: .init(route: name, rule: 1)),
            Probe(
                request: RouteRequest(host: host, path: "/app-\(index)/beta/x"), expected: .init(route: name, rule: 0)),
        ]
    }

    // MARK: - Verification

    /// Everything wrong with a compiled router for this workload (empty when it is right): every HTTPRoute
    /// accepted and attached to the listener, the expected number of hostname keys, and every route's own
    /// requests (``ownRequests(ofRoute:)``) answered by that route's expected rule. A figure measured on a table
    /// that fails this describes less work than the workload asks for. At most `limit` problems are listed.
    public func problems(in router: GatewayRouter, limit: Int = 10) -> [String] {
        var problems: [String] = []
        let status = router.status
        let accepted = status.httpRoutes.count { $0.parents.allSatisfy(\.isAccepted) && !$0.parents.isEmpty }
        if accepted != routeCount { problems.append("\(accepted) of \(routeCount) HTTPRoutes accepted") }
        let attached = status.gateways.flatMap(\.listeners).map(\.attachedRoutes).reduce(0, +)
        if attached != routeCount { problems.append("the listener counts \(attached) attached routes") }
        let table = router.table
        let keys = table.hostnameKeyCount(of: Self.port)
        if keys != expectedHostnameKeys { problems.append("\(keys) hostname keys, expected \(expectedHostnameKeys)") }
        for index in 0..<routeCount {
            for probe in ownRequests(ofRoute: index) {
                if let problem = mismatch(probe, in: table) { problems.append(problem) }
                if problems.count >= limit { return problems }
            }
        }
        return problems
    }

    /// Why `table` answers `probe` differently from its expectation, or `nil` when it answers as expected.
    public func mismatch(_ probe: Probe, in table: RouteTable) -> String? {
        let found = table.match(probe.request, on: Self.port)
        switch (found, probe.expected) {
        case (nil, nil): return nil
        case (let found?, let expected?)
        where found.route == RouteSource(kind: HTTPRoute.kind, namespace: "bench", name: expected.route)
            && found.rule == expected.rule:
            return nil
        default:
            let got = found.map { "\($0.route) rule \($0.rule.map(String.init) ?? "none")" } ?? "no match"
            return "\(probe.request.host)\(probe.request.path) matched \(got), "
                + "expected \(probe.expected?.description ?? "no match")"
        }
    }
}
