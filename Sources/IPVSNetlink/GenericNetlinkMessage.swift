internal import CIPVS
import Glibc

/// A generic netlink request under construction: netlink header, `genlmsghdr`, then attributes. Built in Swift
/// (the layout is four fixed fields and TLVs) so requests are plain byte arrays that batch into one `sendmsg`.
struct GenericNetlinkMessage {
    private(set) var bytes: [UInt8] = []

    init(family: UInt16, command: UInt8, version: UInt8, flags: Int32, sequence: UInt32) {
        bytes.reserveCapacity(128)
        append32(0)  // nlmsg_len, patched in `finished`
        append16(family)
        append16(UInt16(truncatingIfNeeded: Int32(NLM_F_REQUEST) | flags))
        append32(sequence)
        append32(0)  // nlmsg_pid: the kernel fills it
        bytes += [command, version, 0, 0]
    }

    private mutating func append16(_ value: UInt16) { withUnsafeBytes(of: value) { bytes += $0 } }
    private mutating func append32(_ value: UInt32) { withUnsafeBytes(of: value) { bytes += $0 } }

    mutating func put(_ type: UInt16, bytes payload: [UInt8]) {
        let length = 4 + payload.count
        append16(UInt16(length))
        append16(type)
        bytes += payload
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// Host byte order, as `nla_get_u16` reads it.
    mutating func put(_ type: UInt16, u16 value: UInt16) { put(type, bytes: withUnsafeBytes(of: value) { Array($0) }) }
    mutating func put(_ type: UInt16, u32 value: UInt32) { put(type, bytes: withUnsafeBytes(of: value) { Array($0) }) }
    /// Network byte order (`__be16` ports).
    mutating func put(_ type: UInt16, be16 value: UInt16) {
        put(type, bytes: [UInt8(value >> 8), UInt8(value & 0xff)])
    }
    mutating func put(_ type: UInt16, string: String) { put(type, bytes: Array(string.utf8) + [0]) }

    mutating func nest(_ type: UInt16, _ body: (inout GenericNetlinkMessage) -> Void) {
        let start = bytes.count
        append16(0)
        append16(type)
        body(&self)
        let length = UInt16(bytes.count - start)
        withUnsafeBytes(of: length) { bytes.replaceSubrange(start..<start + 2, with: $0) }
    }

    /// The message with its length filled in.
    var finished: [UInt8] {
        var out = bytes
        withUnsafeBytes(of: UInt32(out.count)) { out.replaceSubrange(0..<4, with: $0) }
        return out
    }
}

/// One received netlink message, read without copying its attributes.
struct ReceivedMessage {
    var type: UInt16
    var flags: UInt16
    var sequence: UInt32
    /// The payload after the netlink header (`genlmsghdr` + attributes, or `nlmsgerr`).
    var payload: ArraySlice<UInt8>

    /// The `-errno` of an `NLMSG_ERROR` (0 for an ack).
    var errorCode: Int32 {
        guard payload.count >= 4 else { return -EIO }
        return payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
    }

    /// The generic netlink attributes after the 4-byte `genlmsghdr`.
    var attributes: Attributes { Attributes(payload.dropFirst(4)) }

    /// Splits a datagram into messages.
    static func split(_ buffer: [UInt8], count: Int) -> [ReceivedMessage] {
        var out: [ReceivedMessage] = []
        var offset = 0
        while offset + 16 <= count {
            let length = Int(read32(buffer, offset))
            guard length >= 16, offset + length <= count else { break }
            out.append(
                ReceivedMessage(
                    type: read16(buffer, offset + 4), flags: read16(buffer, offset + 6),
                    sequence: read32(buffer, offset + 8), payload: buffer[offset + 16..<offset + length]))
            offset += (length + 3) & ~3
        }
        return out
    }
}

/// Netlink attributes by type (the last one wins, as the kernel's parser does).
struct Attributes {
    private var values: [UInt16: ArraySlice<UInt8>] = [:]

    init(_ data: ArraySlice<UInt8>) {
        var offset = data.startIndex
        while offset + 4 <= data.endIndex {
            let length = Int(read16(data, offset))
            let type = read16(data, offset + 2) & 0x3FFF  // NLA_TYPE_MASK: without NLA_F_NESTED and NLA_F_NET_BYTEORDER
            guard length >= 4, offset + length <= data.endIndex else { break }
            values[type] = data[offset + 4..<offset + length]
            offset += (length + 3) & ~3
        }
    }

    subscript(_ type: UInt16) -> ArraySlice<UInt8>? { values[type] }
    func u16(_ type: UInt16) -> UInt16? { values[type].flatMap { $0.count >= 2 ? read16($0, $0.startIndex) : nil } }
    func u32(_ type: UInt16) -> UInt32? { values[type].flatMap { $0.count >= 4 ? read32($0, $0.startIndex) : nil } }
    func be16(_ type: UInt16) -> UInt16? {
        values[type].flatMap { $0.count >= 2 ? UInt16($0[$0.startIndex]) << 8 | UInt16($0[$0.startIndex + 1]) : nil }
    }
    func string(_ type: UInt16) -> String? {
        values[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    func nested(_ type: UInt16) -> Attributes? { values[type].map(Attributes.init) }
}

/// Host byte order fields (netlink's own), read from little-endian bytes and converted to the host's order.
private func read16<C: RandomAccessCollection<UInt8>>(_ data: C, _ offset: Int) -> UInt16 where C.Index == Int {
    UInt16(littleEndian: UInt16(data[offset]) | UInt16(data[offset + 1]) << 8)
}

private func read32<C: RandomAccessCollection<UInt8>>(_ data: C, _ offset: Int) -> UInt32 where C.Index == Int {
    UInt32(
        littleEndian: UInt32(read16(data, offset).littleEndian) | UInt32(read16(data, offset + 2).littleEndian) << 16)
}
