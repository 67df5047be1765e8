import Foundation
import KubeAPI
import KubeClient
import Logging

/// A running test API server, the kubeconfig that reaches it, and a client built from that kubeconfig; all
/// removed on every exit path.
struct APIServerFixture: Sendable {
    let server: TestAPIServer
    let port: Int
    let directory: URL
    var kubeconfigPath: String { directory.appendingPathComponent("kubeconfig").path }
    var tokenPath: String { directory.appendingPathComponent("token").path }

    static let servicesPath = "/api/v1/services"
    static let slicesPath = "/apis/discovery.k8s.io/v1/endpointslices"

    /// - Parameters:
    ///   - tokenInFile: the kubeconfig names a token file (re-read per request) instead of holding the token.
    ///   - listen: runs the server's listen (e.g. inside a test namespace); by default on this thread.
    ///   - tlsMode: an untrusted server certificate, or mutual TLS.
    static func with<T>(
        tokenInFile: Bool = false, tlsMode: TestAPIServer.TLSMode = TestAPIServer.TLSMode(),
        listen: ((TestAPIServer) throws -> Int)? = nil, _ body: (APIServerFixture) async throws -> T
    ) async throws -> T {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = TestAPIServer(token: "token-1", certificates: certificates, tlsMode: tlsMode)
        let port = try listen?(server) ?? server.start()
        defer { server.stop() }
        let fixture = APIServerFixture(server: server, port: port, directory: certificates.directory)
        try "token-1\n".write(toFile: fixture.tokenPath, atomically: true, encoding: .utf8)
        let user = tokenInFile ? "tokenFile: \(fixture.tokenPath)" : "token: token-1"
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: test
          cluster:
            server: https://127.0.0.1:\(port)
            certificate-authority: ca.crt
        users:
        - name: agent
          user:
            \(user)
        contexts:
        - name: test
          context: {cluster: test, user: agent}
        current-context: test
        """.write(toFile: fixture.kubeconfigPath, atomically: true, encoding: .utf8)
        return try await body(fixture)
    }

    /// Writes another kubeconfig next to the default one, with these `cluster:` and `user:` bodies (YAML lines,
    /// relative paths resolve against the fixture's directory), and returns its path.
    func kubeconfig(_ name: String, cluster: [String], user: [String]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        let indent = "\n    "
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: test
          cluster:
            server: https://127.0.0.1:\(port)\(cluster.map { indent + $0 }.joined())
        users:
        - name: agent
          user: {\(user.joined(separator: ", "))}
        contexts:
        - name: test
          context: {cluster: test, user: agent}
        current-context: test
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A client from the fixture's kubeconfig; shut down after `body`.
    func withClient<T>(kubeconfig: String? = nil, _ body: (KubernetesClient) async throws -> T) async throws -> T {
        let client = try KubernetesClient(
            configuration: try ClusterConfiguration.kubeconfig(at: kubeconfig ?? kubeconfigPath))
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func service(_ name: String, clusterIP: String = "10.96.0.10", labels: [String: String] = [:]) -> Service {
        Service(
            metadata: ObjectMeta(name: name, namespace: "default", labels: labels),
            spec: ServiceSpec(
                type: .clusterIP, clusterIP: clusterIP, clusterIPs: [clusterIP], ipFamilies: [.ipv4],
                ports: [ServicePort(name: "http", port: 80, targetPort: .int(8080))]))
    }

    static func slice(_ service: String, addresses: [String]) -> EndpointSlice {
        EndpointSlice(
            metadata: ObjectMeta(
                name: "\(service)-abc", namespace: "default", labels: [EndpointSlice.serviceNameLabel: service]),
            addressType: .ipv4,
            endpoints: addresses.map {
                Endpoint(
                    addresses: [$0], conditions: EndpointConditions(ready: true, serving: true, terminating: false),
                    nodeName: "node-a")
            },
            ports: [EndpointSlicePort(name: "http", port: 8080, protocol: .tcp)])
    }
}

/// Polls `condition` for up to `timeout`.
func eventually(timeout: Duration = .seconds(20), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return false
}
