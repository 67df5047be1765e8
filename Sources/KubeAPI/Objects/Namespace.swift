/// A core/v1 Namespace; NetworkPolicy and Gateway `namespaceSelector`s match its labels.
public struct Namespace: KubernetesObject {
    public static let kind = "Namespace"
    public static let apiVersions = ["v1"]
    public static let isNamespaced = false
    /// The label the API server sets on every namespace, so selectors can pick namespaces by name.
    public static let nameLabel = "kubernetes.io/metadata.name"

    public var metadata: ObjectMeta

    enum CodingKeys: String, CodingKey {
        case metadata
    }

    public init(metadata: ObjectMeta) {
        self.metadata = metadata
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decode(.metadata, default: ObjectMeta(name: ""))
    }

    public func encode(to encoder: any Encoder) throws {
        try encodeTypeMeta(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(metadata, forKey: .metadata)
    }

    /// The labels selectors see, including `kubernetes.io/metadata.name` which the API server adds to
    /// every namespace even when a manifest does not.
    public var effectiveLabels: [String: String] {
        metadata.labels.merging([Self.nameLabel: metadata.name]) { _, name in name }
    }
}
