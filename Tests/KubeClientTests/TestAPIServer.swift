import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A small Kubernetes API server for tests, speaking the real wire protocol over TLS with a bearer token:
/// paginated JSON lists with resourceVersion and continue tokens, chunked watch streams of
/// ADDED/MODIFIED/DELETED/BOOKMARK/ERROR events replayed from any resourceVersion it still remembers, and
/// 410 Gone for one it has compacted away. Tests change objects through it and can drop every watch, compact
/// its history or change the accepted token.
final class TestAPIServer: Sendable {
    /// A request as the server saw it, for assertions about what the client asked.
    struct Request: Sendable, CustomStringConvertible {
        var method = "GET"
        var path: String
        var query: [String: String]
        var status: Int
        var isWatch: Bool { query["watch"] == "true" || query["watch"] == "1" }
        var description: String { "\(status) \(method) \(path) \(query)" }
    }

    /// How the server's TLS is set up.
    struct TLSMode: Sendable {
        /// Present a self-signed certificate no client trusts (for `insecure-skip-tls-verify`).
        var untrustedServerCertificate = false
        /// Require a client certificate signed by the test CA (mutual TLS); such a client needs no token.
        var requireClientCertificate = false
    }

    private struct Stored: Sendable {
        var key: String
        var labels: [String: String]
        var json: Data
    }

    private struct Event: Sendable {
        var revision: Int
        var type: String
        var path: String
        var object: Stored
    }

    private struct Watcher: Sendable {
        var path: String
        var selector: String?
        var channel: any Channel
    }

    private struct State {
        var revision = 100
        var objects: [String: [String: Stored]] = [:]
        var events: [Event] = []
        /// Watches from a revision below this get 410 (history compacted).
        var oldestWatchable = 0
        var token: String
        var watchers: [ObjectIdentifier: Watcher] = [:]
        var requests: [Request] = []
        /// Answer a too-old watch with HTTP 410 instead of an ERROR event in a 200 stream.
        var goneAsHTTPStatus = false
        /// Whether the Gateway API's group versions are served (its CRDs installed).
        var gatewayAPIInstalled = false
        /// Close every new connection at once, as an API server that is down.
        var refusesConnections = false
    }

    private let state: Mutex<State>
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel = Mutex<(any Channel)?>(nil)
    let certificates: TestCertificates
    let tlsMode: TLSMode

    init(token: String, certificates: TestCertificates, tlsMode: TLSMode = TLSMode()) {
        state = Mutex(State(token: token))
        self.certificates = certificates
        self.tlsMode = tlsMode
    }

    /// Listens on 127.0.0.1 of the calling thread's network namespace (a test namespace's `run` puts it there).
    func start() throws -> Int {
        let untrusted = tlsMode.untrustedServerCertificate
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(
                untrusted ? certificates.untrustedCertificatePath : certificates.serverCertificatePath
            ).map { .certificate($0) },
            privateKey: .privateKey(
                try NIOSSLPrivateKey(
                    file: untrusted ? certificates.untrustedKeyPath : certificates.serverKeyPath, format: .pem)))
        if tlsMode.requireClientCertificate {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .file(certificates.caPath)
        }
        let context = try NIOSSLContext(configuration: tls)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                if self.refusesConnections { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(server: self))
                }
            }
        let bound = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        channel.withLock { $0 = bound }
        return bound.localAddress!.port!
    }

    func stop() {
        dropWatches()
        try? channel.withLock { $0 }?.close().wait()
        try? group.syncShutdownGracefully()
    }

    // MARK: - What tests do

    /// Creates or replaces an object (a JSON-encodable KubeAPI value) in `path`'s collection.
    func apply<Object: Encodable>(_ object: Object, in path: String) throws {
        let data = try JSONEncoder().encode(object)
        guard var dictionary = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            var metadata = dictionary["metadata"] as? [String: Any]
        else { throw TestServerError("not an object") }
        let key = "\(metadata["namespace"] as? String ?? "")/\(metadata["name"] as? String ?? "")"
        state.withLock { state in
            state.revision += 1
            metadata["resourceVersion"] = String(state.revision)
            dictionary["metadata"] = metadata
            let json = try! JSONSerialization.data(withJSONObject: dictionary, options: [.sortedKeys])
            let stored = Stored(key: key, labels: metadata["labels"] as? [String: String] ?? [:], json: json)
            let type = state.objects[path]?[key] == nil ? "ADDED" : "MODIFIED"
            state.objects[path, default: [:]][key] = stored
            record(Event(revision: state.revision, type: type, path: path, object: stored), in: &state)
        }
    }

    /// Deletes `namespace/name` (`/name` for cluster-scoped kinds) from `path`'s collection.
    func delete(_ key: String, in path: String) {
        state.withLock { state in
            guard var stored = state.objects[path]?.removeValue(forKey: key) else { return }
            state.revision += 1
            stored.json = Self.withRevision(stored.json, state.revision)
            record(Event(revision: state.revision, type: "DELETED", path: path, object: stored), in: &state)
        }
    }

    /// Sends every watch of `path` a bookmark at the current revision.
    func bookmark(_ path: String) {
        state.withLock { state in
            let line = Data(
                "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"\(state.revision)\"}}}\n"
                    .utf8)
            for watcher in state.watchers.values where watcher.path == path { Self.send(line, to: watcher.channel) }
        }
    }

    /// Closes every watch connection abruptly, as a restarted API server or a broken link would.
    func dropWatches() {
        let channels = state.withLock { state in
            defer { state.watchers = [:] }
            return state.watchers.values.map(\.channel)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Forgets the event history: a watch from any earlier revision now gets 410 Gone. Open watches get an
    /// ERROR 410 event, as etcd compaction would give them.
    func compact(closeWatchesWithError: Bool = true) {
        let channels = state.withLock { state in
            state.oldestWatchable = state.revision
            state.events = []
            defer { state.watchers = [:] }
            return closeWatchesWithError ? state.watchers.values.map(\.channel) : []
        }
        for channel in channels {
            Self.send(Self.goneEvent, to: channel)
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    var token: String {
        get { state.withLock { $0.token } }
        set { state.withLock { $0.token = newValue } }
    }

    var goneAsHTTPStatus: Bool {
        get { state.withLock { $0.goneAsHTTPStatus } }
        set { state.withLock { $0.goneAsHTTPStatus = newValue } }
    }

    var gatewayAPIInstalled: Bool {
        get { state.withLock { $0.gatewayAPIInstalled } }
        set { state.withLock { $0.gatewayAPIInstalled = newValue } }
    }

    /// While set, connections are closed as soon as they are accepted (existing ones are dropped by the
    /// caller with `dropWatches`).
    var refusesConnections: Bool {
        get { state.withLock { $0.refusesConnections } }
        set { state.withLock { $0.refusesConnections = newValue } }
    }

    var requests: [Request] { state.withLock { $0.requests } }
    var openWatches: Int { state.withLock { $0.watchers.count } }

    // MARK: - Serving

    private static let goneEvent = Data(
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"too old resource version\",\"reason\":\"Expired\",\"code\":410}}\n"
            .utf8)

    private func record(_ event: Event, in state: inout State) {
        state.events.append(event)
        let line = Self.eventLine(event)
        for watcher in state.watchers.values where watcher.path == event.path {
            if Self.matches(event.object.labels, watcher.selector) { Self.send(line, to: watcher.channel) }
        }
    }

    fileprivate func handle(_ head: HTTPRequestHead, body: Data, channel: any Channel) {
        let components = URLComponents(string: head.uri)
        let path = components?.path ?? head.uri
        var query: [String: String] = [:]
        for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
        // With mutual TLS the handshake already checked the client certificate: that is the identity.
        let authorized = state.withLock {
            head.headers["Authorization"].first == "Bearer \($0.token)"
                || (tlsMode.requireClientCertificate && head.headers["Authorization"].isEmpty)
        }
        guard authorized else {
            respond(channel, path: path, query: query, status: .unauthorized, body: Self.status(401, "Unauthorized"))
            return
        }
        if head.method == .PATCH, path.hasPrefix("/api/v1/nodes/") {
            patchNode(channel, path: path, name: String(path.dropFirst("/api/v1/nodes/".count)), patch: body)
            return
        }
        if head.method == .PATCH, path.hasSuffix("/status") {
            patchStatus(channel, path: path, patch: body)
            return
        }
        if let resources = discovery(path) {
            let list = ["kind": "APIResourceList", "resources": resources.map { ["name": $0] }] as [String: Any]
            let data = try! JSONSerialization.data(withJSONObject: list)
            respond(channel, path: path, query: query, status: .ok, body: data)
            return
        }
        let gatewayPath = path.hasPrefix("/apis/\(Self.gatewayGroup)/")
        guard let kind = Self.kinds[path], !gatewayPath || gatewayAPIInstalled else {
            respond(channel, path: path, query: query, status: .notFound, body: Self.status(404, "not found"))
            return
        }
        if query["watch"] == "true" || query["watch"] == "1" {
            watch(channel, path: path, query: query)
        } else {
            list(channel, path: path, kind: kind, query: query)
        }
    }

    /// A JSON merge patch of a Node's `metadata.annotations` (what an agent writes about its own node); the change
    /// is a MODIFIED event like any other.
    private func patchNode(_ channel: any Channel, path: String, name: String, patch: Data) {
        let collection = "/api/v1/nodes"
        let updated: Data? = state.withLock { state in
            guard let stored = state.objects[collection]?["/\(name)"],
                var object = try? JSONSerialization.jsonObject(with: stored.json) as? [String: Any],
                let changes = try? JSONSerialization.jsonObject(with: patch) as? [String: Any],
                let newAnnotations = (changes["metadata"] as? [String: Any])?["annotations"] as? [String: String]
            else { return nil }
            var metadata = object["metadata"] as? [String: Any] ?? [:]
            var annotations = metadata["annotations"] as? [String: String] ?? [:]
            annotations.merge(newAnnotations) { $1 }
            state.revision += 1
            metadata["annotations"] = annotations
            metadata["resourceVersion"] = String(state.revision)
            object["metadata"] = metadata
            let json = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            let replaced = Stored(key: stored.key, labels: stored.labels, json: json)
            state.objects[collection]?["/\(name)"] = replaced
            record(Event(revision: state.revision, type: "MODIFIED", path: collection, object: replaced), in: &state)
            return json
        }
        if let updated {
            respond(channel, method: "PATCH", path: path, status: .ok, body: updated)
        } else {
            respond(
                channel, path: path, query: [:], status: .notFound, body: Self.status(404, "node \(name) not found"))
        }
    }

    static let gatewayGroup = "gateway.networking.k8s.io"

    /// What discovery of a group version lists, or `nil` (404) for one not served.
    private func discovery(_ path: String) -> [String]? {
        switch path {
        case "/api/v1": ["services", "pods", "namespaces", "nodes", "secrets", "nodes/status"]
        case "/apis/discovery.k8s.io/v1": ["endpointslices"]
        case "/apis/networking.k8s.io/v1": ["networkpolicies", "ingresses", "ingresses/status", "ingressclasses"]
        case "/apis/\(Self.gatewayGroup)/v1" where gatewayAPIInstalled:
            [
                "gatewayclasses", "gatewayclasses/status", "gateways", "gateways/status", "httproutes",
                "httproutes/status",
            ]
        case "/apis/\(Self.gatewayGroup)/v1beta1" where gatewayAPIInstalled: ["referencegrants"]
        default: nil
        }
    }

    /// A JSON merge patch of an object's `status` subresource
    /// (`/apis/G/V/namespaces/NS/PLURAL/NAME/status`). A `metadata.resourceVersion` in the patch is a
    /// precondition: 409 Conflict when the object has changed since, as the real API server answers.
    private func patchStatus(_ channel: any Channel, path: String, patch: Data) {
        var parts = path.split(separator: "/").map(String.init)
        parts.removeLast()  // status
        guard parts.count >= 5 else {
            respond(channel, method: "PATCH", path: path, status: .notFound, body: Self.status(404, "not found"))
            return
        }
        let name = parts.removeLast()
        let plural = parts.removeLast()
        var namespace = ""
        if parts.count >= 2, parts[parts.count - 2] == "namespaces" {
            namespace = parts.removeLast()
            parts.removeLast()
        }
        let collection = "/" + (parts + [plural]).joined(separator: "/")
        let key = "\(namespace)/\(name)"
        let outcome: (HTTPResponseStatus, Data) = state.withLock { state in
            guard let stored = state.objects[collection]?[key],
                var object = try? JSONSerialization.jsonObject(with: stored.json) as? [String: Any],
                let changes = try? JSONSerialization.jsonObject(with: patch) as? [String: Any]
            else { return (.notFound, Self.status(404, "\(collection) \(key) not found")) }
            var metadata = object["metadata"] as? [String: Any] ?? [:]
            if let expected = (changes["metadata"] as? [String: Any])?["resourceVersion"] as? String,
                expected != metadata["resourceVersion"] as? String
            {
                return (.conflict, Self.status(409, "the object has been modified"))
            }
            object["status"] = Self.merge(object["status"], changes["status"])
            state.revision += 1
            metadata["resourceVersion"] = String(state.revision)
            object["metadata"] = metadata
            let json = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            let replaced = Stored(key: stored.key, labels: stored.labels, json: json)
            state.objects[collection]?[key] = replaced
            record(Event(revision: state.revision, type: "MODIFIED", path: collection, object: replaced), in: &state)
            return (.ok, json)
        }
        respond(channel, method: "PATCH", path: path, status: outcome.0, body: outcome.1)
    }

    /// RFC 7386: objects merge member by member (`null` removes), anything else replaces.
    private static func merge(_ target: Any?, _ patch: Any?) -> Any? {
        guard let patch = patch as? [String: Any] else { return patch }
        var result = target as? [String: Any] ?? [:]
        for (key, value) in patch {
            if value is NSNull { result[key] = nil } else { result[key] = merge(result[key], value) }
        }
        return result
    }

    /// The stored JSON of an object (`/name` for cluster-scoped kinds), for assertions.
    func object(_ key: String, in path: String) -> [String: Any]? {
        state.withLock { state in
            state.objects[path]?[key].flatMap { try? JSONSerialization.jsonObject(with: $0.json) as? [String: Any] }
        }
    }

    private func list(_ channel: any Channel, path: String, kind: String, query: [String: String]) {
        let (items, revision) = state.withLock { state in
            let items = (state.objects[path] ?? [:]).values
                .filter { Self.matches($0.labels, query["labelSelector"]) }
                .sorted { $0.key < $1.key }
            return (items, state.revision)
        }
        var offset = 0
        var listRevision = revision
        if let token = query["continue"] {
            let parts = token.split(separator: ":")
            guard parts.count == 2, let r = Int(parts[0]), let o = Int(parts[1]) else {
                respond(channel, path: path, query: query, status: .badRequest, body: Self.status(400, "bad continue"))
                return
            }
            listRevision = r
            offset = o
        }
        let limit = Int(query["limit"] ?? "") ?? Int.max
        let page = items.dropFirst(offset).prefix(limit)
        let next = offset + page.count < items.count ? "\(listRevision):\(offset + page.count)" : ""
        var body = Data(
            "{\"kind\":\"\(kind)List\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"\(listRevision)\",\"continue\":\"\(next)\"},\"items\":["
                .utf8)
        for (index, item) in page.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(item.json)
        }
        body.append(contentsOf: Array("]}".utf8))
        respond(channel, path: path, query: query, status: .ok, body: body)
    }

    private func watch(_ channel: any Channel, path: String, query: [String: String]) {
        let from = Int(query["resourceVersion"] ?? "") ?? 0
        state.withLock { state in
            let gone = from < state.oldestWatchable
            state.requests.append(
                Request(path: path, query: query, status: gone && state.goneAsHTTPStatus ? 410 : 200))
            if gone && state.goneAsHTTPStatus {
                let body = Self.status(410, "too old resource version")
                Self.writeResponse(channel, status: .gone, body: body)
                return
            }
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Transfer-Encoding", value: "chunked")
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            if gone {
                Self.send(Self.goneEvent, to: channel)
                channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
                return
            }
            for event in state.events where event.path == path && event.revision > from {
                if Self.matches(event.object.labels, query["labelSelector"]) {
                    Self.send(Self.eventLine(event), to: channel)
                }
            }
            channel.flush()
            state.watchers[ObjectIdentifier(channel)] = Watcher(
                path: path, selector: query["labelSelector"], channel: channel)
        }
    }

    fileprivate func closed(_ channel: any Channel) {
        state.withLock { _ = $0.watchers.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    private func respond(
        _ channel: any Channel, method: String = "GET", path: String, query: [String: String] = [:],
        status: HTTPResponseStatus, body: Data
    ) {
        state.withLock {
            $0.requests.append(Request(method: method, path: path, query: query, status: Int(status.code)))
        }
        Self.writeResponse(channel, status: status, body: body)
    }

    private static func writeResponse(_ channel: any Channel, status: HTTPResponseStatus, body: Data) {
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.count))
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
    }

    private static func send(_ line: Data, to channel: any Channel) {
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: line))), promise: nil)
    }

    private static func eventLine(_ event: Event) -> Data {
        var line = Data("{\"type\":\"\(event.type)\",\"object\":".utf8)
        line.append(event.object.json)
        line.append(contentsOf: Array("}\n".utf8))
        return line
    }

    private static func withRevision(_ json: Data, _ revision: Int) -> Data {
        guard var dictionary = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
            var metadata = dictionary["metadata"] as? [String: Any]
        else { return json }
        metadata["resourceVersion"] = String(revision)
        dictionary["metadata"] = metadata
        return (try? JSONSerialization.data(withJSONObject: dictionary, options: [.sortedKeys])) ?? json
    }

    private static func status(_ code: Int, _ message: String) -> Data {
        Data(
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"\(message)\",\"code\":\(code)}"
                .utf8)
    }

    /// The collections this server serves, with their kinds.
    static let kinds: [String: String] = [
        "/api/v1/services": "Service", "/apis/discovery.k8s.io/v1/endpointslices": "EndpointSlice",
        "/api/v1/namespaces": "Namespace", "/api/v1/pods": "Pod", "/api/v1/nodes": "Node",
        "/apis/networking.k8s.io/v1/networkpolicies": "NetworkPolicy", "/api/v1/secrets": "Secret",
        "/apis/networking.k8s.io/v1/ingresses": "Ingress", "/apis/networking.k8s.io/v1/ingressclasses": "IngressClass",
        "/apis/\(gatewayGroup)/v1/gatewayclasses": "GatewayClass", "/apis/\(gatewayGroup)/v1/gateways": "Gateway",
        "/apis/\(gatewayGroup)/v1/httproutes": "HTTPRoute",
        "/apis/\(gatewayGroup)/v1beta1/referencegrants": "ReferenceGrant",
    ]

    /// Label selectors as the agent writes them: comma-separated `key`, `!key` and `key=value` terms.
    static func matches(_ labels: [String: String], _ selector: String?) -> Bool {
        guard let selector, !selector.isEmpty else { return true }
        for term in selector.split(separator: ",") {
            if term.hasPrefix("!") {
                if labels[String(term.dropFirst())] != nil { return false }
            } else if let equals = term.firstIndex(of: "=") {
                if labels[String(term[..<equals])] != String(term[term.index(after: equals)...]) { return false }
            } else if labels[String(term)] == nil {
                return false
            }
        }
        return true
    }
}

/// Collects one request at a time and hands it to the server; a watch keeps the connection for its events.
private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: TestAPIServer
    private var head: HTTPRequestHead?
    private var body = Data()

    init(server: TestAPIServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = Data()
        case .body(let buffer): body.append(contentsOf: buffer.readableBytesView)
        case .end:
            if let head { server.handle(head, body: body, channel: context.channel) }
            head = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.closed(context.channel)
        context.fireChannelInactive()
    }
}
