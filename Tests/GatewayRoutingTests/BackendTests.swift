import GatewayRouting
import Testing

/// backendRefs: weights, invalid references (500 for their share), ReferenceGrant, and the ResolvedRefs reasons.
@Suite struct BackendTests {
    static let crossNamespace = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: apps}
        spec: {ports: [{port: 80}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: private, namespace: apps}
        spec: {ports: [{port: 80}]}
        ---
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: ReferenceGrant
        metadata: {name: allow-infra, namespace: apps}
        spec:
          from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]
          to: [{group: "", kind: Service, name: web}]
        ---

        """

    @Test(
        arguments: [
            // (backendRefs, status, backend, ResolvedRefs reason)
            ("[{name: v1, port: 8080}]", 200, "infra/v1:8080", "ResolvedRefs"),
            ("[]", 500, nil, "ResolvedRefs"),
            ("[{name: v1, port: 8080, weight: 0}]", 500, nil, "ResolvedRefs"),
            ("[{name: v1, port: 8080, weight: 0}, {name: v2, port: 8080}]", 200, "infra/v2:8080", "ResolvedRefs"),
            (
                "[{name: v1, port: 8080, weight: 70}, {name: v2, port: 8080, weight: 30}]", 200, "infra/v1:8080",
                "ResolvedRefs"
            ),
            ("[{name: missing, port: 8080}]", 500, nil, "BackendNotFound"),
            ("[{name: v1, port: 9999}]", 500, nil, "BackendNotFound"),
            ("[{name: v1, port: 8080}, {name: missing, port: 8080}]", 200, "infra/v1:8080", "BackendNotFound"),
            ("[{group: multicluster.x-k8s.io, kind: ServiceImport, name: v1, port: 8080}]", 500, nil, "InvalidKind"),
            ("[{name: web, namespace: apps, port: 80}]", 200, "apps/web:80", "ResolvedRefs"),
            ("[{name: private, namespace: apps, port: 80}]", 500, nil, "RefNotPermitted"),
        ] as [(String, Int, String?, String)])
    func backendRefs(references: String, status: Int, backend: String?, reason: String) {
        let routes = router(Self.crossNamespace + route("r", rules: "- backendRefs: \(references)"))
        let answer = ask(routes, path: "/")
        #expect(answer.status == status)
        #expect(answer.backend == backend)
        let conditions = routes.status.httpRoutes[0].parents[0].conditions
        #expect(conditions.first { $0.type == "Accepted" }?.status == "True")
        #expect(conditions.first { $0.type == "ResolvedRefs" }?.reason == reason)
    }

    /// Weighted candidates exclude weight 0 and keep invalid references as `backend: nil`.
    @Test func weightedCandidates() {
        let routes = router(
            route(
                "weights",
                rules: "- backendRefs: [{name: v1, port: 8080, weight: 70}, {name: v2, port: 8080, weight: 30}, "
                    + "{name: v3, port: 8080, weight: 0}, {name: missing, port: 8080, weight: 10}]"))
        let answer = ask(routes, path: "/")
        #expect(answer.backends.map(\.backend) == ["infra/v1:8080", "infra/v2:8080", nil])
        #expect(answer.backends.map(\.weight) == [70, 30, 10])
    }
}
