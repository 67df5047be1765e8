import KubeAPI

/// Where a kind lives on the API server (`/api/v1/services`, `/apis/discovery.k8s.io/v1/endpointslices`)
/// and which objects of it to ask for. Every watch of the agent is cluster-wide, so paths carry no namespace.
public struct APIResource: Sendable, Hashable, CustomStringConvertible {
    /// `""` for the core group.
    public var group: String
    /// The API version within the group (`v1`).
    public var version: String
    /// The lower-case plural the URL uses.
    public var plural: String
    /// A label selector (`!service.kubernetes.io/headless`), or `nil` for every object.
    public var labelSelector: String?
    /// A field selector (`spec.nodeName=node-a`), or `nil`.
    public var fieldSelector: String?

    /// A collection; selectors narrow what the server sends (and so what the agent holds).
    public init(
        group: String, version: String, plural: String, labelSelector: String? = nil, fieldSelector: String? = nil
    ) {
        self.group = group
        self.version = version
        self.plural = plural
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
    }

    /// The collection's path, without query.
    public var path: String {
        group.isEmpty ? "/api/\(version)/\(plural)" : "/apis/\(group)/\(version)/\(plural)"
    }

    /// `plural.group`, as kubectl names a resource.
    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// Services a node proxy serves: like kube-proxy, those claimed by another proxy
    /// (`service.kubernetes.io/service-proxy-name`) and headless ones are never sent.
    public static let services = APIResource(
        group: "", version: "v1", plural: "services",
        labelSelector: "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless")
    /// discovery.k8s.io/v1: the endpoints of every Service, in slices of at most 100.
    public static let endpointSlices = APIResource(group: "discovery.k8s.io", version: "v1", plural: "endpointslices")
    /// Nodes: this node's zone, and every node's pod CIDRs for the overlay.
    public static let nodes = APIResource(group: "", version: "v1", plural: "nodes")
    /// Namespaces: their labels feed policies' namespace selectors.
    public static let namespaces = APIResource(group: "", version: "v1", plural: "namespaces")
    /// All pods: policies select peers cluster-wide, so this node's pods alone are not enough.
    public static let pods = APIResource(group: "", version: "v1", plural: "pods")
    /// networking.k8s.io/v1 NetworkPolicies.
    public static let networkPolicies = APIResource(
        group: "networking.k8s.io", version: "v1", plural: "networkpolicies")

    /// Gateway API kinds (gateway.networking.k8s.io), watched by the routing controller once discovery shows
    /// their CRDs are installed.
    public static let gatewayClasses = APIResource(group: gatewayGroup, version: "v1", plural: "gatewayclasses")
    /// Gateways: listeners that routes attach to; their status is written for classes Sluice controls.
    public static let gateways = APIResource(group: gatewayGroup, version: "v1", plural: "gateways")
    /// HTTPRoutes: their `status.parents` entries for Sluice's Gateways are written by Sluice.
    public static let httpRoutes = APIResource(group: gatewayGroup, version: "v1", plural: "httproutes")
    /// ReferenceGrants, at the version discovery finds (v1beta1 in the standard channel up to Gateway API 1.2).
    public static func referenceGrants(version: String) -> APIResource {
        APIResource(group: gatewayGroup, version: version, plural: "referencegrants")
    }
    /// networking.k8s.io/v1 Ingresses.
    public static let ingresses = APIResource(group: "networking.k8s.io", version: "v1", plural: "ingresses")
    /// networking.k8s.io/v1 IngressClasses: which controller serves which Ingresses.
    public static let ingressClasses = APIResource(group: "networking.k8s.io", version: "v1", plural: "ingressclasses")
    /// TLS Secrets only (HTTPS listeners' certificate references): no other Secret is ever sent.
    public static let tlsSecrets = APIResource(
        group: "", version: "v1", plural: "secrets", fieldSelector: "type=\(Secret.tlsType)")

    /// The Gateway API's group.
    public static let gatewayGroup = gatewayAPIGroup
}
