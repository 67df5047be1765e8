import KubeAPI

/// A status condition as Kubernetes writes it (`metav1.Condition` without timestamps and generation).
public struct StatusCondition: Hashable, Sendable, Codable {
    public var type: String
    /// `True`, `False` or `Unknown`.
    public var status: String
    public var reason: String
    public var message: String

    public init(type: String, status: Bool, reason: String, message: String) {
        self.type = type
        self.status = status ? "True" : "False"
        self.reason = reason
        self.message = message
    }
}

/// The status Sluice would write for everything it routes: the GatewayClasses it controls, Gateways with their
/// listeners, HTTPRoutes per parent, and Ingresses.
public struct RoutingStatus: Hashable, Sendable, Codable {
    public var gatewayClasses: [GatewayClassReport] = []
    public var gateways: [GatewayReport] = []
    public var httpRoutes: [HTTPRouteReport] = []
    public var ingresses: [IngressReport] = []

    public init() {}
}

/// A GatewayClass whose `spec.controllerName` Sluice serves. The spec has the class's controller accept it, and
/// tools (and the conformance suite) wait for `Accepted` before they create Gateways of the class.
public struct GatewayClassReport: Hashable, Sendable, Codable {
    public var name: String
    public var controllerName: String
    public var conditions: [StatusCondition]
}

/// A served Gateway's status.
public struct GatewayReport: Hashable, Sendable, Codable {
    public var namespace: String
    public var name: String
    public var gatewayClassName: String
    public var conditions: [StatusCondition]
    public var listeners: [ListenerReport]
}

/// `status.listeners[]` of a Gateway.
public struct ListenerReport: Hashable, Sendable, Codable {
    public var name: String
    public var port: Int
    public var `protocol`: String
    public var hostname: String?
    /// Routes with `Accepted: True` attached to this listener (each route once, however many parentRefs
    /// select it).
    public var attachedRoutes: Int
    public var supportedKinds: [String]
    public var conditions: [StatusCondition]
}

/// An HTTPRoute's `status.parents`.
public struct HTTPRouteReport: Hashable, Sendable, Codable {
    public var namespace: String
    public var name: String
    public var parents: [RouteParentReport]
}

/// `status.parents[]`: one parentRef of the route and how this controller judged it.
public struct RouteParentReport: Hashable, Sendable, Codable {
    public var parentRef: ParentReference
    public var controllerName: String
    public var conditions: [StatusCondition]

    /// The `Accepted` condition's status.
    public var isAccepted: Bool { conditions.first { $0.type == "Accepted" }?.status == "True" }
}

/// Whether an Ingress is served and what is wrong with it (Ingress has no conditions in its API; these are
/// Sluice's own, named like the Gateway API's).
public struct IngressReport: Hashable, Sendable, Codable {
    public var namespace: String
    public var name: String
    /// The class after defaulting (`ingressClassName`, the legacy annotation, or the default class).
    public var ingressClassName: String?
    public var conditions: [StatusCondition]
}
