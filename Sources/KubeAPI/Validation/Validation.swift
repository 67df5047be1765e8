/// The checks shared by every kind, phrased once so that the same mistake reads the same way in
/// every object: `0 is not in 1-65535`, `"FOO" is not one of TCP, UDP, SCTP`, `required`, ….
extension Array where Element == FieldError {
    mutating func add(_ path: FieldPath, _ message: String) {
        append(FieldError(path, message))
    }

    mutating func checkRange(_ value: Int, _ range: ClosedRange<Int>, at path: FieldPath) {
        if !range.contains(value) {
            add(path, "\(value) is not in \(range.lowerBound)-\(range.upperBound)")
        }
    }

    mutating func checkPort(_ port: Int, at path: FieldPath) {
        checkRange(port, 1...65535, at: path)
    }

    /// A port given as a number (1–65535) or as the name of a container port (IANA_SVC_NAME).
    mutating func checkPortOrName(_ port: IntOrString, at path: FieldPath) {
        switch port {
        case .int(let number): checkPort(number, at: path)
        case .string(let name): checkName(name, .portName, at: path)
        }
    }

    mutating func checkKnown<Value: KubernetesEnum>(_ value: Value, at path: FieldPath) {
        if !value.isKnown {
            add(path, "\"\(value.rawValue)\" is not one of \(Value.knownValuesList)")
        }
    }

    mutating func checkKnown<Value: KubernetesEnum>(_ value: Value?, at path: FieldPath) {
        if let value { checkKnown(value, at: path) }
    }

    /// Reports an empty value as missing; returns whether a value was there to check further.
    @discardableResult
    mutating func checkRequired(_ value: String, at path: FieldPath) -> Bool {
        if value.isEmpty { add(path, "required") }
        return !value.isEmpty
    }

    mutating func checkName(_ value: String, _ rule: NameRule, at path: FieldPath) {
        if !rule.accepts(value) { add(path, rule.message(for: value)) }
    }

    mutating func checkRequiredName(_ value: String, _ rule: NameRule, at path: FieldPath) {
        if checkRequired(value, at: path) { checkName(value, rule, at: path) }
    }

    mutating func checkOptionalName(_ value: String?, _ rule: NameRule, at path: FieldPath) {
        if let value { checkName(value, rule, at: path) }
    }

    /// Hostnames in routing rules must be DNS names: an IP address there never matches a Host header
    /// the way its author expects.
    mutating func checkHostname(_ value: String, allowingWildcard: Bool, at path: FieldPath) {
        if IPAddress(value) != nil {
            add(path, "\"\(value)\" must be a DNS name, not an IP address")
        } else {
            checkName(value, allowingWildcard ? .wildcardHostname : .dns1123Subdomain, at: path)
        }
    }

    mutating func checkMaxCount(_ count: Int, _ limit: Int, at path: FieldPath) {
        if count > limit { add(path, "must have at most \(limit) entries") }
    }

    @discardableResult
    mutating func checkIP(_ text: String, at path: FieldPath) -> IPAddress? {
        guard let address = IPAddress(text) else {
            add(path, "\"\(text)\" is not a valid IP address")
            return nil
        }
        return address
    }

    @discardableResult
    mutating func checkCIDR(_ text: String, at path: FieldPath) -> IPCIDR? {
        guard let cidr = IPCIDR(text) else {
            add(path, "\"\(text)\" is not a valid CIDR")
            return nil
        }
        return cidr
    }

    /// Label maps: keys are reported on the map, values on their entry. Sorted for stable output.
    mutating func checkLabels(_ labels: [String: String], at path: FieldPath) {
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            checkName(key, .labelKey, at: path)
            checkName(value, .labelValue, at: path.key(key))
        }
    }

    /// Every value at most once; `describe` names what is duplicated, e.g. "port name".
    mutating func checkUnique(_ values: [String], _ describe: String, at path: (Int) -> FieldPath) {
        var seen = Set<String>()
        for (position, value) in values.enumerated() where !seen.insert(value).inserted {
            add(path(position), "duplicate \(describe) \"\(value)\"")
        }
    }

    /// Dual-stack lists (clusterIPs, podIPs, podCIDRs): at most two entries, of different families.
    mutating func checkDualStack(_ families: [AddressFamily?], at path: FieldPath) {
        if families.count > 2 {
            add(path, "must have at most 2 entries, one per IP family")
        } else if families.count == 2, let first = families[0], first == families[1] {
            add(path, "must not have two \(first) entries")
        }
    }
}

extension ObjectMeta {
    /// Checks what every kind requires of its metadata; `nameRule` is the kind's own rule for names.
    func validate(nameRule: NameRule, isNamespaced: Bool, into errors: inout [FieldError]) {
        let path = FieldPath("metadata")
        errors.checkRequiredName(name, nameRule, at: path.child("name"))
        if isNamespaced {
            errors.checkName(namespace, .dns1123Label, at: path.child("namespace"))
        }
        errors.checkLabels(labels, at: path.child("labels"))
        for key in annotations.keys.sorted() {
            errors.checkName(key, .labelKey, at: path.child("annotations"))
        }
    }
}
