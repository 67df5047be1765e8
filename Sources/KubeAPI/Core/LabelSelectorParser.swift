/// Why a string-form selector could not be parsed: where (1-based character column), what the
/// grammar wanted there, and what it found, e.g. `column 9: expected "(", found "a"`.
public struct LabelSelectorParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var column: Int
    public var expected: String
    public var found: String

    public init(column: Int, expected: String, found: String) {
        self.column = column
        self.expected = expected
        self.found = found
    }

    public var description: String { "column \(column): expected \(expected), found \(found)" }
}

extension LabelSelector {
    /// Parses the string form that `kubectl -l` and `sluice` options accept:
    /// `a=b`, `a==b` (In with one value), `a!=b` (NotIn with one value), `a in (x,y)`, `a notin (x)`,
    /// `a` (Exists) and `!a` (DoesNotExist), separated by commas, with any whitespace between tokens.
    /// Every requirement becomes a `matchExpressions` entry. The empty string selects everything.
    /// Keys and values are checked with the label rules, as Kubernetes does.
    public init(parsing text: String) throws(LabelSelectorParseError) {
        var parser = LabelSelectorStringParser(text)
        self.init(matchExpressions: try parser.parse())
    }
}

/// A recursive-descent parser over pre-lexed tokens; kept separate from `LabelSelector` so the public
/// type stays a plain value.
private struct LabelSelectorStringParser {
    enum TokenKind: Equatable {
        case identifier(String)
        case not
        case equals
        case doubleEquals
        case notEquals
        case openParenthesis
        case closeParenthesis
        case comma
        case unexpected(Character)
        case end
    }

    struct Token {
        var kind: TokenKind
        var column: Int

        /// How the token is quoted in "found …" messages.
        var found: String {
            switch kind {
            case .identifier(let text): "\"\(text)\""
            case .not: "\"!\""
            case .equals: "\"=\""
            case .doubleEquals: "\"==\""
            case .notEquals: "\"!=\""
            case .openParenthesis: "\"(\""
            case .closeParenthesis: "\")\""
            case .comma: "\",\""
            case .unexpected(let character): "\"\(character)\""
            case .end: "end of selector"
            }
        }
    }

    private let tokens: [Token]
    private var position = 0

    init(_ text: String) {
        tokens = Self.lex(Array(text))
    }

    mutating func parse() throws(LabelSelectorParseError) -> [LabelSelectorRequirement] {
        var requirements: [LabelSelectorRequirement] = []
        if peek.kind == .end { return requirements }
        while true {
            requirements.append(try parseRequirement())
            let separator = next()
            switch separator.kind {
            case .end: return requirements
            case .comma: continue
            default: throw error("\",\" or end of selector", at: separator)
            }
        }
    }

    private mutating func parseRequirement() throws(LabelSelectorParseError) -> LabelSelectorRequirement {
        let first = next()
        if first.kind == .not {
            let key = try parseKey(next())
            return LabelSelectorRequirement(key: key, operator: .doesNotExist)
        }
        let key = try parseKey(first)
        let operatorToken = peek
        switch operatorToken.kind {
        case .comma, .end:
            return LabelSelectorRequirement(key: key, operator: .exists)
        case .equals, .doubleEquals:
            position += 1
            return LabelSelectorRequirement(key: key, operator: .in, values: [try parseSingleValue()])
        case .notEquals:
            position += 1
            return LabelSelectorRequirement(key: key, operator: .notIn, values: [try parseSingleValue()])
        case .identifier("in"):
            position += 1
            return LabelSelectorRequirement(key: key, operator: .in, values: try parseValueSet())
        case .identifier("notin"):
            position += 1
            return LabelSelectorRequirement(key: key, operator: .notIn, values: try parseValueSet())
        default:
            throw error("\"=\", \"==\", \"!=\", \"in\", \"notin\", \",\" or end of selector", at: operatorToken)
        }
    }

    private func parseKey(_ token: Token) throws(LabelSelectorParseError) -> String {
        guard case .identifier(let key) = token.kind else { throw error("a label key", at: token) }
        guard NameRule.labelKey.accepts(key) else { throw error(NameRule.labelKey.explanation, at: token) }
        return key
    }

    /// The value after `=`, `==` or `!=`; nothing before a comma or the end means the empty value.
    private mutating func parseSingleValue() throws(LabelSelectorParseError) -> String {
        let token = peek
        switch token.kind {
        case .comma, .end:
            return ""
        case .identifier(let value):
            position += 1
            return try checkedValue(value, at: token)
        default:
            throw error("a label value", at: token)
        }
    }

    /// `( v1, v2 )`; as in Kubernetes, an omitted value between separators is the empty value, and
    /// the set is sorted without duplicates.
    private mutating func parseValueSet() throws(LabelSelectorParseError) -> [String] {
        let open = next()
        guard open.kind == .openParenthesis else { throw error("\"(\"", at: open) }
        var values = Set<String>()
        var expectingValue = true
        while true {
            let token = next()
            switch token.kind {
            case .identifier(let value) where expectingValue:
                values.insert(try checkedValue(value, at: token))
                expectingValue = false
            case .comma:
                if expectingValue { values.insert("") }
                expectingValue = true
            case .closeParenthesis:
                if expectingValue { values.insert("") }
                return values.sorted()
            default:
                throw error(expectingValue ? "a label value, \",\" or \")\"" : "\",\" or \")\"", at: token)
            }
        }
    }

    private func checkedValue(_ value: String, at token: Token) throws(LabelSelectorParseError) -> String {
        guard NameRule.labelValue.accepts(value) else { throw error(NameRule.labelValue.explanation, at: token) }
        return value
    }

    private var peek: Token { tokens[min(position, tokens.count - 1)] }

    private mutating func next() -> Token {
        defer { position = min(position + 1, tokens.count - 1) }
        return peek
    }

    private func error(_ expected: String, at token: Token) -> LabelSelectorParseError {
        LabelSelectorParseError(column: token.column, expected: expected, found: token.found)
    }

    /// Splits the text into tokens; identifiers run until whitespace or one of `!=(),<>`.
    /// The token list always ends with `.end`.
    private static func lex(_ characters: [Character]) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        func following(_ offset: Int) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        while index < characters.count {
            let character = characters[index]
            let column = index + 1
            switch character {
            case _ where character.isWhitespace:
                index += 1
            case "!" where following(1) == "=":
                tokens.append(Token(kind: .notEquals, column: column))
                index += 2
            case "!":
                tokens.append(Token(kind: .not, column: column))
                index += 1
            case "=" where following(1) == "=":
                tokens.append(Token(kind: .doubleEquals, column: column))
                index += 2
            case "=":
                tokens.append(Token(kind: .equals, column: column))
                index += 1
            case "(":
                tokens.append(Token(kind: .openParenthesis, column: column))
                index += 1
            case ")":
                tokens.append(Token(kind: .closeParenthesis, column: column))
                index += 1
            case ",":
                tokens.append(Token(kind: .comma, column: column))
                index += 1
            case "<", ">":
                tokens.append(Token(kind: .unexpected(character), column: column))
                index += 1
            default:
                var end = index
                while end < characters.count, !characters[end].isWhitespace, !"!=(),<>".contains(characters[end]) {
                    end += 1
                }
                tokens.append(Token(kind: .identifier(String(characters[index..<end])), column: column))
                index = end
            }
        }
        tokens.append(Token(kind: .end, column: characters.count + 1))
        return tokens
    }
}
