internal import CIPVS
import Glibc
import IPVS
import KubeAPI

/// The kernel's IPVS table over generic netlink (the `IPVS` family, resolved at open): virtual services and
/// destinations added, edited, deleted and dumped, and the connection timeouts set — what `ipvsadm` does,
/// without a process per change.
///
/// IPVS has no transactions: each request stands alone. `apply` still sends many requests per `sendmsg` and
/// matches every ack to its request by sequence number, so a refused request is reported against the Service it
/// came from while every other request takes effect.
///
/// The socket belongs to the network namespace of the thread that opens the connection; afterwards any thread
/// may use it, one call at a time.
public final class IPVSConnection {
    private let socket: OpaquePointer
    /// The `IPVS` family's message type, resolved at open.
    private var family: UInt16 = 0
    private var sequence: UInt32
    private var buffer = [UInt8](repeating: 0, count: 1 << 17)
    /// Requests sent since the connection opened (dumps count one each): what tests assert incremental syncs by.
    public private(set) var messagesSent = 0
    /// Bytes of requests sent since the connection opened.
    public private(set) var bytesSent = 0

    /// Opens a generic netlink socket and resolves the `IPVS` family.
    ///
    /// - Throws: `IPVSError.unavailable` when the kernel has no IPVS (e.g. the `ip_vs` module is not loaded).
    public init() throws(IPVSError) {
        guard let socket = mnl_socket_open(NETLINK_GENERIC) else {
            throw .system(operation: "open generic netlink socket", errno: errno)
        }
        self.socket = socket
        if mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let code = errno
            mnl_socket_close(socket)
            throw .system(operation: "bind generic netlink socket", errno: code)
        }
        var on: Int32 = 1
        _ = mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        let fd = mnl_socket_get_fd(socket)
        // Acks of a full batch must fit the receive queue; as root the limit does not apply.
        var wanted: Int32 = 8 << 20
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, length) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, length)
        }
        sequence = UInt32(truncatingIfNeeded: time(nil))
        // Fully initialized from here: a throw runs `deinit`, which closes the socket.
        family = try resolveFamily()
    }

    deinit { mnl_socket_close(socket) }

    // MARK: requests

    private func nextSequence() -> UInt32 {
        defer { sequence &+= 1 }
        return sequence
    }

    private func send(_ bytes: [UInt8], messages: Int, operation: @autoclosure () -> String) throws(IPVSError) {
        while true {
            let sent = bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
            if sent >= 0 {
                guard sent == bytes.count else {
                    throw .system(operation: "\(operation()) (short write \(sent)/\(bytes.count))", errno: EIO)
                }
                messagesSent += messages
                bytesSent += bytes.count
                return
            }
            let code = errno
            if code != EINTR { throw .system(operation: operation(), errno: code) }
        }
    }

    private func receive(operation: @autoclosure () -> String) throws(IPVSError) -> [ReceivedMessage] {
        while true {
            let count = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
            if count >= 0 { return ReceivedMessage.split(buffer, count: count) }
            let code = errno
            if code != EINTR { throw .system(operation: operation(), errno: code) }
        }
    }

    /// `CTRL_CMD_GETFAMILY` for "IPVS": generic netlink families get their message type at registration.
    private func resolveFamily() throws(IPVSError) -> UInt16 {
        let seq = nextSequence()
        var message = GenericNetlinkMessage(
            family: UInt16(GENL_ID_CTRL), command: UInt8(CTRL_CMD_GETFAMILY), version: 1, flags: 0,
            sequence: seq)
        message.put(UInt16(CTRL_ATTR_FAMILY_NAME), string: IPVS_GENL_NAME)
        try send(message.finished, messages: 1, operation: "resolve generic netlink family IPVS")
        while true {
            for reply in try receive(operation: "resolve generic netlink family IPVS") where reply.sequence == seq {
                if reply.type == UInt16(NLMSG_ERROR) {
                    let code = -reply.errorCode
                    throw code == ENOENT ? .unavailable(errno: code) : .system(operation: "resolve IPVS", errno: code)
                }
                guard let id = reply.attributes.u16(UInt16(CTRL_ATTR_FAMILY_ID)) else {
                    throw .malformedReply("family reply without an id")
                }
                return id
            }
        }
    }

    private func request(_ command: Int, flags: Int32 = 0, sequence: UInt32) -> GenericNetlinkMessage {
        GenericNetlinkMessage(
            family: family, command: UInt8(command), version: UInt8(IPVS_GENL_VERSION), flags: flags,
            sequence: sequence)
    }

    /// Runs a dump and returns each reply's attributes.
    private func dump(
        _ message: GenericNetlinkMessage, sequence seq: UInt32, operation: String
    ) throws(IPVSError)
        -> [Attributes]
    {
        try send(message.finished, messages: 1, operation: operation)
        var out: [Attributes] = []
        while true {
            for reply in try receive(operation: operation) where reply.sequence == seq {
                switch Int32(reply.type) {
                case NLMSG_DONE:
                    return out
                case NLMSG_ERROR:
                    let code = -reply.errorCode
                    if code == 0 { return out }
                    throw .system(operation: operation, errno: code)
                default:
                    out.append(reply.attributes)
                }
            }
        }
    }

    // MARK: reading

    /// Every virtual service of the namespace (fwmark services are skipped: Sluice never creates them).
    public func services() throws(IPVSError) -> [VirtualService] {
        let seq = nextSequence()
        let message = request(IPVS_CMD_GET_SERVICE, flags: NLM_F_DUMP, sequence: seq)
        var out: [VirtualService] = []
        for reply in try dump(message, sequence: seq, operation: "dump IPVS virtual services") {
            guard let attributes = reply.nested(UInt16(IPVS_CMD_ATTR_SERVICE)) else { continue }
            if let service = try Self.parseService(attributes) { out.append(service) }
        }
        return out
    }

    /// A destination as the kernel reports it, with its connection counts (what draining waits on).
    public struct DestinationState: Sendable, Hashable {
        public var destination: Destination
        public var activeConnections: UInt32
        public var inactiveConnections: UInt32
    }

    /// The destinations of one virtual service.
    public func destinations(of key: VirtualServiceKey) throws(IPVSError) -> [DestinationState] {
        let seq = nextSequence()
        var message = request(IPVS_CMD_GET_DEST, flags: NLM_F_DUMP, sequence: seq)
        message.nest(UInt16(IPVS_CMD_ATTR_SERVICE)) { Self.putServiceKey(key, into: &$0) }
        var out: [DestinationState] = []
        for reply in try dump(message, sequence: seq, operation: "dump destinations of \(key)") {
            guard let a = reply.nested(UInt16(IPVS_CMD_ATTR_DEST)) else { continue }
            let familyCode = a.u16(UInt16(IPVS_DEST_ATTR_ADDR_FAMILY)).map(Int32.init) ?? Self.af(key.family)
            guard let raw = a[UInt16(IPVS_DEST_ATTR_ADDR)],
                let address = IPAddress(bytes: Array(raw.prefix(familyCode == AF_INET6 ? 16 : 4))),
                let port = a.be16(UInt16(IPVS_DEST_ATTR_PORT))
            else { throw .malformedReply("destination of \(key) without address or port") }
            let method = a.u32(UInt16(IPVS_DEST_ATTR_FWD_METHOD)).map { $0 & UInt32(IP_VS_CONN_F_FWD_MASK) }
            out.append(
                DestinationState(
                    destination: Destination(
                        key: DestinationKey(address: address, port: port),
                        weight: a.u32(UInt16(IPVS_DEST_ATTR_WEIGHT)) ?? 0,
                        forwarding: method.flatMap(ForwardingMethod.init(rawValue:)) ?? .masquerade),
                    activeConnections: a.u32(UInt16(IPVS_DEST_ATTR_ACTIVE_CONNS)) ?? 0,
                    inactiveConnections: a.u32(UInt16(IPVS_DEST_ATTR_INACT_CONNS)) ?? 0))
        }
        return out
    }

    /// The whole table: every virtual service with its destinations (one dump, then one per service).
    public func table(
        where include: (VirtualServiceKey) -> Bool = { _ in true }
    ) throws(IPVSError)
        -> [VirtualServiceKey: ServiceEntry]
    {
        var out: [VirtualServiceKey: ServiceEntry] = [:]
        for service in try services() where include(service.key) {
            out[service.key] = ServiceEntry(
                service: service, destinations: try destinations(of: service.key).map(\.destination))
        }
        return out
    }

    static func af(_ family: AddressFamily) -> Int32 { family == .ipv4 ? AF_INET : AF_INET6 }

    private static func parseService(_ a: Attributes) throws(IPVSError) -> VirtualService? {
        guard let familyCode = a.u16(UInt16(IPVS_SVC_ATTR_AF)),
            let protoNumber = a.u16(UInt16(IPVS_SVC_ATTR_PROTOCOL)),
            let raw = a[UInt16(IPVS_SVC_ATTR_ADDR)],
            let port = a.be16(UInt16(IPVS_SVC_ATTR_PORT))
        else {
            // A fwmark service has no address/port.
            return nil
        }
        guard let proto = IPVSProtocol(rawValue: protoNumber) else { return nil }
        guard let address = IPAddress(bytes: Array(raw.prefix(Int32(familyCode) == AF_INET6 ? 16 : 4))) else {
            throw .malformedReply("virtual service with an unreadable address")
        }
        let key = VirtualServiceKey(address: address, proto: proto, port: port)
        var service = VirtualService(key: key, scheduler: a.string(UInt16(IPVS_SVC_ATTR_SCHED_NAME)) ?? "")
        if let flags = a[UInt16(IPVS_SVC_ATTR_FLAGS)], flags.count >= 4 {
            let value = flags.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            service.flags = ServiceFlags(rawValue: value).subtracting(.hashed)
        }
        service.timeout = a.u32(UInt16(IPVS_SVC_ATTR_TIMEOUT)) ?? 0
        service.netmask = a.u32(UInt16(IPVS_SVC_ATTR_NETMASK)) ?? VirtualService.hostNetmask(key.family)
        return service
    }

    // MARK: writing

    private static func putServiceKey(_ key: VirtualServiceKey, into m: inout GenericNetlinkMessage) {
        m.put(UInt16(IPVS_SVC_ATTR_AF), u16: UInt16(af(key.family)))
        m.put(UInt16(IPVS_SVC_ATTR_PROTOCOL), u16: key.proto.rawValue)
        m.put(UInt16(IPVS_SVC_ATTR_ADDR), bytes: key.address.bytes)
        m.put(UInt16(IPVS_SVC_ATTR_PORT), be16: key.port)
    }

    private static func putService(_ s: VirtualService, into m: inout GenericNetlinkMessage) {
        putServiceKey(s.key, into: &m)
        m.put(UInt16(IPVS_SVC_ATTR_SCHED_NAME), string: s.scheduler)
        // struct ip_vs_flags { __u32 flags; __u32 mask; }
        let flags = withUnsafeBytes(of: s.flags.rawValue) { Array($0) }
        let mask = withUnsafeBytes(of: ServiceFlags.settable.rawValue) { Array($0) }
        m.put(UInt16(IPVS_SVC_ATTR_FLAGS), bytes: flags + mask)
        m.put(UInt16(IPVS_SVC_ATTR_TIMEOUT), u32: s.timeout)
        m.put(UInt16(IPVS_SVC_ATTR_NETMASK), u32: s.netmask)
    }

    private static func putDestination(_ d: Destination, into m: inout GenericNetlinkMessage) {
        m.put(UInt16(IPVS_DEST_ATTR_ADDR), bytes: d.key.address.bytes)
        m.put(UInt16(IPVS_DEST_ATTR_PORT), be16: d.key.port)
        m.put(UInt16(IPVS_DEST_ATTR_FWD_METHOD), u32: d.forwarding.rawValue)
        m.put(UInt16(IPVS_DEST_ATTR_WEIGHT), u32: d.weight)
        m.put(UInt16(IPVS_DEST_ATTR_U_THRESH), u32: 0)
        m.put(UInt16(IPVS_DEST_ATTR_L_THRESH), u32: 0)
        m.put(UInt16(IPVS_DEST_ATTR_ADDR_FAMILY), u16: UInt16(af(d.key.address.family)))
    }

    private func encode(_ operation: IPVSOperation, sequence seq: UInt32) -> [UInt8] {
        let serviceAttribute = UInt16(IPVS_CMD_ATTR_SERVICE)
        let destinationAttribute = UInt16(IPVS_CMD_ATTR_DEST)
        var m: GenericNetlinkMessage
        switch operation {
        case .addService(let s), .updateService(let s):
            let command = if case .addService = operation { IPVS_CMD_NEW_SERVICE } else { IPVS_CMD_SET_SERVICE }
            m = request(command, flags: NLM_F_ACK, sequence: seq)
            m.nest(serviceAttribute) { Self.putService(s, into: &$0) }
        case .deleteService(let key):
            m = request(IPVS_CMD_DEL_SERVICE, flags: NLM_F_ACK, sequence: seq)
            m.nest(serviceAttribute) { Self.putServiceKey(key, into: &$0) }
        case .addDestination(let key, let d), .updateDestination(let key, let d):
            let command = if case .addDestination = operation { IPVS_CMD_NEW_DEST } else { IPVS_CMD_SET_DEST }
            m = request(command, flags: NLM_F_ACK, sequence: seq)
            m.nest(serviceAttribute) { Self.putServiceKey(key, into: &$0) }
            m.nest(destinationAttribute) { Self.putDestination(d, into: &$0) }
        case .deleteDestination(let key, let d):
            m = request(IPVS_CMD_DEL_DEST, flags: NLM_F_ACK, sequence: seq)
            m.nest(serviceAttribute) { Self.putServiceKey(key, into: &$0) }
            m.nest(destinationAttribute) {
                $0.put(UInt16(IPVS_DEST_ATTR_ADDR), bytes: d.address.bytes)
                $0.put(UInt16(IPVS_DEST_ATTR_PORT), be16: d.port)
                $0.put(UInt16(IPVS_DEST_ATTR_ADDR_FAMILY), u16: UInt16(Self.af(d.address.family)))
            }
        }
        return m.finished
    }

    /// What `apply` did: the operations the kernel accepted, in order, and what it refused.
    public struct ApplyResult: Sendable {
        public var applied: [IPVSOperation] = []
        /// One error per virtual service: its first refused operation.
        public var failures: [IPVSError] = []
        /// Operations not applied because an earlier one for the same virtual service was refused.
        public var skipped: [IPVSOperation] = []
        public var messages = 0
        public var bytes = 0
    }

    /// Sends `operations` in order, many per `sendmsg`, and waits for every ack. A refused operation does not stop
    /// the others (except later operations on the same virtual service, which are skipped: they would fail too).
    ///
    /// - Parameter owner: names the Service of a virtual service, for errors.
    /// - Throws: only when the socket itself fails; refusals are in the result.
    public func apply(
        _ operations: [IPVSOperation], owner: (VirtualServiceKey) -> String? = { _ in nil }
    )
        throws(IPVSError) -> ApplyResult
    {
        var result = ApplyResult()
        let startMessages = messagesSent
        let startBytes = bytesSent
        var failedKeys = Set<VirtualServiceKey>()
        let maximumBytes = 1 << 16
        let maximumMessages = 1024
        var next = 0
        while next < operations.count {
            let first = sequence
            var batch: [UInt8] = []
            var members: [Int] = []
            while next < operations.count, members.count < maximumMessages {
                let operation = operations[next]
                if failedKeys.contains(operation.serviceKey) {
                    result.skipped.append(operation)
                    next += 1
                    continue
                }
                let bytes = encode(operation, sequence: first &+ UInt32(members.count))
                if !batch.isEmpty, batch.count + bytes.count > maximumBytes { break }
                batch += bytes
                members.append(next)
                next += 1
            }
            guard !members.isEmpty else { continue }
            sequence &+= UInt32(members.count)
            try send(batch, messages: members.count, operation: "send \(members.count) IPVS requests")
            var outcome = [Int32?](repeating: nil, count: members.count)
            var pending = members.count
            while pending > 0 {
                for reply in try receive(operation: "read acks of \(members.count) IPVS requests") {
                    let index = Int(reply.sequence &- first)
                    guard reply.type == UInt16(NLMSG_ERROR), outcome.indices.contains(index), outcome[index] == nil
                    else { continue }
                    outcome[index] = -reply.errorCode
                    pending -= 1
                }
            }
            for (position, index) in members.enumerated() {
                let operation = operations[index]
                let code = outcome[position] ?? EIO
                // Deleting what is already gone (it expired, or someone else removed it) reaches the goal.
                if code == 0 || (code == ENOENT && operation.isDeletion) {
                    result.applied.append(operation)
                } else if failedKeys.insert(operation.serviceKey).inserted {
                    result.failures.append(
                        .rejected(operation: operation, owner: owner(operation.serviceKey), errno: code))
                } else {
                    // Sent before the first refusal was known; failed because of it (e.g. a destination of a service
                    // that could not be created): the first error says it all.
                    result.skipped.append(operation)
                }
            }
        }
        result.messages = messagesSent - startMessages
        result.bytes = bytesSent - startBytes
        return result
    }

    /// Sets the connection timeouts (`ipvsadm --set tcp tcpfin udp`); 0 leaves a value unchanged.
    public func setTimeouts(tcp: UInt32, tcpFin: UInt32, udp: UInt32) throws(IPVSError) {
        let seq = nextSequence()
        var m = request(IPVS_CMD_SET_CONFIG, flags: NLM_F_ACK, sequence: seq)
        m.put(UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP), u32: tcp)
        m.put(UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN), u32: tcpFin)
        m.put(UInt16(IPVS_CMD_ATTR_TIMEOUT_UDP), u32: udp)
        try send(m.finished, messages: 1, operation: "set IPVS timeouts")
        while true {
            for reply in try receive(operation: "set IPVS timeouts") where reply.sequence == seq {
                let code = -reply.errorCode
                if code != 0 { throw .system(operation: "set IPVS timeouts", errno: code) }
                return
            }
        }
    }

    /// The connection timeouts in seconds (`ipvsadm -L --timeout`).
    public func timeouts() throws(IPVSError) -> (tcp: UInt32, tcpFin: UInt32, udp: UInt32) {
        let seq = nextSequence()
        let m = request(IPVS_CMD_GET_CONFIG, sequence: seq)
        try send(m.finished, messages: 1, operation: "read IPVS timeouts")
        while true {
            for reply in try receive(operation: "read IPVS timeouts") where reply.sequence == seq {
                if reply.type == UInt16(NLMSG_ERROR) {
                    throw .system(operation: "read IPVS timeouts", errno: -reply.errorCode)
                }
                let a = reply.attributes
                return (
                    a.u32(UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP)) ?? 0,
                    a.u32(UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)) ?? 0,
                    a.u32(UInt16(IPVS_CMD_ATTR_TIMEOUT_UDP)) ?? 0
                )
            }
        }
    }
}
