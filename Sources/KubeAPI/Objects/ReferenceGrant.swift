/// A gateway.networking.k8s.io/v1beta1 ReferenceGrant: the target namespace's consent to be
/// referenced from another namespace (routes to Services, Gateways to Secrets). Without one, such a
/// reference must be refused, or any namespace could borrow another's backends or certificates.
public struct ReferenceGrant: SpecObject {
    public static let kind = "ReferenceGrant"
    public static let apiVersions = ["\(gatewayAPIGroup)/v1beta1", "\(gatewayAPIGroup)/v1"]
    public static let isNamespaced = true
    public static var emptySpec: ReferenceGrantSpec { ReferenceGrantSpec() }

    public var metadata: ObjectMeta
    public var spec: ReferenceGrantSpec

    public init(metadata: ObjectMeta, spec: ReferenceGrantSpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct ReferenceGrantSpec: Codable, Hashable, Sendable {
    public var from: [ReferenceGrantFrom]
    public var to: [ReferenceGrantTo]

    public init(from: [ReferenceGrantFrom] = [], to: [ReferenceGrantTo] = []) {
        self.from = from
        self.to = to
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        from = try container.decode(.from, default: [])
        to = try container.decode(.to, default: [])
    }
}

/// Who may refer: objects of `group`/`kind` in `namespace`.
public struct ReferenceGrantFrom: Codable, Hashable, Sendable {
    /// Empty for the core group.
    public var group: String
    public var kind: String
    public var namespace: String

    public init(group: String, kind: String, namespace: String) {
        self.group = group
        self.kind = kind
        self.namespace = namespace
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        group = try container.decode(.group, default: "")
        kind = try container.decode(.kind, default: "")
        namespace = try container.decode(.namespace, default: "")
    }
}

/// What may be referred to: objects of `group`/`kind` in the grant's namespace, all or one `name`.
public struct ReferenceGrantTo: Codable, Hashable, Sendable {
    /// Empty for the core group.
    public var group: String
    public var kind: String
    /// Absent grants every object of the kind.
    public var name: String?

    public init(group: String, kind: String, name: String? = nil) {
        self.group = group
        self.kind = kind
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        group = try container.decode(.group, default: "")
        kind = try container.decode(.kind, default: "")
        name = try container.decodeIfPresent(.name)
    }
}
