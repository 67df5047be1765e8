import LinkNetlink

/// Picks an address from one range set: a requested one when asked, otherwise round-robin.
///
/// Round-robin (continuing after the last address handed out rather than taking the lowest free one) is what
/// host-local does and what Kubernetes expects: a pod's address is not reused by the next pod at once, so
/// connections and conntrack entries of a deleted pod cannot reach its successor. Pure: the store supplies the
/// reserved addresses and the last one handed out.
public struct AddressAllocator: Sendable {
    /// The ranges, tried in order.
    public let ranges: [AddressRange]
    /// The index of this range set in the configuration, for messages.
    public let setIndex: Int

    public init(ranges: [AddressRange], setIndex: Int) {
        self.ranges = ranges
        self.setIndex = setIndex
    }

    /// Whether `address` belongs to one of the ranges (and so to this range set).
    public func owns(_ address: InetAddress) -> Bool {
        ranges.contains { $0.contains(address) }
    }

    /// Chooses an address.
    ///
    /// - Parameters:
    ///   - requested: an address the runtime asked for (`IP=`, `ips`); it must lie in a range, not be a gateway
    ///     and be free.
    ///   - reserved: whether an address is taken.
    ///   - lastReserved: the address handed out last from this range set; the search starts after it.
    /// - Returns: the address and the range it came from.
    /// - Throws: ``CNIError`` 103 for an unusable requested address, 102 when every address is taken.
    public func allocate(
        requested: InetAddress?, reserved: (InetAddress) -> Bool, lastReserved: InetAddress?
    ) throws(CNIError) -> (address: InetAddress, range: AddressRange) {
        if let requested {
            guard let range = ranges.first(where: { $0.contains(requested) }) else {
                throw CNIError(
                    .addressUnavailable,
                    "requested IP \(requested) is outside every range of range set \(setIndex) (\(rangeList))")
            }
            guard !isGateway(requested) else {
                throw CNIError(.addressUnavailable, "requested IP \(requested) is the gateway of range set \(setIndex)")
            }
            guard !reserved(requested) else {
                throw CNIError(
                    .addressUnavailable, "requested IP \(requested) is already allocated to another container")
            }
            return (requested, range)
        }
        var rangeIndex = 0
        var next = ranges[0].start
        if let lastReserved, let index = ranges.firstIndex(where: { $0.contains(lastReserved) }) {
            rangeIndex = index
            if lastReserved < ranges[index].end, let following = lastReserved.advanced(by: 1) {
                next = following
            } else {
                rangeIndex = (index + 1) % ranges.count
                next = ranges[rangeIndex].start
            }
        }
        let total = ranges.reduce(UInt128(0)) { $0 &+ $1.size }
        var visited: UInt128 = 0
        while visited < total {
            let range = ranges[rangeIndex]
            var candidate = next
            while candidate <= range.end && visited < total {
                visited += 1
                if !isGateway(candidate) && !reserved(candidate) {
                    return (candidate, range)
                }
                guard let following = candidate.advanced(by: 1) else {
                    break
                }
                candidate = following
            }
            rangeIndex = (rangeIndex + 1) % ranges.count
            next = ranges[rangeIndex].start
        }
        throw CNIError(
            .rangeExhausted,
            "no free IP address left in range set \(setIndex) (\(rangeList)); delete unused pods, run GC, or add a range"
        )
    }

    /// Whether some address is free, for STATUS. Stops at the first free one.
    public func hasFreeAddress(reservedCount: Int, reserved: (InetAddress) -> Bool) -> Bool {
        let total = ranges.reduce(UInt128(0)) { $0 &+ $1.size }
        let gateways = UInt128(Set(ranges.map(\.gateway).filter(owns)).count)
        if total > UInt128(reservedCount) + gateways {
            return true
        }
        return (try? allocate(requested: nil, reserved: reserved, lastReserved: nil)) != nil
    }

    private func isGateway(_ address: InetAddress) -> Bool {
        ranges.contains { $0.gateway == address }
    }

    private var rangeList: String {
        ranges.map { "\($0.start)-\($0.end)" }.joined(separator: ", ")
    }
}
