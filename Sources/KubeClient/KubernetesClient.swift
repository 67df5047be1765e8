import AsyncHTTPClient
import Foundation
import KubeAPI
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// One page of a LIST: its objects, the list's resourceVersion (where a watch starts) and the token of the
/// next page (`nil` on the last one).
public struct ListPage<Object: KubernetesObject>: Sendable {
    /// The page's objects, decoded.
    public var items: [Object]
    /// The list's `metadata.resourceVersion`: a watch from here misses nothing.
    public var resourceVersion: String
    /// `metadata.continue`, or `nil` on the last page.
    public var continueToken: String?
}

/// One event of a WATCH stream, decoded: objects as KubeAPI values, bookmarks as the resourceVersion they
/// carry. `ERROR` events are thrown (`KubeClientError.gone` for 410) and never appear here.
public enum WatchEvent<Object: KubernetesObject>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    case bookmark(resourceVersion: String)
}

/// Talks the API server's list/watch protocol over HTTPS: paginated LISTs and chunked WATCH streams of
/// newline-separated JSON events, decoded into the KubeAPI model. It keeps no state between calls; the
/// resume/relist policy lives in `Reflector`.
public final class KubernetesClient: Sendable {
    /// Where and as whom it connects.
    public let configuration: ClusterConfiguration
    private let http: HTTPClient
    private let logger: Logger

    /// Sets up TLS (CA, client certificate) once; the token is read per request.
    public init(configuration: ClusterConfiguration, logger: Logger = Logger(label: "kube-client")) throws {
        self.configuration = configuration
        self.logger = logger
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = configuration.certificateAuthority {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca)))
        }
        if let certificate = configuration.clientCertificate, let key = configuration.clientKey {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key), format: .pem))
        }
        if configuration.insecureSkipTLSVerify { tls.certificateVerification = .none }
        // Closing a connection waits for the peer's close_notify; a watch being abandoned (shutdown, --once)
        // should not hold the agent for the default 5 s.
        tls.shutdownTimeout = .seconds(1)
        // No read timeout: a watch is quiet for as long as nothing changes (the server's timeoutSeconds and our
        // deadline end it instead).
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls, timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10)))
        http.httpVersion = .http1Only
        // A connection that cannot be made (server down, TLS refused) fails the request at once with its cause,
        // instead of being retried inside the pool until the request's deadline: the reflector's backoff retries,
        // and the agent learns within seconds that the API server is unreachable.
        http.connectionPool.retryConnectionEstablishment = false
        // Over HTTP/1.1 every open watch holds a connection: the agent's dozen watches (more with the routing
        // controller) plus lists and writes must not queue behind the pool's default of 8 per host.
        http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// Closes the connection pool; call once no request is running.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// One page of `resource`: at most `limit` objects, starting at `continueToken`.
    public func list<Object: KubernetesObject>(
        _ type: Object.Type, _ resource: APIResource, limit: Int, continueToken: String?
    ) async throws -> ListPage<Object> {
        var query = selectors(resource)
        query.append(("limit", String(limit)))
        if let continueToken { query.append(("continue", continueToken)) }
        let response = try await execute(try request(resource.path, query), timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 512 << 20)
        try Self.check(response.status, body: body)
        do {
            let list = try JSONDecoder().decode(ObjectList<Object>.self, from: Data(buffer: body))
            let next = list.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
            return ListPage(
                items: list.items, resourceVersion: list.metadata.resourceVersion ?? "", continueToken: next)
        } catch let error as DecodingError {
            throw KubeClientError.malformed("list of \(resource): \(error)")
        }
    }

    /// Watches `resource` from `resourceVersion` (with bookmarks), calling `handle` for each event in order until
    /// the server ends the stream (normally after `timeoutSeconds`), which returns, or it fails, which throws.
    /// `opened` runs once the server has accepted the watch: a quiet stream is a working connection too.
    public func watch<Object: KubernetesObject>(
        _ type: Object.Type, _ resource: APIResource, from resourceVersion: String, timeoutSeconds: Int,
        opened: () async -> Void = {}, handle: (WatchEvent<Object>) async throws -> Void
    ) async throws {
        var query = selectors(resource)
        query += [
            ("watch", "true"), ("allowWatchBookmarks", "true"), ("resourceVersion", resourceVersion),
            ("timeoutSeconds", String(timeoutSeconds)),
        ]
        let response = try await execute(
            try request(resource.path, query), timeout: .seconds(Int64(timeoutSeconds) + 30))
        if response.status != .ok {
            try Self.check(response.status, body: try await response.body.collect(upTo: 1 << 20))
        }
        await opened()
        var pending = Data()
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                guard !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) else { continue }
                try await handle(try Self.decodeEvent(Data(line), resource: resource))
            }
        }
    }

    static func decodeEvent<Object: KubernetesObject>(_ line: Data, resource: APIResource) throws -> WatchEvent<Object>
    {
        let decoder = JSONDecoder()
        let header: EventHeader
        do {
            header = try decoder.decode(EventHeader.self, from: line)
        } catch {
            throw KubeClientError.malformed("watch event of \(resource): \(error)")
        }
        func object() throws -> Object {
            do {
                return try decoder.decode(EventBody<Object>.self, from: line).object
            } catch {
                throw KubeClientError.malformed("\(header.type) event of \(resource): \(error)")
            }
        }
        switch header.type {
        case "ADDED": return .added(try object())
        case "MODIFIED": return .modified(try object())
        case "DELETED": return .deleted(try object())
        case "BOOKMARK": return .bookmark(resourceVersion: header.object.metadata?.resourceVersion ?? "")
        case "ERROR":
            let code = header.object.code ?? 0
            let message = header.object.message ?? ""
            if code == 410 { throw KubeClientError.gone(message) }
            throw KubeClientError.watchError(code: code, message: message)
        default:
            throw KubeClientError.malformed("watch event of \(resource) with type \"\(header.type)\"")
        }
    }

    /// Merges `annotations` into Node `name`'s metadata with a JSON merge patch: how the agent advertises what
    /// other nodes need to reach this one (its VTEP), touching nothing else of the object.
    public func annotateNode(_ name: String, _ annotations: [String: String]) async throws {
        guard let escaped = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) else {
            throw KubeClientError.malformed("node name \(name)")
        }
        var request = try request("/api/v1/nodes/\(escaped)", [])
        request.method = .PATCH
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/merge-patch+json")
        let patch = try JSONSerialization.data(
            withJSONObject: ["metadata": ["annotations": annotations]], options: [.sortedKeys])
        request.body = .bytes(ByteBuffer(data: patch))
        let response = try await execute(request, timeout: .seconds(30))
        try Self.check(response.status, body: try await response.body.collect(upTo: 1 << 20))
    }

    /// The resources a group version serves (`/apis/gateway.networking.k8s.io/v1`, `/api/v1`), by plural name
    /// (subresources left out), or `nil` when the API server does not serve it (404): how the agent learns
    /// whether optional CRDs such as the Gateway API are installed, which is not an error when they are not.
    public func servedResources(group: String, version: String) async throws -> Set<String>? {
        let path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        let response = try await execute(try request(path, []), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        if response.status == .notFound { return nil }
        try Self.check(response.status, body: body)
        do {
            let list = try JSONDecoder().decode(APIResourceList.self, from: Data(buffer: body))
            return Set(list.resources.map(\.name).filter { !$0.contains("/") })
        } catch {
            throw KubeClientError.malformed("discovery of \(path): \(error)")
        }
    }

    /// Merge-patches the `status` subresource of one object: `patch` is the JSON body. Putting
    /// `metadata.resourceVersion` in the patch makes it conditional (409 Conflict when the object changed since),
    /// which a writer of shared lists such as `status.parents` needs so it never overwrites another controller's
    /// concurrent entry. Returns the object as stored.
    @discardableResult
    public func patchStatus(
        _ resource: APIResource, namespace: String?, name: String, patch: Data
    ) async throws -> Data {
        func escape(_ part: String) throws -> String {
            guard let escaped = part.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed),
                !part.isEmpty, !part.contains("/")
            else { throw KubeClientError.malformed("object name \"\(part)\"") }
            return escaped
        }
        let prefix = resource.group.isEmpty ? "/api/\(resource.version)" : "/apis/\(resource.group)/\(resource.version)"
        let scope = try namespace.map { "/namespaces/\(try escape($0))" } ?? ""
        var request = try request("\(prefix)\(scope)/\(resource.plural)/\(try escape(name))/status", [])
        request.method = .PATCH
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/merge-patch+json")
        request.body = .bytes(ByteBuffer(data: patch))
        let response = try await execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        try Self.check(response.status, body: body)
        return Data(buffer: body)
    }

    /// Every request goes through here, so a failure to connect names the server and, for TLS, the likely cause.
    private func execute(_ request: HTTPClientRequest, timeout: TimeAmount) async throws -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: timeout)
        } catch let error as NIOSSLError {
            throw KubeClientError.transport(tlsFailure(error))
        } catch let error as BoringSSLError {
            throw KubeClientError.transport(tlsFailure(error))
        } catch let error as HTTPClientError where error != .cancelled {
            throw KubeClientError.transport("cannot reach the API server at \(configuration.server): \(error)")
        } catch let error as IOError {
            throw KubeClientError.transport("cannot reach the API server at \(configuration.server): \(error)")
        }
    }

    /// A TLS failure in words, with what to change for the two common ones.
    private func tlsFailure(_ error: any Error) -> String {
        let detail = "\(error)"
        let hint =
            if detail.contains("CERTIFICATE_VERIFY_FAILED") {
                "the server's certificate is not trusted: set the cluster's certificate-authority(-data) to the CA "
                    + "that signed it (or insecure-skip-tls-verify)"
            } else if detail.contains("CERTIFICATE_REQUIRED") || detail.contains("BAD_CERTIFICATE")
                || detail.contains("UNKNOWN_CA")
            {
                "the server requires a client certificate it trusts: set the user's client-certificate and client-key"
            } else {
                "check the cluster's certificate-authority and the user's client certificate"
            }
        return "TLS with the API server at \(configuration.server) failed: \(hint) (\(detail))"
    }

    private func selectors(_ resource: APIResource) -> [(String, String)] {
        var query: [(String, String)] = []
        if let selector = resource.labelSelector { query.append(("labelSelector", selector)) }
        if let selector = resource.fieldSelector { query.append(("fieldSelector", selector)) }
        return query
    }

    private func request(_ path: String, _ query: [(String, String)]) throws -> HTTPClientRequest {
        var components = URLComponents()
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // `+` is a space to some servers' form decoding; label selectors never need it literally.
        let encoded = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        var request = HTTPClientRequest(url: configuration.server + path + (encoded.isEmpty ? "" : "?" + encoded))
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "sluiced")
        if let token = try configuration.bearerToken() {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        return request
    }

    private static func check(_ status: HTTPResponseStatus, body: ByteBuffer) throws {
        guard status != .ok else { return }
        let message =
            (try? JSONDecoder().decode(StatusObject.self, from: Data(buffer: body)).message)
            ?? String(buffer: body)
        switch status.code {
        case 410: throw KubeClientError.gone(message)
        case 401, 403: throw KubeClientError.unauthorized(status: Int(status.code), message: message)
        default: throw KubeClientError.httpStatus(Int(status.code), message)
        }
    }
}

/// `metav1.ListMeta` and the items of a `*List` response.
struct ObjectList<Object: KubernetesObject>: Decodable {
    struct Meta: Decodable {
        var resourceVersion: String?
        var `continue`: String?
    }
    var metadata: Meta
    var items: [Object]

    enum CodingKeys: String, CodingKey { case metadata, items }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decode(Meta.self, forKey: .metadata)
        items = try container.decodeIfPresent([Object].self, forKey: .items) ?? []
    }
}

/// What every watch event has: its type, and enough of the object for bookmarks (resourceVersion) and
/// errors (a `Status`: code and message).
struct EventHeader: Decodable {
    struct Object: Decodable {
        struct Meta: Decodable { var resourceVersion: String? }
        var metadata: Meta?
        var code: Int?
        var message: String?
    }
    var type: String
    var object: Object
}

struct EventBody<Object: Decodable>: Decodable {
    var object: Object
}

/// `metav1.APIResourceList`: what a group version serves.
struct APIResourceList: Decodable {
    struct Resource: Decodable { var name: String }
    var resources: [Resource]
}

/// `metav1.Status`, for the message of an error response.
struct StatusObject: Decodable {
    var message: String?
}
