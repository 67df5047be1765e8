extension EndpointSlice {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        if addressType.rawValue.isEmpty {
            errors.add("addressType", "required")
        } else {
            errors.checkKnown(addressType, at: "addressType")
        }
        for (position, endpoint) in endpoints.enumerated() {
            validate(endpoint, at: FieldPath("endpoints").index(position), into: &errors)
        }
        var seenNames = Set<String>()
        for (position, port) in ports.enumerated() {
            let portPath = FieldPath("ports").index(position)
            if !port.name.isEmpty {
                errors.checkName(port.name, .dns1123Label, at: portPath.child("name"))
            }
            if !seenNames.insert(port.name).inserted {
                errors.add(portPath.child("name"), "duplicate port name \"\(port.name)\"")
            }
            if let number = port.port {
                errors.checkPort(number, at: portPath.child("port"))
            }
            errors.checkKnown(port.protocol, at: portPath.child("protocol"))
            errors.checkOptionalName(port.appProtocol, .labelKey, at: portPath.child("appProtocol"))
        }
        return errors
    }

    /// Each address must be of the slice's `addressType`, so a compiler can trust the family.
    private func validate(_ endpoint: Endpoint, at path: FieldPath, into errors: inout [FieldError]) {
        if endpoint.addresses.isEmpty {
            errors.add(path.child("addresses"), "required")
        } else if endpoint.addresses.count > 100 {
            errors.add(path.child("addresses"), "must have at most 100 entries")
        }
        for (position, address) in endpoint.addresses.enumerated() {
            let addressPath = path.child("addresses").index(position)
            switch addressType {
            case .ipv4, .ipv6:
                guard let parsed = errors.checkIP(address, at: addressPath) else { continue }
                if parsed.family != (addressType == .ipv4 ? .ipv4 : .ipv6) {
                    errors.add(addressPath, "\"\(address)\" is not an \(addressType) address")
                }
            case .fqdn:
                errors.checkName(address, .dns1123Subdomain, at: addressPath)
            case .unrecognized:
                break
            }
        }
        errors.checkOptionalName(endpoint.hostname, .dns1123Label, at: path.child("hostname"))
        errors.checkOptionalName(endpoint.nodeName, .dns1123Subdomain, at: path.child("nodeName"))
        if let hints = endpoint.hints {
            for (position, zone) in hints.forZones.enumerated() {
                errors.checkRequired(zone.name, at: path.child("hints.forZones").index(position).child("name"))
            }
            for (position, node) in hints.forNodes.enumerated() {
                errors.checkRequiredName(
                    node.name, .dns1123Subdomain, at: path.child("hints.forNodes").index(position).child("name"))
            }
        }
    }
}
