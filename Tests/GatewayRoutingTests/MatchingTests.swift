import GatewayRouting
import Testing

/// Path, header, query and method matching, and the precedence between matches across routes.
@Suite struct MatchingTests {
    /// PathPrefix is element-wise and ignores a trailing slash; Exact is exact (HTTPRoute PathMatchType docs).
    @Test(arguments: [
        ("PathPrefix", "/abc", "/abc", true), ("PathPrefix", "/abc", "/abc/", true),
        ("PathPrefix", "/abc", "/abc/def", true), ("PathPrefix", "/abc", "/abcd", false),
        ("PathPrefix", "/abc/", "/abc", true), ("PathPrefix", "/abc/", "/abc/def", true),
        ("PathPrefix", "/", "/anything", true), ("PathPrefix", "/abc", "/ABC", false),
        ("PathPrefix", "/abc", "/abc?x=/abcd", true),
        ("Exact", "/abc", "/abc", true), ("Exact", "/abc", "/abc/", false), ("Exact", "/abc", "/Abc", false),
        ("Exact", "/abc", "/abcd", false), ("Exact", "/abc", "/abc?q=1", true),
        ("RegularExpression", "/v[0-9]+/.*", "/v2/users", true),
        ("RegularExpression", "/v[0-9]+/.*", "/x/v2/users", false),
        ("RegularExpression", "/a|/ab", "/ab", true),
    ])
    func pathMatch(type: String, value: String, path: String, matches: Bool) {
        let routes = router(
            route(
                "r",
                rules:
                    "- matches: [{path: {type: \(type), value: \"\(value)\"}}]\n  backendRefs: [{name: v1, port: 8080}]"
            ))
        #expect(ask(routes, path: path).status == (matches ? 200 : 404))
    }

    static let pathOrder = route(
        "path-matching-order",
        rules: """
            - matches: [{path: {type: Exact, value: /match}}]
              backendRefs: [{name: v1, port: 8080}]
            - matches: [{path: {type: Exact, value: /match/exact}}]
              backendRefs: [{name: v2, port: 8080}]
            - matches: [{path: {type: Exact, value: /match/exact/one}}]
              backendRefs: [{name: v3, port: 8080}]
            - matches: [{path: {type: PathPrefix, value: /match/}}]
              backendRefs: [{name: v3, port: 8080}]
            - matches: [{path: {type: PathPrefix, value: /match/prefix/}}]
              backendRefs: [{name: v1, port: 8080}]
            - matches: [{path: {type: PathPrefix, value: /match/prefix/one}}]
              backendRefs: [{name: v2, port: 8080}]
            """)

    /// The HTTPRoutePathMatchOrder conformance cases: Exact first, then the longest prefix.
    @Test(arguments: [
        ("/match", "infra/v1:8080"), ("/match/exact", "infra/v2:8080"), ("/match/exact/one", "infra/v3:8080"),
        ("/match/", "infra/v3:8080"), ("/match/exact/two", "infra/v3:8080"), ("/match/prefix", "infra/v1:8080"),
        ("/match/prefix/", "infra/v1:8080"), ("/match/prefix/one", "infra/v2:8080"),
        ("/match/prefix/one/two", "infra/v2:8080"), ("/match/prefix/two", "infra/v1:8080"),
    ])
    func pathMatchOrder(path: String, backend: String) {
        #expect(ask(router(Self.pathOrder), path: path).backend == backend)
    }

    static let acrossRoutes =
        route(
            "matching-part1", hostnames: ["example.com", "example.net"],
            rules: """
                - matches: [{path: {type: PathPrefix, value: /}}, {headers: [{name: version, value: one}]}]
                  backendRefs: [{name: v1, port: 8080}]
                """) + "---\n"
        + route(
            "matching-part2", hostnames: ["example.com"],
            rules: """
                - matches: [{path: {type: PathPrefix, value: /v2}}, {headers: [{name: version, value: two}]}]
                  backendRefs: [{name: v2, port: 8080}]
                """)

    /// HTTPRouteMatchingAcrossRoutes: matches of different routes compete on one precedence order.
    @Test(
        arguments: [
            ("example.com", "/", [:], "infra/v1:8080"), ("example.com", "/example", [:], "infra/v1:8080"),
            ("example.net", "/example", [:], "infra/v1:8080"),
            ("example.com", "/example", ["Version": "one"], "infra/v1:8080"),
            ("example.com", "/v2", [:], "infra/v2:8080"), ("example.net", "/v2", [:], "infra/v1:8080"),
            ("example.com", "/v2/example", [:], "infra/v2:8080"),
            ("example.com", "/", ["Version": "two"], "infra/v2:8080"),
        ] as [(String, String, [String: String], String)])
    func matchingAcrossRoutes(host: String, path: String, headers: [String: String], backend: String) {
        #expect(ask(router(Self.acrossRoutes), host: host, path: path, headers: headers).backend == backend)
    }

    static let conditions = route(
        "conditions",
        rules: """
            - matches: [{path: {type: PathPrefix, value: /}, headers: [{name: version, value: one}]}]
              backendRefs: [{name: v1, port: 8080}]
            - matches: [{headers: [{name: version, value: two}, {name: color, value: orange}]}]
              backendRefs: [{name: v2, port: 8080}]
            - matches: [{headers: [{name: color, type: RegularExpression, value: "gr(e|a)y"}]}]
              backendRefs: [{name: v3, port: 8080}]
            - matches: [{path: {value: /q}, queryParams: [{name: animal, value: whale}]}]
              backendRefs: [{name: v1, port: 8080}]
            - matches: [{path: {value: /q}, queryParams: [{name: animal, value: whale}, {name: color, value: blue}]}]
              backendRefs: [{name: v2, port: 8080}]
            - matches: [{path: {value: /m}, method: POST}]
              backendRefs: [{name: v3, port: 8080}]
            - matches: [{path: {value: /m}}]
              backendRefs: [{name: v1, port: 8080}]
            """)

    /// Headers (names case-insensitive, values exact or regex), query parameters (first value, decoded),
    /// methods; conditions of one match are ANDed, and more conditions win.
    @Test(
        arguments: [
            ("GET", "/", ["version": "one"], "infra/v1:8080"), ("GET", "/", ["VERSION": "one"], "infra/v1:8080"),
            ("GET", "/", ["version": "One"], nil),
            ("GET", "/", ["version": "two"], nil),
            ("GET", "/", ["version": "two", "Color": "orange"], "infra/v2:8080"),
            ("GET", "/", ["color": "grey"], "infra/v3:8080"), ("GET", "/", ["color": "gray"], "infra/v3:8080"),
            ("GET", "/", ["color": "greyish"], nil),
            ("GET", "/q?animal=whale", [:], "infra/v1:8080"),
            ("GET", "/q?animal=whale&color=blue", [:], "infra/v2:8080"),
            ("GET", "/q?color=blue&animal=whale", [:], "infra/v2:8080"),
            ("GET", "/q?animal=dolphin&animal=whale", [:], nil),
            ("GET", "/q?animal=wh%61le", [:], "infra/v1:8080"),
            ("GET", "/q?ANIMAL=whale", [:], nil),
            ("POST", "/m", [:], "infra/v3:8080"), ("GET", "/m", [:], "infra/v1:8080"),
        ] as [(String, String, [String: String], String?)])
    func conditionsAreANDed(method: String, path: String, headers: [String: String], backend: String?) {
        let answer = ask(router(Self.conditions), path: path, method: method, headers: headers)
        #expect(answer.backend == backend)
    }

    /// Hostname specificity comes first across routes: the precise hostname, then the longer wildcard.
    @Test(arguments: [
        ("foo.example.com", "/", "infra/v1:8080"), ("bar.foo.example.com", "/", "infra/v2:8080"),
        ("bar.example.com", "/", "infra/v3:8080"),
        // The precise route's default "/" still beats the wildcard route's Exact match: hostname goes first.
        ("foo.example.com", "/only-wildcard", "infra/v1:8080"),
    ])
    func hostnameSpecificityFirst(host: String, path: String, backend: String) {
        let routes = router(
            route("precise", hostnames: ["foo.example.com"], rules: "- backendRefs: [{name: v1, port: 8080}]")
                + "---\n"
                + route(
                    "long-wildcard", hostnames: ["*.foo.example.com"], rules: "- backendRefs: [{name: v2, port: 8080}]")
                + "---\n"
                + route(
                    "short-wildcard", hostnames: ["*.example.com"],
                    rules: """
                        - matches: [{path: {type: Exact, value: /only-wildcard}}, {path: {type: PathPrefix, value: /}}]
                          backendRefs: [{name: v3, port: 8080}]
                        """))
        #expect(ask(routes, host: host, path: path).backend == backend)
    }

    /// Equal matches: the oldest route wins, then namespace/name, then the first rule.
    @Test func tiesGoToTheOldestRouteThenName() {
        func timed(_ name: String, _ created: String?, _ backend: String) -> String {
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: \(name), namespace: infra\(created.map { ", creationTimestamp: \"\($0)\"" } ?? "")}
            spec:
              parentRefs: [{name: same-namespace}]
              rules:
              - matches: [{path: {type: PathPrefix, value: /tie}}]
                backendRefs: [{name: \(backend), port: 8080}]
              - matches: [{path: {type: PathPrefix, value: /tie}}]
                backendRefs: [{name: v3, port: 8080}]

            """
        }
        let byAge = router(
            timed("a-newer", "2024-02-01T00:00:00Z", "v1") + "---\n" + timed("z-older", "2024-01-01T00:00:00Z", "v2"))
        #expect(ask(byAge, path: "/tie").backend == "infra/v2:8080")
        let byName = router(timed("b", nil, "v1") + "---\n" + timed("a", nil, "v2"))
        #expect(ask(byName, path: "/tie").route == "infra/a")
        #expect(ask(byName, path: "/tie").rule == 0)
    }

    /// Sluice's RegularExpression precedence: after Exact, before every PathPrefix.
    @Test func regularExpressionSitsBetweenExactAndPrefix() {
        let routes = router(
            route(
                "r",
                rules: """
                    - matches: [{path: {type: PathPrefix, value: /api/v1/users}}]
                      backendRefs: [{name: v1, port: 8080}]
                    - matches: [{path: {type: RegularExpression, value: "/api/v[0-9]+/.*"}}]
                      backendRefs: [{name: v2, port: 8080}]
                    - matches: [{path: {type: Exact, value: /api/v1/users}}]
                      backendRefs: [{name: v3, port: 8080}]
                    """))
        #expect(ask(routes, path: "/api/v1/users").backend == "infra/v3:8080")
        #expect(ask(routes, path: "/api/v1/users/7").backend == "infra/v2:8080")
        #expect(ask(routes, path: "/api/vX/users").status == 404)
    }
}
