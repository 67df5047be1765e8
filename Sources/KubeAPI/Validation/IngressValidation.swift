extension Ingress {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        let specPath = FieldPath("spec")
        errors.checkOptionalName(spec.ingressClassName, .dns1123Subdomain, at: specPath.child("ingressClassName"))
        if spec.defaultBackend == nil && spec.rules.isEmpty {
            errors.add(specPath, "must specify defaultBackend or rules")
        }
        if let backend = spec.defaultBackend {
            backend.validate(at: specPath.child("defaultBackend"), into: &errors)
        }
        for (position, rule) in spec.rules.enumerated() {
            let rulePath = specPath.child("rules").index(position)
            if let host = rule.host {
                errors.checkHostname(host, allowingWildcard: true, at: rulePath.child("host"))
            }
            guard let http = rule.http else { continue }
            if http.paths.isEmpty {
                errors.add(rulePath.child("http.paths"), "required")
            }
            for (pathPosition, path) in http.paths.enumerated() {
                path.validate(at: rulePath.child("http.paths").index(pathPosition), into: &errors)
            }
        }
        for (position, tls) in spec.tls.enumerated() {
            let tlsPath = specPath.child("tls").index(position)
            for (hostPosition, host) in tls.hosts.enumerated() {
                errors.checkHostname(host, allowingWildcard: true, at: tlsPath.child("hosts").index(hostPosition))
            }
            errors.checkOptionalName(tls.secretName, .dns1123Subdomain, at: tlsPath.child("secretName"))
        }
        return errors
    }
}

extension HTTPIngressPath {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        if let pathType {
            errors.checkKnown(pathType, at: path.child("pathType"))
        } else {
            errors.add(path.child("pathType"), "required")
        }
        let text = self.path ?? ""
        switch pathType {
        case .exact, .prefix:
            if !text.hasPrefix("/") {
                errors.add(path.child("path"), "\"\(text)\" must start with '/'")
            } else if text.contains("//") {
                errors.add(path.child("path"), "\"\(text)\" must not contain '//'")
            }
        default:
            if !text.isEmpty && !text.hasPrefix("/") {
                errors.add(path.child("path"), "\"\(text)\" must start with '/'")
            }
        }
        backend.validate(at: path.child("backend"), into: &errors)
    }
}

extension IngressBackend {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        switch (service, resource) {
        case (let service?, nil):
            let servicePath = path.child("service")
            errors.checkRequiredName(service.name, .dns1035Label, at: servicePath.child("name"))
            let portPath = servicePath.child("port")
            switch (service.port.name, service.port.number) {
            case (let name?, nil): errors.checkName(name, .portName, at: portPath.child("name"))
            case (nil, let number?): errors.checkPort(number, at: portPath.child("number"))
            default: errors.add(portPath, "must specify exactly one of name or number")
            }
        case (nil, let resource?):
            errors.checkRequired(resource.kind, at: path.child("resource.kind"))
            errors.checkRequired(resource.name, at: path.child("resource.name"))
        default:
            errors.add(path, "must specify exactly one of service or resource")
        }
    }
}

extension IngressClass {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: false, into: &errors)
        errors.checkRequiredName(spec.controller, .domainPrefixedPath, at: "spec.controller")
        return errors
    }
}
