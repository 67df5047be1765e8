import Foundation
import GatewayRouting
import Testing

/// The same behaviours through the `sluice route` executable: flags, JSON fields, --requests, status.
@Suite struct CommandLineTests {
    static let manifests =
        infrastructure + "---\n"
        + route(
            "cli",
            hostnames: ["example.com"],
            rules: """
                - matches: [{path: {type: PathPrefix, value: /api}}]
                  filters:
                  - {type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: X-Added, value: yes}]}}
                  - {type: ResponseHeaderModifier, responseHeaderModifier: {remove: [Server]}}
                  - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}
                  backendRefs: [{name: v1, port: 8080, weight: 3}, {name: v2, port: 8080}]
                - matches: [{path: {type: Exact, value: /old}}]
                  filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]
                - matches: [{path: {value: /post}, method: POST, headers: [{name: X-Env, value: canary}]}]
                  backendRefs: [{name: v3, port: 8080}]
                """) + "---\n"
            + """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: shop, namespace: infra}
            spec:
              rules:
              - host: "*.shop.example"
                http:
                  paths: [{path: /, pathType: Prefix, backend: {service: {name: v3, port: {name: http}}}}]

            """

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let file = try temporaryFile(manifests)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try runSluice(["route", "-f", file, "-o", "json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test(
        arguments: [
            (
                ["--host", "example.com:8080", "--path", "/api/items?page=2", "-H", "X-Added: first"], 200,
                "infra/v1:8080"
            ),
            (["--host", "other.example", "--path", "/api"], 404, nil),
            (["--host", "example.com", "--path", "/old"], 301, nil),
            (
                ["--host", "example.com", "--method", "POST", "--path", "/post", "-H", "x-env: canary"], 200,
                "infra/v3:8080"
            ),
            (["--host", "example.com", "--path", "/post", "-H", "x-env: canary"], 404, nil),
        ] as [([String], Int, String?)])
    func gatewayRequest(arguments: [String], status: Int, backend: String?) throws {
        let answer = try Self.json(["--gateway", "infra/same-namespace", "--port", "80"] + arguments)
        #expect(answer["status"] as? Int == status)
        #expect(answer["backend"] as? String == backend)
        #expect(answer.keys.contains("backend"))
        if status == 200 && backend == "infra/v1:8080" {
            #expect(answer["path"] as? String == "/v2/items?page=2")
            #expect(answer["host"] as? String == "example.com:8080")
            #expect(answer["route"] as? String == "infra/cli")
            #expect(answer["rule"] as? Int == 0)
            #expect((answer["requestHeaders"] as? [String: String]) == ["X-Added": "first,yes"])
            let backends = try #require(answer["backends"] as? [[String: Any]])
            #expect(backends.map { $0["backend"] as? String } == ["infra/v1:8080", "infra/v2:8080"])
            #expect(backends.map { $0["weight"] as? Int } == [3, 1])
        }
        if status == 301 {
            let redirect = try #require(answer["redirect"] as? [String: Any])
            #expect(redirect["location"] as? String == "https://example.com/old")
            #expect(redirect["scheme"] as? String == "https")
            #expect(redirect["host"] as? String == "example.com")
            #expect(redirect["port"] as? Int == 443)
            #expect(redirect["path"] as? String == "/old")
        }
    }

    @Test func responseHeadersAndIngress() throws {
        let answer = try Self.json([
            "--gateway", "infra/same-namespace", "--host", "example.com", "--path", "/api",
            "--backend-response-header", "Server: backend", "--backend-response-header", "Content-Type: text/plain",
        ])
        #expect((answer["responseHeaders"] as? [String: String]) == ["Content-Type": "text/plain"])
        let ingress = try Self.json(["--ingress", "--host", "a.shop.example", "--path", "/cart"])
        #expect(ingress["backend"] as? String == "infra/v3:8080")
        #expect(ingress["route"] as? String == "infra/shop")
    }

    @Test func requestsFileAnswersInOrder() throws {
        let file = try temporaryFile(Self.manifests)
        let requests = try temporaryFile(
            """
            [
              {"gateway": "infra/same-namespace", "port": 80, "host": "example.com", "path": "/api/x"},
              {"gateway": "infra/same-namespace", "port": 80, "scheme": "http", "host": "example.com", "method": "POST",
               "path": "/post", "headers": {"X-Env": "canary"}},
              {"gateway": "infra/same-namespace", "port": 80, "host": "example.com", "path": "/api",
               "backend_response_headers": ["Server: x", "Via: y"]},
              {"ingress": true, "host": "b.shop.example", "path": "/"},
              {"gateway": "infra/same-namespace", "port": 80, "host": "nope.example", "path": "/"}
            ]
            """, suffix: ".json")
        defer {
            try? FileManager.default.removeItem(atPath: file)
            try? FileManager.default.removeItem(atPath: requests)
        }
        let result = try runSluice(["route", "-f", file, "--requests", requests])
        #expect(result.status == 0, "\(result.stderr)")
        let answers = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(answers.map { $0["status"] as? Int } == [200, 200, 200, 200, 404])
        #expect(
            answers.map { $0["backend"] as? String } == [
                "infra/v1:8080", "infra/v3:8080", "infra/v1:8080", "infra/v3:8080", nil,
            ])
        #expect((answers[2]["responseHeaders"] as? [String: String]) == ["Via": "y"])
    }

    @Test func statusCommand() throws {
        let file = try temporaryFile(
            Self.manifests + "---\n"
                + route(
                    "lost", rules: "- backendRefs: [{name: gone, port: 80}]",
                    parentRefs: "[{name: same-namespace, sectionName: nope}]")
                + "---\n" + route("bad-path", rules: "- matches: [{path: {value: no-slash}}]"))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try runSluice(["route", "status", "-f", file, "-o", "json"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("HTTPRoute infra/bad-path: spec.rules[0].matches[0].path.value"))
        let status = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let routes = try #require(status["httpRoutes"] as? [[String: Any]])
        func conditions(_ name: String) -> [[String: String]] {
            let route = routes.first { $0["name"] as? String == name }
            let parents = route?["parents"] as? [[String: Any]]
            return parents?.first?["conditions"] as? [[String: String]] ?? []
        }
        #expect(conditions("cli").map { $0["reason"] } == ["Accepted", "ResolvedRefs"])
        #expect(conditions("lost").map { $0["reason"] } == ["NoMatchingParent", "BackendNotFound"])
        let gateways = try #require(status["gateways"] as? [[String: Any]])
        let listeners = try #require(gateways.first?["listeners"] as? [[String: Any]])
        #expect(listeners.first?["attachedRoutes"] as? Int == 1)
        let rejected = try #require(status["rejected"] as? [[String: String]])
        #expect(rejected.map { $0["name"] } == ["infra/bad-path"])
        let text = try runSluice(["route", "status", "-f", file])
        #expect(text.stdout.contains("listener http HTTP/80 host *: attachedRoutes 1"))
    }

    @Test(arguments: [
        (["route", "-f", "x.yaml", "--host", "a", "--path", "/"], "give --gateway"),
        (["route", "--gateway", "g", "--host", "a", "--path", "/"], "give manifests"),
        (["route", "-f", "x.yaml", "--gateway", "g", "--path", "/"], "give the request's --host"),
        (["route", "-f", "x.yaml", "--gateway", "g", "--host", "a", "--path", "nope"], "must start with '/'"),
        (
            ["route", "-f", "x.yaml", "--gateway", "g", "--host", "a", "--path", "/", "--scheme", "ftp"],
            "expected http or https"
        ),
    ])
    func usageErrors(arguments: [String], message: String) throws {
        let result = try runSluice(arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains(message))
    }
}
