extension Pod {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        errors.checkOptionalName(spec.nodeName, .dns1123Subdomain, at: "spec.nodeName")
        var seenPortNames = Set<String>()
        for (containerPosition, container) in spec.containers.enumerated() {
            let containerPath = FieldPath("spec.containers").index(containerPosition)
            errors.checkRequiredName(container.name, .dns1123Label, at: containerPath.child("name"))
            for (position, port) in container.ports.enumerated() {
                let portPath = containerPath.child("ports").index(position)
                if let name = port.name {
                    errors.checkName(name, .portName, at: portPath.child("name"))
                    if !seenPortNames.insert(name).inserted {
                        errors.add(portPath.child("name"), "duplicate port name \"\(name)\"")
                    }
                }
                errors.checkPort(port.containerPort, at: portPath.child("containerPort"))
                errors.checkKnown(port.protocol, at: portPath.child("protocol"))
                if let hostPort = port.hostPort, hostPort != 0 {
                    errors.checkPort(hostPort, at: portPath.child("hostPort"))
                }
                if let hostIP = port.hostIP, !hostIP.isEmpty {
                    errors.checkIP(hostIP, at: portPath.child("hostIP"))
                }
            }
        }
        validateStatus(into: &errors)
        return errors
    }

    private func validateStatus(into errors: inout [FieldError]) {
        let path = FieldPath("status")
        errors.checkKnown(status.phase, at: path.child("phase"))
        for (position, condition) in status.conditions.enumerated() {
            let conditionPath = path.child("conditions").index(position)
            errors.checkRequired(condition.type, at: conditionPath.child("type"))
            errors.checkKnown(condition.status, at: conditionPath.child("status"))
        }
        if let hostIP = status.hostIP, !hostIP.isEmpty {
            errors.checkIP(hostIP, at: path.child("hostIP"))
        }
        if let podIP = status.podIP, !podIP.isEmpty {
            errors.checkIP(podIP, at: path.child("podIP"))
            if let first = status.podIPs.first, first.ip != podIP {
                errors.add(path.child("podIPs").index(0).child("ip"), "\"\(first.ip)\" must equal podIP \"\(podIP)\"")
            }
        }
        let families = status.podIPs.enumerated().map { position, podIP in
            errors.checkIP(podIP.ip, at: path.child("podIPs").index(position).child("ip"))?.family
        }
        errors.checkDualStack(families, at: path.child("podIPs"))
    }
}
