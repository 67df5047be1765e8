/// Everything a load produced: the valid objects by kind, in the order they were read, and the
/// diagnostics for everything that was skipped. Objects with errors are never included, so
/// compilers can trust every field they read.
public struct ManifestSet: Hashable, Sendable {
    public var services: [Service] = []
    public var endpoints: [Endpoints] = []
    public var endpointSlices: [EndpointSlice] = []
    public var pods: [Pod] = []
    public var namespaces: [Namespace] = []
    public var nodes: [Node] = []
    public var secrets: [Secret] = []
    public var networkPolicies: [NetworkPolicy] = []
    public var ingresses: [Ingress] = []
    public var ingressClasses: [IngressClass] = []
    public var gatewayClasses: [GatewayClass] = []
    public var gateways: [Gateway] = []
    public var httpRoutes: [HTTPRoute] = []
    public var referenceGrants: [ReferenceGrant] = []
    /// NetworkPolicies that decoded but failed validation (they are reported in `diagnostics` and absent from
    /// `networkPolicies`). Enforcement must fail closed for exactly the pods they select, so the parts that are
    /// still valid (namespace, pod selector, policy types) are kept here.
    public var invalidNetworkPolicies: [NetworkPolicy] = []
    public var diagnostics: [ManifestDiagnostic] = []

    public init() {}

    /// The diagnostics that rejected something.
    public var errors: [ManifestDiagnostic] { diagnostics.filter { $0.severity == .error } }

    /// The diagnostics about skipped input that may be intended.
    public var warnings: [ManifestDiagnostic] { diagnostics.filter { $0.severity == .warning } }

    /// How many objects loaded, over all kinds.
    public var objectCount: Int {
        services.count + endpoints.count + endpointSlices.count + pods.count + namespaces.count + nodes.count
            + secrets.count + networkPolicies.count + ingresses.count + ingressClasses.count + gatewayClasses.count
            + gateways.count + httpRoutes.count + referenceGrants.count
    }
}
