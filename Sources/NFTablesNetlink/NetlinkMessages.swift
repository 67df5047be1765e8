internal import CMnl

/// Byte-level reading of netlink replies: acks with extended-ack attributes, and our own element messages
/// (to find which element an error offset points at).
enum NetlinkMessages {
    struct Header {
        var length: Int
        var type: UInt16
        var flags: UInt16
        var sequence: UInt32
    }

    struct Ack {
        var code: Int32
        var message: String?
        var offset: UInt32?
    }

    static func u16(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
        UInt16(b[b.startIndex + at]) | UInt16(b[b.startIndex + at + 1]) << 8
    }

    static func u32(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[b.startIndex + at + $1]) << (8 * $1) }
    }

    /// Calls `body` for each complete message in the first `count` bytes.
    static func forEach(in buffer: [UInt8], count: Int, _ body: (Header, ArraySlice<UInt8>) -> Void) {
        var offset = 0
        while offset + 16 <= count {
            let bytes = buffer[offset..<count]
            let length = Int(u32(bytes, 0))
            guard length >= 16, offset + length <= count else { return }
            let header = Header(length: length, type: u16(bytes, 4), flags: u16(bytes, 6), sequence: u32(bytes, 8))
            body(header, buffer[offset..<(offset + length)])
            offset += (length + 3) & ~3
        }
    }

    /// Decodes an `NLMSG_ERROR` payload: the errno (0 for an ack) and, with `NLM_F_ACK_TLVS`, the kernel's
    /// message and the offset of the offending attribute in our original message.
    static func parseError(_ bytes: ArraySlice<UInt8>) -> Ack {
        let flags = u16(bytes, 6)
        var ack = Ack(code: Int32(bitPattern: u32(bytes, 16)))
        guard flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return ack }
        var offset = 16 + 4 + 16  // header, error, echoed header
        if flags & UInt16(NLM_F_CAPPED) == 0 {
            offset = 16 + 4 + Int(u32(bytes, 20))
        }
        while offset + 4 <= bytes.count {
            let length = Int(u16(bytes, offset))
            let type = u16(bytes, offset + 2) & 0x3fff
            guard length >= 4, offset + length <= bytes.count else { break }
            let payload = bytes[(bytes.startIndex + offset + 4)..<(bytes.startIndex + offset + length)]
            if type == UInt16(NLMSGERR_ATTR_MSG.rawValue) {
                ack.message = String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
            } else if type == UInt16(NLMSGERR_ATTR_OFFS.rawValue), payload.count >= 4 {
                ack.offset = u32(payload, 0)
            }
            offset += (length + 3) & ~3
        }
        return ack
    }

    /// Offsets (from the message start) of each element inside `NFTA_SET_ELEM_LIST_ELEMENTS`.
    static func nestedElementOffsets(_ message: [UInt8]) -> [Int] {
        let bytes = message[...]
        var offsets: [Int] = []
        var offset = 16 + 4  // nlmsghdr + nfgenmsg
        while offset + 4 <= bytes.count {
            let length = Int(u16(bytes, offset))
            let type = u16(bytes, offset + 2) & 0x3fff
            guard length >= 4 else { break }
            if type == 3 {  // NFTA_SET_ELEM_LIST_ELEMENTS
                var inner = offset + 4
                while inner + 4 <= offset + length {
                    let innerLength = Int(u16(bytes, inner))
                    guard innerLength >= 4 else { break }
                    offsets.append(inner)
                    inner += (innerLength + 3) & ~3
                }
            }
            offset += (length + 3) & ~3
        }
        return offsets
    }
}
