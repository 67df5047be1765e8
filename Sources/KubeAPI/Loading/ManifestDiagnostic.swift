/// One problem found while loading manifests, located precisely enough for a person to fix it
/// without searching: file, document, list item, kind, namespace/name, field path.
///
/// `description` renders
/// `<source> doc <n>[ items[<i>]][ <Kind> <namespace>/<name>]: [line <l>, column <c>: ][<field>: ]<message>`,
/// for example `services.yaml doc 3 Service default/web: spec.ports[0].port: 0 is not in 1-65535`.
/// Documents are counted from 1 and only non-empty ones count; `items[i]` (from 0) locates an object
/// inside a `List`; cluster-scoped objects show only their name. The severity is not part of the
/// text, so callers can prefix it as their output format needs.
public struct ManifestDiagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: Hashable, Sendable {
        /// Something was skipped that may be intended (an unknown kind); the rest is unaffected.
        case warning
        /// An object or document was rejected; everything else still loaded.
        case error
    }

    public var severity: Severity
    /// The file path (as reached from the path given to the loader) or the caller's source name.
    public var source: String
    /// The 1-based document number within the source, when the problem is inside a document.
    public var document: Int?
    /// The 0-based position in a List's `items`.
    public var listItem: Int?
    /// The 1-based line and column of a syntax error, counted in the whole source.
    public var line: Int?
    public var column: Int?
    public var kind: String?
    /// `namespace/name` or, for cluster-scoped kinds, `name`.
    public var objectName: String?
    public var field: FieldPath?
    public var message: String

    public init(
        severity: Severity, source: String, document: Int? = nil, listItem: Int? = nil, line: Int? = nil,
        column: Int? = nil, kind: String? = nil, objectName: String? = nil, field: FieldPath? = nil, message: String
    ) {
        self.severity = severity
        self.source = source
        self.document = document
        self.listItem = listItem
        self.line = line
        self.column = column
        self.kind = kind
        self.objectName = objectName
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = source
        if let document { text += " doc \(document)" }
        if let listItem { text += " items[\(listItem)]" }
        if let kind {
            text += " \(kind)"
            if let objectName { text += " \(objectName)" }
        }
        text += ": "
        if let line {
            text += "line \(line)"
            if let column { text += ", column \(column)" }
            text += ": "
        }
        if let field, !field.description.isEmpty { text += "\(field): " }
        return text + message
    }
}
