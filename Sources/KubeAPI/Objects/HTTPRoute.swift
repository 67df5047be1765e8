/// A gateway.networking.k8s.io HTTPRoute: HTTP matches, filters and weighted backends, attached to
/// Gateway listeners through `parentRefs`.
public struct HTTPRoute: SpecObject {
    public static let kind = "HTTPRoute"
    public static let apiVersions = ["\(gatewayAPIGroup)/v1", "\(gatewayAPIGroup)/v1beta1"]
    public static let isNamespaced = true
    public static var emptySpec: HTTPRouteSpec { HTTPRouteSpec() }

    public var metadata: ObjectMeta
    public var spec: HTTPRouteSpec

    public init(metadata: ObjectMeta, spec: HTTPRouteSpec = HTTPRouteSpec()) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct HTTPRouteSpec: Codable, Hashable, Sendable {
    public var parentRefs: [ParentReference]
    /// Empty means every hostname the listener accepts.
    public var hostnames: [String]
    /// Defaults to one rule matching every path, as the Gateway API CRD does.
    public var rules: [HTTPRouteRule]

    public init(
        parentRefs: [ParentReference] = [], hostnames: [String] = [], rules: [HTTPRouteRule] = [HTTPRouteRule()]
    ) {
        self.parentRefs = parentRefs
        self.hostnames = hostnames
        self.rules = rules
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        parentRefs = try container.decode(.parentRefs, default: [])
        hostnames = try container.decode(.hostnames, default: [])
        rules = try container.decode(.rules, default: [HTTPRouteRule()])
    }
}

public struct HTTPRouteRule: Codable, Hashable, Sendable {
    /// Lets policies and status refer to one rule.
    public var name: String?
    /// A request matching any of these takes the rule; defaults to `PathPrefix /`.
    public var matches: [HTTPRouteMatch]
    public var filters: [HTTPRouteFilter]
    /// Empty means requests matching the rule get a 500 response.
    public var backendRefs: [HTTPBackendRef]

    public init(
        name: String? = nil, matches: [HTTPRouteMatch] = [HTTPRouteMatch()], filters: [HTTPRouteFilter] = [],
        backendRefs: [HTTPBackendRef] = []
    ) {
        self.name = name
        self.matches = matches
        self.filters = filters
        self.backendRefs = backendRefs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(.name)
        matches = try container.decode(.matches, default: [HTTPRouteMatch()])
        filters = try container.decode(.filters, default: [])
        backendRefs = try container.decode(.backendRefs, default: [])
    }
}

/// All of its conditions must hold for a request to match.
public struct HTTPRouteMatch: Codable, Hashable, Sendable {
    /// Defaults to `PathPrefix /`.
    public var path: HTTPPathMatch
    public var headers: [HTTPHeaderMatch]
    public var queryParams: [HTTPQueryParamMatch]
    public var method: HTTPMethod?

    public init(
        path: HTTPPathMatch = HTTPPathMatch(), headers: [HTTPHeaderMatch] = [], queryParams: [HTTPQueryParamMatch] = [],
        method: HTTPMethod? = nil
    ) {
        self.path = path
        self.headers = headers
        self.queryParams = queryParams
        self.method = method
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(.path, default: HTTPPathMatch())
        headers = try container.decode(.headers, default: [])
        queryParams = try container.decode(.queryParams, default: [])
        method = try container.decodeIfPresent(.method)
    }
}

public struct HTTPPathMatch: Codable, Hashable, Sendable {
    /// Defaults to `PathPrefix`.
    public var type: PathMatchType
    /// Defaults to `/`.
    public var value: String

    public init(type: PathMatchType = .pathPrefix, value: String = "/") {
        self.type = type
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: .pathPrefix)
        value = try container.decode(.value, default: "/")
    }
}

public enum PathMatchType: KubernetesEnum {
    case exact
    case pathPrefix
    case regularExpression
    case unrecognized(String)

    public static let knownCases: [PathMatchType] = [.exact, .pathPrefix, .regularExpression]

    public var rawValue: String {
        switch self {
        case .exact: "Exact"
        case .pathPrefix: "PathPrefix"
        case .regularExpression: "RegularExpression"
        case .unrecognized(let value): value
        }
    }
}

/// How a header or query parameter value is compared.
public enum HeaderMatchType: KubernetesEnum {
    case exact
    case regularExpression
    case unrecognized(String)

    public static let knownCases: [HeaderMatchType] = [.exact, .regularExpression]

    public var rawValue: String {
        switch self {
        case .exact: "Exact"
        case .regularExpression: "RegularExpression"
        case .unrecognized(let value): value
        }
    }
}

/// A header condition; names compare case-insensitively, as HTTP defines.
public struct HTTPHeaderMatch: Codable, Hashable, Sendable {
    /// Defaults to `Exact`.
    public var type: HeaderMatchType
    public var name: String
    public var value: String

    public init(type: HeaderMatchType = .exact, name: String, value: String) {
        self.type = type
        self.name = name
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: .exact)
        name = try container.decode(.name, default: "")
        value = try container.decode(.value, default: "")
    }
}

/// A query parameter condition; names compare case-sensitively.
public struct HTTPQueryParamMatch: Codable, Hashable, Sendable {
    /// Defaults to `Exact`.
    public var type: HeaderMatchType
    public var name: String
    public var value: String

    public init(type: HeaderMatchType = .exact, name: String, value: String) {
        self.type = type
        self.name = name
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: .exact)
        name = try container.decode(.name, default: "")
        value = try container.decode(.value, default: "")
    }
}

public enum HTTPMethod: KubernetesEnum {
    case get
    case head
    case post
    case put
    case delete
    case connect
    case options
    case trace
    case patch
    case unrecognized(String)

    public static let knownCases: [HTTPMethod] = [
        .get, .head, .post, .put, .delete, .connect, .options, .trace, .patch,
    ]

    public var rawValue: String {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .connect: "CONNECT"
        case .options: "OPTIONS"
        case .trace: "TRACE"
        case .patch: "PATCH"
        case .unrecognized(let value): value
        }
    }
}

/// A request or response transformation. `type` says which one of the optional fields is set.
public struct HTTPRouteFilter: Codable, Hashable, Sendable {
    public var type: HTTPRouteFilterType
    public var requestHeaderModifier: HTTPHeaderFilter?
    public var responseHeaderModifier: HTTPHeaderFilter?
    public var requestMirror: HTTPRequestMirrorFilter?
    public var requestRedirect: HTTPRequestRedirectFilter?
    public var urlRewrite: HTTPURLRewriteFilter?
    public var extensionRef: LocalObjectReference?

    public init(
        type: HTTPRouteFilterType, requestHeaderModifier: HTTPHeaderFilter? = nil,
        responseHeaderModifier: HTTPHeaderFilter? = nil, requestMirror: HTTPRequestMirrorFilter? = nil,
        requestRedirect: HTTPRequestRedirectFilter? = nil, urlRewrite: HTTPURLRewriteFilter? = nil,
        extensionRef: LocalObjectReference? = nil
    ) {
        self.type = type
        self.requestHeaderModifier = requestHeaderModifier
        self.responseHeaderModifier = responseHeaderModifier
        self.requestMirror = requestMirror
        self.requestRedirect = requestRedirect
        self.urlRewrite = urlRewrite
        self.extensionRef = extensionRef
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: .unrecognized(""))
        requestHeaderModifier = try container.decodeIfPresent(.requestHeaderModifier)
        responseHeaderModifier = try container.decodeIfPresent(.responseHeaderModifier)
        requestMirror = try container.decodeIfPresent(.requestMirror)
        requestRedirect = try container.decodeIfPresent(.requestRedirect)
        urlRewrite = try container.decodeIfPresent(.urlRewrite)
        extensionRef = try container.decodeIfPresent(.extensionRef)
    }
}

public enum HTTPRouteFilterType: KubernetesEnum {
    case requestHeaderModifier
    case responseHeaderModifier
    case requestMirror
    case requestRedirect
    case urlRewrite
    case extensionRef
    case unrecognized(String)

    public static let knownCases: [HTTPRouteFilterType] = [
        .requestHeaderModifier, .responseHeaderModifier, .requestMirror, .requestRedirect, .urlRewrite, .extensionRef,
    ]

    public var rawValue: String {
        switch self {
        case .requestHeaderModifier: "RequestHeaderModifier"
        case .responseHeaderModifier: "ResponseHeaderModifier"
        case .requestMirror: "RequestMirror"
        case .requestRedirect: "RequestRedirect"
        case .urlRewrite: "URLRewrite"
        case .extensionRef: "ExtensionRef"
        case .unrecognized(let value): value
        }
    }
}

/// Header edits: `set` replaces, `add` appends, `remove` deletes by name.
public struct HTTPHeaderFilter: Codable, Hashable, Sendable {
    public var set: [HTTPHeader]
    public var add: [HTTPHeader]
    public var remove: [String]

    public init(set: [HTTPHeader] = [], add: [HTTPHeader] = [], remove: [String] = []) {
        self.set = set
        self.add = add
        self.remove = remove
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        set = try container.decode(.set, default: [])
        add = try container.decode(.add, default: [])
        remove = try container.decode(.remove, default: [])
    }
}

public struct HTTPHeader: Codable, Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(.name, default: "")
        value = try container.decode(.value, default: "")
    }
}

/// Copies requests to another backend and ignores its responses.
public struct HTTPRequestMirrorFilter: Codable, Hashable, Sendable {
    public var backendRef: BackendObjectReference
    /// 0–100; at most one of `percent` and `fraction`; neither means every request.
    public var percent: Int?
    public var fraction: Fraction?

    public init(backendRef: BackendObjectReference, percent: Int? = nil, fraction: Fraction? = nil) {
        self.backendRef = backendRef
        self.percent = percent
        self.fraction = fraction
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        backendRef = try container.decode(.backendRef, default: BackendObjectReference(name: ""))
        percent = try container.decodeIfPresent(.percent)
        fraction = try container.decodeIfPresent(.fraction)
    }
}

public struct Fraction: Codable, Hashable, Sendable {
    public var numerator: Int
    /// Defaults to 100.
    public var denominator: Int

    public init(numerator: Int, denominator: Int = 100) {
        self.numerator = numerator
        self.denominator = denominator
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        numerator = try container.decode(.numerator, default: 0)
        denominator = try container.decode(.denominator, default: 100)
    }
}

/// Answers with a redirect instead of forwarding; absent parts keep the request's own.
public struct HTTPRequestRedirectFilter: Codable, Hashable, Sendable {
    /// `http` or `https`.
    public var scheme: String?
    public var hostname: String?
    public var path: HTTPPathModifier?
    public var port: Int?
    /// Defaults to 302.
    public var statusCode: Int

    public init(
        scheme: String? = nil, hostname: String? = nil, path: HTTPPathModifier? = nil, port: Int? = nil,
        statusCode: Int = 302
    ) {
        self.scheme = scheme
        self.hostname = hostname
        self.path = path
        self.port = port
        self.statusCode = statusCode
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        scheme = try container.decodeIfPresent(.scheme)
        hostname = try container.decodeIfPresent(.hostname)
        path = try container.decodeIfPresent(.path)
        port = try container.decodeIfPresent(.port)
        statusCode = try container.decode(.statusCode, default: 302)
    }
}

/// Rewrites the request before forwarding it.
public struct HTTPURLRewriteFilter: Codable, Hashable, Sendable {
    public var hostname: String?
    public var path: HTTPPathModifier?

    public init(hostname: String? = nil, path: HTTPPathModifier? = nil) {
        self.hostname = hostname
        self.path = path
    }
}

/// A path rewrite: the whole path, or only the prefix that a `PathPrefix` match matched.
public struct HTTPPathModifier: Codable, Hashable, Sendable {
    public var type: HTTPPathModifierType
    public var replaceFullPath: String?
    public var replacePrefixMatch: String?

    public init(type: HTTPPathModifierType, replaceFullPath: String? = nil, replacePrefixMatch: String? = nil) {
        self.type = type
        self.replaceFullPath = replaceFullPath
        self.replacePrefixMatch = replacePrefixMatch
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(.type, default: .unrecognized(""))
        replaceFullPath = try container.decodeIfPresent(.replaceFullPath)
        replacePrefixMatch = try container.decodeIfPresent(.replacePrefixMatch)
    }
}

public enum HTTPPathModifierType: KubernetesEnum {
    case replaceFullPath
    case replacePrefixMatch
    case unrecognized(String)

    public static let knownCases: [HTTPPathModifierType] = [.replaceFullPath, .replacePrefixMatch]

    public var rawValue: String {
        switch self {
        case .replaceFullPath: "ReplaceFullPath"
        case .replacePrefixMatch: "ReplacePrefixMatch"
        case .unrecognized(let value): value
        }
    }
}

/// A weighted backend of a rule, with filters that apply only when it is chosen.
public struct HTTPBackendRef: Codable, Hashable, Sendable {
    /// Defaults to the core group (empty string).
    public var group: String
    /// Defaults to `Service`.
    public var kind: String
    public var name: String
    public var namespace: String?
    /// Required when the backend is a Service.
    public var port: Int?
    /// 0–1000000, defaults to 1; traffic splits in proportion to the weights, 0 sends none.
    public var weight: Int
    public var filters: [HTTPRouteFilter]

    public init(
        group: String = "", kind: String = "Service", name: String, namespace: String? = nil, port: Int? = nil,
        weight: Int = 1, filters: [HTTPRouteFilter] = []
    ) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.port = port
        self.weight = weight
        self.filters = filters
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        group = try container.decode(.group, default: "")
        kind = try container.decode(.kind, default: "Service")
        name = try container.decode(.name, default: "")
        namespace = try container.decodeIfPresent(.namespace)
        port = try container.decodeIfPresent(.port)
        weight = try container.decode(.weight, default: 1)
        filters = try container.decode(.filters, default: [])
    }

    /// The same reference without weight and filters, as other Gateway API references use it.
    public var reference: BackendObjectReference {
        BackendObjectReference(group: group, kind: kind, name: name, namespace: namespace, port: port)
    }
}
