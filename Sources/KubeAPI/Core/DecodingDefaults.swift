/// Kubernetes omits empty and default-valued fields when it serializes objects, and people omit them
/// when they write manifests. These helpers give every type's `init(from:)` one spelling for
/// "absent means this default" that works with any `Decoder` (ours, or `JSONDecoder` on API responses).
extension KeyedDecodingContainer {
    func decode<Value: Decodable>(_ key: Key, default defaultValue: @autoclosure () -> Value) throws -> Value {
        try decodeIfPresent(Value.self, forKey: key) ?? defaultValue()
    }

    func decodeIfPresent<Value: Decodable>(_ key: Key) throws -> Value? {
        try decodeIfPresent(Value.self, forKey: key)
    }
}
