/// A top-level Kubernetes kind the data plane consumes. The loader dispatches on `kind` and checks
/// `apiVersion` against `apiVersions`, so a manifest written for another version of a kind (whose
/// fields may differ) is rejected instead of being misread.
public protocol KubernetesObject: Codable, Hashable, Sendable {
    /// The `kind` field, e.g. `Service`.
    static var kind: String { get }
    /// Accepted `apiVersion` values (`group/version`, or `v1` for the core group); the first one is
    /// written when encoding.
    static var apiVersions: [String] { get }
    /// Whether objects live in a namespace (Service) or in the cluster scope (Node, GatewayClass).
    static var isNamespaced: Bool { get }

    var metadata: ObjectMeta { get set }

    /// Every problem with the fields the data plane relies on; an object with problems must not be used.
    func validate() -> [FieldError]
}

extension KubernetesObject {
    /// `namespace/name` for namespaced kinds, `name` otherwise: how people and kubectl name an object.
    public var namespacedName: String {
        Self.isNamespaced ? "\(metadata.namespace)/\(metadata.name)" : metadata.name
    }
}

/// The keys every top-level object is written with; `apiVersion` and `kind` are implied by the type
/// when decoding and written back when encoding, so encoded objects load again.
enum TypeMetaKeys: String, CodingKey {
    case apiVersion
    case kind
}

extension KubernetesObject {
    /// Writes `apiVersion` and `kind`; each kind's `encode(to:)` calls this before its own fields.
    func encodeTypeMeta(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeMetaKeys.self)
        try container.encode(Self.apiVersions[0], forKey: .apiVersion)
        try container.encode(Self.kind, forKey: .kind)
    }
}
