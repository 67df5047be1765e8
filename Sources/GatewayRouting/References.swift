import KubeAPI

/// The objects references resolve against, indexed by `namespace/name`.
struct ReferenceContext: Sendable {
    var services: [String: Service] = [:]
    var secrets: [String: Secret] = [:]
    var namespaces: [String: Namespace] = [:]
    /// ReferenceGrants by the namespace they grant access into.
    var grants: [String: [ReferenceGrant]] = [:]

    init(services: [Service], secrets: [Secret], namespaces: [Namespace], grants: [ReferenceGrant]) {
        for service in services { self.services[service.namespacedName] = service }
        for secret in secrets { self.secrets[secret.namespacedName] = secret }
        for namespace in namespaces { self.namespaces[namespace.metadata.name] = namespace }
        for grant in grants { self.grants[grant.metadata.namespace, default: []].append(grant) }
    }

    /// The labels a namespace selector sees; a namespace absent from the input still has its name label.
    func labels(ofNamespace name: String) -> [String: String] {
        namespaces[name]?.effectiveLabels ?? [Namespace.nameLabel: name]
    }

    /// Whether a ReferenceGrant in `namespace` lets objects of `fromKind` in `fromNamespace` refer to the
    /// object `name` of `toGroup`/`toKind` there.
    func isGranted(
        from fromGroup: String, _ fromKind: String, in fromNamespace: String, to toGroup: String, _ toKind: String,
        named name: String, in namespace: String
    ) -> Bool {
        (grants[namespace] ?? []).contains { grant in
            grant.spec.from.contains { $0.group == fromGroup && $0.kind == fromKind && $0.namespace == fromNamespace }
                && grant.spec.to.contains { $0.group == toGroup && $0.kind == toKind && ($0.name ?? name) == name }
        }
    }

    /// A route's backend (or mirror) reference: the `namespace/service:port` it names, or why it is invalid
    /// with the spec's `ResolvedRefs` reason.
    func resolve(_ reference: BackendObjectReference, fromRoute route: HTTPRoute) -> Result<String, RefProblem> {
        let namespace = reference.namespace ?? route.metadata.namespace
        let described = "\(reference.kind) \(namespace)/\(reference.name)"
        guard reference.isService else {
            let group = reference.group.isEmpty ? "core" : reference.group
            return .failure(
                RefProblem(
                    reason: "InvalidKind",
                    message: "backendRef \(described) (group \(group)) is not supported: only core Services are"))
        }
        if namespace != route.metadata.namespace
            && !isGranted(
                from: gatewayAPIGroup, HTTPRoute.kind, in: route.metadata.namespace, to: "", Service.kind,
                named: reference.name, in: namespace)
        {
            return .failure(
                RefProblem(
                    reason: "RefNotPermitted",
                    message: "backendRef \(described) is in another namespace and no ReferenceGrant there allows it"))
        }
        return resolveService(namespace: namespace, name: reference.name, port: .number(reference.port ?? 0))
    }

    /// A Service port by number or (Ingress) by name, as `namespace/service:number`.
    func resolveService(namespace: String, name: String, port: ServicePortSelector) -> Result<String, RefProblem> {
        guard let service = services["\(namespace)/\(name)"] else {
            return .failure(RefProblem(reason: "BackendNotFound", message: "Service \(namespace)/\(name) not found"))
        }
        let found: ServicePort?
        switch port {
        case .number(let number): found = service.spec.ports.first { $0.port == number }
        case .name(let portName): found = service.spec.ports.first { $0.name == portName }
        }
        guard let found else {
            return .failure(
                RefProblem(reason: "BackendNotFound", message: "Service \(namespace)/\(name) has no port \(port)"))
        }
        return .success("\(namespace)/\(name):\(found.port)")
    }
}

enum ServicePortSelector: CustomStringConvertible {
    case number(Int)
    case name(String)

    var description: String {
        switch self {
        case .number(let number): "\(number)"
        case .name(let name): "named \"\(name)\""
        }
    }
}

/// An unresolvable reference: the `ResolvedRefs` reason and a message naming the reference.
struct RefProblem: Error, Hashable, Sendable {
    var reason: String
    var message: String
}
