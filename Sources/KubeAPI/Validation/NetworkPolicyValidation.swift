extension NetworkPolicy {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        let specPath = FieldPath("spec")
        errors += spec.podSelector.validate(at: specPath.child("podSelector"))
        if spec.policyTypes.count > 2 {
            errors.add(specPath.child("policyTypes"), "must have at most 2 entries")
        }
        for (position, type) in spec.policyTypes.enumerated() {
            errors.checkKnown(type, at: specPath.child("policyTypes").index(position))
        }
        errors.checkUnique(spec.policyTypes.map(\.rawValue), "policy type") {
            specPath.child("policyTypes").index($0)
        }
        for (position, rule) in spec.ingress.enumerated() {
            let rulePath = specPath.child("ingress").index(position)
            validate(peers: rule.from, ports: rule.ports, at: rulePath, peersField: "from", into: &errors)
        }
        for (position, rule) in spec.egress.enumerated() {
            let rulePath = specPath.child("egress").index(position)
            validate(peers: rule.to, ports: rule.ports, at: rulePath, peersField: "to", into: &errors)
        }
        return errors
    }

    private func validate(
        peers: [NetworkPolicyPeer], ports: [NetworkPolicyPort], at path: FieldPath, peersField: String,
        into errors: inout [FieldError]
    ) {
        for (position, peer) in peers.enumerated() {
            validate(peer, at: path.child(peersField).index(position), into: &errors)
        }
        for (position, port) in ports.enumerated() {
            validate(port, at: path.child("ports").index(position), into: &errors)
        }
    }

    /// A peer is either selectors or an ipBlock; a peer with neither would silently match nothing.
    private func validate(_ peer: NetworkPolicyPeer, at path: FieldPath, into errors: inout [FieldError]) {
        let hasSelector = peer.podSelector != nil || peer.namespaceSelector != nil
        if let ipBlock = peer.ipBlock {
            if hasSelector {
                errors.add(path, "may not combine ipBlock with podSelector or namespaceSelector")
            }
            validate(ipBlock, at: path.child("ipBlock"), into: &errors)
        } else if !hasSelector {
            errors.add(path, "must specify podSelector, namespaceSelector or ipBlock")
        }
        if let podSelector = peer.podSelector {
            errors += podSelector.validate(at: path.child("podSelector"))
        }
        if let namespaceSelector = peer.namespaceSelector {
            errors += namespaceSelector.validate(at: path.child("namespaceSelector"))
        }
    }

    private func validate(_ ipBlock: IPBlock, at path: FieldPath, into errors: inout [FieldError]) {
        guard errors.checkRequired(ipBlock.cidr, at: path.child("cidr")),
            let cidr = errors.checkCIDR(ipBlock.cidr, at: path.child("cidr"))
        else {
            for (position, except) in ipBlock.except.enumerated() {
                errors.checkCIDR(except, at: path.child("except").index(position))
            }
            return
        }
        for (position, exceptText) in ipBlock.except.enumerated() {
            let exceptPath = path.child("except").index(position)
            guard let except = errors.checkCIDR(exceptText, at: exceptPath) else { continue }
            if except.family != cidr.family {
                errors.add(exceptPath, "\"\(exceptText)\" is not of the same IP family as cidr \"\(ipBlock.cidr)\"")
            } else if !cidr.contains(except) || except.prefixLength == cidr.prefixLength {
                errors.add(exceptPath, "\"\(exceptText)\" is not a strict subset of cidr \"\(ipBlock.cidr)\"")
            }
        }
    }

    private func validate(_ port: NetworkPolicyPort, at path: FieldPath, into errors: inout [FieldError]) {
        errors.checkKnown(port.protocol, at: path.child("protocol"))
        if let number = port.port {
            errors.checkPortOrName(number, at: path.child("port"))
        }
        guard let endPort = port.endPort else { return }
        switch port.port {
        case .int(let start):
            errors.checkPort(endPort, at: path.child("endPort"))
            if endPort < start {
                errors.add(path.child("endPort"), "\(endPort) is less than port \(start)")
            }
        case .string, nil:
            errors.add(path.child("endPort"), "may only be set with a numeric port")
        }
    }
}
