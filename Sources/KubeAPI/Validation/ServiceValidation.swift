extension Service {
    /// Service names become DNS labels (`web.default.svc`), so Kubernetes requires DNS-1035 labels.
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1035Label, isNamespaced: true, into: &errors)
        spec.validate(at: FieldPath("spec"), into: &errors)
        for (position, ingress) in status.loadBalancer.ingress.enumerated() {
            if let ip = ingress.ip {
                errors.checkIP(ip, at: FieldPath("status.loadBalancer.ingress").index(position).child("ip"))
            }
        }
        return errors
    }
}

extension ServiceSpec {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        errors.checkKnown(type, at: path.child("type"))
        validatePorts(at: path, into: &errors)
        validateClusterIPs(at: path, into: &errors)
        errors.checkLabels(selector, at: path.child("selector"))

        errors.checkKnown(sessionAffinity, at: path.child("sessionAffinity"))
        if let timeout = sessionAffinityConfig?.clientIP?.timeoutSeconds {
            let timeoutPath = path.child("sessionAffinityConfig.clientIP.timeoutSeconds")
            if sessionAffinity == .clientIP {
                errors.checkRange(timeout, 1...86400, at: timeoutPath)
            } else {
                errors.add(
                    path.child("sessionAffinityConfig"), "must not be set when sessionAffinity is \(sessionAffinity)")
            }
        }

        for (position, ip) in externalIPs.enumerated() {
            errors.checkIP(ip, at: path.child("externalIPs").index(position))
        }
        if let loadBalancerIP, !loadBalancerIP.isEmpty {
            errors.checkIP(loadBalancerIP, at: path.child("loadBalancerIP"))
        }
        for (position, range) in loadBalancerSourceRanges.enumerated() {
            errors.checkCIDR(range, at: path.child("loadBalancerSourceRanges").index(position))
        }

        if let externalTrafficPolicy {
            if type.isExternallyReachable {
                errors.checkKnown(externalTrafficPolicy, at: path.child("externalTrafficPolicy"))
            } else {
                errors.add(
                    path.child("externalTrafficPolicy"), "may only be set for NodePort and LoadBalancer Services")
            }
        }
        errors.checkKnown(internalTrafficPolicy, at: path.child("internalTrafficPolicy"))
        if let healthCheckNodePort {
            errors.checkPort(healthCheckNodePort, at: path.child("healthCheckNodePort"))
            if type != .loadBalancer || externalTrafficPolicy != .local {
                errors.add(
                    path.child("healthCheckNodePort"),
                    "may only be set for LoadBalancer Services with externalTrafficPolicy Local")
            }
        }
        errors.checkKnown(trafficDistribution, at: path.child("trafficDistribution"))

        if type == .externalName {
            errors.checkRequiredName(externalName ?? "", .dns1123Subdomain, at: path.child("externalName"))
        }
    }

    private func validatePorts(at path: FieldPath, into errors: inout [FieldError]) {
        let portsPath = path.child("ports")
        if ports.isEmpty && type != .externalName && !isHeadless {
            errors.add(portsPath, "required")
        }
        var seenNames = Set<String>()
        var seenPorts = Set<String>()
        for (position, port) in ports.enumerated() {
            let portPath = portsPath.index(position)
            if port.name.isEmpty {
                if ports.count > 1 {
                    errors.add(portPath.child("name"), "required when the Service has more than one port")
                }
            } else {
                errors.checkName(port.name, .dns1123Label, at: portPath.child("name"))
                if !seenNames.insert(port.name).inserted {
                    errors.add(portPath.child("name"), "duplicate port name \"\(port.name)\"")
                }
            }
            errors.checkKnown(port.protocol, at: portPath.child("protocol"))
            errors.checkPort(port.port, at: portPath.child("port"))
            if port.port != 0 && !seenPorts.insert("\(port.port)/\(port.protocol)").inserted {
                errors.add(portPath, "duplicate port \(port.port)/\(port.protocol)")
            }
            // A target port equal to the port (usually the default) was checked as the port already.
            if port.targetPort != .int(port.port) {
                errors.checkPortOrName(port.targetPort, at: portPath.child("targetPort"))
            }
            if let nodePort = port.nodePort {
                if type.isExternallyReachable {
                    errors.checkPort(nodePort, at: portPath.child("nodePort"))
                } else {
                    errors.add(portPath.child("nodePort"), "may only be set for NodePort and LoadBalancer Services")
                }
            }
            errors.checkOptionalName(port.appProtocol, .labelKey, at: portPath.child("appProtocol"))
        }
    }

    /// `clusterIP`, `clusterIPs`, `ipFamilies` and `ipFamilyPolicy` must tell one consistent story.
    private func validateClusterIPs(at path: FieldPath, into errors: inout [FieldError]) {
        if type == .externalName {
            if let clusterIP, !clusterIP.isEmpty {
                errors.add(path.child("clusterIP"), "must be empty for ExternalName Services")
            }
            return
        }
        if isHeadless && type.isExternallyReachable {
            errors.add(path.child("clusterIP"), "may not be None for \(type) Services")
        } else if let clusterIP, !clusterIP.isEmpty, clusterIP != "None" {
            errors.checkIP(clusterIP, at: path.child("clusterIP"))
        }
        var families: [AddressFamily?] = []
        for (position, ip) in clusterIPs.enumerated() {
            let ipPath = path.child("clusterIPs").index(position)
            if ip == "None" {
                if clusterIPs.count > 1 { errors.add(ipPath, "\"None\" must be the only entry") }
                continue
            }
            families.append(errors.checkIP(ip, at: ipPath)?.family)
        }
        if let first = clusterIPs.first, let clusterIP, first != clusterIP {
            errors.add(path.child("clusterIPs").index(0), "\"\(first)\" must equal clusterIP \"\(clusterIP)\"")
        }
        errors.checkDualStack(families, at: path.child("clusterIPs"))

        for (position, family) in ipFamilies.enumerated() {
            let familyPath = path.child("ipFamilies").index(position)
            errors.checkKnown(family, at: familyPath)
            if position < families.count, let ipFamily = families[position], let declared = family.addressFamily,
                ipFamily != declared
            {
                errors.add(familyPath, "\(family) does not match clusterIPs[\(position)] \"\(clusterIPs[position])\"")
            }
        }
        errors.checkDualStack(ipFamilies.map(\.addressFamily), at: path.child("ipFamilies"))

        errors.checkKnown(ipFamilyPolicy, at: path.child("ipFamilyPolicy"))
        if ipFamilyPolicy == .singleStack && (clusterIPs.count > 1 || ipFamilies.count > 1) {
            errors.add(path.child("ipFamilyPolicy"), "SingleStack allows only one IP family")
        }
    }
}
