internal import CNftnl
import NFTables

/// Lowers IR expressions and statements into libnftnl expressions on a rule.
///
/// Values are loaded into 32-bit registers from `NFT_REG32_00` on; a concatenation puts each field on its own
/// register boundary, which is exactly the key layout of a concatenated set, so one `lookup` consumes it.
struct RuleLowering {
    static let firstRegister: UInt32 = 8  // NFT_REG32_00
    static let verdictRegister: UInt32 = 0  // NFT_REG_VERDICT

    let rule: OpaquePointer
    let family: TableFamily
    /// Sets that store keys in network order; host-order key fields are swapped before looking them up.
    let intervalSets: Set<String>

    /// Registers a value of `type` occupies.
    static func registers(_ type: TypeSpec) -> UInt32 {
        UInt32(type.fields.reduce(0) { $0 + $1.registerLength } / 4)
    }

    func lower(_ statements: [Statement]) {
        var guardedFamily: TableFamily?
        for statement in statements {
            if family == .inet, guardedFamily == nil,
                let needed = statement.expressions.reduce(
                    into: Set<TableFamily>(), { $0.formUnion($1.requiredFamilies) }
                )
                .first
            {
                // nft adds this dependency itself for `ip daddr` in an inet table; we must spell it out.
                load(.meta(.nfproto), into: Self.firstRegister)
                compare(Self.firstRegister, .equal, Value.nfproto(needed == .ip ? .ip : .ip6).bytes)
                guardedFamily = needed
            }
            lower(statement)
        }
    }

    private func lower(_ statement: Statement) {
        let r = Self.firstRegister
        switch statement {
        case .compare(let e, let op, let v):
            load(e, into: r)
            compare(r, op, v.bytes)
        case .prefix(let e, let v, let length, let negated):
            load(e, into: r)
            let (network, _) = v.prefixRange(length: length)
            if length < v.bytes.count * 8 {
                let mask = v.prefixRange(length: length).first.bytes.indices.map { i -> UInt8 in
                    let keep = max(0, min(8, length - i * 8))
                    return keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
                }
                bitwise(r, mask: mask)
            }
            compare(r, negated ? .notEqual : .equal, network.bytes)
        case .anyFlags(let e, let v):
            load(e, into: r)
            bitwise(r, mask: v.bytes)
            compare(r, .notEqual, Array(repeating: 0, count: v.bytes.count))
        case .lookup(let e, let set, let negated):
            loadKey(e, into: r, set: set)
            let x = add("lookup")
            setU32(x, NFTNL_EXPR_LOOKUP_SREG, r)
            setString(x, NFTNL_EXPR_LOOKUP_SET, set)
            if negated { setU32(x, NFTNL_EXPR_LOOKUP_FLAGS, UInt32(NFT_LOOKUP_F_INV.rawValue)) }
        case .verdictMap(let e, let map):
            loadKey(e, into: r, set: map)
            let x = add("lookup")
            setU32(x, NFTNL_EXPR_LOOKUP_SREG, r)
            setU32(x, NFTNL_EXPR_LOOKUP_DREG, Self.verdictRegister)
            setString(x, NFTNL_EXPR_LOOKUP_SET, map)
        case .counter:
            _ = add("counter")
        case .verdict(let v):
            let x = add("immediate")
            setU32(x, NFTNL_EXPR_IMM_DREG, Self.verdictRegister)
            setU32(x, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: v.code))
            if let chain = v.chain { setString(x, NFTNL_EXPR_IMM_CHAIN, chain) }
        case .dnat(let family, let target), .snat(let family, let target):
            load(target, into: r)
            let x = add("nat")
            let isDNAT = if case .dnat = statement { true } else { false }
            setU32(x, NFTNL_EXPR_NAT_TYPE, UInt32(isDNAT ? NFT_NAT_DNAT.rawValue : NFT_NAT_SNAT.rawValue))
            setU32(x, NFTNL_EXPR_NAT_FAMILY, UInt32(family.nfproto))
            setU32(x, NFTNL_EXPR_NAT_REG_ADDR_MIN, r)
            let fields = target.type.fields
            if fields.count == 2 {
                setU32(x, NFTNL_EXPR_NAT_REG_PROTO_MIN, r + Self.registers(TypeSpec(fields[0])))
                setU32(x, NFTNL_EXPR_NAT_FLAGS, UInt32(NF_NAT_RANGE_PROTO_SPECIFIED))
            }
        case .masquerade(let fullyRandom):
            let x = add("masq")
            if fullyRandom { setU32(x, NFTNL_EXPR_MASQ_FLAGS, UInt32(NF_NAT_RANGE_PROTO_RANDOM_FULLY)) }
        case .setUpdate(let op, let set, let key, let timeout, let data):
            load(key, into: r)
            let x: OpaquePointer
            if let data {
                // The data goes in the registers after the key's.
                let dataRegister = r + Self.registers(key.type)
                load(data, into: dataRegister)
                x = add("dynset")
                setU32(x, NFTNL_EXPR_DYNSET_SREG_DATA, dataRegister)
            } else {
                x = add("dynset")
            }
            setU32(x, NFTNL_EXPR_DYNSET_SREG_KEY, r)
            setU32(x, NFTNL_EXPR_DYNSET_OP, op.number)
            setString(x, NFTNL_EXPR_DYNSET_SET_NAME, set)
            if let timeout { setU64(x, NFTNL_EXPR_DYNSET_TIMEOUT, milliseconds(timeout)) }
        case .reject(let kind):
            let x = add("reject")
            setU32(x, NFTNL_EXPR_REJECT_TYPE, kind.typeAndCode.type)
            nftnl_expr_set_u8(x, UInt16(NFTNL_EXPR_REJECT_CODE), kind.typeAndCode.code)
        case .orMark(let bits):
            load(.meta(.mark), into: r)
            let x = add("bitwise")
            setU32(x, NFTNL_EXPR_BITWISE_SREG, r)
            setU32(x, NFTNL_EXPR_BITWISE_DREG, r)
            setU32(x, NFTNL_EXPR_BITWISE_LEN, UInt32(bits.bytes.count))
            setData(x, NFTNL_EXPR_BITWISE_MASK, bits.bytes.map { ~$0 })
            setData(x, NFTNL_EXPR_BITWISE_XOR, bits.bytes)
            let set = add("meta")
            setU32(set, NFTNL_EXPR_META_KEY, MetaKey.mark.number)
            setU32(set, NFTNL_EXPR_META_SREG, r)
        }
    }

    /// Emits expressions that leave `e`'s value in registers starting at `register`.
    func load(_ e: Expression, into register: UInt32) {
        switch e {
        case .payload(let field):
            let x = add("payload")
            setU32(x, NFTNL_EXPR_PAYLOAD_DREG, register)
            setU32(x, NFTNL_EXPR_PAYLOAD_BASE, field.base)
            setU32(x, NFTNL_EXPR_PAYLOAD_OFFSET, field.offset)
            setU32(x, NFTNL_EXPR_PAYLOAD_LEN, UInt32(field.dataType.byteLength))
        case .meta(let key):
            let x = add("meta")
            setU32(x, NFTNL_EXPR_META_KEY, key.number)
            setU32(x, NFTNL_EXPR_META_DREG, register)
        case .ct(let key):
            let x = add("ct")
            setU32(x, NFTNL_EXPR_CT_KEY, key.number)
            setU32(x, NFTNL_EXPR_CT_DREG, register)
            if let direction = key.direction { nftnl_expr_set_u8(x, UInt16(NFTNL_EXPR_CT_DIR), direction) }
        case .numgenRandom(let modulus, let offset):
            let x = add("numgen")
            setU32(x, NFTNL_EXPR_NG_DREG, register)
            setU32(x, NFTNL_EXPR_NG_MODULUS, modulus)
            setU32(x, NFTNL_EXPR_NG_TYPE, UInt32(NFT_NG_RANDOM.rawValue))
            if offset != 0 { setU32(x, NFTNL_EXPR_NG_OFFSET, offset) }
        case .jhash(let input, let modulus, let seed, let offset):
            load(input, into: register)
            let x = add("hash")
            setU32(x, NFTNL_EXPR_HASH_SREG, register)
            setU32(x, NFTNL_EXPR_HASH_DREG, register)
            setU32(x, NFTNL_EXPR_HASH_LEN, UInt32(input.type.byteLength))
            setU32(x, NFTNL_EXPR_HASH_MODULUS, modulus)
            setU32(x, NFTNL_EXPR_HASH_SEED, seed)
            setU32(x, NFTNL_EXPR_HASH_TYPE, UInt32(NFT_HASH_JENKINS.rawValue))
            if offset != 0 { setU32(x, NFTNL_EXPR_HASH_OFFSET, offset) }
        case .fibDestinationType:
            let x = add("fib")
            setU32(x, NFTNL_EXPR_FIB_DREG, register)
            setU32(x, NFTNL_EXPR_FIB_RESULT, UInt32(NFT_FIB_RESULT_ADDRTYPE.rawValue))
            setU32(x, NFTNL_EXPR_FIB_FLAGS, UInt32(NFTA_FIB_F_DADDR.rawValue))
        case .concat(let parts):
            var next = register
            for part in parts {
                load(part, into: next)
                next += Self.registers(part.type)
            }
        case .mapLookup(let key, let map, _):
            loadKey(key, into: register, set: map)
            let x = add("lookup")
            setU32(x, NFTNL_EXPR_LOOKUP_SREG, register)
            setU32(x, NFTNL_EXPR_LOOKUP_DREG, register)
            setString(x, NFTNL_EXPR_LOOKUP_SET, map)
        case .constant(let value):
            let x = add("immediate")
            setU32(x, NFTNL_EXPR_IMM_DREG, register)
            setData(x, NFTNL_EXPR_IMM_DATA, value.bytes)
        }
    }

    /// Loads a lookup key; for interval sets, host-order fields wider than a byte are converted to network
    /// order (`byteorder hton`), matching how their elements are stored. nft does the same implicitly.
    private func loadKey(_ key: Expression, into register: UInt32, set: String) {
        load(key, into: register)
        guard intervalSets.contains(set) else { return }
        var next = register
        for field in key.type.fields {
            if !field.isBigEndian && field.byteLength > 1 {
                let x = add("byteorder")
                setU32(x, NFTNL_EXPR_BYTEORDER_SREG, next)
                setU32(x, NFTNL_EXPR_BYTEORDER_DREG, next)
                setU32(x, NFTNL_EXPR_BYTEORDER_OP, UInt32(NFT_BYTEORDER_HTON.rawValue))
                setU32(x, NFTNL_EXPR_BYTEORDER_LEN, UInt32(field.byteLength))
                setU32(x, NFTNL_EXPR_BYTEORDER_SIZE, UInt32(min(field.byteLength, 4)))
            }
            next += UInt32(field.registerLength / 4)
        }
    }

    private func compare(_ register: UInt32, _ op: CompareOperator, _ bytes: [UInt8]) {
        let x = add("cmp")
        setU32(x, NFTNL_EXPR_CMP_SREG, register)
        setU32(x, NFTNL_EXPR_CMP_OP, op.number)
        setData(x, NFTNL_EXPR_CMP_DATA, bytes)
    }

    private func bitwise(_ register: UInt32, mask: [UInt8]) {
        let x = add("bitwise")
        setU32(x, NFTNL_EXPR_BITWISE_SREG, register)
        setU32(x, NFTNL_EXPR_BITWISE_DREG, register)
        setU32(x, NFTNL_EXPR_BITWISE_LEN, UInt32(mask.count))
        setData(x, NFTNL_EXPR_BITWISE_MASK, mask)
        setData(x, NFTNL_EXPR_BITWISE_XOR, Array(repeating: 0, count: mask.count))
    }

    private func add(_ name: String) -> OpaquePointer {
        let x = nftnl_expr_alloc(name)!
        nftnl_rule_add_expr(rule, x)
        return x
    }
}

private func setU32(_ x: OpaquePointer, _ attr: some BinaryInteger, _ value: UInt32) {
    nftnl_expr_set_u32(x, UInt16(attr), value)
}

private func setU64(_ x: OpaquePointer, _ attr: some BinaryInteger, _ value: UInt64) {
    nftnl_expr_set_u64(x, UInt16(attr), value)
}

private func setString(_ x: OpaquePointer, _ attr: some BinaryInteger, _ value: String) {
    nftnl_expr_set_str(x, UInt16(attr), value)
}

private func setData(_ x: OpaquePointer, _ attr: some BinaryInteger, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { _ = nftnl_expr_set(x, UInt16(attr), $0.baseAddress, UInt32($0.count)) }
}
