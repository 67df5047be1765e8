internal import CMnl
import Glibc

/// Lists and deletes conntrack flows over ctnetlink, as kube-proxy does with `conntrack -L` / `conntrack -D`.
///
/// UDP has no teardown, so conntrack keeps steering a flow's packets to the endpoint it first chose (or keeps
/// the "no reply" state of a Service that had no endpoints) until the entry times out. Deleting the entries
/// when endpoints change makes the next packet pick a fresh path through the Service rules.
///
/// The netlink socket is bound to the network namespace of the thread that creates the connection: create it
/// inside `NetworkNamespace.run` (or `TestNamespace.run`) to work on that namespace's conntrack table. It may
/// then be used from any thread, one call at a time.
public final class ConntrackConnection {
    private let socket: ConntrackSocket
    private var sequence: UInt32

    /// Opens and binds a `NETLINK_NETFILTER` socket in the calling thread's network namespace.
    public init() throws(ConntrackError) {
        socket = try ConntrackSocket()
        sequence = UInt32(truncatingIfNeeded: time(nil))
    }

    /// Flows matching the filter, for tests and diagnostics.
    ///
    /// The kernel dumps every flow of the filter's family (`IPCTNL_MSG_CT_GET`); the other fields are matched
    /// here, which works the same on every kernel.
    public func list(_ filter: ConntrackFilter) throws(ConntrackError) -> [ConntrackEntry] {
        try flows(matching: filter).map(\.entry)
    }

    /// Deletes every matching entry; returns how many were deleted. Entries that vanish concurrently (ENOENT)
    /// are not errors.
    ///
    /// Each delete names the flow by its original tuple and id (`IPCTNL_MSG_CT_DELETE`), so a newer flow that
    /// reuses the tuple is left alone. Deletes go out in batches of many acknowledged messages per `sendmsg`.
    ///
    /// - Throws: `ConntrackError.rejected` naming the first flow the kernel refused to delete for another
    ///   reason; every other matching flow has still been deleted.
    @discardableResult
    public func delete(_ filter: ConntrackFilter) throws(ConntrackError) -> Int {
        try delete(flows(matching: filter))
    }

    /// Dumps the filter's family and keeps the flows that match.
    func flows(matching filter: ConntrackFilter) throws(ConntrackError) -> [DumpedFlow] {
        try filter.validate()
        let dumpSequence = nextSequence()
        let operation = "dump \(filter.family) conntrack flows"
        try socket.send(
            ConntrackMessages.dumpRequest(family: filter.family, sequence: dumpSequence), operation: operation)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var flows: [DumpedFlow] = []
        var failure: ConntrackError?
        var done = false
        while !done {
            let count = try socket.receive(into: &buffer, operation: operation)
            ConntrackMessages.forEachMessage(in: buffer, count: count) { message in
                guard message.pointee.nlmsg_seq == dumpSequence, !done else { return }
                switch Int32(message.pointee.nlmsg_type) {
                case NLMSG_DONE:
                    done = true
                case NLMSG_ERROR:
                    done = true
                    let code = sluice_nlmsg_error_code(message)
                    if code != 0 { failure = failure ?? .rejected(operation: operation, errno: -code) }
                default:
                    // Keep reading to the end of the dump even after a bad flow, so no reply is left queued.
                    do throws(ConntrackError) {
                        let flow = try ConntrackMessages.parseFlow(message)
                        if filter.matches(flow.entry) { flows.append(flow) }
                    } catch {
                        failure = failure ?? error
                    }
                }
            }
        }
        if let failure { throw failure }
        return flows
    }

    /// Deletes `flows`, counting acks; `ENOENT` means the flow is already gone (expired, or deleted by someone
    /// else since the dump).
    func delete(_ flows: [DumpedFlow]) throws(ConntrackError) -> Int {
        // Each ack occupies up to about a kilobyte of the receive queue; a batch whose acks overflow it would
        // lose some (ENOBUFS), so the queue size bounds the batch. 64 KiB stays below the default send buffer.
        let maximumMessages = max(16, socket.receiveBufferSize / 2048)
        let maximumBytes = 1 << 16
        var deleted = 0
        var failure: ConntrackError?
        var next = 0
        while next < flows.count {
            let first = sequence
            var batch: [UInt8] = []
            var members: [Int] = []
            while next < flows.count, members.count < maximumMessages {
                let message = ConntrackMessages.deleteRequest(
                    for: flows[next], sequence: first &+ UInt32(members.count))
                if !batch.isEmpty, batch.count + message.count > maximumBytes { break }
                batch += message
                members.append(next)
                next += 1
            }
            sequence &+= UInt32(members.count)
            let operation = "delete a batch of \(members.count) conntrack flows"
            try socket.send(batch, operation: operation)
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var pending = members.count
            while pending > 0 {
                let count = try socket.receive(into: &buffer, operation: "read acks of \(operation)")
                ConntrackMessages.forEachMessage(in: buffer, count: count) { message in
                    let index = Int(message.pointee.nlmsg_seq &- first)
                    guard message.pointee.nlmsg_type == UInt16(NLMSG_ERROR), members.indices.contains(index) else {
                        return
                    }
                    pending -= 1
                    switch -sluice_nlmsg_error_code(message) {
                    case 0:
                        deleted += 1
                    case ENOENT:
                        break
                    case let code:
                        let entry = flows[members[index]].entry
                        failure = failure ?? .rejected(operation: "delete conntrack flow \(entry)", errno: code)
                    }
                }
            }
        }
        if let failure { throw failure }
        return deleted
    }

    private func nextSequence() -> UInt32 {
        defer { sequence &+= 1 }
        return sequence
    }
}
