/// What would happen to one request: the status, where it goes, and what the backend and the client see.
///
/// Encoded as the JSON of `sluice route -o json`; absent values are written as `null`, never left out, so
/// scripts can rely on every key.
public struct RouteAnswer: Hashable, Sendable, Codable {
    /// 200 when forwarded, the redirect's 3xx, 404 when no route matches, 500 when the matched rule cannot be
    /// served (no backend, an invalid backend was picked, an unsupported filter).
    public var status: Int
    /// The backend chosen (`namespace/service:port`): the candidate with the largest weight, the first of
    /// equals; `nil` unless forwarded.
    public var backend: String?
    /// Every candidate with a non-zero weight; an invalid one has `backend: null` (its share gets a 500).
    public var backends: [WeightedBackend]
    /// The HTTPRoute or Ingress that matched (`namespace/name`).
    public var route: String?
    /// `HTTPRoute` or `Ingress`.
    public var routeKind: String?
    /// The index of the matched rule in the route's rules; `nil` for an Ingress default backend.
    public var rule: Int?
    public var ruleName: String?
    /// The Gateway listener that took the request.
    public var listener: String?
    public var redirect: Redirect?
    /// The request target the backend receives (path and query), after rewrites.
    public var path: String?
    /// The Host header the backend receives: the client's (port included) unless rewritten.
    public var host: String?
    /// The request headers the backend receives, repeated names joined by `,`.
    public var requestHeaders: [String: String]?
    /// The response headers the client receives: the backend's (or the redirect's `Location`) after the
    /// response header modifiers.
    public var responseHeaders: [String: String]
    /// Requests copied to other backends (RequestMirror), recorded, never answered.
    public var mirrors: [Mirror]
    /// The TLS secret an Ingress lists for the host.
    public var tlsSecret: String?
    /// Why, in words.
    public var reason: String

    public struct WeightedBackend: Hashable, Sendable, Codable {
        public var backend: String?
        public var weight: Int

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(backend, forKey: .backend)
            try container.encode(weight, forKey: .weight)
        }
    }

    /// A `RequestRedirect` answer: the Location header and its parts.
    public struct Redirect: Hashable, Sendable, Codable {
        public var location: String
        public var scheme: String
        public var host: String
        /// The port the Location names, or implies when it is the scheme's default (80, 443) and left out.
        public var port: Int
        /// The path of the Location, without the query string (which the Location keeps).
        public var path: String
    }

    public struct Mirror: Hashable, Sendable, Codable {
        public var backend: String
        /// The share of requests mirrored, 0–100.
        public var percent: Double
    }

    /// A 404: no listener, route or rule takes the request.
    public static func notFound(_ reason: String) -> RouteAnswer {
        RouteAnswer(
            status: 404, backend: nil, backends: [], route: nil, routeKind: nil, rule: nil, ruleName: nil,
            listener: nil, redirect: nil, path: nil, host: nil, requestHeaders: nil,
            responseHeaders: [:], mirrors: [], tlsSecret: nil, reason: reason)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(backend, forKey: .backend)
        try container.encode(backends, forKey: .backends)
        try container.encode(route, forKey: .route)
        try container.encode(routeKind, forKey: .routeKind)
        try container.encode(rule, forKey: .rule)
        try container.encode(ruleName, forKey: .ruleName)
        try container.encode(listener, forKey: .listener)
        try container.encode(redirect, forKey: .redirect)
        try container.encode(path, forKey: .path)
        try container.encode(host, forKey: .host)
        try container.encode(requestHeaders, forKey: .requestHeaders)
        try container.encode(responseHeaders, forKey: .responseHeaders)
        try container.encode(mirrors, forKey: .mirrors)
        try container.encode(tlsSecret, forKey: .tlsSecret)
        try container.encode(reason, forKey: .reason)
    }
}

extension [HTTPField] {
    /// Headers as a JSON object: names as first written, repeated names (any case) joined by `,`.
    var dictionary: [String: String] {
        var result: [String: String] = [:]
        var names: [String: String] = [:]
        for field in self {
            let lowered = field.name.lowercased()
            if let name = names[lowered] {
                result[name]! += "," + field.value
            } else {
                names[lowered] = field.name
                result[field.name] = field.value
            }
        }
        return result
    }
}
