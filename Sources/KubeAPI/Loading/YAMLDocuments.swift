import Yams

/// One document of a YAML stream, cut out before parsing so that a syntax error in one document
/// cannot stop the documents after it from loading (libyaml cannot resume after an error).
struct YAMLDocumentText {
    var text: Substring
    /// The 1-based line in the whole source where this document's text starts.
    var firstLine: Int

    /// Splits at `---` marker lines. YAML ends every block scalar at such a line, so this never
    /// cuts through a value. The marker line stays with the document it opens.
    static func split(_ source: String) -> [YAMLDocumentText] {
        var documents: [YAMLDocumentText] = []
        let bytes = source.utf8
        var documentStart = bytes.startIndex
        var documentFirstLine = 1
        var lineStart = bytes.startIndex
        var lineNumber = 1
        while lineStart < bytes.endIndex {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            if lineStart != documentStart && isDocumentMarker(bytes[lineStart..<lineEnd]) {
                documents.append(
                    YAMLDocumentText(text: source[documentStart..<lineStart], firstLine: documentFirstLine))
                documentStart = lineStart
                documentFirstLine = lineNumber
            }
            lineStart = lineEnd == bytes.endIndex ? lineEnd : bytes.index(after: lineEnd)
            lineNumber += 1
        }
        documents.append(YAMLDocumentText(text: source[documentStart...], firstLine: documentFirstLine))
        return documents
    }

    private static func isDocumentMarker(_ line: Substring.UTF8View) -> Bool {
        guard line.starts(with: "---".utf8) else { return false }
        let rest = line.dropFirst(3)
        return rest.first.map { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
            ?? true
    }

    /// Parses the document; `nil` for a document with nothing in it (only comments, or `null`).
    func parse() throws -> Yams.Node? {
        let parser = try Parser(yaml: String(text), resolver: .basic, constructor: .default, encoding: .utf8)
        guard let root = try parser.singleRoot(), !isNull(root) else { return nil }
        return root
    }
}

/// Where a syntax error is, in the whole source, and what libyaml said about it.
struct YAMLSyntaxError {
    var line: Int?
    var column: Int?
    var message: String

    init(_ error: any Error, documentFirstLine: Int) {
        func located(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> (Int?, Int?, String) {
            let message = context.map { "\(problem) (\($0.text))" } ?? problem
            return (documentFirstLine + mark.line - 1, mark.column, message)
        }
        let location: (Int?, Int?, String)
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            location = located(mark, problem, context)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            location = located(context.mark, "duplicate key \(keys)", nil)
        case .reader(let problem, _, _, _):
            location = (nil, nil, problem)
        default:
            location = (nil, nil, String(describing: error))
        }
        (line, column, message) = location
    }
}
