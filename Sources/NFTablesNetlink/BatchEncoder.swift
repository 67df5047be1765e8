internal import CMnl
internal import CNftnl
import NFTables

/// One netlink message of a batch and the object it carries, so a kernel error can name that object.
struct EncodedMessage: Sendable {
    var bytes: [UInt8]
    /// The object as `nft list` names it (`set inet sluice service-ips`).
    var object: String
    /// For element messages: the elements it carries, to name the one an extended ack points at.
    var elements: (list: ElementList, range: Range<Int>)?
    /// For element messages: for each netlink element in order, the index of the `SetElement` it came from
    /// (an rbtree range is two netlink elements).
    var elementOwners: [Int] = []
    /// For packed element messages: the index of the first element (one netlink element per element).
    var firstElementOwner: Int?
}

/// Turns a transaction into netlink messages with libnftnl (headers and attributes only; no I/O).
struct BatchEncoder {
    /// Element messages stay below this so the nested element list fits its 16-bit attribute length.
    static let elementPayloadLimit = 48 * 1024

    private(set) var messages: [EncodedMessage] = []
    private var sets: [SetRef: NFTSet]
    private var nextSetID: UInt32 = 1
    /// Where each message is built before it is copied out at its exact size (reused: zeroing 150 KB per
    /// message adds up over a batch of hundreds).
    private var scratch = [UInt8](repeating: 0, count: Self.elementPayloadLimit * 3 + 4096)

    init(knownSets: [NFTSet] = []) {
        sets = Dictionary(knownSets.map { ($0.ref, $0) }, uniquingKeysWith: { $1 })
    }

    mutating func encode(_ transaction: Transaction) {
        for op in transaction.operations {
            encode(op)
        }
    }

    private mutating func encode(_ op: Transaction.Operation) {
        let create = UInt16(NLM_F_CREATE)
        switch op {
        case .addTable(let t):
            let obj = nftnl_table_alloc()!
            defer { nftnl_table_free(obj) }
            nftnl_table_set_str(obj, UInt16(NFTNL_TABLE_NAME.rawValue), t.name)
            if let c = t.comment {
                setUserData(comment: c, type: UInt8(NFTNL_UDATA_TABLE_COMMENT.rawValue)) {
                    nftnl_table_set_data(obj, UInt16(NFTNL_TABLE_USERDATA.rawValue), $0, $1)
                }
            }
            append(NFT_MSG_NEWTABLE, t.family, create, "table \(t.ref)") { nftnl_table_nlmsg_build_payload($0, obj) }
        case .deleteTable(let t), .flushTable(let t):
            let obj = nftnl_table_alloc()!
            defer { nftnl_table_free(obj) }
            nftnl_table_set_str(obj, UInt16(NFTNL_TABLE_NAME.rawValue), t.name)
            if case .deleteTable = op {
                append(NFT_MSG_DELTABLE, t.family, 0, "table \(t)") { nftnl_table_nlmsg_build_payload($0, obj) }
            } else {
                // Flushing a table is deleting its rules: a DELRULE naming only the table.
                let rule = nftnl_rule_alloc()!
                defer { nftnl_rule_free(rule) }
                nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), t.name)
                append(NFT_MSG_DELRULE, t.family, 0, "table \(t)") { nftnl_rule_nlmsg_build_payload($0, rule) }
            }
        case .addChain(let c):
            let obj = chainObject(c.ref)
            defer { nftnl_chain_free(obj) }
            if let b = c.base {
                nftnl_chain_set_u32(obj, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), b.hook.number)
                nftnl_chain_set_s32(obj, UInt16(NFTNL_CHAIN_PRIO.rawValue), b.priority)
                nftnl_chain_set_str(obj, UInt16(NFTNL_CHAIN_TYPE.rawValue), b.type.rawValue)
                nftnl_chain_set_u32(obj, UInt16(NFTNL_CHAIN_POLICY.rawValue), UInt32(bitPattern: b.policy.code))
                if let d = b.device { nftnl_chain_set_str(obj, UInt16(NFTNL_CHAIN_DEV.rawValue), d) }
            }
            if let comment = c.comment {
                setUserData(comment: comment, type: UInt8(NFTNL_UDATA_CHAIN_COMMENT.rawValue)) {
                    nftnl_chain_set_data(obj, UInt16(NFTNL_CHAIN_USERDATA.rawValue), $0, $1)
                }
            }
            append(NFT_MSG_NEWCHAIN, c.table.family, create, "chain \(c.ref)") {
                nftnl_chain_nlmsg_build_payload($0, obj)
            }
        case .deleteChain(let c):
            let obj = chainObject(c)
            defer { nftnl_chain_free(obj) }
            append(NFT_MSG_DELCHAIN, c.table.family, 0, "chain \(c)") { nftnl_chain_nlmsg_build_payload($0, obj) }
        case .flushChain(let c):
            let rule = nftnl_rule_alloc()!
            defer { nftnl_rule_free(rule) }
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), c.table.name)
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), c.name)
            append(NFT_MSG_DELRULE, c.table.family, 0, "chain \(c)") { nftnl_rule_nlmsg_build_payload($0, rule) }
        case .addSet(let s):
            sets[s.ref] = s
            let obj = setObject(s)
            defer { nftnl_set_free(obj) }
            append(NFT_MSG_NEWSET, s.table.family, create, "\(s.isMap ? "map" : "set") \(s.ref)") {
                nftnl_set_nlmsg_build_payload($0, obj)
            }
        case .deleteSet(let s), .flushSet(let s):
            let obj = nftnl_set_alloc()!
            defer { nftnl_set_free(obj) }
            nftnl_set_set_str(obj, UInt16(NFTNL_SET_TABLE.rawValue), s.table.name)
            nftnl_set_set_str(obj, UInt16(NFTNL_SET_NAME.rawValue), s.name)
            if case .deleteSet = op {
                append(NFT_MSG_DELSET, s.table.family, 0, "set \(s)") { nftnl_set_nlmsg_build_payload($0, obj) }
            } else {
                append(NFT_MSG_DELSETELEM, s.table.family, 0, "set \(s)") {
                    nftnl_set_elems_nlmsg_build_payload($0, obj)
                }
            }
        case .addRule(let r):
            let obj = nftnl_rule_alloc()!
            defer { nftnl_rule_free(obj) }
            nftnl_rule_set_str(obj, UInt16(NFTNL_RULE_TABLE.rawValue), r.chain.table.name)
            nftnl_rule_set_str(obj, UInt16(NFTNL_RULE_CHAIN.rawValue), r.chain.name)
            let intervalSets = Set(
                sets.values.filter { $0.table == r.chain.table && $0.flags.contains(.interval) }.map(\.name))
            RuleLowering(rule: obj, family: r.chain.table.family, intervalSets: intervalSets).lower(r.statements)
            if let comment = r.comment {
                setUserData(comment: comment, type: UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue)) {
                    nftnl_rule_set_data(obj, UInt16(NFTNL_RULE_USERDATA.rawValue), $0, $1)
                }
            }
            append(
                NFT_MSG_NEWRULE, r.chain.table.family, create | UInt16(NLM_F_APPEND), "rule in chain \(r.chain) (\(r))"
            ) {
                nftnl_rule_nlmsg_build_payload($0, obj)
            }
        case .addElements(let s, let elements):
            encodeElements(elements, of: s, type: NFT_MSG_NEWSETELEM, flags: create, verb: "add")
        case .deleteElements(let s, let elements):
            // Deletion matches on keys alone.
            let keys =
                elements.layout == nil || elements.layout?.dataTypes != nil
                ? ElementList(elements.map { SetElement(key: $0.key) }) : elements
            encodeElements(keys, of: s, type: NFT_MSG_DELSETELEM, flags: 0, verb: "delete")
        }
    }

    private func chainObject(_ c: ChainRef) -> OpaquePointer {
        let obj = nftnl_chain_alloc()!
        nftnl_chain_set_str(obj, UInt16(NFTNL_CHAIN_TABLE.rawValue), c.table.name)
        nftnl_chain_set_str(obj, UInt16(NFTNL_CHAIN_NAME.rawValue), c.name)
        return obj
    }

    private mutating func setObject(_ s: NFTSet) -> OpaquePointer {
        let obj = nftnl_set_alloc()!
        nftnl_set_set_str(obj, UInt16(NFTNL_SET_TABLE.rawValue), s.table.name)
        nftnl_set_set_str(obj, UInt16(NFTNL_SET_NAME.rawValue), s.name)
        nftnl_set_set_u32(obj, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(s.table.family.nfproto))
        nftnl_set_set_u32(obj, UInt16(NFTNL_SET_ID.rawValue), nextSetID)
        nextSetID += 1
        var flags = s.flags.rawValue
        if s.isMap { flags |= UInt32(NFT_SET_MAP.rawValue) }
        // The kernel wants the concat flag exactly when field lengths are described (interval concatenations).
        if s.key.isConcatenation && s.flags.contains(.interval) { flags |= UInt32(NFT_SET_CONCAT.rawValue) }
        nftnl_set_set_u32(obj, UInt16(NFTNL_SET_FLAGS.rawValue), flags)
        nftnl_set_set_u32(obj, UInt16(NFTNL_SET_KEY_TYPE.rawValue), s.key.typeID)
        nftnl_set_set_u32(obj, UInt16(NFTNL_SET_KEY_LEN.rawValue), UInt32(s.key.byteLength))
        switch s.data {
        case .verdict:
            nftnl_set_set_u32(obj, UInt16(NFTNL_SET_DATA_TYPE.rawValue), NFT_DATA_VERDICT.rawValue)
        case .value(let type):
            nftnl_set_set_u32(obj, UInt16(NFTNL_SET_DATA_TYPE.rawValue), type.typeID)
            nftnl_set_set_u32(obj, UInt16(NFTNL_SET_DATA_LEN.rawValue), UInt32(type.byteLength))
        case nil:
            break
        }
        if let t = s.timeout { nftnl_set_set_u64(obj, UInt16(NFTNL_SET_TIMEOUT.rawValue), milliseconds(t)) }
        if let size = s.size { nftnl_set_set_u32(obj, UInt16(NFTNL_SET_DESC_SIZE.rawValue), size) }
        if s.key.isConcatenation && s.flags.contains(.interval) {
            let lengths = s.key.fields.map { UInt8($0.byteLength) }
            lengths.withUnsafeBytes {
                _ = nftnl_set_set_data(obj, UInt16(NFTNL_SET_DESC_CONCAT.rawValue), $0.baseAddress, UInt32($0.count))
            }
        }
        // The user data nft itself stores, so `nft list` prints keys and values in their types' byte order.
        let udata = nftnl_udata_buf_alloc(256)!
        defer { nftnl_udata_buf_free(udata) }
        nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_KEYBYTEORDER.rawValue), Self.byteOrder(s.key))
        if case .value(let type) = s.data {
            nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_DATABYTEORDER.rawValue), Self.byteOrder(type))
        }
        if let c = s.comment { nftnl_udata_put_strz(udata, UInt8(NFTNL_UDATA_SET_COMMENT.rawValue), c) }
        nftnl_set_set_data(
            obj, UInt16(NFTNL_SET_USERDATA.rawValue), nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata))
        return obj
    }

    /// nft's `BYTEORDER_HOST_ENDIAN` (1) / `BYTEORDER_BIG_ENDIAN` (2); a concatenation records its first field's.
    private static func byteOrder(_ type: TypeSpec) -> UInt32 {
        (type.fields.first?.isBigEndian ?? false) ? 2 : 1
    }

    private mutating func encodeElements(
        _ elements: ElementList, of ref: SetRef, type: nf_tables_msg_types, flags: UInt16, verb: String
    ) {
        if let layout = elements.layout {
            encodePacked(elements, layout, of: ref, type: type, flags: flags, verb: verb)
            return
        }
        let set = sets[ref]
        let usesKeyEnd = set.map { $0.flags.contains(.interval) && $0.key.isConcatenation } ?? false
        let isInterval = set?.flags.contains(.interval) ?? elements.contains { $0.key.isRange }
        var start = 0
        while start < elements.count {
            var end = start
            var bytes = 0
            while end < elements.count && bytes < Self.elementPayloadLimit {
                bytes += Self.estimatedSize(elements[end])
                end += 1
            }
            let obj = nftnl_set_alloc()!
            defer { nftnl_set_free(obj) }
            nftnl_set_set_str(obj, UInt16(NFTNL_SET_TABLE.rawValue), ref.table.name)
            nftnl_set_set_str(obj, UInt16(NFTNL_SET_NAME.rawValue), ref.name)
            var owners: [Int] = []
            for index in start..<end {
                let element = elements[index]
                let count =
                    isInterval && !usesKeyEnd
                    ? addRangeElements(element, to: obj) : addElement(element, to: obj, keyEnd: usesKeyEnd)
                owners += Array(repeating: index, count: count)
            }
            let object = "\(verb) elements \(start)...\(end - 1) of \(set?.isMap == true ? "map" : "set") \(ref)"
            append(type, ref.table.family, flags, object, elements: (elements, start..<end)) {
                nftnl_set_elems_nlmsg_build_payload($0, obj)
            }
            messages[messages.count - 1].elementOwners = owners
            start = end
        }
    }

    /// Packed elements: each key and data is already the bytes the kernel wants, written straight into the
    /// message with libmnl (the attributes libnftnl would write, without an object per element).
    private mutating func encodePacked(
        _ elements: ElementList, _ layout: ElementList.Layout, of ref: SetRef, type: nf_tables_msg_types,
        flags: UInt16, verb: String
    ) {
        let perElement = 2 * layout.keyLength + 48 + (layout.dataTypes == nil ? 0 : 40)
        let chunkSize = max(1, Self.elementPayloadLimit / perElement)
        let isMap = sets[ref]?.isMap == true
        elements.withPackedBytes { bytes, verdicts in
            guard let bytes else { return }
            var start = 0
            while start < elements.count {
                let end = min(elements.count, start + chunkSize)
                let object = "\(verb) elements \(start)...\(end - 1) of \(isMap ? "map" : "set") \(ref)"
                append(type, ref.table.family, flags, object, elements: (elements, start..<end)) { header in
                    mnl_attr_put_strz(header, UInt16(NFTA_SET_ELEM_LIST_SET.rawValue), ref.name)
                    mnl_attr_put_strz(header, UInt16(NFTA_SET_ELEM_LIST_TABLE.rawValue), ref.table.name)
                    let list = mnl_attr_nest_start(header, UInt16(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue))
                    for index in start..<end {
                        let base = bytes.baseAddress! + index * layout.stride
                        // Nested element attributes are numbered from 1, as libnftnl numbers them.
                        let element = mnl_attr_nest_start(header, UInt16(truncatingIfNeeded: index - start + 1))
                        let key = mnl_attr_nest_start(header, UInt16(NFTA_SET_ELEM_KEY.rawValue))
                        mnl_attr_put(header, UInt16(NFTA_DATA_VALUE.rawValue), layout.keyLength, base)
                        mnl_attr_nest_end(header, key)
                        if layout.isVerdictMap {
                            let slot = UnsafeRawBufferPointer(start: base + layout.keyLength, count: 4)
                            let verdict = verdicts[ElementList.verdictIndex(in: slot, at: 0)]
                            let data = mnl_attr_nest_start(header, UInt16(NFTA_SET_ELEM_DATA.rawValue))
                            let nest = mnl_attr_nest_start(header, UInt16(NFTA_DATA_VERDICT.rawValue))
                            mnl_attr_put_u32(
                                header, UInt16(NFTA_VERDICT_CODE.rawValue), UInt32(bitPattern: verdict.code).bigEndian)
                            if let chain = verdict.chain {
                                mnl_attr_put_strz(header, UInt16(NFTA_VERDICT_CHAIN.rawValue), chain)
                            }
                            mnl_attr_nest_end(header, nest)
                            mnl_attr_nest_end(header, data)
                        } else if layout.dataTypes != nil {
                            let data = mnl_attr_nest_start(header, UInt16(NFTA_SET_ELEM_DATA.rawValue))
                            mnl_attr_put(
                                header, UInt16(NFTA_DATA_VALUE.rawValue), layout.dataLength, base + layout.keyLength)
                            mnl_attr_nest_end(header, data)
                        }
                        mnl_attr_nest_end(header, element)
                    }
                    mnl_attr_nest_end(header, list)
                }
                messages[messages.count - 1].firstElementOwner = start
                start = end
            }
        }
    }

    private static func estimatedSize(_ e: SetElement) -> Int {
        let key = e.key.firsts.reduce(0) { $0 + $1.type.registerLength }
        return 2 * key + 48 + (e.comment?.utf8.count ?? 0) + (e.data == nil ? 0 : 40)
    }

    /// A plain element, or a concatenated range with a key end (the pipapo backend).
    private func addElement(_ e: SetElement, to set: OpaquePointer, keyEnd: Bool) -> Int {
        let elem = nftnl_set_elem_alloc()!
        setKey(elem, NFTNL_SET_ELEM_KEY, e.key.firsts, networkOrder: keyEnd)
        if keyEnd { setKey(elem, NFTNL_SET_ELEM_KEY_END, e.key.lasts, networkOrder: true) }
        setPayload(elem, e)
        nftnl_set_elem_add(set, elem)
        return 1
    }

    /// A single-field range for the rbtree backend: a start element and an end element flagged as such,
    /// whose key is one past the range (omitted when the range runs to the last address).
    private func addRangeElements(_ e: SetElement, to set: OpaquePointer) -> Int {
        let start = nftnl_set_elem_alloc()!
        setKey(start, NFTNL_SET_ELEM_KEY, e.key.firsts, networkOrder: true)
        setPayload(start, e)
        nftnl_set_elem_add(set, start)
        guard let last = e.key.lasts.first, let past = last.successor() else { return 1 }
        let end = nftnl_set_elem_alloc()!
        setKey(end, NFTNL_SET_ELEM_KEY, [past], networkOrder: true)
        nftnl_set_elem_set_u32(end, UInt16(NFTNL_SET_ELEM_FLAGS), UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue))
        nftnl_set_elem_add(set, end)
        return 2
    }

    private func setKey(_ elem: OpaquePointer, _ attr: Int, _ values: [Value], networkOrder: Bool = false) {
        let bytes = Self.keyBytes(values, networkOrder: networkOrder)
        bytes.withUnsafeBytes { _ = nftnl_set_elem_set(elem, UInt16(attr), $0.baseAddress, UInt32($0.count)) }
    }

    /// Concatenated fields each padded to a 32-bit boundary, as the registers hold them.
    /// Range-capable backends compare bytewise, so their keys are in network order (`networkOrder`).
    static func keyBytes(_ values: [Value], networkOrder: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 8)
        for value in values {
            value.append(to: &out, networkOrder: networkOrder)
            if values.count > 1 {
                for _ in value.byteCount..<value.type.registerLength { out.append(0) }
            }
        }
        return out
    }

    private func setPayload(_ elem: OpaquePointer, _ e: SetElement) {
        switch e.data {
        case .verdict(let v):
            nftnl_set_elem_set_u32(elem, UInt16(NFTNL_SET_ELEM_VERDICT), UInt32(bitPattern: v.code))
            if let chain = v.chain { nftnl_set_elem_set_str(elem, UInt16(NFTNL_SET_ELEM_CHAIN), chain) }
        case .values(let values):
            let bytes = Self.keyBytes(values)
            bytes.withUnsafeBytes {
                _ = nftnl_set_elem_set(elem, UInt16(NFTNL_SET_ELEM_DATA), $0.baseAddress, UInt32($0.count))
            }
        case nil:
            break
        }
        if let t = e.timeout { nftnl_set_elem_set_u64(elem, UInt16(NFTNL_SET_ELEM_TIMEOUT), milliseconds(t)) }
        if let c = e.comment {
            setUserData(comment: c, type: UInt8(NFTNL_UDATA_SET_ELEM_COMMENT.rawValue)) {
                nftnl_set_elem_set(elem, UInt16(NFTNL_SET_ELEM_USERDATA), $0, $1)
            }
        }
    }

    private func setUserData(comment: String, type: UInt8, _ apply: (UnsafeRawPointer?, UInt32) -> Void) {
        let udata = nftnl_udata_buf_alloc(256)!
        defer { nftnl_udata_buf_free(udata) }
        nftnl_udata_put_strz(udata, type, comment)
        apply(nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata))
    }

    private mutating func append(
        _ type: nf_tables_msg_types, _ family: TableFamily, _ flags: UInt16, _ object: String,
        elements: (list: ElementList, range: Range<Int>)? = nil, build: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) {
        let length = scratch.withUnsafeMutableBytes { raw -> Int in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            let header = nftnl_nlmsg_build_hdr(
                base, UInt16(type.rawValue), UInt16(family.nfproto), flags | UInt16(NLM_F_ACK), 0)!
            build(header)
            return Int(header.pointee.nlmsg_len)
        }
        // A copy of exactly the message: the scratch buffer's capacity is three times the element limit.
        messages.append(EncodedMessage(bytes: Array(scratch[0..<length]), object: object, elements: elements))
    }
}
