import KubeAPI

/// Which object and rule produced a route entry: what answers and status name.
public struct RouteSource: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `HTTPRoute` or `Ingress`.
    public var kind: String
    public var namespace: String
    public var name: String

    public init(kind: String, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// `namespace/name`, how the spec orders routes that tie on everything else.
    public var description: String { "\(namespace)/\(name)" }

    public static func < (lhs: RouteSource, rhs: RouteSource) -> Bool {
        (lhs.namespace, lhs.name, lhs.kind) < (rhs.namespace, rhs.name, rhs.kind)
    }
}

/// One weighted backend of a rule after its reference was resolved.
struct BackendChoice: Sendable {
    /// `namespace/service:port`; `nil` when the reference is invalid (its share of requests gets a 500).
    var target: String?
    var weight: Int
    var filters: [CompiledFilter]
}

/// What a matched rule does, shared by every entry (hostname, match) the rule produced.
struct RouteAction: Sendable {
    var source: RouteSource
    /// The rule's position in the route's `rules` (Ingress: in `spec.rules`); `nil` for an Ingress default backend.
    var rule: Int?
    var ruleName: String?
    var filters: [CompiledFilter]
    var backends: [BackendChoice]
}

/// A compiled header or query-parameter value condition.
enum ValueCondition: Sendable {
    case exact(String)
    case regularExpression(RegularExpression)

    func matches(_ value: String) -> Bool {
        switch self {
        case .exact(let expected): value == expected
        case .regularExpression(let expression): expression.matchesWhole(value)
        }
    }
}

/// The conditions of one `HTTPRouteMatch` (or one Ingress path), all of which must hold.
struct MatchConditions: Sendable {
    var path: PathCondition
    /// The path value as written, which `ReplacePrefixMatch` replaces.
    var pathValue: String
    var method: String?
    /// Lowercased header names (compared case-insensitively) with their value conditions.
    var headers: [(name: [UInt8], value: ValueCondition)]
    /// Query parameter names (case-sensitive) with their value conditions.
    var queryParameters: [(name: String, value: ValueCondition)]

    @inline(__always)
    func matches(_ request: RouteRequest, path: UnsafeBufferPointer<UInt8>) -> Bool {
        guard self.path.matches(path, string: { String(request.pathOnly) }) else { return false }
        if let method, method != request.method { return false }
        for header in headers {
            guard let value = request.headers.combinedValue(ofLowercased: header.name), header.value.matches(value)
            else { return false }
        }
        if !queryParameters.isEmpty {
            let parameters = QueryString.parameters(request.query ?? "")
            for parameter in queryParameters {
                // The spec recommends matching the first value of a repeated parameter.
                guard let value = parameters.first(where: { $0.name == parameter.name })?.value,
                    parameter.value.matches(value)
                else { return false }
            }
        }
        return true
    }
}

/// The order of entries within a host: larger precedence is tried first. Gateway API: hostname specificity,
/// then Exact path, (RegularExpression, Sluice's choice), the longest PathPrefix, a method, the most header
/// matches, the most query matches, then the oldest route, then `namespace/name`, then rule and match order.
/// Ingress: the longest path, then Exact over Prefix, then the oldest Ingress and its name.
struct Precedence: Sendable, Comparable {
    var host: HostSpecificity
    /// Gateway API: Exact 2, RegularExpression 1, PathPrefix 0. Ingress puts the length first (see below).
    var pathRank: Int
    var pathLength: Int
    var hasMethod: Bool
    var headerCount: Int
    var queryCount: Int
    /// RFC 3339 creation timestamp; objects without one sort after those with one.
    var created: String?
    var source: RouteSource
    var rule: Int
    var match: Int
    /// Ingress orders by length before path type; Gateway API by type before length.
    var lengthBeforeRank: Bool = false

    /// Whether `lhs` is tried before `rhs`.
    static func < (lhs: Precedence, rhs: Precedence) -> Bool {
        if lhs.host != rhs.host { return lhs.host > rhs.host }
        let left = lhs.lengthBeforeRank ? (lhs.pathLength, lhs.pathRank) : (lhs.pathRank, lhs.pathLength)
        let right = rhs.lengthBeforeRank ? (rhs.pathLength, rhs.pathRank) : (rhs.pathRank, rhs.pathLength)
        if left != right { return left > right }
        if lhs.hasMethod != rhs.hasMethod { return lhs.hasMethod }
        if lhs.headerCount != rhs.headerCount { return lhs.headerCount > rhs.headerCount }
        if lhs.queryCount != rhs.queryCount { return lhs.queryCount > rhs.queryCount }
        if lhs.created != rhs.created {
            guard let left = lhs.created else { return false }
            guard let right = rhs.created else { return true }
            return left < right
        }
        if lhs.source != rhs.source { return lhs.source < rhs.source }
        return (lhs.rule, lhs.match) < (rhs.rule, rhs.match)
    }

    static func == (lhs: Precedence, rhs: Precedence) -> Bool { !(lhs < rhs) && !(rhs < lhs) }
}

/// One (hostname, match) of a rule in a host's list.
///
/// A class, and immutable: host lists hold references, so scanning a list, merging a route into it and
/// removing one from it move pointers instead of copying (and reference-counting) every field.
final class RouteEntry: Sendable {
    let conditions: MatchConditions
    let precedence: Precedence
    let action: RouteAction

    init(conditions: MatchConditions, precedence: Precedence, action: RouteAction) {
        self.conditions = conditions
        self.precedence = precedence
        self.action = action
    }

    /// The same entry under another matching hostname.
    func with(host: HostSpecificity) -> RouteEntry {
        var precedence = precedence
        precedence.host = host
        return RouteEntry(conditions: conditions, precedence: precedence, action: action)
    }
}

/// Query-string parsing for query-parameter matches.
enum QueryString {
    /// `name=value` pairs split on `&`, percent-decoded (`+` stays a plus: this is a URI query, not a form).
    static func parameters(_ query: Substring) -> [(name: String, value: String)] {
        query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    static func decode(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let high = hexValue(iterator[iterator.startIndex]),
                let low = hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
