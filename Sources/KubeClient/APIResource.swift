import KubeAPI

/// Where a kind lives on the API server (`/api/v1/services`, `/apis/discovery.k8s.io/v1/endpointslices`)
/// and which objects of it to ask for. Every watch of the agent is cluster-wide, so paths carry no namespace.
public struct APIResource: Sendable, Hashable, CustomStringConvertible {
    /// `""` for the core group.
    public var group: String
    public var version: String
    /// The lower-case plural the URL uses.
    public var plural: String
    /// A label selector (`!service.kubernetes.io/headless`), or `nil` for every object.
    public var labelSelector: String?
    /// A field selector (`spec.nodeName=node-a`), or `nil`.
    public var fieldSelector: String?

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

    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// Services a node proxy serves: like kube-proxy, those claimed by another proxy
    /// (`service.kubernetes.io/service-proxy-name`) and headless ones are never sent.
    public static let services = APIResource(
        group: "", version: "v1", plural: "services",
        labelSelector: "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless")
    public static let endpointSlices = APIResource(group: "discovery.k8s.io", version: "v1", plural: "endpointslices")
    public static let nodes = APIResource(group: "", version: "v1", plural: "nodes")
    public static let namespaces = APIResource(group: "", version: "v1", plural: "namespaces")
    /// All pods: policies select peers cluster-wide, so this node's pods alone are not enough.
    public static let pods = APIResource(group: "", version: "v1", plural: "pods")
    public static let networkPolicies = APIResource(
        group: "networking.k8s.io", version: "v1", plural: "networkpolicies")
}
