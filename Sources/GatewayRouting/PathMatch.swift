import KubeAPI

/// A compiled path condition. Paths compare byte for byte and case-sensitively, before any decoding, on the
/// path without its query string.
enum PathCondition: Sendable {
    /// The whole path equals the bytes (`/abc` matches neither `/abc/` nor `/abcd`).
    case exact([UInt8])
    /// Element-wise prefix (Gateway API `PathPrefix`, Ingress `Prefix`): the bytes are the prefix without
    /// its trailing `/` (empty for `/`), and must be followed by the end of the path or a `/`.
    case prefix([UInt8])
    case regularExpression(RegularExpression)

    /// `PathPrefix` and Ingress `Prefix` ignore a trailing `/` of the prefix: `/foo/` and `/foo` both match
    /// `/foo`, `/foo/` and `/foo/bar`, and neither matches `/foobar`.
    static func prefix(_ value: String) -> PathCondition {
        var bytes = Array(value.utf8)
        while bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        return .prefix(bytes)
    }

    /// Whether the path (no query) matches; for a prefix also how many bytes it covered, which
    /// `ReplacePrefixMatch` replaces.
    @inline(__always)
    func matches(_ path: UnsafeBufferPointer<UInt8>, string: () -> String) -> Bool {
        switch self {
        case .exact(let bytes):
            return bytes.count == path.count && bytes.withUnsafeBufferPointer { Self.equal($0, path, count: $0.count) }
        case .prefix(let bytes):
            guard path.count >= bytes.count else { return false }
            guard bytes.withUnsafeBufferPointer({ Self.equal($0, path, count: $0.count) }) else { return false }
            return path.count == bytes.count || path[bytes.count] == UInt8(ascii: "/")
        case .regularExpression(let expression):
            return expression.matchesWhole(string())
        }
    }

    @inline(__always)
    private static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, count: Int) -> Bool {
        for index in 0..<count where a[index] != b[index] { return false }
        return true
    }
}

/// Path rewriting shared by `RequestRedirect` and `URLRewrite`.
enum PathRewrite {
    /// Replaces the element-wise prefix `matched` of `path` as the spec's table for `ReplacePrefixMatch` shows:
    /// `/foo/bar` with prefix `/foo` and replacement `/xyz` or `/xyz/` becomes `/xyz/bar`; `/foo/` becomes
    /// `/xyz/`; an empty or `/` replacement strips the prefix, leaving at least `/`.
    static func replacePrefix(of path: String, matched prefix: String, with replacement: String) -> String {
        var prefix = Substring(prefix)
        while prefix.last == "/" { prefix.removeLast() }
        var replacement = Substring(replacement)
        while replacement.last == "/" { replacement.removeLast() }
        let remainder = path.dropFirst(prefix.count)
        let result = String(replacement) + remainder
        return result.isEmpty ? "/" : result
    }

    /// The new path for a path modifier, or the old one when there is none.
    static func apply(_ modifier: HTTPPathModifier?, to path: String, matchedPrefix: String?) -> String {
        guard let modifier else { return path }
        switch modifier.type {
        case .replaceFullPath:
            return modifier.replaceFullPath ?? path
        case .replacePrefixMatch:
            return replacePrefix(of: path, matched: matchedPrefix ?? "/", with: modifier.replacePrefixMatch ?? "")
        case .unrecognized:
            return path
        }
    }
}
