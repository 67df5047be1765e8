import ArgumentParser
import Foundation
import GatewayRouting
import KubeAPI

/// `sluice route benchmark` (hidden): measures the route table on synthetic input — compile time, matches per
/// second on one core, and the cost of changing one route. Numbers are printed, never asserted; build with
/// `-c release` for meaningful figures.
struct RouteBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Measure route compilation, matching and incremental updates on synthetic routes.",
        shouldDisplay: false)

    @Option(help: "HTTPRoutes to generate.")
    var routes = 10_000

    @Option(help: "Distinct hostnames the routes spread over.")
    var hostnames = 1_000

    @Option(help: "Requests to match per measurement.")
    var requests = 2_000_000

    @Option(help: "Repetitions of each measurement; the best is reported.")
    var repetitions = 5

    func validate() throws {
        guard routes > 0, hostnames > 0, requests > 0, repetitions > 0 else {
            throw ValidationError("all counts must be positive")
        }
    }

    func run() throws {
        let manifests = Self.manifests(routes: routes, hostnames: hostnames)
        let clock = ContinuousClock()
        func best(_ body: () -> Void) -> Duration {
            (0..<repetitions).map { _ in clock.measure(body) }.min()!
        }
        func milliseconds(_ duration: Duration) -> String {
            String(
                format: "%.2f ms",
                Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1e3)
        }
        func microseconds(_ duration: Duration) -> String {
            String(
                format: "%.1f µs",
                Double(duration.components.attoseconds) / 1e12 + Double(duration.components.seconds) * 1e6)
        }

        var built: [GatewayRouter] = []
        built.reserveCapacity(repetitions)
        // Only construction is timed; the routers are released afterwards.
        let compile = best { built.append(GatewayRouter(manifests)) }
        let router = built[0]
        built = []
        let port = GatewayPort(gateway: "bench/gateway", port: 80)
        let table = router.table
        print(
            "input: \(routes) HTTPRoutes over \(hostnames) hostnames (+10 wildcard routes), \(table.hostnameKeyCount(of: port)) hostname keys"
        )
        print("compile (full, from loaded manifests): \(milliseconds(compile))")

        let sample = Self.requests(routes: routes, hostnames: hostnames, count: 4096)
        var matched = 0
        let matching = best {
            matched = 0
            for index in 0..<requests where table.match(sample[index & 4095], on: port) != nil { matched += 1 }
        }
        let seconds = Double(matching.components.seconds) + Double(matching.components.attoseconds) / 1e18
        print(
            String(
                format: "match (hot path, one core): %.2f M requests/s (%.0f ns/request, %d of %d matched)",
                Double(requests) / seconds / 1e6, seconds * 1e9 / Double(requests), matched, requests))

        let answers = min(requests, 200_000)
        let answering = best {
            for index in 0..<answers { _ = table.answer(sample[index & 4095], on: port) }
        }
        let answerSeconds = Double(answering.components.seconds) + Double(answering.components.attoseconds) / 1e18
        print(
            String(
                format: "answer (match + filters + JSON-ready result): %.2f M requests/s",
                Double(answers) / answerSeconds / 1e6))

        let precise = manifests.httpRoutes[routes / 2]
        let wildcard = manifests.httpRoutes.first { $0.spec.hostnames.first?.hasPrefix("*.") == true }!
        for (label, route) in [("a route with one precise hostname", precise), ("a *.example.com route", wildcard)] {
            var changed = route
            changed.spec.rules[0].matches[0].path.value += "-v2"
            var updating = router
            let unshared = best {
                updating.apply(changed)
                updating.apply(route)
            }
            var snapshots: [RouteTable] = []
            let shared = best {
                snapshots.append(updating.table)
                updating.apply(changed)
                snapshots.append(updating.table)
                updating.apply(route)
            }
            print(
                "change \(label): \(microseconds(unshared / 2)) per update; "
                    + "\(microseconds(shared / 2)) while the data plane holds the previous table")
        }
    }

    /// One Gateway, `hostnames` hosts `host-N.example.com`, and `routes` HTTPRoutes spread over them, each with
    /// an Exact, a PathPrefix and a header-qualified PathPrefix match; plus 10 `*.example.com` routes.
    static func manifests(routes: Int, hostnames: Int) -> ManifestSet {
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
        func route(_ name: String, hostname: String, index: Int) -> HTTPRoute {
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
        manifests.httpRoutes = (0..<routes).map {
            route("route-\($0)", hostname: "host-\($0 % hostnames).example.com", index: $0)
        }
        manifests.httpRoutes += (0..<10).map { route("wildcard-\($0)", hostname: "*.example.com", index: routes + $0) }
        return manifests
    }

    /// Requests that hit the generated routes (most), their canary rules, and misses, in a fixed mix.
    static func requests(routes: Int, hostnames: Int, count: Int) -> [RouteRequest] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { position in
            let index = Int.random(in: 0..<routes, using: &generator)
            let host = "Host-\(index % hostnames).example.com:80"
            switch position % 8 {
            case 0: return RouteRequest(host: host, path: "/app-\(index)/health")
            case 1:
                return RouteRequest(
                    host: host, path: "/app-\(index)/beta/x", headers: [HTTPField(name: "X-Canary", value: "true")])
            case 2: return RouteRequest(host: host, path: "/missing/\(index)")
            case 3: return RouteRequest(host: "unknown-\(index).example.org", path: "/")
            default: return RouteRequest(host: host, path: "/app-\(index)/api/items?page=2")
            }
        }
    }
}
