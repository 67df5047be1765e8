internal import CMnl

/// A flow read from a dump, with what a delete request must echo back to name exactly this flow.
struct DumpedFlow {
    var entry: ConntrackEntry
    /// The payload of `CTA_TUPLE_ORIG` as the kernel sent it: it identifies the flow for every protocol
    /// (ports, ICMP ids, zones) without this code re-encoding each one.
    var originalTuple: [UInt8]
    /// `CTA_ID` (network order, as sent): a delete carrying it cannot hit a newer flow reusing the tuple.
    var id: UInt32?
}

/// Encoding of ctnetlink requests and decoding of its flows, with libmnl.
enum ConntrackMessages {
    private typealias MessageHeader = UnsafeMutablePointer<nlmsghdr>

    /// An `IPCTNL_MSG_CT_GET` dump request for every flow of `family`.
    static func dumpRequest(family: ConntrackFamily, sequence: UInt32) -> [UInt8] {
        build(capacity: 64) { buffer in
            sluice_ctnetlink_put_header(
                buffer, UInt8(IPCTNL_MSG_CT_GET.rawValue), UInt16(NLM_F_DUMP), sequence, family.rawValue)
        }
    }

    /// An `IPCTNL_MSG_CT_DELETE` request for one flow, acknowledged (`NLM_F_ACK`) so its outcome can be counted.
    static func deleteRequest(for flow: DumpedFlow, sequence: UInt32) -> [UInt8] {
        build(capacity: 64 + flow.originalTuple.count) { buffer in
            let header = sluice_ctnetlink_put_header(
                buffer, UInt8(IPCTNL_MSG_CT_DELETE.rawValue), UInt16(NLM_F_ACK), sequence,
                flow.entry.family.rawValue)!
            flow.originalTuple.withUnsafeBytes { tuple in
                mnl_attr_put(
                    header, UInt16(CTA_TUPLE_ORIG.rawValue) | UInt16(NLA_F_NESTED), tuple.count, tuple.baseAddress)
            }
            if let id = flow.id {
                mnl_attr_put_u32(header, UInt16(CTA_ID.rawValue), id)
            }
            if flow.entry.zone != 0 {
                mnl_attr_put_u16(header, UInt16(CTA_ZONE.rawValue), flow.entry.zone.bigEndian)
            }
            return header
        }
    }

    /// Runs a message builder on a zeroed buffer of `capacity` bytes and returns the finished message.
    private static func build(capacity: Int, _ put: (UnsafeMutableRawPointer) -> MessageHeader) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        let length = buffer.withUnsafeMutableBytes { Int(put($0.baseAddress!).pointee.nlmsg_len) }
        return Array(buffer.prefix(length))
    }

    /// Calls `body` with each complete netlink message in the first `count` bytes of `buffer`.
    static func forEachMessage(in buffer: [UInt8], count: Int, _ body: (UnsafePointer<nlmsghdr>) -> Void) {
        buffer.withUnsafeBytes { raw in
            var remaining = Int32(count)
            var message = raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
            while mnl_nlmsg_ok(message, remaining) {
                body(message)
                message = UnsafePointer(mnl_nlmsg_next(message, &remaining))
            }
        }
    }

    /// Calls `body` with each attribute in `length` bytes from `start` (a message's or a nest's payload).
    private static func forEachAttribute(
        from start: UnsafeRawPointer, length: Int, _ body: (UnsafePointer<nlattr>) -> Void
    ) {
        var attribute = start.assumingMemoryBound(to: nlattr.self)
        var remaining = length
        while mnl_attr_ok(attribute, Int32(remaining)) {
            body(attribute)
            let next = UnsafePointer(mnl_attr_next(attribute)!)
            remaining -= UnsafeRawPointer(next) - UnsafeRawPointer(attribute)
            attribute = next
        }
    }

    private static func forEachNested(in nest: UnsafePointer<nlattr>, _ body: (UnsafePointer<nlattr>) -> Void) {
        forEachAttribute(from: mnl_attr_get_payload(nest), length: Int(mnl_attr_get_payload_len(nest)), body)
    }

    private static func payload(_ attribute: UnsafePointer<nlattr>) -> [UInt8] {
        let length = Int(mnl_attr_get_payload_len(attribute))
        return Array(UnsafeRawBufferPointer(start: mnl_attr_get_payload(attribute), count: length))
    }

    private static func isValid(_ attribute: UnsafePointer<nlattr>, _ type: mnl_attr_data_type) -> Bool {
        mnl_attr_validate(attribute, type) >= 0
    }

    /// Decodes one `IPCTNL_MSG_CT_NEW` message of a dump.
    static func parseFlow(_ message: UnsafePointer<nlmsghdr>) throws(ConntrackError) -> DumpedFlow {
        let rawFamily = sluice_ctnetlink_family(message)
        guard let family = ConntrackFamily(rawValue: rawFamily) else {
            throw .malformedReply("flow of unknown address family \(rawFamily)")
        }
        var original: (tuple: ParsedTuple, bytes: [UInt8])?
        var reply: ParsedTuple?
        var mark: UInt32 = 0
        var status: UInt32 = 0
        var zone: UInt16 = 0
        var id: UInt32?
        let start = mnl_nlmsg_get_payload_offset(message, 4)!  // after the nfgenmsg
        let end = mnl_nlmsg_get_payload_tail(message)!
        forEachAttribute(from: start, length: UnsafeRawPointer(end) - UnsafeRawPointer(start)) { attribute in
            switch UInt32(mnl_attr_get_type(attribute)) {
            case CTA_TUPLE_ORIG.rawValue:
                original = (parseTuple(attribute), payload(attribute))
            case CTA_TUPLE_REPLY.rawValue:
                reply = parseTuple(attribute)
            case CTA_MARK.rawValue where isValid(attribute, MNL_TYPE_U32):
                mark = UInt32(bigEndian: mnl_attr_get_u32(attribute))
            case CTA_STATUS.rawValue where isValid(attribute, MNL_TYPE_U32):
                status = UInt32(bigEndian: mnl_attr_get_u32(attribute))
            case CTA_ZONE.rawValue where isValid(attribute, MNL_TYPE_U16):
                zone = UInt16(bigEndian: mnl_attr_get_u16(attribute))
            case CTA_ID.rawValue where isValid(attribute, MNL_TYPE_U32):
                id = mnl_attr_get_u32(attribute)
            default:
                break
            }
        }
        guard let original, let reply,
            let originalTuple = original.tuple.tuple(family: family), let replyTuple = reply.tuple(family: family),
            let l4proto = original.tuple.l4proto
        else {
            throw .malformedReply("\(family) flow without complete original and reply tuples")
        }
        let entry = ConntrackEntry(
            family: family, l4proto: l4proto, original: originalTuple, reply: replyTuple, mark: mark,
            status: ConntrackStatus(rawValue: status), zone: zone)
        return DumpedFlow(entry: entry, originalTuple: original.bytes, id: id)
    }

    /// The fields of a `CTA_TUPLE_ORIG`/`CTA_TUPLE_REPLY` nest, any of which may be missing.
    private struct ParsedTuple {
        var source: [UInt8]?
        var destination: [UInt8]?
        var l4proto: UInt8?
        var sourcePort: UInt16?
        var destinationPort: UInt16?

        func tuple(family: ConntrackFamily) -> ConntrackTuple? {
            guard let source, let destination, source.count == family.addressLength,
                destination.count == family.addressLength
            else { return nil }
            return ConntrackTuple(
                source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort)
        }
    }

    /// Reads `CTA_TUPLE_IP` (`CTA_IP_V4_*`/`CTA_IP_V6_*`) and `CTA_TUPLE_PROTO` (`CTA_PROTO_NUM`, ports in
    /// network order) from a tuple nest.
    private static func parseTuple(_ nest: UnsafePointer<nlattr>) -> ParsedTuple {
        var tuple = ParsedTuple()
        forEachNested(in: nest) { attribute in
            switch UInt32(mnl_attr_get_type(attribute)) {
            case CTA_TUPLE_IP.rawValue:
                forEachNested(in: attribute) { address in
                    switch UInt32(mnl_attr_get_type(address)) {
                    case CTA_IP_V4_SRC.rawValue, CTA_IP_V6_SRC.rawValue: tuple.source = payload(address)
                    case CTA_IP_V4_DST.rawValue, CTA_IP_V6_DST.rawValue: tuple.destination = payload(address)
                    default: break
                    }
                }
            case CTA_TUPLE_PROTO.rawValue:
                forEachNested(in: attribute) { field in
                    switch UInt32(mnl_attr_get_type(field)) {
                    case CTA_PROTO_NUM.rawValue where isValid(field, MNL_TYPE_U8):
                        tuple.l4proto = mnl_attr_get_u8(field)
                    case CTA_PROTO_SRC_PORT.rawValue where isValid(field, MNL_TYPE_U16):
                        tuple.sourcePort = UInt16(bigEndian: mnl_attr_get_u16(field))
                    case CTA_PROTO_DST_PORT.rawValue where isValid(field, MNL_TYPE_U16):
                        tuple.destinationPort = UInt16(bigEndian: mnl_attr_get_u16(field))
                    default: break
                    }
                }
            default:
                break
            }
        }
        return tuple
    }
}
