/// The elements of one add or delete operation, stored packed when they can be.
///
/// A Service map of 300k elements held as `SetElement` values costs a few hundred bytes per element (arrays
/// of values for key and data) and an allocation each. Packed, an element is only the bytes the kernel
/// receives: the key in register layout, then the data (or an index into a small verdict table) — 24 bytes for
/// an IPv4 endpoint. Encoders copy those bytes straight into netlink messages; everything else (validation
/// reports, nft text, the ruleset model) sees ordinary `SetElement`s, materialized one at a time.
///
/// Packing applies to exact elements without timeout or comment in sets without the interval flag (interval
/// keys are stored differently by the kernel). Anything else keeps the element as given: appending one that
/// does not fit turns the list into plain storage, so no information is ever dropped.
public struct ElementList: Sendable, RandomAccessCollection, Hashable, ExpressibleByArrayLiteral {
    /// Up to four values of a key or of map data, passed without allocating.
    public struct Fields: Sendable {
        /// How many of the four slots hold a value (one per concatenated field).
        public let count: Int
        let v0: Value
        let v1: Value
        let v2: Value
        let v3: Value

        /// One field; the overloads below take two to four, the most any Service key has, so no array is built.
        public init(_ a: Value) { (count, v0, v1, v2, v3) = (1, a, a, a, a) }
        public init(_ a: Value, _ b: Value) { (count, v0, v1, v2, v3) = (2, a, b, b, b) }
        public init(_ a: Value, _ b: Value, _ c: Value) { (count, v0, v1, v2, v3) = (3, a, b, c, c) }
        public init(_ a: Value, _ b: Value, _ c: Value, _ d: Value) { (count, v0, v1, v2, v3) = (4, a, b, c, d) }

        subscript(_ i: Int) -> Value {
            switch i {
            case 0: v0
            case 1: v1
            case 2: v2
            default: v3
            }
        }

        var values: [Value] { (0..<count).map { self[$0] } }
    }

    /// What a packed element maps to.
    public enum Payload: Sendable {
        case none
        case verdict(Verdict)
        case values(Fields)
    }

    /// How packed elements are laid out (`nil` for plain storage).
    public struct Layout: Sendable, Hashable {
        /// The set's key fields, which every packed key matches in type and length.
        public let keyTypes: [DataType]
        /// `nil`: no data (a set, or a deletion, which names keys only); empty: a verdict; else value types.
        public let dataTypes: [DataType]?
        /// Bytes of a key in register layout (each concatenated field padded to 4 bytes), as the kernel wants it.
        public let keyLength: Int
        /// Bytes after the key: the data in register layout, or a 32-bit verdict index.
        public let dataLength: Int
        /// Bytes per packed element.
        public var stride: Int { keyLength + dataLength }
        /// Whether the data slot holds a verdict index rather than values.
        public var isVerdictMap: Bool { dataTypes?.isEmpty == true }
    }

    /// Set for packed storage; `nil` while the elements are plain.
    public private(set) var layout: Layout?
    private var plain: [SetElement] = []
    private var bytes: [UInt8] = []
    private var verdicts: [Verdict] = []
    private var packedCount = 0

    /// An empty list with plain storage (packing needs the set's types: `init(for:)`).
    public init() {}
    /// Elements kept exactly as given (a set Sluice does not know the types of).
    public init(_ elements: [SetElement]) { plain = elements }
    public init(arrayLiteral elements: SetElement...) { plain = elements }

    /// Packed storage for elements of `set`; `keysOnly` for a deletion, which carries keys alone. A set whose
    /// elements cannot be packed (interval, timeouts) gets plain storage.
    public init(for set: NFTSet, keysOnly: Bool = false, reservingCapacity capacity: Int = 0) {
        guard !set.flags.contains(.interval), !set.flags.contains(.timeout), !set.key.fields.isEmpty else { return }
        var dataTypes: [DataType]? =
            switch set.data {
            case nil: nil
            case .verdict: []
            case .value(let type): type.fields
            }
        if keysOnly { dataTypes = nil }
        let dataLength =
            switch dataTypes {
            case nil: 0
            case .some(let types) where types.isEmpty: 4
            case .some(let types): TypeSpec(types).byteLength
            }
        let layout = Layout(
            keyTypes: set.key.fields, dataTypes: dataTypes, keyLength: set.key.byteLength, dataLength: dataLength)
        bytes.reserveCapacity(capacity * layout.stride)
        self.layout = layout
    }

    // MARK: appending

    /// Appends an element given as fields: the fast path for compilers filling large maps.
    public mutating func append(_ key: Fields, _ payload: Payload = .none) {
        guard let layout, Self.fits(key, layout.keyTypes), Self.fits(payload, layout.dataTypes) else {
            appendPlain(SetElement(key: ElementKey(key.values), data: Self.data(payload)))
            return
        }
        Self.write(key, concatenated: layout.keyTypes.count > 1, into: &bytes)
        switch payload {
        case .none: break
        case .verdict(let verdict): Self.write(verdictIndex: Self.index(of: verdict, in: &verdicts), into: &bytes)
        case .values(let values): Self.write(values, concatenated: values.count > 1, into: &bytes)
        }
        packedCount += 1
    }

    /// Appends any element; one that does not fit the packed layout switches the list to plain storage.
    public mutating func append(_ element: SetElement) {
        if let layout, element.timeout == nil, element.comment == nil,
            !element.key.isRange, element.key.firsts.count <= 4
        {
            let key = Self.fields(element.key.firsts)
            let payload: Payload? =
                switch (element.data, layout.dataTypes) {
                case (nil, nil): Payload.none
                case (_, nil): nil
                case (.verdict(let v), .some): .verdict(v)
                case (.values(let values), .some) where values.count <= 4 && !values.isEmpty:
                    .values(Self.fields(values))
                default: nil
                }
            if let payload, Self.fits(key, layout.keyTypes), Self.fits(payload, layout.dataTypes) {
                append(key, payload)
                return
            }
        }
        appendPlain(element)
    }

    /// Appends each element in order (see `append(_:)`).
    public mutating func append<S: Sequence>(contentsOf elements: S) where S.Element == SetElement {
        for element in elements { append(element) }
    }

    private mutating func appendPlain(_ element: SetElement) {
        if layout != nil {
            plain = Array(self)
            (layout, bytes, verdicts, packedCount) = (nil, [], [], 0)
        }
        plain.append(element)
    }

    private static func fields(_ values: [Value]) -> Fields {
        switch values.count {
        case 1: Fields(values[0])
        case 2: Fields(values[0], values[1])
        case 3: Fields(values[0], values[1], values[2])
        default: Fields(values[0], values[1], values[2], values[3])
        }
    }

    private static func data(_ payload: Payload) -> ElementData? {
        switch payload {
        case .none: nil
        case .verdict(let v): .verdict(v)
        case .values(let values): .values(values.values)
        }
    }

    private static func fits(_ fields: Fields, _ types: [DataType]) -> Bool {
        guard fields.count == types.count else { return false }
        for i in 0..<fields.count {
            let value = fields[i]
            if value.type != types[i] || value.byteCount != value.type.byteLength { return false }
        }
        return true
    }

    private static func fits(_ payload: Payload, _ types: [DataType]?) -> Bool {
        switch (payload, types) {
        case (.none, nil): true
        case (.verdict, .some(let types)): types.isEmpty
        case (.values(let values), .some(let types)): !types.isEmpty && fits(values, types)
        default: false
        }
    }

    private static func write(_ fields: Fields, concatenated: Bool, into bytes: inout [UInt8]) {
        for i in 0..<fields.count {
            let value = fields[i]
            value.append(to: &bytes)
            if concatenated {
                for _ in value.byteCount..<value.type.registerLength { bytes.append(0) }
            }
        }
    }

    private static func write(verdictIndex: Int, into bytes: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(verdictIndex).littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func index(of verdict: Verdict, in verdicts: inout [Verdict]) -> Int {
        // A handful of distinct verdicts per map (one per pick chain): a scan from the end finds the recent one.
        for i in verdicts.indices.reversed() where verdicts[i] == verdict { return i }
        verdicts.append(verdict)
        return verdicts.count - 1
    }

    // MARK: collection

    public var startIndex: Int { 0 }
    public var endIndex: Int { layout == nil ? plain.count : packedCount }

    public subscript(position: Int) -> SetElement {
        guard let layout else { return plain[position] }
        let base = position * layout.stride
        let key = Self.values(bytes, from: base, types: layout.keyTypes)
        let data: ElementData? =
            switch layout.dataTypes {
            case nil: nil
            case .some(let types) where types.isEmpty:
                .verdict(verdicts[Int(Self.readIndex(bytes, at: base + layout.keyLength))])
            case .some(let types): .values(Self.values(bytes, from: base + layout.keyLength, types: types))
            }
        return SetElement(key: ElementKey(key), data: data)
    }

    private static func values(_ bytes: [UInt8], from start: Int, types: [DataType]) -> [Value] {
        var offset = start
        return types.map { type in
            let value = Value(type: type, bytes: Array(bytes[offset..<offset + type.byteLength]))
            offset += types.count > 1 ? type.registerLength : type.byteLength
            return value
        }
    }

    private static func readIndex(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    // MARK: raw access for encoders

    /// Calls `body` with the packed bytes (elements back to back, `layout.stride` each) and the verdict table;
    /// `nil` bytes when the list is plain.
    public func withPackedBytes<R>(_ body: (UnsafeRawBufferPointer?, [Verdict]) throws -> R) rethrows -> R {
        guard layout != nil else { return try body(nil, []) }
        return try bytes.withUnsafeBytes { try body($0, verdicts) }
    }

    /// The verdict stored in a packed element's data slot.
    public static func verdictIndex(in element: UnsafeRawBufferPointer, at offset: Int) -> Int {
        Int(UInt32(littleEndian: element.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    // MARK: equality

    public static func == (lhs: ElementList, rhs: ElementList) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for element in self { hasher.combine(element) }
    }
}
