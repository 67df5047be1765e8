/// A label query (`metav1.LabelSelector`) as used by NetworkPolicy peers, Gateway route namespaces
/// and parsed `-l`-style strings.
///
/// An empty selector matches every object. Whether a selector is *absent* is a different question
/// that only the caller can answer, so fields keep `LabelSelector?` where the difference matters: a
/// NetworkPolicy peer with `namespaceSelector: {}` selects all namespaces, while a peer without one
/// selects only the policy's own namespace. (Service selectors are plain label maps, not this type.)
public struct LabelSelector: Codable, Hashable, Sendable, CustomStringConvertible {
    public var matchLabels: [String: String]
    public var matchExpressions: [LabelSelectorRequirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [LabelSelectorRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        matchLabels = try container.decode(.matchLabels, default: [:])
        matchExpressions = try container.decode(.matchExpressions, default: [])
    }

    /// Whether the selector has no requirements and so matches every object.
    public var isEmpty: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    /// Kubernetes semantics: every `matchLabels` entry and every expression must hold. `NotIn` and
    /// `DoesNotExist` hold for objects without the label. An unrecognized operator never holds
    /// (validation rejects such selectors before they reach a compiler).
    public func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in matchLabels where labels[key] != value {
            return false
        }
        return matchExpressions.allSatisfy { $0.matches(labels) }
    }

    /// The string form (`app=web,tier in (a,b),!legacy`), for logs and `sluice` output; parsing it
    /// back yields a selector that matches the same objects.
    public var description: String {
        let labels = matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return (labels + matchExpressions.map(\.description)).joined(separator: ",")
    }

    /// Checks keys, values and operators; `path` is where the selector sits, e.g. `spec.podSelector`.
    public func validate(at path: FieldPath) -> [FieldError] {
        var errors: [FieldError] = []
        errors.checkLabels(matchLabels, at: path.child("matchLabels"))
        for (position, requirement) in matchExpressions.enumerated() {
            requirement.validate(at: path.child("matchExpressions").index(position), into: &errors)
        }
        return errors
    }
}

/// One `matchExpressions` entry: a key, an operator and, for `In`/`NotIn`, the values.
public struct LabelSelectorRequirement: Codable, Hashable, Sendable, CustomStringConvertible {
    public var key: String
    public var `operator`: LabelSelectorOperator
    public var values: [String]

    public init(key: String, operator: LabelSelectorOperator, values: [String] = []) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decode(.key, default: "")
        `operator` = try container.decode(.operator, default: .unrecognized(""))
        values = try container.decode(.values, default: [])
    }

    public func matches(_ labels: [String: String]) -> Bool {
        switch `operator` {
        case .in: labels[key].map(values.contains) ?? false
        case .notIn: labels[key].map { !values.contains($0) } ?? true
        case .exists: labels[key] != nil
        case .doesNotExist: labels[key] == nil
        case .unrecognized: false
        }
    }

    public var description: String {
        switch `operator` {
        case .in: "\(key) in (\(values.joined(separator: ",")))"
        case .notIn: "\(key) notin (\(values.joined(separator: ",")))"
        case .exists: key
        case .doesNotExist: "!\(key)"
        case .unrecognized(let name): "\(key) \(name) (\(values.joined(separator: ",")))"
        }
    }

    func validate(at path: FieldPath, into errors: inout [FieldError]) {
        errors.checkRequiredName(key, .labelKey, at: path.child("key"))
        if `operator`.rawValue.isEmpty {
            errors.add(path.child("operator"), "required")
        } else {
            errors.checkKnown(`operator`, at: path.child("operator"))
        }
        switch `operator` {
        case .in, .notIn:
            if values.isEmpty {
                errors.add(path.child("values"), "must have at least one value for \(`operator`)")
            }
            for (position, value) in values.enumerated() {
                errors.checkName(value, .labelValue, at: path.child("values").index(position))
            }
        case .exists, .doesNotExist:
            if !values.isEmpty {
                errors.add(path.child("values"), "must be empty for \(`operator`)")
            }
        case .unrecognized:
            break
        }
    }
}

/// How a requirement relates a label to its values.
public enum LabelSelectorOperator: KubernetesEnum {
    case `in`
    case notIn
    case exists
    case doesNotExist
    case unrecognized(String)

    public static let knownCases: [LabelSelectorOperator] = [.in, .notIn, .exists, .doesNotExist]

    public var rawValue: String {
        switch self {
        case .in: "In"
        case .notIn: "NotIn"
        case .exists: "Exists"
        case .doesNotExist: "DoesNotExist"
        case .unrecognized(let value): value
        }
    }
}
