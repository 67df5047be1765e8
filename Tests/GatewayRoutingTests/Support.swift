import Foundation
import GatewayRouting
import KubeAPI
import Testing

/// The conformance suite's infrastructure: a GatewayClass for Sluice, the `same-namespace` Gateway with one
/// HTTP listener on port 80, and backend Services v1–v3 on port 8080.
let infrastructure = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: GatewayClass
    metadata: {name: sluice}
    spec: {controllerName: sluice.dev/gateway-controller}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: same-namespace, namespace: infra}
    spec:
      gatewayClassName: sluice
      listeners:
      - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: v1, namespace: infra}
    spec: {ports: [{name: http, port: 8080}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: v2, namespace: infra}
    spec: {ports: [{name: http, port: 8080}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: v3, namespace: infra}
    spec: {ports: [{name: http, port: 8080}]}

    """

/// Loads manifests that must all be valid.
func manifests(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ManifestSet {
    let set = ManifestLoader().load(text: yaml, source: "test.yaml")
    #expect(set.diagnostics.map(\.description) == [], sourceLocation: sourceLocation)
    return set
}

/// Compiles the infrastructure plus `yaml` (documents separated by `---`).
func router(_ yaml: String, configuration: RoutingConfiguration = RoutingConfiguration()) -> GatewayRouter {
    GatewayRouter(manifests(infrastructure + "---\n" + yaml), configuration: configuration)
}

/// One request through the `same-namespace` Gateway (or another Gateway port).
func ask(
    _ router: GatewayRouter, host: String = "example.com", path: String, method: String = "GET",
    headers: [String: String] = [:], scheme: String? = nil, gateway: String = "infra/same-namespace", port: Int = 80,
    backendResponseHeaders: [HTTPField] = []
) -> RouteAnswer {
    let request = RouteRequest(
        scheme: scheme, host: host, method: method, path: path,
        headers: headers.sorted { $0.key < $1.key }.map { HTTPField(name: $0.key, value: $0.value) })
    return router.table.answer(
        request, on: GatewayPort(gateway: gateway, port: port), backendResponseHeaders: backendResponseHeaders)
}

/// A single-rule HTTPRoute in `infra` attached to `same-namespace`.
func route(
    _ name: String, hostnames: [String] = [], rules: String, parentRefs: String = "[{name: same-namespace}]",
    namespace: String = "infra"
) -> String {
    """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: \(name), namespace: \(namespace)}
    spec:
      parentRefs: \(parentRefs)
      hostnames: [\(hostnames.map { "\"\($0)\"" }.joined(separator: ", "))]
      rules:
    \(rules.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))

    """
}

/// The `sluice` executable built next to the test bundle.
func runSluice(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("sluice")
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// Writes manifests to a fresh temporary file and returns its path; the caller removes it.
func temporaryFile(_ text: String, suffix: String = ".yaml") throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
        "gateway-routing-\(UUID().uuidString)\(suffix)"
    )
    .path
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}
