/// A hostname pattern from a listener, an HTTPRoute or an Ingress rule: a precise name, a wildcard
/// (`*.example.com`), or absent (every host).
///
/// Patterns are kept lowercase without the `*.` so that matching a request never allocates: a precise
/// pattern is compared with the whole Host, a wildcard with the Host's suffix after a label boundary.
public enum HostnamePattern: Hashable, Sendable, CustomStringConvertible {
    /// No hostname: the pattern matches every request.
    case any
    /// `*.suffix`: one or more labels in front of `suffix` (Gateway API); the Ingress API allows exactly one.
    case wildcard(suffix: String)
    case exact(String)

    /// Parses `*.example.com`, `example.com`, or `nil` for "every host". Letters are lowercased, as DNS
    /// names compare case-insensitively.
    public init(_ text: String?) {
        guard let text, !text.isEmpty else {
            self = .any
            return
        }
        let lowered = text.lowercased()
        if lowered.hasPrefix("*.") {
            self = .wildcard(suffix: String(lowered.dropFirst(2)))
        } else {
            self = .exact(lowered)
        }
    }

    public var description: String {
        switch self {
        case .any: "*"
        case .wildcard(let suffix): "*." + suffix
        case .exact(let name): name
        }
    }

    /// The spec's precedence between routes with intersecting hostnames: first the number of characters of
    /// a matching precise hostname, then the number of characters of the matching hostname as written.
    public var specificity: HostSpecificity {
        switch self {
        case .any: HostSpecificity(preciseCharacters: 0, characters: 0)
        case .wildcard(let suffix): HostSpecificity(preciseCharacters: 0, characters: suffix.utf8.count + 2)
        case .exact(let name): HostSpecificity(preciseCharacters: name.utf8.count, characters: name.utf8.count)
        }
    }

    /// Whether every host this pattern accepts is also accepted by `other` (Gateway API wildcard semantics).
    public func isCovered(by other: HostnamePattern) -> Bool {
        switch (other, self) {
        case (.any, _): true
        case (_, .any): false
        case (.exact(let a), .exact(let b)): a == b
        case (.exact, .wildcard): false
        case (.wildcard(let suffix), .exact(let name)): name.hasSuffix("." + suffix)
        case (.wildcard(let outer), .wildcard(let inner)): inner == outer || inner.hasSuffix("." + outer)
        }
    }

    /// The hosts both patterns accept, as the Gateway API intersects listener and route hostnames: the more
    /// specific of the two when one covers the other, nothing otherwise.
    public func intersection(_ other: HostnamePattern) -> HostnamePattern? {
        if isCovered(by: other) { return self }
        if other.isCovered(by: self) { return other }
        return nil
    }

    /// Whether a request for `host` (lowercase, no port) matches; a wildcard needs at least one label in front.
    public func matches(host: String) -> Bool {
        HostnamePattern.exact(host).isCovered(by: self)
    }
}

/// How specific a matching hostname is, ordered so that larger sorts first in route precedence.
public struct HostSpecificity: Hashable, Sendable, Comparable {
    public var preciseCharacters: Int
    public var characters: Int

    public static func < (lhs: HostSpecificity, rhs: HostSpecificity) -> Bool {
        (lhs.preciseCharacters, lhs.characters) < (rhs.preciseCharacters, rhs.characters)
    }
}

/// Host header handling shared by the table lookups.
enum HostHeader {
    /// The part of a Host header that names the host: the port is ignored for matching (Gateway API
    /// `hostnames`), as is one trailing dot of a fully qualified name. IPv6 literals keep their brackets.
    static func hostPart(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var end = bytes.count
        if bytes.first == UInt8(ascii: "[") {
            if let close = bytes.firstIndex(of: UInt8(ascii: "]")) { end = close + 1 }
        } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            end = colon
        }
        if end > 1 && bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[0..<end])
    }

    /// The host of a Host header as a lowercase string without port, for the slow paths (redirects, CLI).
    static func host(of header: String) -> String {
        var header = header
        return header.withUTF8 { String(decoding: hostPart($0), as: UTF8.self) }.lowercased()
    }
}
