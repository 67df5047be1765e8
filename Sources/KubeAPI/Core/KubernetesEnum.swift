/// A Kubernetes field whose values form a closed set (protocols, Service types, match types, …).
///
/// Manifests are written by people, so a misspelled value must not abort decoding with an opaque
/// `DecodingError`: every conforming enum keeps a `unrecognized` case that carries the text as written,
/// and validation reports it against the field path with the list of accepted values. Compilers only
/// ever see validated objects, in which `unrecognized` does not occur.
public protocol KubernetesEnum: Codable, Hashable, Sendable, CustomStringConvertible, RawRepresentable
where RawValue == String {
    /// The values Kubernetes accepts, in the order its documentation lists them (used in error messages).
    static var knownCases: [Self] { get }

    /// A value outside `knownCases`, kept verbatim so validation can quote it.
    static func unrecognized(_ rawValue: String) -> Self
}

extension KubernetesEnum {
    public init(rawValue: String) {
        self = Self.named(rawValue)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = Self.named(try container.decode(String.self))
    }

    /// The known case spelled `rawValue`, or `unrecognized(rawValue)`.
    static func named(_ rawValue: String) -> Self {
        knownCases.first { $0.rawValue == rawValue } ?? .unrecognized(rawValue)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// Whether Kubernetes accepts this value; `false` only for `unrecognized` values.
    public var isKnown: Bool { Self.knownCases.contains(self) }

    /// The accepted values joined for an error message, e.g. `TCP, UDP, SCTP`.
    static var knownValuesList: String {
        knownCases.map(\.rawValue).joined(separator: ", ")
    }
}
