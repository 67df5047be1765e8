/// A networking.k8s.io/v1 IngressClass: which controller serves Ingresses of the class, and whether
/// it also serves Ingresses that name no class.
public struct IngressClass: SpecObject {
    public static let kind = "IngressClass"
    public static let apiVersions = ["networking.k8s.io/v1"]
    public static let isNamespaced = false
    public static var emptySpec: IngressClassSpec { IngressClassSpec(controller: "") }
    /// The annotation that makes a class the default for Ingresses without `ingressClassName`.
    public static let isDefaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class"

    public var metadata: ObjectMeta
    public var spec: IngressClassSpec

    public init(metadata: ObjectMeta, spec: IngressClassSpec) {
        self.metadata = metadata
        self.spec = spec
    }

    /// Whether the annotation marks this class as the default (the value must be exactly `true`).
    public var isDefaultClass: Bool { metadata.annotations[Self.isDefaultClassAnnotation] == "true" }
}

public struct IngressClassSpec: Codable, Hashable, Sendable {
    /// A domain-prefixed path such as `example.com/ingress-controller`.
    public var controller: String

    public init(controller: String) {
        self.controller = controller
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        controller = try container.decode(.controller, default: "")
    }
}
