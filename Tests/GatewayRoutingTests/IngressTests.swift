import GatewayRouting
import KubeAPI
import Testing

/// Ingress routing, with the cases of the Kubernetes Ingress documentation's tables.
@Suite struct IngressTests {
    static func ingress(
        _ name: String, paths: [(String, String, String)], host: String? = nil, className: String? = "sluice",
        extra: String = ""
    ) -> String {
        let pathList = paths.map { path, type, service in
            "      - {path: \(path), pathType: \(type), backend: {service: {name: \(service), port: {number: 8080}}}}"
        }
        return """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: \(name), namespace: infra}
            spec:
            \(className.map { "  ingressClassName: \($0)\n" } ?? "")\(extra)  rules:
              - \(host.map { "host: \"\($0)\"\n    " } ?? "")http:
                  paths:
            \(pathList.joined(separator: "\n"))

            """
    }

    static let ingressClass = """
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {name: sluice}
        spec: {controller: sluice.dev/ingress-controller}
        ---

        """

    static func answer(_ yaml: String, host: String = "foo.bar.com", path: String) -> RouteAnswer {
        router(ingressClass + yaml).table.answerIngress(RouteRequest(host: host, path: path))
    }

    /// The "Examples" table of the Ingress documentation (path types and trailing slashes).
    @Test(
        arguments: [
            ([("/", "Prefix", "v1")], "/anything/at/all", "infra/v1:8080"),
            ([("/foo", "Exact", "v1")], "/foo", "infra/v1:8080"),
            ([("/foo", "Exact", "v1")], "/bar", nil),
            ([("/foo", "Exact", "v1")], "/foo/", nil),
            ([("/foo/", "Exact", "v1")], "/foo", nil),
            ([("/foo", "Prefix", "v1")], "/foo", "infra/v1:8080"),
            ([("/foo", "Prefix", "v1")], "/foo/", "infra/v1:8080"),
            ([("/foo/", "Prefix", "v1")], "/foo", "infra/v1:8080"),
            ([("/foo/", "Prefix", "v1")], "/foo/", "infra/v1:8080"),
            ([("/aaa/bb", "Prefix", "v1")], "/aaa/bbb", nil),
            ([("/aaa/bbb", "Prefix", "v1")], "/aaa/bbb", "infra/v1:8080"),
            ([("/aaa/bbb/", "Prefix", "v1")], "/aaa/bbb", "infra/v1:8080"),
            ([("/aaa/bbb", "Prefix", "v1")], "/aaa/bbb/", "infra/v1:8080"),
            ([("/aaa/bbb", "Prefix", "v1")], "/aaa/bbb/ccc", "infra/v1:8080"),
            ([("/aaa/bbb", "Prefix", "v1")], "/aaa/bbbxyz", nil),
            ([("/", "Prefix", "v1"), ("/aaa", "Prefix", "v2")], "/aaa/ccc", "infra/v2:8080"),
            (
                [("/", "Prefix", "v1"), ("/aaa", "Prefix", "v2"), ("/aaa/bbb", "Prefix", "v3")], "/aaa/bbb",
                "infra/v3:8080"
            ),
            ([("/", "Prefix", "v1"), ("/aaa", "Prefix", "v2"), ("/aaa/bbb", "Prefix", "v3")], "/ccc", "infra/v1:8080"),
            ([("/aaa", "Prefix", "v1")], "/ccc", nil),
            ([("/foo", "Prefix", "v1"), ("/foo", "Exact", "v2")], "/foo", "infra/v2:8080"),
            ([("/foo", "ImplementationSpecific", "v1")], "/foo/bar", "infra/v1:8080"),
            ([("/foo/bar", "Prefix", "v1")], "/foo/bar/baz", "infra/v1:8080"),
            ([("/foo/bar", "Prefix", "v1")], "/foo/barbaz", nil),
        ] as [([(String, String, String)], String, String?)])
    func pathExamples(paths: [(String, String, String)], path: String, backend: String?) {
        let answer = Self.answer(Self.ingress("paths", paths: paths), path: path)
        #expect(answer.backend == backend)
        #expect(answer.status == (backend == nil ? 404 : 200))
    }

    /// The hostname wildcard table: a wildcard covers exactly one label.
    @Test(arguments: [
        ("*.foo.com", "bar.foo.com", true), ("*.foo.com", "baz.bar.foo.com", false), ("*.foo.com", "foo.com", false),
        ("foo.bar.com", "foo.bar.com", true), ("foo.bar.com", "FOO.bar.com:8443", true),
        ("foo.bar.com", "bar.foo.com", false),
    ])
    func hostWildcards(ruleHost: String, host: String, matches: Bool) {
        let answer = Self.answer(
            Self.ingress("hosts", paths: [("/", "Prefix", "v1")], host: ruleHost), host: host, path: "/")
        #expect(answer.status == (matches ? 200 : 404))
    }

    static let hostsAndDefault =
        ingress("by-host", paths: [("/", "Prefix", "v1")], host: "foo.bar.com") + "---\n"
        + ingress("by-wildcard", paths: [("/w", "Prefix", "v2")], host: "*.bar.com") + "---\n"
        + ingress(
            "catch-all", paths: [("/all", "Prefix", "v3")],
            extra: "  defaultBackend: {service: {name: v1, port: {name: http}}}\n")

    /// The host is matched before the paths; what no host path takes goes to the default backend.
    @Test(
        arguments: [
            ("foo.bar.com", "/anything", "infra/v1:8080", 0),
            ("x.bar.com", "/w/1", "infra/v2:8080", 0),
            ("x.bar.com", "/all", "infra/v1:8080", nil),
            ("other.org", "/all", "infra/v3:8080", 0),
            ("other.org", "/else", "infra/v1:8080", nil),
        ] as [(String, String, String, Int?)])
    func hostThenPathThenDefaultBackend(host: String, path: String, backend: String, rule: Int?) {
        let answer = Self.answer(Self.hostsAndDefault, host: host, path: path)
        #expect(answer.backend == backend)
        #expect(answer.rule == rule)
    }

    /// IngressClass selection: the class name, the default class annotation, and other controllers' classes.
    @Test(
        arguments: [
            ("sluice", nil, true), ("nginx", nil, false), (nil, nil, true), ("nginx", "nginx", true),
            (nil, "nginx", false),
        ] as [(String?, String?, Bool)])
    func classSelection(className: String?, requestedClass: String?, served: Bool) {
        let classes = """
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata:
              name: sluice
              annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
            spec: {controller: sluice.dev/ingress-controller}
            ---
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata: {name: nginx}
            spec: {controller: k8s.io/ingress-nginx}
            ---

            """
        let routes = router(
            classes + Self.ingress("classy", paths: [("/", "Prefix", "v1")], className: className),
            configuration: RoutingConfiguration(ingressClassName: requestedClass))
        #expect(routes.table.answerIngress(RouteRequest(host: "a.b", path: "/")).status == (served ? 200 : 404))
        #expect(routes.status.ingresses[0].conditions[0].status == (served ? "True" : "False"))
    }

    @Test func namedPortsTLSAndMissingServices() {
        let yaml = """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: tls, namespace: infra}
            spec:
              ingressClassName: sluice
              tls: [{hosts: [secure.example.com], secretName: secure-cert}]
              rules:
              - host: secure.example.com
                http:
                  paths:
                  - {path: /named, pathType: Prefix, backend: {service: {name: v2, port: {name: http}}}}
                  - {path: /missing, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}
                  - {path: /bad-port, pathType: Prefix, backend: {service: {name: v2, port: {name: grpc}}}}

            """
        let named = Self.answer(yaml, host: "secure.example.com", path: "/named")
        #expect(named.backend == "infra/v2:8080")
        #expect(named.tlsSecret == "secure-cert")
        #expect(Self.answer(yaml, host: "secure.example.com", path: "/missing").status == 500)
        #expect(Self.answer(yaml, host: "secure.example.com", path: "/bad-port").status == 500)
        let resolved = router(Self.ingressClass + yaml).status.ingresses[0].conditions[1]
        #expect(resolved.reason == "BackendNotFound")
        #expect(resolved.message.contains("Service infra/gone not found"))
        #expect(resolved.message.contains("Service infra/v2 has no port named \"grpc\""))
    }
}
