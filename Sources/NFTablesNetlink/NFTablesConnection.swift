internal import CMnl
internal import CNftnl
import Glibc
import NFTables

/// Programs nftables in one network namespace over netlink, without the `nft` binary.
///
/// The socket is bound to the namespace of the thread that creates the connection (open it inside
/// `NetworkNamespace.run`); afterwards it may be used from any thread, one call at a time.
public final class NFTablesConnection {
    private let socket: NetlinkSocket
    private var sequence: UInt32

    public init() throws(NetlinkError) {
        socket = try NetlinkSocket()
        sequence = UInt32(truncatingIfNeeded: Int(time(nil)))
    }

    /// An encoded transaction, ready to send.
    public struct PreparedBatch: Sendable {
        let messages: [EncodedMessage]
        /// Bytes of all messages (without batch begin/end).
        public var byteCount: Int { messages.reduce(0) { $0 + $1.bytes.count } }
        public var messageCount: Int { messages.count }
    }

    /// What one apply sent, for metrics and for tests that bound incremental updates.
    public struct ApplyReport: Sendable, Equatable {
        /// Netlink messages in the batch, not counting batch begin/end.
        public var messages: Int
        /// Bytes handed to the kernel in the single `sendmsg`.
        public var bytes: Int
    }

    /// Applies the transaction as one atomic batch: either every operation takes effect or none does.
    ///
    /// - Parameter existingSets: sets already in the kernel that the transaction adds elements to, when the
    ///   transaction was not built with them (`Transaction(existingSets:)`); their flags decide how ranges are
    ///   encoded (rbtree start/end pairs or pipapo key ends).
    /// - Throws: `NetlinkError.invalid` if the transaction recorded a validation error (nothing is sent),
    ///   `.rejected` naming the first object the kernel refused (the batch is rolled back),
    ///   `.outcomeUnknown` if acks were lost and the outcome could not be determined.
    @discardableResult
    public func apply(_ transaction: Transaction, existingSets: [NFTSet] = []) throws(NetlinkError) -> ApplyReport {
        try apply(Self.prepare(transaction, existingSets: existingSets))
    }

    /// Encodes a transaction without sending it, so the encoding cost can be paid (or measured) apart from
    /// the kernel's own cost of applying it.
    public static func prepare(
        _ transaction: Transaction, existingSets: [NFTSet] = []
    ) throws(NetlinkError)
        -> PreparedBatch
    {
        if let error = transaction.firstError { throw .invalid(error.description) }
        var encoder = BatchEncoder(knownSets: Array(transaction.knownSets.values) + existingSets)
        encoder.encode(transaction)
        return PreparedBatch(messages: encoder.messages)
    }

    /// Sends a prepared batch as one atomic transaction (see `apply(_:existingSets:)`).
    @discardableResult
    public func apply(_ prepared: PreparedBatch) throws(NetlinkError) -> ApplyReport {
        let messages = prepared.messages
        if messages.isEmpty { return ApplyReport(messages: 0, bytes: 0) }
        let first = nextSequence(count: UInt32(messages.count) + 2)
        var batch: [UInt8] = []
        batch.reserveCapacity(prepared.byteCount + 64)
        batch += Self.control { nftnl_batch_begin($0, first) }
        for (i, message) in messages.enumerated() {
            let start = batch.count
            batch += message.bytes
            Self.setSequence(&batch, at: start, first &+ 1 &+ UInt32(i))
        }
        batch += Self.control { nftnl_batch_end($0, first &+ UInt32(messages.count) &+ 1) }

        // Each ack costs at most a page-sized skb of receive budget.
        try socket.ensureBuffers(send: batch.count + 65536, receive: max(1 << 22, messages.count * 4096))
        let generationBefore = try? generation()
        try socket.send(batch)
        do {
            try collectAcks(messages: messages, firstSequence: first &+ 1)
        } catch .system(_, let code) where code == ENOBUFS {
            // Acks were dropped; the batch itself was processed atomically. The ruleset generation tells
            // whether it committed (another writer could also bump it: that case is reported as unknown).
            try drain()
            let after = try generation()
            if let before = generationBefore, after == before {
                throw .rejected(
                    object: "the batch (error details lost: receive queue overflow)", errno: ENOBUFS, message: nil)
            }
            if let before = generationBefore, after != before &+ 1 {
                throw .outcomeUnknown(
                    "acks lost (ENOBUFS) and the ruleset generation moved from \(before) to \(after): resync needed")
            }
        }
        return ApplyReport(messages: messages.count, bytes: batch.count)
    }

    /// The ruleset generation, bumped by every committed batch.
    public func generation() throws(NetlinkError) -> UInt32 {
        let seq = nextSequence(count: 1)
        let request = Self.control { buf in
            nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_GETGEN.rawValue), UInt16(AF_UNSPEC), UInt16(NLM_F_REQUEST), seq)
        }
        var id: UInt32 = 0
        try dump(request, sequence: seq, object: "ruleset generation") { header in
            let gen = nftnl_gen_alloc()!
            defer { nftnl_gen_free(gen) }
            if nftnl_gen_nlmsg_parse(header, gen) >= 0 {
                id = nftnl_gen_get_u32(gen, UInt16(NFTNL_GEN_ID))
            }
        }
        return id
    }

    // MARK: plumbing

    private func nextSequence(count: UInt32) -> UInt32 {
        let first = sequence
        sequence &+= count
        return first
    }

    /// Builds a small fixed message (batch begin/end, a request) with a libnftnl builder.
    static func control(_ build: (UnsafeMutablePointer<CChar>) -> UnsafeMutablePointer<nlmsghdr>?) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            let header = build(raw.baseAddress!.assumingMemoryBound(to: CChar.self))!
            return Int(header.pointee.nlmsg_len)
        }
        return Array(buffer.prefix(length))
    }

    /// A receive buffer left uninitialized: only the bytes `recv` reports are ever read, and zeroing 256 KiB
    /// on every dump was a measurable share of a CNI DEL (callgrind).
    static func receiveBuffer(count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    /// Patches `nlmsg_seq` (bytes 8..<12 of the header, host order) of the message starting at `start`.
    private static func setSequence(_ bytes: inout [UInt8], at start: Int, _ seq: UInt32) {
        withUnsafeBytes(of: seq) { raw in
            for i in 0..<4 { bytes[start + 8 + i] = raw[i] }
        }
    }

    /// Reads every ack already queued (the kernel processes a batch inside `sendmsg`, so all replies are
    /// queued when it returns) and throws the first error, named after the message's object.
    private func collectAcks(messages: [EncodedMessage], firstSequence: UInt32) throws(NetlinkError) {
        var buffer = Self.receiveBuffer(count: 1 << 16)
        var firstError: NetlinkError?
        var pending = messages.count
        while pending > 0 {
            guard let count = try socket.receive(into: &buffer, wait: false) else { break }
            NetlinkMessages.forEach(in: buffer, count: count) { header, bytes in
                guard header.type == UInt16(NLMSG_ERROR) else { return }
                pending -= 1
                let ack = NetlinkMessages.parseError(bytes)
                guard ack.code != 0, firstError == nil else { return }
                let index = Int(header.sequence &- firstSequence)
                guard messages.indices.contains(index) else {
                    firstError = .rejected(object: "the batch", errno: -ack.code, message: ack.message)
                    return
                }
                let message = messages[index]
                var object = message.object
                if let offset = ack.offset, let owner = Self.element(at: offset, in: message) {
                    let element = message.elements.flatMap { $0.list.indices.contains(owner) ? $0.list[owner] : nil }
                    object = "element \(owner) (\(element.map { $0.key.description } ?? "?")) in \(message.object)"
                }
                firstError = .rejected(object: object, errno: -ack.code, message: ack.message)
            }
        }
        if let firstError { throw firstError }
    }

    /// Maps an extended-ack attribute offset inside an element message to the `SetElement` it encodes.
    private static func element(at offset: UInt32, in message: EncodedMessage) -> Int? {
        guard !message.elementOwners.isEmpty || message.firstElementOwner != nil else { return nil }
        let starts = NetlinkMessages.nestedElementOffsets(message.bytes)
        if let first = message.firstElementOwner {
            guard let position = starts.lastIndex(where: { $0 <= Int(offset) }) else { return nil }
            return first + position
        }
        guard let position = starts.lastIndex(where: { $0 <= Int(offset) }),
            message.elementOwners.indices.contains(position)
        else { return nil }
        return message.elementOwners[position]
    }

    private func drain() throws(NetlinkError) {
        var buffer = Self.receiveBuffer(count: 1 << 16)
        while (try? socket.receive(into: &buffer, wait: false)) ?? nil != nil {}
    }

    /// Sends a request and hands every reply message to `handle` until the kernel says done (or acks).
    func dump(
        _ request: [UInt8], sequence: UInt32, object: String,
        _ handle: (UnsafePointer<nlmsghdr>) -> Void
    ) throws(NetlinkError) {
        try socket.send(request)
        var buffer = Self.receiveBuffer(count: 1 << 18)
        var done = false
        var failure: NetlinkError?
        while !done {
            guard let count = try socket.receive(into: &buffer, wait: true) else { continue }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + 16 <= count {
                    let header = (raw.baseAddress! + offset).assumingMemoryBound(to: nlmsghdr.self)
                    let length = Int(header.pointee.nlmsg_len)
                    guard length >= 16, offset + length <= count else { break }
                    if header.pointee.nlmsg_seq == sequence {
                        switch Int32(header.pointee.nlmsg_type) {
                        case NLMSG_DONE:
                            done = true
                        case NLMSG_ERROR:
                            let code = sluice_nlmsg_error_code(header)
                            if code != 0 { failure = .rejected(object: object, errno: -code, message: nil) }
                            done = true
                        default:
                            handle(UnsafePointer(header))
                            if header.pointee.nlmsg_flags & UInt16(NLM_F_MULTI) == 0 { done = true }
                        }
                    }
                    offset += (length + 3) & ~3
                }
            }
        }
        if let failure { throw failure }
    }
}
