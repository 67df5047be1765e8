/// A value that is either a number or a name (Kubernetes `intstr.IntOrString`), as in a Service's
/// `targetPort` (a port number, or the name of a container port) or a NetworkPolicy port.
///
/// A quoted `"80"` in YAML is a string, not a number, exactly as for the API server; validation then
/// rejects it as a port name because a name needs at least one letter.
public enum IntOrString: Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral, ExpressibleByStringLiteral
{
    case int(Int)
    case string(String)

    public init(integerLiteral value: Int) { self = .int(value) }

    public init(stringLiteral value: String) { self = .string(value) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            self = .int(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let number): try container.encode(number)
        case .string(let name): try container.encode(name)
        }
    }

    public var description: String {
        switch self {
        case .int(let number): String(number)
        case .string(let name): name
        }
    }

    /// The number, when this is one; compilers use it to tell numeric target ports from named ones.
    public var intValue: Int? {
        if case .int(let number) = self { number } else { nil }
    }

    /// The name, when this is one; a named port is resolved against each endpoint's container ports.
    public var stringValue: String? {
        if case .string(let name) = self { name } else { nil }
    }
}
