internal import CMnl
internal import CNftnl
import NFTables

/// A table as the kernel holds it, read back over netlink: what adoption on restart and drift repair compare
/// with the desired state, and what tests compare with what was intended.
public struct KernelTable: Sendable {
    public var table: Table
    public var chains: [Chain]
    public var sets: [KernelSet]
    public var rules: [KernelRule]

    public func set(named name: String) -> KernelSet? { sets.first { $0.set.name == name } }
}

/// A set or map and its elements. Ranges come back as inclusive ranges whatever backend stores them.
public struct KernelSet: Sendable {
    public var set: NFTSet
    /// The raw nft key type id, kept for types the IR does not name.
    public var keyTypeID: UInt32
    public var elements: [SetElement]
}

/// A rule as identified in the kernel: its handle, comment and the expression kinds it is made of.
public struct KernelRule: Sendable, Hashable {
    public var chain: ChainRef
    public var handle: UInt64
    public var comment: String?
    /// libnftnl expression names in order (`payload`, `cmp`, `lookup`, …).
    public var expressions: [String]
}

extension NFTablesConnection {
    /// Reads a whole table back; `nil` when it does not exist.
    public func listTable(_ ref: TableRef) throws(NetlinkError) -> KernelTable? {
        guard let table = try readTable(ref) else { return nil }
        var result = KernelTable(table: table, chains: try readChains(ref), sets: [], rules: try readRules(ref))
        for (set, typeID) in try readSets(ref) {
            let elements = try readElements(of: set)
            result.sets.append(KernelSet(set: set, keyTypeID: typeID, elements: elements))
        }
        return result
    }

    private func request(
        _ type: nf_tables_msg_types, _ family: TableFamily, dump: Bool,
        _ fill: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) -> (bytes: [UInt8], sequence: UInt32) {
        let seq = UInt32.random(in: 1...UInt32.max)
        var buffer = [UInt8](repeating: 0, count: 1024)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            let flags = UInt16(NLM_F_REQUEST) | (dump ? UInt16(NLM_F_DUMP) : UInt16(NLM_F_ACK))
            let h = nftnl_nlmsg_build_hdr(
                raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt16(type.rawValue), UInt16(family.nfproto),
                flags, seq)!
            fill(h)
            return Int(h.pointee.nlmsg_len)
        }
        return (Array(buffer.prefix(length)), seq)
    }

    private func readTable(_ ref: TableRef) throws(NetlinkError) -> Table? {
        let t = nftnl_table_alloc()!
        defer { nftnl_table_free(t) }
        nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), ref.name)
        let (bytes, seq) = request(NFT_MSG_GETTABLE, ref.family, dump: false) { nftnl_table_nlmsg_build_payload($0, t) }
        var table: Table?
        do {
            try dump(bytes, sequence: seq, object: "table \(ref)") { h in
                let parsed = nftnl_table_alloc()!
                defer { nftnl_table_free(parsed) }
                guard nftnl_table_nlmsg_parse(h, parsed) >= 0 else { return }
                let comment = userData(UInt8(NFTNL_UDATA_TABLE_COMMENT.rawValue)) { len in
                    nftnl_table_get_data(parsed, UInt16(NFTNL_TABLE_USERDATA.rawValue), len)
                }
                table = Table(family: ref.family, name: ref.name, comment: comment)
            }
        } catch .rejected(_, let code, _) where code == ENOENT {
            return nil
        }
        return table
    }

    private func readChains(_ ref: TableRef) throws(NetlinkError) -> [Chain] {
        let c = nftnl_chain_alloc()!
        defer { nftnl_chain_free(c) }
        nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue), ref.name)
        let (bytes, seq) = request(NFT_MSG_GETCHAIN, ref.family, dump: true) { nftnl_chain_nlmsg_build_payload($0, c) }
        var chains: [Chain] = []
        try dump(bytes, sequence: seq, object: "chains of table \(ref)") { h in
            let p = nftnl_chain_alloc()!
            defer { nftnl_chain_free(p) }
            guard nftnl_chain_nlmsg_parse(h, p) >= 0,
                String(cString: nftnl_chain_get_str(p, UInt16(NFTNL_CHAIN_TABLE.rawValue))) == ref.name
            else { return }
            let name = String(cString: nftnl_chain_get_str(p, UInt16(NFTNL_CHAIN_NAME.rawValue)))
            var base: BaseChain?
            if nftnl_chain_is_set(p, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)) {
                let hookNumber = nftnl_chain_get_u32(p, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue))
                let typeName = String(cString: nftnl_chain_get_str(p, UInt16(NFTNL_CHAIN_TYPE.rawValue)))
                let policy = nftnl_chain_get_u32(p, UInt16(NFTNL_CHAIN_POLICY.rawValue))
                let hook =
                    ref.family == .netdev ? .ingress : Hook.allCases.first { $0.number == hookNumber && $0 != .ingress }
                base = BaseChain(
                    type: ChainType(rawValue: typeName) ?? .filter, hook: hook ?? .prerouting,
                    priority: nftnl_chain_get_s32(p, UInt16(NFTNL_CHAIN_PRIO.rawValue)),
                    policy: policy == 0 ? .drop : .accept)
            }
            let comment = userData(UInt8(NFTNL_UDATA_CHAIN_COMMENT.rawValue)) { len in
                nftnl_chain_get_data(p, UInt16(NFTNL_CHAIN_USERDATA.rawValue), len)
            }
            chains.append(Chain(table: ref, name: name, base: base, comment: comment))
        }
        return chains
    }

    private func readSets(_ ref: TableRef) throws(NetlinkError) -> [(NFTSet, UInt32)] {
        let s = nftnl_set_alloc()!
        defer { nftnl_set_free(s) }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), ref.name)
        let (bytes, seq) = request(NFT_MSG_GETSET, ref.family, dump: true) { nftnl_set_nlmsg_build_payload($0, s) }
        var sets: [(NFTSet, UInt32)] = []
        try dump(bytes, sequence: seq, object: "sets of table \(ref)") { h in
            let p = nftnl_set_alloc()!
            defer { nftnl_set_free(p) }
            guard nftnl_set_nlmsg_parse(h, p) >= 0 else { return }
            let flags = nftnl_set_get_u32(p, UInt16(NFTNL_SET_FLAGS.rawValue))
            guard flags & UInt32(NFT_SET_ANONYMOUS.rawValue) == 0 else { return }
            let keyTypeID = nftnl_set_get_u32(p, UInt16(NFTNL_SET_KEY_TYPE.rawValue))
            var data: SetData?
            if flags & UInt32(NFT_SET_MAP.rawValue) != 0 {
                let dataType = nftnl_set_get_u32(p, UInt16(NFTNL_SET_DATA_TYPE.rawValue))
                data = dataType == NFT_DATA_VERDICT.rawValue ? .verdict : .value(Self.decodeType(dataType))
            }
            let timeout: Duration? =
                nftnl_set_is_set(p, UInt16(NFTNL_SET_TIMEOUT.rawValue))
                ? .milliseconds(Int64(nftnl_set_get_u64(p, UInt16(NFTNL_SET_TIMEOUT.rawValue)))) : nil
            let size: UInt32? =
                nftnl_set_is_set(p, UInt16(NFTNL_SET_DESC_SIZE.rawValue))
                ? nftnl_set_get_u32(p, UInt16(NFTNL_SET_DESC_SIZE.rawValue)) : nil
            let comment = userData(UInt8(NFTNL_UDATA_SET_COMMENT.rawValue)) { len in
                nftnl_set_get_data(p, UInt16(NFTNL_SET_USERDATA.rawValue), len)
            }
            let irFlags = SetFlags(
                rawValue: flags
                    & (SetFlags.constant.rawValue | SetFlags.interval.rawValue | SetFlags.timeout.rawValue
                        | SetFlags.dynamic.rawValue))
            let set = NFTSet(
                table: ref, name: String(cString: nftnl_set_get_str(p, UInt16(NFTNL_SET_NAME.rawValue))),
                key: Self.decodeType(keyTypeID), data: data, flags: irFlags, timeout: timeout, size: size,
                comment: comment)
            sets.append((set, keyTypeID))
        }
        return sets
    }

    /// Splits an nft type id into its concatenated fields (6 bits each, first field highest).
    static func decodeType(_ id: UInt32) -> TypeSpec {
        var fields: [DataType] = []
        var rest = id
        repeat {
            let part = rest & 0x3f
            fields.insert(DataType.allCases.first { $0.typeID == part } ?? .integer32, at: 0)
            rest >>= 6
        } while rest != 0
        return TypeSpec(fields)
    }

    /// The elements of one set or map (e.g. a dynamic map the kernel fills), without reading the whole table.
    public func elements(of set: NFTSet) throws(NetlinkError) -> [SetElement] {
        try readElements(of: set)
    }

    /// Dumps a set's elements. A hash set that the kernel is resizing in the background (right after a bulk
    /// insert) can be walked inconsistently across dump chunks, showing some elements twice and others not at
    /// all; the dump is repeated until two consecutive walks agree.
    private func readElements(of set: NFTSet) throws(NetlinkError) -> [SetElement] {
        var previous = try dumpElements(of: set)
        for _ in 0..<8 {
            let current = try dumpElements(of: set)
            if current.keys == previous.keys { return Self.assemble(current.elements, of: set) }
            previous = current
        }
        throw .outcomeUnknown("elements of set \(set.ref) kept changing while being read")
    }

    private func dumpElements(of set: NFTSet) throws(NetlinkError) -> (elements: [RawElement], keys: Set<RawElementKey>)
    {
        let s = nftnl_set_alloc()!
        defer { nftnl_set_free(s) }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), set.table.name)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set.name)
        let (bytes, seq) = request(NFT_MSG_GETSETELEM, set.table.family, dump: true) {
            nftnl_set_elems_nlmsg_build_payload($0, s)
        }
        var raw: [RawElement] = []
        var keys = Set<RawElementKey>()
        try dump(bytes, sequence: seq, object: "elements of set \(set.ref)") { h in
            let p = nftnl_set_alloc()!
            defer { nftnl_set_free(p) }
            guard nftnl_set_elems_nlmsg_parse(h, p) >= 0, let it = nftnl_set_elems_iter_create(p) else { return }
            defer { nftnl_set_elems_iter_destroy(it) }
            var e = nftnl_set_elems_iter_cur(it)
            while let elem = e {
                let element = RawElement(elem)
                if keys.insert(RawElementKey(key: element.key, keyEnd: element.keyEnd, isEnd: element.isIntervalEnd))
                    .inserted
                {
                    raw.append(element)
                }
                e = nftnl_set_elems_iter_next(it)
            }
        }
        return (raw, keys)
    }

    /// Turns kernel elements back into IR elements: rbtree start/end pairs become one inclusive range.
    static func assemble(_ raw: [RawElement], of set: NFTSet) -> [SetElement] {
        let types = set.key.fields
        let isInterval = set.flags.contains(.interval)
        func values(_ bytes: [UInt8], _ types: [DataType], key: Bool = true) -> [Value] {
            func make(_ t: DataType, _ b: [UInt8]) -> Value {
                key && isInterval ? Value.fromNetworkOrder(type: t, bytes: b) : Value(type: t, bytes: b)
            }
            guard types.count > 1 else { return [make(types[0], bytes)] }
            var offset = 0
            return types.map { t in
                defer { offset += t.registerLength }
                return make(t, Array(bytes[offset..<min(bytes.count, offset + t.byteLength)]))
            }
        }
        func data(_ r: RawElement) -> ElementData? {
            switch set.data {
            case .verdict: r.verdict.map { ElementData.verdict($0) }
            case .value(let t): r.data.map { ElementData.values(values($0, t.fields, key: false)) }
            case nil: nil
            }
        }
        let singleRange = set.flags.contains(.interval) && !set.key.isConcatenation
        guard singleRange else {
            return raw.map { r in
                let firsts = values(r.key, types)
                let key =
                    r.keyEnd.map { ElementKey(ranges: Array(zip(firsts, values($0, types)))) } ?? ElementKey(firsts)
                return SetElement(key: key, data: data(r), timeout: r.timeout, comment: r.comment)
            }
        }
        let sorted = raw.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var result: [SetElement] = []
        var index = 0
        while index < sorted.count {
            let start = sorted[index]
            index += 1
            if start.isIntervalEnd { continue }
            let first = values(start.key, types)[0]
            var last = Value(type: first.type, bytes: Array(repeating: 0xff, count: first.bytes.count))
            if index < sorted.count, sorted[index].isIntervalEnd,
                let end = values(sorted[index].key, types)[0].predecessor()
            {
                last = end
                index += 1
            }
            result.append(
                SetElement(
                    key: ElementKey(ranges: [(first, last)]), data: data(start), timeout: start.timeout,
                    comment: start.comment))
        }
        return result
    }

    private func readRules(_ ref: TableRef) throws(NetlinkError) -> [KernelRule] {
        let r = nftnl_rule_alloc()!
        defer { nftnl_rule_free(r) }
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), ref.name)
        let (bytes, seq) = request(NFT_MSG_GETRULE, ref.family, dump: true) { nftnl_rule_nlmsg_build_payload($0, r) }
        var rules: [KernelRule] = []
        try dump(bytes, sequence: seq, object: "rules of table \(ref)") { h in
            let p = nftnl_rule_alloc()!
            defer { nftnl_rule_free(p) }
            guard nftnl_rule_nlmsg_parse(h, p) >= 0,
                String(cString: nftnl_rule_get_str(p, UInt16(NFTNL_RULE_TABLE.rawValue))) == ref.name
            else { return }
            var names: [String] = []
            if let it = nftnl_expr_iter_create(p) {
                var x = nftnl_expr_iter_next(it)
                while let expr = x {
                    names.append(String(cString: nftnl_expr_get_str(expr, UInt16(NFTNL_EXPR_NAME))))
                    x = nftnl_expr_iter_next(it)
                }
                nftnl_expr_iter_destroy(it)
            }
            let comment = userData(UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue)) { len in
                nftnl_rule_get_data(p, UInt16(NFTNL_RULE_USERDATA.rawValue), len)
            }
            rules.append(
                KernelRule(
                    chain: ChainRef(
                        table: ref, name: String(cString: nftnl_rule_get_str(p, UInt16(NFTNL_RULE_CHAIN.rawValue)))),
                    handle: nftnl_rule_get_u64(p, UInt16(NFTNL_RULE_HANDLE.rawValue)), comment: comment,
                    expressions: names))
        }
        return rules
    }
}

private struct RawElementKey: Hashable {
    var key: [UInt8]
    var keyEnd: [UInt8]?
    var isEnd: Bool
}

/// An element as dumped, before rbtree pairs are joined.
struct RawElement {
    var key: [UInt8]
    var keyEnd: [UInt8]?
    var isIntervalEnd: Bool
    var verdict: Verdict?
    var data: [UInt8]?
    var timeout: Duration?
    var comment: String?

    init(_ e: OpaquePointer) {
        key = bytes(e, NFTNL_SET_ELEM_KEY) ?? []
        keyEnd = bytes(e, NFTNL_SET_ELEM_KEY_END)
        let flags =
            nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_FLAGS))
            ? nftnl_set_elem_get_u32(e, UInt16(NFTNL_SET_ELEM_FLAGS)) : 0
        isIntervalEnd = flags & UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue) != 0
        if nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_VERDICT)) {
            let code = Int32(bitPattern: nftnl_set_elem_get_u32(e, UInt16(NFTNL_SET_ELEM_VERDICT)))
            let chain =
                nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_CHAIN))
                ? String(cString: nftnl_set_elem_get_str(e, UInt16(NFTNL_SET_ELEM_CHAIN))) : ""
            verdict =
                switch code {
                case 0: .drop
                case 1: .accept
                case -1: .continue
                case -3: .jump(chain)
                case -4: .goto(chain)
                default: .return
                }
        }
        data = bytes(e, NFTNL_SET_ELEM_DATA)
        if nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_TIMEOUT)) {
            timeout = .milliseconds(Int64(nftnl_set_elem_get_u64(e, UInt16(NFTNL_SET_ELEM_TIMEOUT))))
        }
        comment = userData(UInt8(NFTNL_UDATA_SET_ELEM_COMMENT.rawValue)) { len in
            nftnl_set_elem_get(e, UInt16(NFTNL_SET_ELEM_USERDATA), len)
        }
    }
}

private func bytes(_ e: OpaquePointer, _ attr: Int) -> [UInt8]? {
    guard nftnl_set_elem_is_set(e, UInt16(attr)) else { return nil }
    var length: UInt32 = 0
    guard let p = nftnl_set_elem_get(e, UInt16(attr), &length) else { return nil }
    return Array(UnsafeRawBufferPointer(start: p, count: Int(length)))
}

/// Finds a string record of one type in nft user data (a list of `type, length, value` records).
private func userData(_ type: UInt8, _ get: (UnsafeMutablePointer<UInt32>) -> UnsafeRawPointer?) -> String? {
    var length: UInt32 = 0
    guard let p = get(&length), length > 0 else { return nil }
    let data = Array(UnsafeRawBufferPointer(start: p, count: Int(length)))
    var offset = 0
    while offset + 2 <= data.count {
        let recordType = data[offset]
        let recordLength = Int(data[offset + 1])
        let end = min(data.count, offset + 2 + recordLength)
        if recordType == type {
            return String(decoding: data[(offset + 2)..<end].prefix { $0 != 0 }, as: UTF8.self)
        }
        offset = end
    }
    return nil
}
