/// A path to a field in Kubernetes notation (`spec.ports[0].targetPort`, `metadata.labels[app]`), so
/// that error messages point at the line a person has to fix, in the words `kubectl explain` uses.
public struct FieldPath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The rendered path; empty for the object itself.
    public let description: String

    /// A path starting at a top-level field such as `spec` or `metadata`.
    public init(_ field: String) { description = field }

    public init(stringLiteral value: String) { description = value }

    /// The object itself, for problems that belong to no single field.
    public static let root = FieldPath("")

    public func child(_ name: String) -> FieldPath {
        FieldPath(description.isEmpty ? name : description + "." + name)
    }

    public func index(_ position: Int) -> FieldPath { FieldPath("\(description)[\(position)]") }

    /// An entry of a map field such as `metadata.labels` or a Secret's `data`.
    public func key(_ key: String) -> FieldPath { FieldPath("\(description)[\(key)]") }
}

/// One problem with one field of an object: what the data plane would otherwise silently misprogram.
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: FieldPath
    public var message: String

    public init(_ path: FieldPath, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String {
        path.description.isEmpty ? message : "\(path): \(message)"
    }
}
