/// Why a request to the API server failed, in the terms the list/watch loop acts on: `gone` means the
/// resourceVersion it holds is too old and it must relist; everything else is retried with backoff.
public enum KubeClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// HTTP 410, or a watch `ERROR` event with code 410: the resourceVersion was compacted away.
    case gone(String)
    /// HTTP 401 or 403: the credential was refused (an expired service account token is re-read on retry).
    case unauthorized(status: Int, message: String)
    /// Any other HTTP status, with the Status message the server gave.
    case httpStatus(Int, String)
    /// A watch `ERROR` event other than 410.
    case watchError(code: Int, message: String)
    /// A response or event that is not the JSON the protocol promises.
    case malformed(String)
    /// The kubeconfig or in-cluster environment does not say how to reach the server.
    case configuration(String)
    /// No HTTP exchange happened: the connection or the TLS handshake failed (server down, certificate not
    /// trusted, client certificate refused). The message names the server and the cause.
    case transport(String)

    /// Whether `error` is an answer of the API server (an HTTP status, a watch error, a bad body) rather than a
    /// failure to reach it: a server that refuses one request (RBAC, an expired token) is still reachable, and
    /// health must not fail the whole agent for one forbidden resource.
    public static func isAnswer(_ error: any Error) -> Bool {
        guard let error = error as? KubeClientError else { return false }
        if case .transport = error { return false }
        return true
    }

    /// The failure in words, for logs.
    public var description: String {
        switch self {
        case .gone(let message): "resource version too old (410 Gone): \(message)"
        case .unauthorized(let status, let message): "credential refused (HTTP \(status)): \(message)"
        case .httpStatus(let status, let message): "HTTP \(status): \(message)"
        case .watchError(let code, let message): "watch error \(code): \(message)"
        case .malformed(let message): "malformed response: \(message)"
        case .configuration(let message): "API server configuration: \(message)"
        case .transport(let message): message
        }
    }
}
