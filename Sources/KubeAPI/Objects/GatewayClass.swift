/// A gateway.networking.k8s.io GatewayClass: Gateways of the class are served by the controller
/// named in `controllerName`, so Sluice only programs classes whose controller name is its own.
public struct GatewayClass: SpecObject {
    public static let kind = "GatewayClass"
    public static let apiVersions = ["\(gatewayAPIGroup)/v1", "\(gatewayAPIGroup)/v1beta1"]
    public static let isNamespaced = false
    public static var emptySpec: GatewayClassSpec { GatewayClassSpec(controllerName: "") }

    public var metadata: ObjectMeta
    public var spec: GatewayClassSpec

    public init(metadata: ObjectMeta, spec: GatewayClassSpec) {
        self.metadata = metadata
        self.spec = spec
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
