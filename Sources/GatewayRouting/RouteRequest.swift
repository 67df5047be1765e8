/// One HTTP header field as received or sent; names compare case-insensitively, order is kept.
public struct HTTPField: Hashable, Sendable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The parts of an HTTP request that routing looks at: what a proxy knows once it has read the request head.
public struct RouteRequest: Hashable, Sendable {
    /// `http` or `https`: the scheme the client used, which redirects keep unless they set one; `nil` takes
    /// the protocol of the listener that accepts the request (`http` for Ingress).
    public var scheme: String?
    /// The Host header (or HTTP/2 `:authority`); a port in it is ignored for matching and kept for the backend.
    public var host: String
    public var method: String
    /// The request target: a path, optionally followed by `?` and a query string.
    public var path: String
    public var headers: [HTTPField]

    public init(scheme: String? = nil, host: String, method: String = "GET", path: String, headers: [HTTPField] = []) {
        self.scheme = scheme
        self.host = host
        self.method = method
        self.path = path
        self.headers = headers
    }

    /// The path without the query string.
    var pathOnly: Substring {
        path.firstIndex(of: "?").map { path[..<$0] } ?? path[...]
    }

    /// The query string after `?`, if any.
    var query: Substring? {
        path.firstIndex(of: "?").map { path[path.index(after: $0)...] }
    }
}

extension [HTTPField] {
    /// The value a header condition compares: every field with the name, joined by `,` as RFC 9110 §5.3
    /// allows a recipient to combine them.
    func combinedValue(ofLowercased name: [UInt8]) -> String? {
        var result: String?
        for field in self where field.name.utf8.count == name.count && Self.equalFoldingCase(field.name, name) {
            result = result.map { $0 + "," + field.value } ?? field.value
        }
        return result
    }

    static func equalFoldingCase(_ name: String, _ lowercased: [UInt8]) -> Bool {
        var index = 0
        for byte in name.utf8 {
            if HostIndex.lowercase(byte) != lowercased[index] { return false }
            index += 1
        }
        return true
    }

    /// Applies a header modifier: `set` replaces every field of the name with one (where the first one was),
    /// `add` appends to an existing value with `,` (the spec's `my-header: foo,bar,baz`) or adds a field,
    /// `remove` deletes every field of the name.
    mutating func apply(set: [HTTPField], add: [HTTPField], remove: [String]) {
        for field in set {
            let name = field.name.lowercased()
            guard let first = firstIndex(where: { $0.name.lowercased() == name }) else {
                append(field)
                continue
            }
            self[first] = field
            var index = first + 1
            while index < count {
                if self[index].name.lowercased() == name { self.remove(at: index) } else { index += 1 }
            }
        }
        for field in add {
            let name = field.name.lowercased()
            if let existing = firstIndex(where: { $0.name.lowercased() == name }) {
                self[existing].value += "," + field.value
            } else {
                append(field)
            }
        }
        let removed = Set(remove.map { $0.lowercased() })
        removeAll { removed.contains($0.name.lowercased()) }
    }
}
