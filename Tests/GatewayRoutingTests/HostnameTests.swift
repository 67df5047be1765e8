import GatewayRouting
import Testing

/// Listener and route hostnames: wildcard suffix matching, intersection, and which hosts reach which route
/// (cases from the HTTPRoute `hostnames` API comments and the HTTPRouteHostnameIntersection conformance test).
@Suite struct HostnameTests {
    @Test(
        arguments: [
            // Listener test.example.com accepts routes with no hostname, test.example.com or *.example.com.
            ("test.example.com", "test.example.com", "test.example.com"),
            ("test.example.com", "*.example.com", "test.example.com"),
            ("test.example.com", "other.example.com", nil),
            // Listener *.example.com accepts *.example.com, test.example.com and foo.test.example.com …
            ("*.example.com", "*.example.com", "*.example.com"),
            ("*.example.com", "test.example.com", "test.example.com"),
            ("*.example.com", "foo.test.example.com", "foo.test.example.com"),
            ("*.example.com", "*.test.example.com", "*.test.example.com"),
            // … but not example.com or test.example.net.
            ("*.example.com", "example.com", nil),
            ("*.example.com", "test.example.net", nil),
            ("*.example.com", "*.com", "*.example.com"),
            ("*", "Foo.Example.com", "foo.example.com"),
        ] as [(String, String, String?)])
    func intersection(listener: String, route: String, expected: String?) {
        let listenerPattern = listener == "*" ? HostnamePattern(nil) : HostnamePattern(listener)
        #expect(HostnamePattern(route).intersection(listenerPattern)?.description == expected)
    }

    @Test(arguments: [
        ("*.example.com", "test.example.com", true),
        ("*.example.com", "foo.test.example.com", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "badexample.com", false),
        ("example.com", "example.com", true),
        ("example.com", "www.example.com", false),
    ])
    func wildcardIsASuffixMatch(pattern: String, host: String, matches: Bool) {
        #expect(HostnamePattern(pattern).matches(host: host) == matches)
    }

    static let intersectionManifests = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: intersection, namespace: infra}
        spec:
          gatewayClassName: sluice
          listeners:
          - {name: listener-1, port: 80, protocol: HTTP, hostname: very.specific.com}
          - {name: listener-2, port: 80, protocol: HTTP, hostname: "*.wildcard.io"}
          - {name: listener-3, port: 80, protocol: HTTP, hostname: "*.anotherwildcard.io"}
        ---

        """
        + route(
            "specific-host-matches-listener-specific-host",
            hostnames: ["non.matching.com", "*.nonmatchingwildcard.io", "very.specific.com"],
            rules: "- matches: [{path: {type: PathPrefix, value: /s1}}]\n  backendRefs: [{name: v1, port: 8080}]",
            parentRefs: "[{name: intersection}]") + "---\n"
        + route(
            "specific-host-matches-listener-wildcard-host",
            hostnames: [
                "non.matching.com", "wildcard.io", "foo.wildcard.io", "bar.wildcard.io", "foo.bar.wildcard.io",
            ],
            rules: "- matches: [{path: {type: PathPrefix, value: /s2}}]\n  backendRefs: [{name: v2, port: 8080}]",
            parentRefs: "[{name: intersection}]") + "---\n"
        + route(
            "wildcard-host-matches-listener-specific-host", hostnames: ["non.matching.com", "*.specific.com"],
            rules: "- matches: [{path: {type: PathPrefix, value: /s3}}]\n  backendRefs: [{name: v3, port: 8080}]",
            parentRefs: "[{name: intersection}]") + "---\n"
        + route(
            "wildcard-host-matches-listener-wildcard-host", hostnames: ["*.anotherwildcard.io"],
            rules: "- matches: [{path: {type: PathPrefix, value: /s4}}]\n  backendRefs: [{name: v1, port: 8080}]",
            parentRefs: "[{name: intersection}]") + "---\n"
        + route(
            "no-intersecting-hosts", hostnames: ["specific.but.wrong.com", "wildcard.io"],
            rules: "- matches: [{path: {type: PathPrefix, value: /s5}}]\n  backendRefs: [{name: v1, port: 8080}]",
            parentRefs: "[{name: intersection}]")

    @Test(
        arguments: [
            ("very.specific.com", "/s1", "infra/v1:8080"),
            ("very.specific.com:1234", "/s1", "infra/v1:8080"),
            ("non.matching.com", "/s1", nil),
            ("foo.nonmatchingwildcard.io", "/s1", nil),
            ("foo.wildcard.io", "/s1", nil),
            ("very.specific.com", "/non-matching-prefix", nil),
            ("foo.wildcard.io", "/s2", "infra/v2:8080"),
            ("bar.wildcard.io", "/s2", "infra/v2:8080"),
            ("foo.bar.wildcard.io", "/s2", "infra/v2:8080"),
            ("wildcard.io", "/s2", nil),
            ("very.specific.com", "/s2", nil),
            ("very.specific.com", "/s3", "infra/v3:8080"),
            ("foo.specific.com", "/s3", nil),
            ("foo.anotherwildcard.io", "/s4", "infra/v1:8080"),
            ("foo.bar.anotherwildcard.io", "/s4", "infra/v1:8080"),
            ("anotherwildcard.io", "/s4", nil),
            ("specific.but.wrong.com", "/s5", nil),
            ("VERY.Specific.COM", "/s1", "infra/v1:8080"),
        ] as [(String, String, String?)])
    func onlyIntersectingHostsReachARoute(host: String, path: String, backend: String?) {
        let answer = ask(
            router(Self.intersectionManifests), host: host, path: path, gateway: "infra/intersection")
        #expect(answer.backend == backend)
        #expect(answer.status == (backend == nil ? 404 : 200))
    }

    @Test func routeWithoutIntersectionIsNotAccepted() {
        let status = router(Self.intersectionManifests).status
        let report = status.httpRoutes.first { $0.name == "no-intersecting-hosts" }!
        #expect(report.parents.map(\.conditions[0].reason) == ["NoMatchingListenerHostname"])
        let listeners = status.gateways.first { $0.name == "intersection" }!.listeners
        #expect(listeners.map(\.attachedRoutes) == [2, 1, 1])
    }

    @Test func backendSeesTheHostHeaderUnmodified() {
        let answer = ask(
            router(Self.intersectionManifests), host: "very.specific.com:1234", path: "/s1",
            gateway: "infra/intersection")
        #expect(answer.host == "very.specific.com:1234")
    }
}
