import LinkNetlink

/// Typed access to one JSON object of the configuration, remembering where it is (`ipam.ranges[0][1]`).
///
/// Unknown keys are ignored, as the spec asks (runtimes add `name`, `runtimeConfig`, `prevResult`, …, and
/// conflists carry keys for other plugins); a known key with a value of the wrong type is an error that names the
/// key's full path, what was expected and what was found, so a person can fix the conflist in one go.
struct ConfigReader {
    let json: JSON
    /// The path of this object from the configuration's root, empty for the root.
    let path: String

    init(_ json: JSON, path: String = "") {
        self.json = json
        self.path = path
    }

    /// The path of `key` inside this object, for messages.
    func path(of key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The member `key`, with JSON `null` treated as absent (Go's decoder does the same).
    func value(_ key: String) -> JSON? {
        guard let value = json[key], value != .null else {
            return nil
        }
        return value
    }

    func string(_ key: String) throws(CNIError) -> String? {
        guard let value = value(key) else {
            return nil
        }
        guard case .string(let text) = value else {
            throw wrongType(key, expected: "a string", found: value)
        }
        return text
    }

    func bool(_ key: String) throws(CNIError) -> Bool? {
        guard let value = value(key) else {
            return nil
        }
        guard case .bool(let flag) = value else {
            throw wrongType(key, expected: "true or false", found: value)
        }
        return flag
    }

    /// An integer member within `range`.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(CNIError) -> Int? {
        guard let value = value(key) else {
            return nil
        }
        guard case .number(let number) = value, number == number.rounded(), abs(number) < 1e15 else {
            throw wrongType(key, expected: "an integer", found: value)
        }
        guard range.contains(Int(number)) else {
            throw invalid(key, "\(Int(number)) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return Int(number)
    }

    func object(_ key: String) throws(CNIError) -> ConfigReader? {
        guard let value = value(key) else {
            return nil
        }
        guard case .object = value else {
            throw wrongType(key, expected: "an object", found: value)
        }
        return ConfigReader(value, path: path(of: key))
    }

    func array(_ key: String) throws(CNIError) -> [JSON]? {
        guard let value = value(key) else {
            return nil
        }
        guard case .array(let values) = value else {
            throw wrongType(key, expected: "an array", found: value)
        }
        return values
    }

    /// The members of an array of objects, each with its indexed path.
    func objects(_ key: String) throws(CNIError) -> [ConfigReader]? {
        guard let values = try array(key) else {
            return nil
        }
        var readers: [ConfigReader] = []
        for (index, value) in values.enumerated() {
            guard case .object = value else {
                throw CNIError(
                    .invalidConfiguration,
                    "\(path(of: key))[\(index)]: expected an object, found \(Self.kind(of: value))")
            }
            readers.append(ConfigReader(value, path: "\(path(of: key))[\(index)]"))
        }
        return readers
    }

    /// An array of strings.
    func strings(_ key: String) throws(CNIError) -> [String]? {
        guard let values = try array(key) else {
            return nil
        }
        var strings: [String] = []
        for (index, value) in values.enumerated() {
            guard case .string(let text) = value else {
                throw CNIError(
                    .invalidConfiguration,
                    "\(path(of: key))[\(index)]: expected a string, found \(Self.kind(of: value))")
            }
            strings.append(text)
        }
        return strings
    }

    /// A CIDR member (`10.244.1.0/24`), host bits allowed.
    func prefix(_ key: String) throws(CNIError) -> InetPrefix? {
        guard let text = try string(key) else {
            return nil
        }
        guard let prefix = InetPrefix(text) else {
            throw invalid(key, "\"\(text)\" is not a CIDR such as 10.244.1.0/24 or fd00:10:244:1::/64")
        }
        return prefix
    }

    /// An IP address member.
    func address(_ key: String) throws(CNIError) -> InetAddress? {
        guard let text = try string(key) else {
            return nil
        }
        guard let address = InetAddress(text) else {
            throw invalid(key, "\"\(text)\" is not an IPv4 or IPv6 address")
        }
        return address
    }

    /// A code-7 error about the value of `key`.
    func invalid(_ key: String, _ problem: String) -> CNIError {
        CNIError(.invalidConfiguration, "\(path(of: key)): \(problem)")
    }

    private func wrongType(_ key: String, expected: String, found: JSON) -> CNIError {
        invalid(key, "expected \(expected), found \(Self.kind(of: found))")
    }

    /// A JSON value's kind and, for scalars, the value itself: `the string "1500"`, `an array`.
    static func kind(of value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "the boolean \(flag)"
        case .number(let number): "the number \(JSON.number(number).text)"
        case .string(let text): "the string \(JSON.string(text).text)"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
