import GatewayRouting
import KubeAPI
import Testing

/// Applying and removing HTTPRoutes one at a time gives the same answers as compiling from scratch.
@Suite struct IncrementalTests {
    static let routes: [String] = [
        route(
            "exact", hostnames: ["a.example.com"],
            rules: "- matches: [{path: {value: /a}}]\n  backendRefs: [{name: v1, port: 8080}]"),
        route(
            "wild", hostnames: ["*.example.com"],
            rules: "- matches: [{path: {value: /}}]\n  backendRefs: [{name: v2, port: 8080}]"),
        route(
            "deep", hostnames: ["*.b.example.com"],
            rules: "- matches: [{path: {value: /b}}]\n  backendRefs: [{name: v3, port: 8080}]"),
        route("any", rules: "- matches: [{path: {type: Exact, value: /any}}]\n  backendRefs: [{name: v1, port: 8080}]"),
        route(
            "new-host", hostnames: ["x.b.example.com", "a.example.com"],
            rules: "- matches: [{path: {value: /x}}]\n  backendRefs: [{name: v3, port: 8080}]"),
    ]

    static let requests: [(String, String)] = [
        ("a.example.com", "/a"), ("a.example.com", "/"), ("a.example.com", "/x"), ("q.b.example.com", "/b"),
        ("x.b.example.com", "/x"), ("x.b.example.com", "/b"), ("x.b.example.com", "/any"), ("other.org", "/any"),
        ("z.example.com", "/b"), ("a.example.com", "/any"),
    ]

    static func answers(_ router: GatewayRouter) -> [String] {
        requests.map { host, path in
            let answer = ask(router, host: host, path: path)
            return "\(answer.status) \(answer.route ?? "-") \(answer.backend ?? "-")"
        }
    }

    static func parsed(_ yaml: String) -> HTTPRoute { manifests(yaml).httpRoutes[0] }

    /// Every prefix of every order of adding, and removals, must equal the full compile of what is left.
    @Test(arguments: [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 4, 0, 3, 1], [1, 4, 2, 0, 3]])
    func incrementalEqualsFullCompile(order: [Int]) {
        var incremental = router("")
        var present: [Int] = []
        for index in order {
            incremental.apply(Self.parsed(Self.routes[index]))
            present.append(index)
            let full = router(present.map { Self.routes[$0] }.joined(separator: "---\n"))
            #expect(Self.answers(incremental) == Self.answers(full), "after adding \(present)")
        }
        for index in order.reversed().dropLast() {
            let route = Self.parsed(Self.routes[index])
            incremental.removeHTTPRoute(namespace: route.metadata.namespace, name: route.metadata.name)
            present.removeAll { $0 == index }
            let full = router(present.map { Self.routes[$0] }.joined(separator: "---\n"))
            #expect(Self.answers(incremental) == Self.answers(full), "after removing down to \(present)")
        }
    }

    /// A table handed to the data plane keeps answering from its own state while the router changes.
    @Test func tablesAreSnapshots() {
        var routes = router(Self.routes[0])
        let before = routes.table
        routes.removeHTTPRoute(namespace: "infra", name: "exact")
        let request = RouteRequest(host: "a.example.com", path: "/a")
        let port = GatewayPort(gateway: "infra/same-namespace", port: 80)
        #expect(before.match(request, on: port)?.route.name == "exact")
        #expect(routes.table.match(request, on: port) == nil)
    }
}
