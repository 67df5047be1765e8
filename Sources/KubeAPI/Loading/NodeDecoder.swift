import Yams

/// Decodes the `Decodable` model straight from a composed YAML (or JSON) tree.
///
/// Why not `YAMLDecoder`: a manifest needs the API server's typing and people-facing errors.
/// - Quoting matters: `port: "80"` is a string and must not become the number 80.
/// - Every type mismatch of an object is reported, not only the first: a mismatched value is recorded
///   and replaced by a placeholder (zero, empty), and decoding continues with the next field. The
///   caller discards the object when anything was recorded, so placeholders never reach a compiler.
/// - Messages name what was expected and what was found ("expected an integer, found a string").
/// A `nil` node is the placeholder: everything read from it is empty and nothing is recorded.
struct NodeDecoder: Decoder {
    let node: Yams.Node?
    let codingPath: [any CodingKey]
    let problems: DecodingProblems

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Decodes `type` from a document's root, returning every recorded problem when there were any.
    static func decode<Value: Decodable>(_ type: Value.Type, from node: Yams.Node) -> Result<Value, DecodingFailure> {
        let problems = DecodingProblems()
        do {
            let value = try Value(from: NodeDecoder(node: node, codingPath: [], problems: problems))
            return problems.errors.isEmpty ? .success(value) : .failure(DecodingFailure(errors: problems.errors))
        } catch let error as DecodingError {
            return .failure(DecodingFailure(errors: problems.errors + [error]))
        } catch {
            let context = DecodingError.Context(codingPath: [], debugDescription: String(describing: error))
            return .failure(DecodingFailure(errors: problems.errors + [.dataCorrupted(context)]))
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let node else {
            return KeyedDecodingContainer(NodeKeyedContainer<Key>(decoder: self, entries: [:], orderedKeys: []))
        }
        guard case .mapping(let mapping) = node else {
            throw mismatch(expected: "an object", found: node)
        }
        var entries: [String: Yams.Node] = [:]
        var orderedKeys: [String] = []
        entries.reserveCapacity(mapping.count)
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { continue }
            entries[scalar.string] = value
            orderedKeys.append(scalar.string)
        }
        return KeyedDecodingContainer(
            NodeKeyedContainer<Key>(decoder: self, entries: entries, orderedKeys: orderedKeys))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard let node else { return NodeUnkeyedContainer(decoder: self, elements: []) }
        guard case .sequence(let sequence) = node else {
            throw mismatch(expected: "a list", found: node)
        }
        return NodeUnkeyedContainer(decoder: self, elements: Array(sequence))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        NodeSingleValueContainer(decoder: self)
    }

    /// Decodes a child value; a mismatch inside it is recorded and replaced by a placeholder, so
    /// decoding goes on and every mismatch of the object is found.
    func decodeChild<Value: Decodable>(_ type: Value.Type, node: Yams.Node?, at path: [any CodingKey]) throws -> Value {
        let child = NodeDecoder(node: node, codingPath: path, problems: problems)
        guard self.node != nil else { return try Value(from: child) }
        do {
            return try Value(from: child)
        } catch let error as DecodingError {
            let placeholderDecoder = NodeDecoder(node: nil, codingPath: path, problems: problems)
            guard let placeholder = try? Value(from: placeholderDecoder) else { throw error }
            problems.errors.append(error)
            return placeholder
        }
    }

    func mismatch(expected: String, found node: Yams.Node) -> DecodingError {
        .typeMismatch(
            Any.self,
            DecodingError.Context(
                codingPath: codingPath, debugDescription: "expected \(expected), found \(describe(node))"))
    }
}

/// The problems recorded while decoding one object; shared by all decoders of that object.
final class DecodingProblems {
    var errors: [DecodingError] = []
}

/// Every decoding problem of one object.
struct DecodingFailure: Error {
    var errors: [DecodingError]
}

/// A map entry in a coding path, rendered as `[key]` (e.g. `metadata.labels[app]`).
struct MapEntryKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A list position in a coding path, rendered as `[3]`.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }

    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

// MARK: - Scalars

/// YAML's plain-scalar typing, applied only where the model asks for a number or a boolean.
/// Quoted scalars are always strings; strings accept plain numbers and booleans as written.
extension Yams.Node.Scalar {
    var isPlain: Bool { style == .plain && tag.description != Tag.Name.str.rawValue }

    var isNull: Bool {
        isPlain && (string.isEmpty || string == "~" || string == "null" || string == "Null" || string == "NULL")
    }

    var boolValue: Bool? {
        guard isPlain else { return nil }
        switch string {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    /// Decimal digits with an optional sign, whether or not the value fits a given integer type.
    var looksLikeInteger: Bool {
        guard isPlain else { return false }
        let digits = string.first == "-" || string.first == "+" ? string.dropFirst() : Substring(string)
        return !digits.isEmpty && digits.allSatisfy { ("0"..."9").contains($0) }
    }
}

func isNull(_ node: Yams.Node) -> Bool {
    if case .scalar(let scalar) = node { return scalar.isNull }
    return false
}

/// What a node is, in the words of an error message.
func describe(_ node: Yams.Node) -> String {
    switch node {
    case .mapping: return "an object"
    case .sequence: return "a list"
    case .alias: return "an alias"
    case .scalar(let scalar):
        if scalar.isNull { return "null" }
        if scalar.boolValue != nil { return "a boolean" }
        if scalar.looksLikeInteger { return "an integer" }
        if scalar.isPlain && Double(scalar.string) != nil { return "a number" }
        return "a string"
    }
}

// MARK: - Containers

struct NodeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let entries: [String: Yams.Node]
    let orderedKeys: [String]

    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] { orderedKeys.compactMap { Key(stringValue: $0) } }

    /// Maps (`[String: V]`) decode through keys that also accept integers; their entries render as `[key]`.
    private var isMap: Bool { Key(intValue: 0) != nil }

    func contains(_ key: Key) -> Bool { entries[key.stringValue] != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        entries[key.stringValue].map(isNull) ?? true
    }

    private func path(for key: Key) -> [any CodingKey] {
        codingPath + [isMap ? MapEntryKey(stringValue: key.stringValue) : key]
    }

    private func decodeValue<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value {
        guard let child = entries[key.stringValue], !isNull(child) else {
            guard decoder.node != nil else {
                return try Value(from: NodeDecoder(node: nil, codingPath: path(for: key), problems: decoder.problems))
            }
            throw DecodingError.keyNotFound(
                key, DecodingError.Context(codingPath: codingPath, debugDescription: "required"))
        }
        return try decoder.decodeChild(type, node: child, at: path(for: key))
    }

    func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value {
        try decodeValue(type, forKey: key)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decodeValue(type, forKey: key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decodeValue(type, forKey: key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decodeValue(type, forKey: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decodeValue(type, forKey: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodeValue(type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decodeValue(type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decodeValue(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodeValue(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodeValue(type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decodeValue(type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decodeValue(type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decodeValue(type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decodeValue(type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decodeValue(type, forKey: key) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try NodeDecoder(node: entries[key.stringValue], codingPath: path(for: key), problems: decoder.problems)
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(node: entries[key.stringValue], codingPath: path(for: key), problems: decoder.problems)
            .unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(node: entries[key.stringValue], codingPath: path(for: key), problems: decoder.problems)
    }
}

struct NodeUnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let elements: [Yams.Node]
    private(set) var currentIndex = 0

    init(decoder: NodeDecoder, elements: [Yams.Node]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, isNull(elements[currentIndex]) else { return false }
        currentIndex += 1
        return true
    }

    private mutating func decodeNextValue<Value: Decodable>(_ type: Value.Type) throws -> Value {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, DecodingError.Context(codingPath: codingPath, debugDescription: "the list has no more elements"))
        }
        let position = currentIndex
        currentIndex += 1
        return try decoder.decodeChild(type, node: elements[position], at: codingPath + [IndexKey(position)])
    }

    mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try decodeNextValue(type) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try decodeNextValue(type) }
    mutating func decode(_ type: String.Type) throws -> String { try decodeNextValue(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decodeNextValue(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try decodeNextValue(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try decodeNextValue(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decodeNextValue(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decodeNextValue(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decodeNextValue(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decodeNextValue(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decodeNextValue(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeNextValue(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeNextValue(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeNextValue(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeNextValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try nextDecoder().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try nextDecoder().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try nextDecoder() }

    private mutating func nextDecoder() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self,
                DecodingError.Context(codingPath: codingPath, debugDescription: "the list has no more elements"))
        }
        let position = currentIndex
        currentIndex += 1
        return NodeDecoder(
            node: elements[position], codingPath: codingPath + [IndexKey(position)], problems: decoder.problems)
    }
}

/// Reads one scalar. Mismatches throw; the keyed or unkeyed container above records them.
struct NodeSingleValueContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoder

    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.node.map(isNull) ?? true }

    private func scalar(expected: String) throws -> Yams.Node.Scalar? {
        guard let node = decoder.node else { return nil }
        guard case .scalar(let scalar) = node, !scalar.isNull else {
            throw decoder.mismatch(expected: expected, found: node)
        }
        return scalar
    }

    func decode(_ type: String.Type) throws -> String {
        try scalar(expected: "a string")?.string ?? ""
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard let scalar = try scalar(expected: "a boolean") else { return false }
        guard let value = scalar.boolValue else {
            throw decoder.mismatch(expected: "a boolean", found: .scalar(scalar))
        }
        return value
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard let scalar = try scalar(expected: "a number") else { return 0 }
        guard scalar.isPlain, let value = Double(scalar.string) else {
            throw decoder.mismatch(expected: "a number", found: .scalar(scalar))
        }
        return value
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func decodeInteger<Value: FixedWidthInteger>(_ type: Value.Type) throws -> Value {
        guard let scalar = try scalar(expected: "an integer") else { return 0 }
        guard scalar.looksLikeInteger else { throw decoder.mismatch(expected: "an integer", found: .scalar(scalar)) }
        let digits = scalar.string.first == "+" ? String(scalar.string.dropFirst()) : scalar.string
        guard let value = Value(digits, radix: 10) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "\(scalar.string) is out of range"))
        }
        return value
    }

    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type) }

    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try Value(from: decoder) }
}
