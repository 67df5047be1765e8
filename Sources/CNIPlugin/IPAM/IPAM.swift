import LinkNetlink

/// Allocation and release for one network: the allocator's choices made durable in the store, under its lock.
struct IPAM {
    let configuration: IPAMConfiguration
    let store: AllocationStore

    init(_ configuration: IPAMConfiguration, network: String) throws(CNIError) {
        self.configuration = configuration
        store = try AllocationStore(dataDirectory: configuration.dataDirectory, network: network)
    }

    var allocators: [AddressAllocator] {
        configuration.rangeSets.enumerated().map { AddressAllocator(ranges: $1, setIndex: $0) }
    }

    /// Takes one address from every range set for `attachment`, honouring requested addresses.
    ///
    /// An attachment that already holds addresses (a runtime retrying ADD) gets them again rather than new ones.
    /// All or nothing: when a later range set fails, the records made for earlier ones are removed.
    /// `pod` (`namespace/name`), when known, is recorded next to each address (see `AllocationStore.recordPod`).
    func allocate(
        for attachment: AttachmentID, requested: [InetAddress], pod: String? = nil
    ) throws(CNIError) -> [CNIResult.IPConfig] {
        try store.withLock { () throws(CNIError) -> [CNIResult.IPConfig] in
            let (taken, held) = try store.scan(for: attachment)
            var unclaimed = requested
            var allocated: [CNIResult.IPConfig] = []
            var recorded: [InetAddress] = []
            do throws(CNIError) {
                for allocator in allocators {
                    let request = unclaimed.firstIndex(where: allocator.owns).map { unclaimed.remove(at: $0) }
                    if request == nil, let existing = held.first(where: allocator.owns),
                        let range = allocator.ranges.first(where: { $0.contains(existing) })
                    {
                        allocated.append(ipConfig(existing, range))
                        continue
                    }
                    let last = try store.lastReserved(setIndex: allocator.setIndex)
                    let (address, range) = try allocator.allocate(
                        requested: request, reserved: { taken.contains($0) }, lastReserved: last)
                    guard try store.reserve(address, for: attachment) else {
                        throw CNIError(.addressUnavailable, "IP \(address) was recorded by another writer meanwhile")
                    }
                    recorded.append(address)
                    if let pod { try store.recordPod(pod, holding: address, for: attachment) }
                    try store.recordLastReserved(address, setIndex: allocator.setIndex)
                    allocated.append(ipConfig(address, range))
                }
                if let stray = unclaimed.first {
                    throw CNIError(.addressUnavailable, "requested IP \(stray) is outside every range of this network")
                }
            } catch {
                for address in recorded {
                    try? store.release(address)
                }
                throw error
            }
            return allocated
        }
    }

    /// Releases every address `attachment` holds; returns them.
    @discardableResult
    func release(_ attachment: AttachmentID) throws(CNIError) -> [InetAddress] {
        try store.withLock { () throws(CNIError) -> [InetAddress] in
            let held = try store.scan(for: attachment).held
            for address in held {
                try store.release(address)
            }
            return held
        }
    }

    private func ipConfig(_ address: InetAddress, _ range: AddressRange) -> CNIResult.IPConfig {
        CNIResult.IPConfig(
            address: InetPrefix(address: address, length: range.subnet.length)!, gateway: range.gateway)
    }
}
