import Foundation
import KubeAPI
import KubeClient
import Logging
import Synchronization
import Testing

/// The list/watch protocol against a real (test) API server over TLS with a bearer token.
struct ReflectorTests {
    let logger = Logger(label: "reflector-test")

    /// What a reflector delivered, for assertions.
    final class Recorder: Sendable {
        let cache = ObjectCache<Service>()
        let restarts = Mutex<[WatchRestart]>([])
        let removedOnRelist = Mutex<[String]>([])

        func handle(_ event: InformerEvent<Service>) {
            if case .listed(_, let removed, _) = event {
                removedOnRelist.withLock { $0 += removed.map(\.name) }
            }
            cache.apply(event)
        }
        var names: [String] { cache.snapshot().map(\.metadata.name) }
    }

    func run(
        _ fixture: APIServerFixture, _ client: KubernetesClient, _ body: (Recorder) async throws -> Void
    ) async throws {
        let recorder = Recorder()
        let reflector = Reflector(
            Service.self, client: client, resource: .services, pageSize: 2, initialBackoff: .milliseconds(20),
            maximumBackoff: .milliseconds(200), logger: logger)
        let task = Task {
            await reflector.run(
                handle: { recorder.handle($0) },
                restarted: { restart in recorder.restarts.withLock { $0.append(restart) } })
        }
        defer { task.cancel() }
        try await body(recorder)
        task.cancel()
        await task.value
    }

    @Test func listPaginatesWithContinueTokensAndKeepsTheListResourceVersion() async throws {
        try await APIServerFixture.with { fixture in
            for index in 0..<5 {
                try fixture.server.apply(
                    APIServerFixture.service("web-\(index)", clusterIP: "10.96.0.\(10 + index)"),
                    in: APIServerFixture.servicesPath)
            }
            try await fixture.withClient { client in
                let reflector = Reflector(
                    Service.self, client: client, resource: .services, pageSize: 2, logger: logger)
                let (items, resourceVersion) = try await reflector.listAll()
                #expect(items.map(\.metadata.name) == (0..<5).map { "web-\($0)" })
                #expect(resourceVersion == "105")
                let lists = fixture.server.requests.filter { !$0.isWatch }
                #expect(lists.map { $0.query["limit"] } == ["2", "2", "2"])
                #expect(lists.map { $0.query["continue"] } == [nil, "105:2", "105:4"])
                #expect(
                    lists.allSatisfy {
                        $0.query["labelSelector"]
                            == "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
                    })
            }
        }
    }

    @Test func watchEventsAreApplied() async throws {
        try await APIServerFixture.with { fixture in
            try fixture.server.apply(APIServerFixture.service("web"), in: APIServerFixture.servicesPath)
            try await fixture.withClient { client in
                try await run(fixture, client) { recorder in
                    #expect(await eventually { recorder.names == ["web"] })
                    #expect(await eventually { fixture.server.openWatches == 1 })
                    let watch = try #require(fixture.server.requests.last { $0.isWatch })
                    #expect(watch.query["resourceVersion"] == "101")
                    #expect(watch.query["allowWatchBookmarks"] == "true")

                    try fixture.server.apply(
                        APIServerFixture.service("api", clusterIP: "10.96.0.11"), in: APIServerFixture.servicesPath)
                    #expect(await eventually { recorder.names == ["api", "web"] })
                    var changed = APIServerFixture.service("web")
                    changed.metadata.labels["tier"] = "front"
                    try fixture.server.apply(changed, in: APIServerFixture.servicesPath)
                    #expect(
                        await eventually {
                            recorder.cache.snapshot().last?.metadata.labels["tier"] == "front"
                        })
                    fixture.server.delete("default/api", in: APIServerFixture.servicesPath)
                    #expect(await eventually { recorder.names == ["web"] })
                    // Services claimed by another proxy are filtered by the server (the label selector).
                    try fixture.server.apply(
                        APIServerFixture.service(
                            "other", clusterIP: "10.96.0.12",
                            labels: ["service.kubernetes.io/service-proxy-name": "other-proxy"]),
                        in: APIServerFixture.servicesPath)
                    fixture.server.bookmark(APIServerFixture.servicesPath)
                    try await Task.sleep(for: .milliseconds(200))
                    #expect(recorder.names == ["web"])
                }
            }
        }
    }

    @Test func aDroppedWatchResumesFromTheLastResourceVersionWithoutARelist() async throws {
        try await APIServerFixture.with { fixture in
            try await fixture.withClient { client in
                try await run(fixture, client) { recorder in
                    #expect(await eventually { fixture.server.openWatches == 1 })
                    try fixture.server.apply(APIServerFixture.service("a"), in: APIServerFixture.servicesPath)
                    #expect(await eventually { recorder.names == ["a"] })
                    fixture.server.dropWatches()
                    // Changed while no watch was open: the resumed watch replays it.
                    try fixture.server.apply(
                        APIServerFixture.service("b", clusterIP: "10.96.0.11"), in: APIServerFixture.servicesPath)
                    #expect(await eventually { recorder.names == ["a", "b"] })
                    let requests = fixture.server.requests
                    #expect(requests.filter { !$0.isWatch }.count == 1, "\(requests)")
                    let watches = requests.filter(\.isWatch)
                    #expect(watches.count >= 2)
                    #expect(watches[1].query["resourceVersion"] == "101", "\(watches)")
                    #expect(recorder.restarts.withLock { $0.first } == .resumed(fromResourceVersion: "101"))
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func goneTriggersARelistThatConverges(asHTTPStatus: Bool) async throws {
        try await APIServerFixture.with { fixture in
            fixture.server.goneAsHTTPStatus = asHTTPStatus
            try fixture.server.apply(APIServerFixture.service("a"), in: APIServerFixture.servicesPath)
            try fixture.server.apply(
                APIServerFixture.service("b", clusterIP: "10.96.0.11"), in: APIServerFixture.servicesPath)
            try await fixture.withClient { client in
                try await run(fixture, client) { recorder in
                    #expect(await eventually { recorder.names == ["a", "b"] && fixture.server.openWatches == 1 })
                    // Changes the client misses, then history compaction: only a relist can see them.
                    fixture.server.dropWatches()
                    fixture.server.delete("default/a", in: APIServerFixture.servicesPath)
                    try fixture.server.apply(
                        APIServerFixture.service("c", clusterIP: "10.96.0.12"), in: APIServerFixture.servicesPath)
                    fixture.server.compact()
                    #expect(await eventually { recorder.names == ["b", "c"] }, "\(recorder.names)")
                    #expect(recorder.removedOnRelist.withLock { $0 } == ["a"])
                    #expect(recorder.restarts.withLock { $0.contains(.relisted) })
                    #expect(fixture.server.requests.filter { !$0.isWatch && $0.status == 200 }.count == 2)
                    let gone = fixture.server.requests.filter { $0.isWatch && $0.query["resourceVersion"] == "102" }
                    #expect(!gone.isEmpty)
                }
            }
        }
    }

    @Test func aRefusedTokenIsReadAgainFromTheTokenFile() async throws {
        try await APIServerFixture.with(tokenInFile: true) { fixture in
            try fixture.server.apply(APIServerFixture.service("a"), in: APIServerFixture.servicesPath)
            // The server has rotated the token; the file still holds the old one.
            fixture.server.token = "token-2"
            try await fixture.withClient { client in
                try await run(fixture, client) { recorder in
                    #expect(await eventually { fixture.server.requests.contains { $0.status == 401 } })
                    #expect(recorder.names.isEmpty)
                    try "token-2\n".write(toFile: fixture.tokenPath, atomically: true, encoding: .utf8)
                    #expect(await eventually { recorder.names == ["a"] })
                }
            }
        }
    }

    @Test func kubeconfigAndInClusterConfiguration() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kcfg-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("config").path
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - {name: c1, cluster: {server: "https://10.0.0.1:6443/", certificate-authority-data: \(Data("CA".utf8).base64EncodedString())}}
        users:
        - {name: u1, user: {client-certificate-data: \(Data("CERT".utf8).base64EncodedString()), client-key: key.pem}}
        contexts:
        - {name: other, context: {cluster: missing}}
        - {name: ctx, context: {cluster: c1, user: u1}}
        current-context: ctx
        """.write(toFile: path, atomically: true, encoding: .utf8)
        try "KEY".write(to: directory.appendingPathComponent("key.pem"), atomically: true, encoding: .utf8)
        let configuration = try ClusterConfiguration.kubeconfig(at: path)
        #expect(configuration.server == "https://10.0.0.1:6443")
        #expect(configuration.certificateAuthority == Data("CA".utf8))
        #expect(configuration.clientCertificate == Data("CERT".utf8))
        #expect(configuration.clientKey == Data("KEY".utf8))
        #expect(!configuration.insecureSkipTLSVerify)
        #expect(configuration.credential == .none)

        try "CA2".write(to: directory.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        try "tok\n".write(to: directory.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let inCluster = try ClusterConfiguration.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"],
            serviceAccountDirectory: directory.path)
        #expect(inCluster.server == "https://[fd00::1]:443")
        #expect(inCluster.certificateAuthority == Data("CA2".utf8))
        #expect(try inCluster.bearerToken() == "tok")
        #expect(throws: KubeClientError.self) { try ClusterConfiguration.inCluster(environment: [:]) }
    }
}
