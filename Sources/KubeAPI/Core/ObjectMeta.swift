/// The metadata every object carries (`metav1.ObjectMeta`), reduced to what the data plane uses:
/// identity, labels for selectors, annotations for class and feature switches, and deletion state.
///
/// Timestamps stay RFC 3339 strings: the data plane only asks whether they are set.
public struct ObjectMeta: Codable, Hashable, Sendable {
    public var name: String
    /// The namespace; the loader fills in `default` for namespaced kinds that omit it and clears it for
    /// cluster-scoped kinds, as the API server does.
    public var namespace: String
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int?
    public var creationTimestamp: String?
    /// Set once deletion has started; a terminating object must stop attracting new traffic.
    public var deletionTimestamp: String?
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(
        name: String, namespace: String = "", uid: String? = nil, resourceVersion: String? = nil,
        generation: Int? = nil, creationTimestamp: String? = nil, deletionTimestamp: String? = nil,
        labels: [String: String] = [:], annotations: [String: String] = [:]
    ) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.generation = generation
        self.creationTimestamp = creationTimestamp
        self.deletionTimestamp = deletionTimestamp
        self.labels = labels
        self.annotations = annotations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        namespace = try container.decode(.namespace, default: "")
        uid = try container.decodeIfPresent(.uid)
        resourceVersion = try container.decodeIfPresent(.resourceVersion)
        generation = try container.decodeIfPresent(.generation)
        creationTimestamp = try container.decodeIfPresent(.creationTimestamp)
        deletionTimestamp = try container.decodeIfPresent(.deletionTimestamp)
        labels = try container.decode(.labels, default: [:])
        annotations = try container.decode(.annotations, default: [:])
    }
}

/// A reference to another object, as in an endpoint's `targetRef` (core/v1 `ObjectReference`).
public struct ObjectReference: Codable, Hashable, Sendable {
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?

    public init(kind: String? = nil, namespace: String? = nil, name: String? = nil, uid: String? = nil) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}
