extension Node {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: false, into: &errors)
        let specPath = FieldPath("spec")
        if let podCIDR = spec.podCIDR, !podCIDR.isEmpty {
            errors.checkCIDR(podCIDR, at: specPath.child("podCIDR"))
            if let first = spec.podCIDRs.first, first != podCIDR {
                errors.add(specPath.child("podCIDRs").index(0), "\"\(first)\" must equal podCIDR \"\(podCIDR)\"")
            }
        }
        let families = spec.podCIDRs.enumerated().map { position, cidr in
            errors.checkCIDR(cidr, at: specPath.child("podCIDRs").index(position))?.family
        }
        errors.checkDualStack(families, at: specPath.child("podCIDRs"))
        for (position, address) in status.addresses.enumerated() {
            let addressPath = FieldPath("status.addresses").index(position)
            errors.checkKnown(address.type, at: addressPath.child("type"))
            if errors.checkRequired(address.address, at: addressPath.child("address")) && address.type.isIP {
                errors.checkIP(address.address, at: addressPath.child("address"))
            }
        }
        return errors
    }
}
