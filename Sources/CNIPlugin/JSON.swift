/// A JSON value, parsed and printed without Foundation.
///
/// The plugin is exec'd for every pod and VERSION is probed constantly; loading Foundation costs several
/// milliseconds per exec (measured, see `cni-conf/README.md`), more than the whole of an ADD's own work. CNI
/// documents are small, so this straightforward tree is all that is needed. Objects keep their key order, so
/// a `prevResult` passed through a chain keeps the shape its producer gave it.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    /// Every number as a `Double`: CNI's numbers (MTUs, ports, route metrics) fit its 53-bit integers exactly.
    case number(Double)
    case string(String)
    case array([JSON])
    /// Members in document order; a duplicated key keeps its last value on lookup, as Go's decoder does.
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(value)
        case .number(let value): hasher.combine(value)
        case .string(let value): hasher.combine(value)
        case .array(let values): hasher.combine(values)
        case .object(let members):
            for (key, value) in members {
                hasher.combine(key)
                hasher.combine(value)
            }
        }
    }

    /// The member `key` of an object (its last occurrence), or `nil` for a missing key or a non-object.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else {
            return nil
        }
        return members.last { $0.0 == key }?.1
    }

    /// Compact JSON text, as CNI results and errors are printed.
    public var text: String {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        write(into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Writes UTF-8 bytes rather than appending to a `String`: every plugin exec prints a document, and
    /// per-scalar `String` appends cost more than the rest of the output path.
    private func write(into output: inout [UInt8]) {
        switch self {
        case .null:
            output += "null".utf8
        case .bool(let value):
            output += (value ? "true" : "false").utf8
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 {
                output += String(Int64(value)).utf8
            } else {
                output += (value.isFinite ? String(value) : "null").utf8
            }
        case .string(let value):
            Self.writeString(value, into: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 {
                    output.append(UInt8(ascii: ","))
                }
                value.write(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, (key, value)) in members.enumerated() {
                if index > 0 {
                    output.append(UInt8(ascii: ","))
                }
                Self.writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                value.write(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string literal. Bytes of multi-byte UTF-8 sequences pass through unchanged (valid JSON); only
    /// the quote, the backslash and control characters are escaped.
    private static func writeString(_ value: String, into output: inout [UInt8]) {
        let hexDigits = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                output += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
                output += [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

extension JSON {
    /// Parses one JSON document (RFC 8259); surrounding whitespace is allowed, trailing content is not.
    ///
    /// - Throws: ``JSONParseError`` with the byte offset and what was expected there.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSON {
        var parser = JSONParser(bytes: Array(bytes))
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else {
            throw parser.error("unexpected content after the end of the document")
        }
        return value
    }

    /// Parses JSON text.
    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8))
    }
}

/// Malformed JSON: where parsing stopped and why.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset into the document.
    public let offset: Int
    public let reason: String

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A recursive-descent parser over UTF-8 bytes.
private struct JSONParser {
    let bytes: [UInt8]
    var position = 0

    /// Deeper nesting than any CNI document has; bounds the recursion on hostile input.
    static let maximumDepth = 64

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    func error(_ reason: String) -> JSONParseError {
        JSONParseError(offset: position, reason: reason)
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) {
            position += 1
        }
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSON {
        guard depth < Self.maximumDepth else {
            throw error("nested deeper than \(Self.maximumDepth) levels")
        }
        guard position < bytes.count else {
            throw error("unexpected end of input")
        }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("expected a value")
        }
    }

    mutating func literal(_ word: String, _ value: JSON) throws(JSONParseError) -> JSON {
        let expected = Array(word.utf8)
        guard bytes.count - position >= expected.count, Array(bytes[position..<position + expected.count]) == expected
        else {
            throw error("expected \(word)")
        }
        position += expected.count
        return value
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSON {
        position += 1
        var members: [(String, JSON)] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a string key")
            }
            let key = try string()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "expected ':' after an object key")
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard position < bytes.count else {
                throw error("unexpected end of input in an object")
            }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "}"), "expected ',' or '}' in an object")
            return .object(members)
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSON {
        position += 1
        var values: [JSON] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(values)
        }
        while true {
            skipWhitespace()
            values.append(try value(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else {
                throw error("unexpected end of input in an array")
            }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "]"), "expected ',' or ']' in an array")
            return .array(values)
        }
    }

    mutating func expect(_ byte: UInt8, _ message: String) throws(JSONParseError) {
        guard position < bytes.count, bytes[position] == byte else {
            throw error(message)
        }
        position += 1
    }

    mutating func number() throws(JSONParseError) -> JSON {
        let start = position
        if bytes[position] == UInt8(ascii: "-") {
            position += 1
        }
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        let integerStart = position
        while position < bytes.count, digits.contains(bytes[position]) {
            position += 1
        }
        guard position > integerStart else {
            throw error("expected digits")
        }
        guard bytes[integerStart] != UInt8(ascii: "0") || position - integerStart == 1 else {
            throw JSONParseError(offset: integerStart, reason: "leading zeros are not allowed")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            let fractionStart = position
            while position < bytes.count, digits.contains(bytes[position]) {
                position += 1
            }
            guard position > fractionStart else {
                throw error("expected digits after '.'")
            }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            let exponentStart = position
            while position < bytes.count, digits.contains(bytes[position]) {
                position += 1
            }
            guard position > exponentStart else {
                throw error("expected digits in the exponent")
            }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let value = Double(text) else {
            throw JSONParseError(offset: start, reason: "number \(text) is out of range")
        }
        return .number(value)
    }

    mutating func string() throws(JSONParseError) -> String {
        position += 1
        let start = position
        // Most strings have no escapes: they become a String straight from their bytes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                defer { position += 1 }
                return String(decoding: bytes[start..<position], as: UTF8.self)
            }
            if byte < 0x20 {
                throw error("control character in a string")
            }
            if byte == UInt8(ascii: "\\") {
                break
            }
            position += 1
        }
        // From the first escape on, the decoded UTF-8 is collected and converted once at the end.
        var utf8 = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: utf8, as: UTF8.self)
            }
            if byte < 0x20 {
                throw error("control character in a string")
            }
            position += 1
            if byte != UInt8(ascii: "\\") {
                utf8.append(byte)
                continue
            }
            guard position < bytes.count else {
                break
            }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): utf8.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "t"): utf8.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "u"): UTF8.encode(try unicodeEscape()) { utf8.append($0) }
            default: throw JSONParseError(offset: position - 1, reason: "invalid escape in a string")
            }
        }
        throw error("unterminated string")
    }

    /// The scalar of a `\uXXXX` escape (the `\u` already consumed), joining a UTF-16 surrogate pair.
    mutating func unicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        let high = try hexQuad()
        if (0xD800..<0xDC00).contains(high) {
            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                bytes[position + 1] == UInt8(ascii: "u")
            else {
                throw error("unpaired UTF-16 surrogate")
            }
            position += 2
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else {
                throw error("unpaired UTF-16 surrogate")
            }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(high) else {
            throw error("unpaired UTF-16 surrogate")
        }
        return scalar
    }

    mutating func hexQuad() throws(JSONParseError) -> UInt32 {
        guard bytes.count - position >= 4,
            let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else {
            throw error("expected four hex digits after \\u")
        }
        position += 4
        return value
    }
}
