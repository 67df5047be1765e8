import Foundation

/// A compiled `RegularExpression` match value, with RE2's meaning kept where the engines differ.
///
/// The Gateway API leaves the dialect to implementations; most (Envoy-based ones) use RE2, and manifests are
/// written for it. Sluice compiles with ICU (`NSRegularExpression`) but:
/// - matches the **whole** value (RE2 `FullMatch`, as Envoy does): the pattern is wrapped in `\A(?:…)\z`,
///   so `a|ab` matches `ab` although leftmost-first alternation would stop after `a`;
/// - rejects what RE2 rejects and ICU would accept: backreferences, lookahead/lookbehind, atomic groups and
///   possessive quantifiers, so a route that another implementation refuses is refused here too;
/// - accepts RE2's `(?P<name>…)` named groups by rewriting them to ICU's `(?<name>…)`.
/// Remaining differences (ICU backtracks where RE2 is linear-time; `\b`/`\w`/`.` follow Unicode in ICU) are
/// documented in docs/routing.md.
public struct RegularExpression: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let expression: NSRegularExpression

    /// Why a pattern was refused, worded for a route's status message.
    public struct Invalid: Error, Hashable, Sendable, CustomStringConvertible {
        public var pattern: String
        public var reason: String
        public var description: String { "invalid regular expression \"\(pattern)\": \(reason)" }
    }

    public init(_ pattern: String) throws(Invalid) {
        if let unsupported = Self.unsupportedConstruct(in: pattern) {
            throw Invalid(pattern: pattern, reason: "\(unsupported) is not supported (RE2 syntax)")
        }
        let translated = pattern.replacingOccurrences(of: "(?P<", with: "(?<")
        do {
            expression = try NSRegularExpression(pattern: "\\A(?:" + translated + ")\\z")
        } catch {
            throw Invalid(pattern: pattern, reason: "does not compile")
        }
        self.pattern = pattern
    }

    public var description: String { pattern }

    public static func == (lhs: RegularExpression, rhs: RegularExpression) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    /// Whether the whole value matches.
    public func matchesWhole(_ value: String) -> Bool {
        expression.firstMatch(in: value, options: [], range: NSRange(location: 0, length: value.utf16.count)) != nil
    }

    private static let lookarounds = [
        ("(?=", "lookahead"), ("(?!", "negative lookahead"), ("(?<=", "lookbehind"), ("(?<!", "negative lookbehind"),
        ("(?>", "an atomic group"),
    ]

    /// The first construct RE2 lacks, scanning outside character classes and honouring escapes.
    static func unsupportedConstruct(in pattern: String) -> String? {
        let characters = Array(pattern)
        var index = 0
        var inClass = false
        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            if character == "\\" {
                if !inClass, let next, next.isNumber, next != "0" { return "a backreference (\\\(next))" }
                if !inClass, next == "k" || next == "g" { return "a named backreference (\\\(next!))" }
                index += 2
                continue
            }
            if inClass {
                if character == "]" { inClass = false }
            } else if character == "[" {
                inClass = true
                // A `]` right after `[` or `[^` is a literal member of the class.
                if next == "^" { index += 1 }
                if index + 1 < characters.count && characters[index + 1] == "]" { index += 1 }
            } else if character == "(" {
                let rest = String(characters[index..<min(index + 4, characters.count)])
                for (prefix, name) in Self.lookarounds where rest.hasPrefix(prefix) { return "\(name) \(prefix)" }
            } else if "*+?}".contains(character) && next == "+" {
                return "a possessive quantifier (\(character)+)"
            }
            index += 1
        }
        return nil
    }
}
