import KubeAPI

/// A filter after its references were resolved, in the order the rule lists it.
enum CompiledFilter: Sendable {
    case requestHeaders(set: [HTTPField], add: [HTTPField], remove: [String])
    case responseHeaders(set: [HTTPField], add: [HTTPField], remove: [String])
    case redirect(HTTPRequestRedirectFilter)
    case rewrite(HTTPURLRewriteFilter)
    /// `target` is `nil` when the mirror's backendRef is invalid (the mirror is then dropped, as the spec says).
    case mirror(target: String?, percent: Double)
    /// A filter Sluice cannot apply (an `ExtensionRef`): the spec forbids skipping it, so requests get a 500.
    case unsupported(String)

    init(_ filter: HTTPRouteFilter, route: HTTPRoute, context: ReferenceContext, problems: inout [RefProblem]) {
        func fields(_ headers: [HTTPHeader]) -> [HTTPField] {
            headers.map { HTTPField(name: $0.name, value: $0.value) }
        }
        switch filter.type {
        case .requestHeaderModifier:
            let modifier = filter.requestHeaderModifier ?? HTTPHeaderFilter()
            self = .requestHeaders(set: fields(modifier.set), add: fields(modifier.add), remove: modifier.remove)
        case .responseHeaderModifier:
            let modifier = filter.responseHeaderModifier ?? HTTPHeaderFilter()
            self = .responseHeaders(set: fields(modifier.set), add: fields(modifier.add), remove: modifier.remove)
        case .requestRedirect:
            self = .redirect(filter.requestRedirect ?? HTTPRequestRedirectFilter())
        case .urlRewrite:
            self = .rewrite(filter.urlRewrite ?? HTTPURLRewriteFilter())
        case .requestMirror:
            let mirror = filter.requestMirror ?? HTTPRequestMirrorFilter(backendRef: BackendObjectReference(name: ""))
            let percent: Double =
                if let fraction = mirror.fraction {
                    Double(fraction.numerator) * 100 / Double(max(fraction.denominator, 1))
                } else {
                    Double(mirror.percent ?? 100)
                }
            switch context.resolve(mirror.backendRef, fromRoute: route) {
            case .success(let target): self = .mirror(target: target, percent: percent)
            case .failure(let problem):
                problems.append(RefProblem(reason: problem.reason, message: "RequestMirror " + problem.message))
                self = .mirror(target: nil, percent: percent)
            }
        case .extensionRef:
            let reference = filter.extensionRef.map { "\($0.group)/\($0.kind) \($0.name)" } ?? "?"
            problems.append(
                RefProblem(reason: "InvalidKind", message: "ExtensionRef filter \(reference) is not supported"))
            self = .unsupported("ExtensionRef filter \(reference) is not supported")
        case .unrecognized(let name):
            self = .unsupported("filter type \(name) is not supported")
        }
    }
}
