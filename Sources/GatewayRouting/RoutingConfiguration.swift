/// Which Gateways and Ingresses this instance serves.
public struct RoutingConfiguration: Hashable, Sendable {
    /// The `controllerName` of GatewayClasses that Sluice serves by default.
    public static let gatewayControllerName = "sluice.dev/gateway-controller"
    /// The `spec.controller` of IngressClasses that Sluice serves by default.
    public static let ingressControllerName = "sluice.dev/ingress-controller"

    /// GatewayClass `controllerName`s and IngressClass `controller`s to serve; `nil` serves every class.
    public var controllerNames: Set<String>?
    /// Whether a Gateway or Ingress naming a class absent from the input (or an Ingress without a class when
    /// no default class exists) is served. A cluster source says no (nobody serves such an object); a tool
    /// given a fragment of manifests says yes, as the objects are plainly meant for it.
    public var servesUndeclaredClasses: Bool
    /// Serve exactly the Ingresses of this class (and, if it is the default class, those without a class),
    /// whoever its controller is; `nil` serves the classes of `controllerNames`.
    public var ingressClassName: String?

    public init(
        controllerNames: Set<String>? = [gatewayControllerName, ingressControllerName],
        servesUndeclaredClasses: Bool = false, ingressClassName: String? = nil
    ) {
        self.controllerNames = controllerNames
        self.servesUndeclaredClasses = servesUndeclaredClasses
        self.ingressClassName = ingressClassName
    }

    func servesController(_ name: String) -> Bool {
        controllerNames?.contains(name) ?? true
    }
}
