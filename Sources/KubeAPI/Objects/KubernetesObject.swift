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

/// A kind made of `metadata` and a `spec`: decoding (missing fields mean the API server's defaults) and
/// encoding (with `apiVersion` and `kind`) are the same for all of them, so they are written once here.
public protocol SpecObject: KubernetesObject {
    associatedtype Spec: Codable & Hashable & Sendable
    var spec: Spec { get set }
    /// What a manifest without `spec` means.
    static var emptySpec: Spec { get }
    init(metadata: ObjectMeta, spec: Spec)
}

/// A kind made of `metadata`, `spec` and `status` (status as the API reports it; empty when absent).
public protocol SpecStatusObject: KubernetesObject {
    associatedtype Spec: Codable & Hashable & Sendable
    associatedtype Status: Codable & Hashable & Sendable
    var spec: Spec { get set }
    var status: Status { get set }
    /// What a manifest without `spec` means.
    static var emptySpec: Spec { get }
    /// What a manifest without `status` means.
    static var emptyStatus: Status { get }
    init(metadata: ObjectMeta, spec: Spec, status: Status)
}

/// The fields of ``SpecObject`` and ``SpecStatusObject`` kinds.
enum ObjectFieldKeys: String, CodingKey {
    case metadata
    case spec
    case status
}

extension SpecObject {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ObjectFieldKeys.self)
        self.init(
            metadata: try container.decode(.metadata, default: ObjectMeta(name: "")),
            spec: try container.decode(.spec, default: Self.emptySpec))
    }

    public func encode(to encoder: any Encoder) throws {
        try encodeTypeMeta(to: encoder)
        var container = encoder.container(keyedBy: ObjectFieldKeys.self)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(spec, forKey: .spec)
    }
}

extension SpecStatusObject {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ObjectFieldKeys.self)
        self.init(
            metadata: try container.decode(.metadata, default: ObjectMeta(name: "")),
            spec: try container.decode(.spec, default: Self.emptySpec),
            status: try container.decode(.status, default: Self.emptyStatus))
    }

    public func encode(to encoder: any Encoder) throws {
        try encodeTypeMeta(to: encoder)
        var container = encoder.container(keyedBy: ObjectFieldKeys.self)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(spec, forKey: .spec)
        try container.encode(status, forKey: .status)
    }
}
