extension HTTPRoute {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        let specPath = FieldPath("spec")
        errors.checkMaxCount(spec.parentRefs.count, 32, at: specPath.child("parentRefs"))
        for (position, parent) in spec.parentRefs.enumerated() {
            let parentPath = specPath.child("parentRefs").index(position)
            errors.checkRequiredName(parent.name, .dns1123Subdomain, at: parentPath.child("name"))
            errors.checkOptionalName(parent.namespace, .dns1123Label, at: parentPath.child("namespace"))
            errors.checkOptionalName(parent.sectionName, .dns1123Subdomain, at: parentPath.child("sectionName"))
            if let port = parent.port { errors.checkPort(port, at: parentPath.child("port")) }
        }
        errors.checkMaxCount(spec.hostnames.count, 16, at: specPath.child("hostnames"))
        for (position, hostname) in spec.hostnames.enumerated() {
            errors.checkHostname(hostname, allowingWildcard: true, at: specPath.child("hostnames").index(position))
        }
        errors.checkMaxCount(spec.rules.count, 16, at: specPath.child("rules"))
        for (position, rule) in spec.rules.enumerated() {
            rule.validate(at: specPath.child("rules").index(position), into: &errors)
        }
        return errors
    }
}

extension HTTPRouteRule {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        errors.checkOptionalName(name, .dns1123Subdomain, at: path.child("name"))
        errors.checkMaxCount(matches.count, 64, at: path.child("matches"))
        for (position, match) in matches.enumerated() {
            match.validate(at: path.child("matches").index(position), into: &errors)
        }
        errors.checkMaxCount(filters.count, 16, at: path.child("filters"))
        for (position, filter) in filters.enumerated() {
            filter.validate(at: path.child("filters").index(position), into: &errors)
        }
        let types = filters.map(\.type)
        if types.contains(.requestRedirect) && types.contains(.urlRewrite) {
            errors.add(path.child("filters"), "may not combine RequestRedirect and URLRewrite")
        }
        if types.contains(.requestRedirect) && !backendRefs.isEmpty {
            errors.add(path.child("backendRefs"), "must be empty when a RequestRedirect filter is used")
        }
        let rewritesPrefix = filters.contains {
            $0.requestRedirect?.path?.type == .replacePrefixMatch || $0.urlRewrite?.path?.type == .replacePrefixMatch
        }
        if rewritesPrefix && !(matches.count == 1 && matches[0].path.type == .pathPrefix) {
            errors.add(path.child("matches"), "ReplacePrefixMatch requires exactly one PathPrefix match")
        }
        for (position, backend) in backendRefs.enumerated() {
            let backendPath = path.child("backendRefs").index(position)
            backend.reference.validate(at: backendPath, into: &errors)
            errors.checkRange(backend.weight, 0...1_000_000, at: backendPath.child("weight"))
            for (filterPosition, filter) in backend.filters.enumerated() {
                filter.validate(at: backendPath.child("filters").index(filterPosition), into: &errors)
            }
        }
    }
}

extension HTTPRouteMatch {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        let pathPath = path.child("path")
        errors.checkKnown(self.path.type, at: pathPath.child("type"))
        let value = self.path.value
        switch self.path.type {
        case .exact, .pathPrefix:
            if !value.hasPrefix("/") {
                errors.add(pathPath.child("value"), "\"\(value)\" must start with '/'")
            } else if value.contains("//") || value.contains("/./") || value.contains("/../") {
                errors.add(pathPath.child("value"), "\"\(value)\" must not contain '//', '/./' or '/../'")
            }
        case .regularExpression:
            errors.checkRequired(value, at: pathPath.child("value"))
        case .unrecognized:
            break
        }
        if value.utf8.count > 1024 {
            errors.add(pathPath.child("value"), "must be at most 1024 characters")
        }

        errors.checkMaxCount(headers.count, 16, at: path.child("headers"))
        var seenHeaders = Set<String>()
        for (position, header) in headers.enumerated() {
            let headerPath = path.child("headers").index(position)
            errors.checkKnown(header.type, at: headerPath.child("type"))
            errors.checkRequiredName(header.name, .httpHeaderName, at: headerPath.child("name"))
            if !seenHeaders.insert(header.name.lowercased()).inserted {
                errors.add(headerPath.child("name"), "duplicate header name \"\(header.name)\"")
            }
        }
        errors.checkMaxCount(queryParams.count, 16, at: path.child("queryParams"))
        var seenParameters = Set<String>()
        for (position, parameter) in queryParams.enumerated() {
            let parameterPath = path.child("queryParams").index(position)
            errors.checkKnown(parameter.type, at: parameterPath.child("type"))
            errors.checkRequiredName(parameter.name, .httpHeaderName, at: parameterPath.child("name"))
            if !seenParameters.insert(parameter.name).inserted {
                errors.add(parameterPath.child("name"), "duplicate query parameter name \"\(parameter.name)\"")
            }
        }
        errors.checkKnown(method, at: path.child("method"))
    }
}

extension HTTPRouteFilter {
    /// The status codes a redirect may use (301 and 302 in the standard channel, the rest extended).
    static let redirectStatusCodes: Set<Int> = [301, 302, 303, 307, 308]

    /// Exactly the field named by `type` must be set: a filter with a mismatched field would be
    /// applied differently by different implementations.
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        if type.rawValue.isEmpty {
            errors.add(path.child("type"), "required")
        } else {
            errors.checkKnown(type, at: path.child("type"))
        }
        let configured: [(HTTPRouteFilterType, String, Bool)] = [
            (.requestHeaderModifier, "requestHeaderModifier", requestHeaderModifier != nil),
            (.responseHeaderModifier, "responseHeaderModifier", responseHeaderModifier != nil),
            (.requestMirror, "requestMirror", requestMirror != nil),
            (.requestRedirect, "requestRedirect", requestRedirect != nil),
            (.urlRewrite, "urlRewrite", urlRewrite != nil),
            (.extensionRef, "extensionRef", extensionRef != nil),
        ]
        for (filterType, field, isSet) in configured {
            if filterType == type && !isSet {
                errors.add(path.child(field), "required when type is \(type)")
            } else if filterType != type && isSet {
                errors.add(path.child(field), "must not be set when type is \(type)")
            }
        }
        if let modifier = requestHeaderModifier {
            modifier.validate(at: path.child("requestHeaderModifier"), into: &errors)
        }
        if let modifier = responseHeaderModifier {
            modifier.validate(at: path.child("responseHeaderModifier"), into: &errors)
        }
        if let mirror = requestMirror {
            validate(mirror, at: path.child("requestMirror"), into: &errors)
        }
        if let redirect = requestRedirect {
            validate(redirect, at: path.child("requestRedirect"), into: &errors)
        }
        if let rewrite = urlRewrite {
            let rewritePath = path.child("urlRewrite")
            if let hostname = rewrite.hostname {
                errors.checkHostname(hostname, allowingWildcard: false, at: rewritePath.child("hostname"))
            }
            rewrite.path?.validate(at: rewritePath.child("path"), into: &errors)
        }
        if let reference = extensionRef {
            let referencePath = path.child("extensionRef")
            errors.checkRequired(reference.kind, at: referencePath.child("kind"))
            errors.checkRequiredName(reference.name, .dns1123Subdomain, at: referencePath.child("name"))
        }
    }

    private func validate(_ mirror: HTTPRequestMirrorFilter, at path: FieldPath, into errors: inout [FieldError]) {
        mirror.backendRef.validate(at: path.child("backendRef"), into: &errors)
        if let percent = mirror.percent {
            errors.checkRange(percent, 0...100, at: path.child("percent"))
        }
        if let fraction = mirror.fraction {
            let fractionPath = path.child("fraction")
            if mirror.percent != nil {
                errors.add(fractionPath, "may not be set together with percent")
            }
            if fraction.denominator < 1 {
                errors.add(fractionPath.child("denominator"), "\(fraction.denominator) must be at least 1")
            } else {
                errors.checkRange(fraction.numerator, 0...fraction.denominator, at: fractionPath.child("numerator"))
            }
        }
    }

    private func validate(_ redirect: HTTPRequestRedirectFilter, at path: FieldPath, into errors: inout [FieldError]) {
        if let scheme = redirect.scheme, scheme != "http" && scheme != "https" {
            errors.add(path.child("scheme"), "\"\(scheme)\" is not one of http, https")
        }
        if let hostname = redirect.hostname {
            errors.checkHostname(hostname, allowingWildcard: false, at: path.child("hostname"))
        }
        if let port = redirect.port {
            errors.checkPort(port, at: path.child("port"))
        }
        if !Self.redirectStatusCodes.contains(redirect.statusCode) {
            errors.add(path.child("statusCode"), "\(redirect.statusCode) is not one of 301, 302, 303, 307, 308")
        }
        redirect.path?.validate(at: path.child("path"), into: &errors)
    }
}

extension HTTPHeaderFilter {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        for (field, headers) in [("set", set), ("add", add)] {
            errors.checkMaxCount(headers.count, 16, at: path.child(field))
            for (position, header) in headers.enumerated() {
                errors.checkRequiredName(
                    header.name, .httpHeaderName, at: path.child(field).index(position).child("name"))
            }
        }
        errors.checkMaxCount(remove.count, 16, at: path.child("remove"))
        for (position, name) in remove.enumerated() {
            errors.checkRequiredName(name, .httpHeaderName, at: path.child("remove").index(position))
        }
    }
}

extension HTTPPathModifier {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        errors.checkKnown(type, at: path.child("type"))
        switch type {
        case .replaceFullPath:
            if replaceFullPath == nil {
                errors.add(path.child("replaceFullPath"), "required when type is ReplaceFullPath")
            }
            if replacePrefixMatch != nil {
                errors.add(path.child("replacePrefixMatch"), "must not be set when type is ReplaceFullPath")
            }
        case .replacePrefixMatch:
            if replacePrefixMatch == nil {
                errors.add(path.child("replacePrefixMatch"), "required when type is ReplacePrefixMatch")
            }
            if replaceFullPath != nil {
                errors.add(path.child("replaceFullPath"), "must not be set when type is ReplacePrefixMatch")
            }
        case .unrecognized:
            break
        }
    }
}

extension BackendObjectReference {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        errors.checkRequiredName(name, .dns1123Subdomain, at: path.child("name"))
        errors.checkOptionalName(namespace, .dns1123Label, at: path.child("namespace"))
        if let port {
            errors.checkPort(port, at: path.child("port"))
        } else if isService {
            errors.add(path.child("port"), "required for a Service backend")
        }
    }
}
