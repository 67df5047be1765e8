extension Endpoints {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        for (position, subset) in subsets.enumerated() {
            subset.validate(at: FieldPath("subsets").index(position), into: &errors)
        }
        return errors
    }
}

extension EndpointSubset {
    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        for (field, list) in [("addresses", addresses), ("notReadyAddresses", notReadyAddresses)] {
            for (position, address) in list.enumerated() {
                let addressPath = path.child(field).index(position)
                errors.checkIP(address.ip, at: addressPath.child("ip"))
                errors.checkOptionalName(address.hostname, .dns1123Label, at: addressPath.child("hostname"))
                errors.checkOptionalName(address.nodeName, .dns1123Subdomain, at: addressPath.child("nodeName"))
            }
        }
        var seenNames = Set<String>()
        for (position, port) in ports.enumerated() {
            let portPath = path.child("ports").index(position)
            if port.name.isEmpty {
                if ports.count > 1 {
                    errors.add(portPath.child("name"), "required when the subset has more than one port")
                }
            } else {
                errors.checkName(port.name, .dns1123Label, at: portPath.child("name"))
                if !seenNames.insert(port.name).inserted {
                    errors.add(portPath.child("name"), "duplicate port name \"\(port.name)\"")
                }
            }
            errors.checkPort(port.port, at: portPath.child("port"))
            errors.checkKnown(port.protocol, at: portPath.child("protocol"))
            errors.checkOptionalName(port.appProtocol, .labelKey, at: portPath.child("appProtocol"))
        }
    }
}
