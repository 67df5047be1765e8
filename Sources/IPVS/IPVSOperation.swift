/// One change to the kernel's IPVS table: one generic-netlink request.
public enum IPVSOperation: Sendable, Hashable, CustomStringConvertible {
    /// `IPVS_CMD_NEW_SERVICE`
    case addService(VirtualService)
    /// `IPVS_CMD_SET_SERVICE`: scheduler, flags and persistence change in place, keeping connections.
    case updateService(VirtualService)
    /// `IPVS_CMD_DEL_SERVICE`: its destinations go with it.
    case deleteService(VirtualServiceKey)
    /// `IPVS_CMD_NEW_DEST`
    case addDestination(VirtualServiceKey, Destination)
    /// `IPVS_CMD_SET_DEST`: a weight change (0 quiesces a terminating endpoint).
    case updateDestination(VirtualServiceKey, Destination)
    /// `IPVS_CMD_DEL_DEST`
    case deleteDestination(VirtualServiceKey, DestinationKey)

    /// The virtual service the operation touches (what an error is reported against).
    public var serviceKey: VirtualServiceKey {
        switch self {
        case .addService(let s), .updateService(let s): s.key
        case .deleteService(let k), .addDestination(let k, _), .updateDestination(let k, _),
            .deleteDestination(let k, _):
            k
        }
    }

    /// Whether it removes something (its goal is met when the kernel no longer has the object).
    public var isDeletion: Bool {
        switch self {
        case .deleteService, .deleteDestination: true
        default: false
        }
    }

    /// `ipvsadm`-like text, for logs and errors.
    public var description: String {
        switch self {
        case .addService(let s): "add virtual service \(s)"
        case .updateService(let s): "edit virtual service \(s)"
        case .deleteService(let k): "delete virtual service \(k)"
        case .addDestination(let k, let d): "add destination \(d) to \(k)"
        case .updateDestination(let k, let d): "edit destination \(d) of \(k)"
        case .deleteDestination(let k, let d): "delete destination \(d) from \(k)"
        }
    }
}

/// Turns "what the kernel holds" into "what is desired" with the fewest requests, and keeps terminating
/// destinations draining (weight 0) instead of cutting their connections.
public enum IPVSDiff {
    /// Operations for the virtual services in `keys` (all of both sides when `nil`), in a safe order: services
    /// are created before their destinations and deleted with them (the kernel drops a deleted service's
    /// destinations itself).
    ///
    /// A destination the kernel holds but `desired` lacks is set to weight 0 (when `drain` is true) rather than
    /// deleted: new connections avoid it while existing ones finish. One already at weight 0 is left alone —
    /// it is draining, and `DrainTracker` deletes it once idle.
    public static func operations(
        from kernel: [VirtualServiceKey: ServiceEntry], to desired: [VirtualServiceKey: ServiceEntry],
        keys: Set<VirtualServiceKey>? = nil, drain: Bool = true
    ) -> [IPVSOperation] {
        let all = keys ?? Set(kernel.keys).union(desired.keys)
        var ops: [IPVSOperation] = []
        for key in all.sorted() {
            switch (kernel[key], desired[key]) {
            case (nil, nil):
                continue
            case (let old?, nil):
                _ = old
                ops.append(.deleteService(key))
            case (nil, let new?):
                ops.append(.addService(new.service))
                for key2 in new.destinations.keys.sorted() {
                    ops.append(.addDestination(key, new.destinations[key2]!))
                }
            case (let old?, let new?):
                if old.service != new.service { ops.append(.updateService(new.service)) }
                for destinationKey in Set(old.destinations.keys).union(new.destinations.keys).sorted() {
                    switch (old.destinations[destinationKey], new.destinations[destinationKey]) {
                    case (nil, let added?):
                        ops.append(.addDestination(key, added))
                    case (let held?, nil):
                        if !drain {
                            ops.append(.deleteDestination(key, destinationKey))
                        } else if held.weight != 0 {
                            var quiesced = held
                            quiesced.weight = 0
                            ops.append(.updateDestination(key, quiesced))
                        }
                    case (let held?, let wanted?):
                        if held != wanted { ops.append(.updateDestination(key, wanted)) }
                    case (nil, nil):
                        break
                    }
                }
            }
        }
        return ops
    }

    /// Applies an operation the kernel accepted to a model of the kernel's table.
    public static func apply(_ operation: IPVSOperation, to kernel: inout [VirtualServiceKey: ServiceEntry]) {
        switch operation {
        case .addService(let s):
            kernel[s.key] = ServiceEntry(service: s)
        case .updateService(let s):
            kernel[s.key]?.service = s
        case .deleteService(let key):
            kernel[key] = nil
        case .addDestination(let key, let d), .updateDestination(let key, let d):
            kernel[key]?.destinations[d.key] = d
        case .deleteDestination(let key, let d):
            kernel[key]?.destinations[d] = nil
        }
    }
}
