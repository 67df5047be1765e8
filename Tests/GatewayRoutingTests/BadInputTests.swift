import GatewayRouting
import KubeAPI
import Testing

/// Invalid regexes, paths, hostnames and enum values: the rule or route is rejected with a status condition and
/// a clear message, and everything else keeps routing.
@Suite struct BadInputTests {
    @Test(arguments: [
        ("(unclosed", "does not compile"), ("(?=ahead)", "lookahead"), ("(?<!behind)x", "negative lookbehind"),
        ("(a)\\\\1", "backreference"), ("a++", "possessive"), ("(?>atomic)", "atomic group"),
    ])
    func invalidRegexDropsOnlyItsRule(pattern: String, message: String) {
        let routes = router(
            route(
                "partly",
                rules: """
                    - matches: [{path: {type: RegularExpression, value: "\(pattern)"}}]
                      backendRefs: [{name: v1, port: 8080}]
                    - matches: [{path: {type: PathPrefix, value: /good}}]
                      backendRefs: [{name: v2, port: 8080}]
                    """) + "---\n"
                + route("other", rules: "- matches: [{path: {value: /other}}]\n  backendRefs: [{name: v3, port: 8080}]")
        )
        let conditions = routes.status.httpRoutes.first { $0.name == "partly" }!.parents[0].conditions
        #expect(conditions[0].reason == "Accepted")
        let partial = conditions.first { $0.type == "PartiallyInvalid" }
        #expect(partial?.reason == "UnsupportedValue")
        #expect(partial?.message.hasPrefix("Dropped Rule(s): rule 0") == true)
        #expect(partial?.message.contains(message) == true)
        #expect(ask(routes, path: "/good").backend == "infra/v2:8080")
        #expect(ask(routes, path: "/other").backend == "infra/v3:8080")
    }

    @Test func routeWithOnlyInvalidRulesIsNotAccepted() {
        let routes = router(
            route(
                "broken",
                rules: """
                    - matches: [{headers: [{name: x, type: RegularExpression, value: "[z-a]"}]}]
                      backendRefs: [{name: v1, port: 8080}]
                    """) + "---\n"
                + route("fine", rules: "- backendRefs: [{name: v2, port: 8080}]"))
        let accepted = routes.status.httpRoutes.first { $0.name == "broken" }!.parents[0].conditions[0]
        #expect(accepted.status == "False")
        #expect(accepted.reason == "UnsupportedValue")
        #expect(accepted.message.contains("spec.rules[0].matches[0].headers[0].value: invalid regular expression"))
        #expect(ask(routes, path: "/", headers: ["x": "y"]).backend == "infra/v2:8080")
        let listener = routes.status.gateways[0].listeners[0]
        #expect(listener.attachedRoutes == 1)
    }

    /// Routes applied one by one (an API watch, a library user) bypass the loader, so the router validates them,
    /// and each problem lands on the rule or the route it belongs to.
    @Test func unvalidatedObjectsAreJudgedPerRule() {
        var routes = GatewayRouter(manifests(infrastructure))
        var bad = HTTPRoute(
            metadata: ObjectMeta(name: "direct", namespace: "infra"),
            spec: HTTPRouteSpec(
                parentRefs: [ParentReference(name: "same-namespace")],
                rules: [
                    HTTPRouteRule(
                        matches: [HTTPRouteMatch(path: HTTPPathMatch(type: .pathPrefix, value: "no-slash"))],
                        backendRefs: [HTTPBackendRef(name: "v1", port: 8080)]),
                    HTTPRouteRule(
                        matches: [HTTPRouteMatch(path: HTTPPathMatch(type: .unrecognized("Glob"), value: "/x*"))],
                        backendRefs: [HTTPBackendRef(name: "v1", port: 8080)]),
                    HTTPRouteRule(
                        matches: [HTTPRouteMatch(path: HTTPPathMatch(type: .exact, value: "/ok"))],
                        backendRefs: [HTTPBackendRef(name: "v2", port: 8080)]),
                ]))
        routes.apply(bad)
        let conditions = routes.status.httpRoutes[0].parents[0].conditions
        #expect(conditions.first { $0.type == "PartiallyInvalid" }?.message.contains("rule 0") == true)
        #expect(conditions.first { $0.type == "PartiallyInvalid" }?.message.contains("\"Glob\" is not one of") == true)
        #expect(ask(routes, path: "/ok").backend == "infra/v2:8080")

        bad.spec.hostnames = ["*.*.bad"]
        routes.apply(bad)
        let rejected = routes.status.httpRoutes[0].parents[0].conditions[0]
        #expect(rejected.reason == "UnsupportedValue")
        #expect(rejected.message.contains("spec.hostnames[0]"))
        #expect(ask(routes, path: "/ok").status == 404)
    }
}
