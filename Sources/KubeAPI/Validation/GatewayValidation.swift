extension GatewayClass {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: false, into: &errors)
        errors.checkRequiredName(spec.controllerName, .domainPrefixedPath, at: "spec.controllerName")
        return errors
    }
}

extension Gateway {
    /// The protocols the Gateway API core defines; others must be domain-prefixed.
    static let coreProtocols: Set<String> = ["HTTP", "HTTPS", "TLS", "TCP", "UDP"]

    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        let specPath = FieldPath("spec")
        errors.checkRequiredName(spec.gatewayClassName, .dns1123Subdomain, at: specPath.child("gatewayClassName"))
        let listenersPath = specPath.child("listeners")
        if spec.listeners.isEmpty {
            errors.add(listenersPath, "required")
        }
        errors.checkMaxCount(spec.listeners.count, 64, at: listenersPath)
        errors.checkUnique(spec.listeners.map(\.name), "listener name") { listenersPath.index($0).child("name") }
        for (position, listener) in spec.listeners.enumerated() {
            validate(listener, at: listenersPath.index(position), into: &errors)
        }
        for (position, address) in spec.addresses.enumerated() {
            let addressPath = specPath.child("addresses").index(position)
            switch address.type {
            case "IPAddress": errors.checkIP(address.value, at: addressPath.child("value"))
            case "Hostname":
                errors.checkHostname(address.value, allowingWildcard: false, at: addressPath.child("value"))
            default: errors.checkName(address.type, .domainPrefixedPath, at: addressPath.child("type"))
            }
        }
        return errors
    }

    private func validate(_ listener: Listener, at path: FieldPath, into errors: inout [FieldError]) {
        errors.checkRequiredName(listener.name, .dns1123Subdomain, at: path.child("name"))
        errors.checkPort(listener.port, at: path.child("port"))
        let protocolName = listener.protocol
        if errors.checkRequired(protocolName, at: path.child("protocol")) && !Self.coreProtocols.contains(protocolName)
        {
            errors.checkName(protocolName, .domainPrefixedPath, at: path.child("protocol"))
        }
        if let hostname = listener.hostname {
            if protocolName == "TCP" || protocolName == "UDP" {
                errors.add(path.child("hostname"), "must not be set for protocol \(protocolName)")
            } else {
                errors.checkHostname(hostname, allowingWildcard: true, at: path.child("hostname"))
            }
        }
        let tlsPath = path.child("tls")
        switch (protocolName, listener.tls) {
        case ("HTTPS", nil), ("TLS", nil):
            errors.add(tlsPath, "required for protocol \(protocolName)")
        case ("HTTP", _?), ("TCP", _?), ("UDP", _?):
            errors.add(tlsPath, "must not be set for protocol \(protocolName)")
        case (_, let tls?):
            errors.checkKnown(tls.mode, at: tlsPath.child("mode"))
            if protocolName == "HTTPS" && tls.mode == .passthrough {
                errors.add(tlsPath.child("mode"), "must be Terminate for protocol HTTPS")
            }
            if tls.mode == .terminate && tls.certificateRefs.isEmpty {
                errors.add(tlsPath.child("certificateRefs"), "required when mode is Terminate")
            }
            for (position, reference) in tls.certificateRefs.enumerated() {
                let referencePath = tlsPath.child("certificateRefs").index(position)
                errors.checkRequiredName(reference.name, .dns1123Subdomain, at: referencePath.child("name"))
                errors.checkOptionalName(reference.namespace, .dns1123Label, at: referencePath.child("namespace"))
            }
        default:
            break
        }
        let namespacesPath = path.child("allowedRoutes.namespaces")
        let namespaces = listener.allowedRoutes.namespaces
        errors.checkKnown(namespaces.from, at: namespacesPath.child("from"))
        if let selector = namespaces.selector {
            errors += selector.validate(at: namespacesPath.child("selector"))
        } else if namespaces.from == .selector {
            errors.add(namespacesPath.child("selector"), "required when from is Selector")
        }
        for (position, kind) in listener.allowedRoutes.kinds.enumerated() {
            errors.checkRequired(kind.kind, at: path.child("allowedRoutes.kinds").index(position).child("kind"))
        }
    }
}

extension ReferenceGrant {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        let specPath = FieldPath("spec")
        for (field, count) in [("from", spec.from.count), ("to", spec.to.count)] {
            if count == 0 { errors.add(specPath.child(field), "required") }
            errors.checkMaxCount(count, 16, at: specPath.child(field))
        }
        for (position, from) in spec.from.enumerated() {
            let fromPath = specPath.child("from").index(position)
            if !from.group.isEmpty { errors.checkName(from.group, .dns1123Subdomain, at: fromPath.child("group")) }
            errors.checkRequired(from.kind, at: fromPath.child("kind"))
            errors.checkRequiredName(from.namespace, .dns1123Label, at: fromPath.child("namespace"))
        }
        for (position, to) in spec.to.enumerated() {
            let toPath = specPath.child("to").index(position)
            if !to.group.isEmpty { errors.checkName(to.group, .dns1123Subdomain, at: toPath.child("group")) }
            errors.checkRequired(to.kind, at: toPath.child("kind"))
            errors.checkOptionalName(to.name, .dns1123Subdomain, at: toPath.child("name"))
        }
        return errors
    }
}
