import Foundation
import KubeAPI

/// Any JSON value, kept as it was read: the status of objects other controllers also write is carried through
/// untouched (a field this version does not model is not dropped), and compared as a value to decide whether a
/// write is needed at all.
public enum JSONValue: Codable, Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            // Integral numbers (generations, ports, counts) are written without a fraction, as the API expects.
            if value.rounded() == value, abs(value) < 1e15 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The JSON form of an `Encodable` value (a KubeAPI type inside a status being built).
    public init(encoding value: some Encodable) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    /// The member `key` of an object (`nil` for anything else or a missing key).
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The elements of an array (empty for anything else).
    public var arrayValue: [JSONValue] {
        if case .array(let elements) = self { return elements }
        return []
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// An object decoded with KubeAPI's model plus its `status` as raw JSON: a controller that writes status needs
/// the status as the API holds it (to keep other controllers' entries and unchanged timestamps), which the model
/// types, made for the data plane, leave out.
public struct StatusCarrying<Base: KubernetesObject>: KubernetesObject {
    public static var kind: String { Base.kind }
    public static var apiVersions: [String] { Base.apiVersions }
    public static var isNamespaced: Bool { Base.isNamespaced }

    /// The object as the data plane sees it.
    public var base: Base
    /// `status` as served, or `nil` when absent.
    public var status: JSONValue?

    public var metadata: ObjectMeta {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    public init(_ base: Base, status: JSONValue? = nil) {
        self.base = base
        self.status = status
    }

    private enum CodingKeys: String, CodingKey { case status }

    public init(from decoder: any Decoder) throws {
        base = try Base(from: decoder)
        status = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(JSONValue.self, forKey: .status)
    }

    public func encode(to encoder: any Encoder) throws {
        try base.encode(to: encoder)
        if let status {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(status, forKey: .status)
        }
    }

    public func validate() -> [FieldError] { base.validate() }
}
