import GatewayRouting
import KubeAPI
import Testing

/// Route attachment status per parentRef, listener attachedRoutes, and controller ownership.
@Suite struct StatusTests {
    static let gateways = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: multi, namespace: infra}
        spec:
          gatewayClassName: sluice
          listeners:
          - {name: same, port: 80, protocol: HTTP, hostname: "*.example.com"}
          - {name: selected, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: blue}}}}}
          - {name: all, port: 8081, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
          - {name: tcp, port: 9000, protocol: TCP}
          - {name: grpc-only, port: 8082, protocol: HTTP, allowedRoutes: {kinds: [{kind: GRPCRoute}]}}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: blue-team, labels: {team: blue}}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: other}
        spec: {controllerName: example.net/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: foreign, namespace: infra}
        spec:
          gatewayClassName: other
          listeners: [{name: http, port: 80, protocol: HTTP}]
        ---

        """

    @Test(arguments: [
        // (route namespace, parentRef, hostnames, Accepted reason)
        ("infra", "{name: multi, sectionName: same}", ["a.example.com"], "Accepted"),
        ("infra", "{name: multi, sectionName: missing}", [], "NoMatchingParent"),
        ("infra", "{name: multi, port: 9999}", [], "NoMatchingParent"),
        ("infra", "{name: multi, sectionName: same, port: 8080}", [], "NoMatchingParent"),
        ("infra", "{name: nowhere}", [], "NoMatchingParent"),
        ("infra", "{name: multi, sectionName: same}", ["a.example.net"], "NoMatchingListenerHostname"),
        ("other", "{name: multi, namespace: infra, sectionName: same}", [], "NotAllowedByListeners"),
        ("blue-team", "{name: multi, namespace: infra, sectionName: selected}", [], "Accepted"),
        ("other", "{name: multi, namespace: infra, sectionName: selected}", [], "NotAllowedByListeners"),
        ("other", "{name: multi, namespace: infra, sectionName: all}", [], "Accepted"),
        ("infra", "{name: multi, sectionName: tcp}", [], "NotAllowedByListeners"),
        ("infra", "{name: multi, sectionName: grpc-only}", [], "NotAllowedByListeners"),
        ("infra", "{name: multi}", ["a.example.net"], "Accepted"),
    ])
    func acceptedReason(namespace: String, parentRef: String, hostnames: [String], reason: String) {
        let routes = router(
            Self.gateways
                + route(
                    "r", hostnames: hostnames, rules: "- backendRefs: [{name: v1, namespace: infra, port: 8080}]",
                    parentRefs: "[\(parentRef)]", namespace: namespace))
        let parent = routes.status.httpRoutes.first { $0.name == "r" }!.parents[0]
        #expect(parent.conditions[0].type == "Accepted")
        #expect(parent.conditions[0].reason == reason)
        #expect(parent.isAccepted == (reason == "Accepted"))
        #expect(parent.controllerName == RoutingConfiguration.gatewayControllerName)
    }

    @Test func attachedRoutesCountAcceptedRoutesOncePerListener() {
        let routes = router(
            Self.gateways
                + route(
                    "one", hostnames: ["a.example.com"], rules: "- backendRefs: [{name: v1, port: 8080}]",
                    parentRefs: "[{name: multi}, {name: multi, sectionName: same}]") + "---\n"
                + route("two", rules: "- backendRefs: [{name: v1, port: 8080}]", parentRefs: "[{name: multi}]")
                + "---\n"
                + route(
                    "three", hostnames: ["x.other.org"], rules: "- backendRefs: [{name: v1, port: 8080}]",
                    parentRefs: "[{name: multi, sectionName: same}]"))
        let listeners = routes.status.gateways.first { $0.name == "multi" }!.listeners
        let counts = Dictionary(uniqueKeysWithValues: listeners.map { ($0.name, $0.attachedRoutes) })
        #expect(counts == ["same": 2, "selected": 0, "all": 2, "tcp": 0, "grpc-only": 0])
        #expect(listeners.first { $0.name == "tcp" }!.conditions.contains { $0.reason == "UnsupportedProtocol" })
        #expect(listeners.first { $0.name == "grpc-only" }!.conditions.contains { $0.reason == "InvalidRouteKinds" })
    }

    @Test func anotherControllersGatewayIsNeitherServedNorReported() {
        let routes = router(
            Self.gateways
                + route("r", rules: "- backendRefs: [{name: v1, port: 8080}]", parentRefs: "[{name: foreign}]"))
        #expect(routes.status.gateways.map(\.name).contains("foreign") == false)
        #expect(routes.status.httpRoutes.isEmpty)
        #expect(ask(routes, path: "/", gateway: "infra/foreign").status == 404)
        let everything = router(
            Self.gateways
                + route("r", rules: "- backendRefs: [{name: v1, port: 8080}]", parentRefs: "[{name: foreign}]"),
            configuration: RoutingConfiguration(controllerNames: nil))
        #expect(ask(everything, path: "/", gateway: "infra/foreign").status == 200)
    }

    @Test func listenerConflicts() {
        let routes = router(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: conflicts, namespace: infra}
            spec:
              gatewayClassName: sluice
              listeners:
              - {name: first, port: 80, protocol: HTTP, hostname: a.example.com}
              - {name: second, port: 80, protocol: HTTP, hostname: a.example.com}
              - {name: tls, port: 80, protocol: HTTPS, tls: {certificateRefs: [{name: missing}]}}
            """)
        let listeners = routes.status.gateways.first { $0.name == "conflicts" }!.listeners
        #expect(listeners.map { $0.conditions[0].reason } == ["NoConflicts", "HostnameConflict", "ProtocolConflict"])
        #expect(listeners[2].conditions.contains { $0.reason == "InvalidCertificateRef" })
    }
}
