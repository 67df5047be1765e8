/// A gateway.networking.k8s.io GatewayClass: Gateways of the class are served by the controller
/// named in `controllerName`, so Sluice only programs classes whose controller name is its own.
public struct GatewayClass: KubernetesObject {
    public static let kind = "GatewayClass"
    public static let apiVersions = ["\(gatewayAPIGroup)/v1", "\(gatewayAPIGroup)/v1beta1"]
    public static let isNamespaced = false

    public var metadata: ObjectMeta
    public var spec: GatewayClassSpec

    enum CodingKeys: String, CodingKey {
        case metadata
        case spec
    }

    public init(metadata: ObjectMeta, spec: GatewayClassSpec) {
        self.metadata = metadata
        self.spec = spec
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decode(.metadata, default: ObjectMeta(name: ""))
        spec = try container.decode(.spec, default: GatewayClassSpec(controllerName: ""))
    }

    public func encode(to encoder: any Encoder) throws {
        try encodeTypeMeta(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(spec, forKey: .spec)
    }
}

public struct GatewayClassSpec: Codable, Hashable, Sendable {
    /// A domain-prefixed path such as `example.net/gateway-controller`.
    public var controllerName: String

    public init(controllerName: String) {
        self.controllerName = controllerName
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        controllerName = try container.decode(.controllerName, default: "")
    }
}
