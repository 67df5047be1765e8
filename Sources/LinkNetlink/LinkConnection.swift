internal import CNLRoute
import Glibc

/// An rtnetlink connection to one network namespace: links, addresses, routes, neighbours and FDB entries.
///
/// The socket belongs to the namespace of the thread that creates the connection (create it inside
/// `NetworkNamespace.run` to talk to a pod's namespace); afterwards any thread may use it, one call at a time.
/// Every request goes through ``request(_:operation:object:)``, which waits for the kernel's acknowledgement and
/// turns its errno into a ``LinkError`` naming the object, so callers never see libnl's own error numbers (which
/// merge distinct errnos such as `ENODEV` and `ENOENT`).
public final class LinkConnection {
    private let socket: OpaquePointer
    /// Where the error callback leaves the errno of the last `NLMSG_ERROR`; libnl hands the callback this pointer.
    private let lastError = ErrorSlot()

    /// Opens a connection to the calling thread's network namespace.
    ///
    /// - Throws: ``LinkError`` when no netlink socket can be opened (out of memory or file descriptors).
    public init() throws(LinkError) {
        guard let socket = nl_socket_alloc() else {
            throw LinkError("open", object: "rtnetlink socket", code: ENOMEM)
        }
        self.socket = socket
        let status = nl_connect(socket, NETLINK_ROUTE)
        guard status >= 0 else {
            let code = errno
            nl_socket_free(socket)
            throw LinkError("open", object: "rtnetlink socket", code: code == 0 ? EIO : code)
        }
        _ = nl_socket_modify_err_cb(
            socket, NL_CB_CUSTOM,
            { _, error, slot in
                Unmanaged<ErrorSlot>.fromOpaque(slot!).takeUnretainedValue().code = sluice_nlmsgerr_errno(error)
                return Int32(NL_STOP.rawValue)
            }, Unmanaged.passUnretained(lastError).toOpaque())
    }

    deinit {
        nl_socket_free(socket)
    }

    // MARK: links

    /// The link named `name`, or `nil` when there is none.
    public func link(named name: String) throws(LinkError) -> Link? {
        var found: OpaquePointer?
        lastError.code = 0
        let status = rtnl_link_get_kernel(socket, 0, name, &found)
        guard status >= 0, let found else {
            let code = failure(status)
            if code == ENODEV || code == ENOENT {
                return nil
            }
            throw LinkError("get link", object: name, code: code)
        }
        defer { rtnl_link_put(found) }
        return Link(found)
    }

    /// The link with index `index`, or `nil` when there is none.
    public func link(index: Int32) throws(LinkError) -> Link? {
        var found: OpaquePointer?
        lastError.code = 0
        let status = rtnl_link_get_kernel(socket, index, nil, &found)
        guard status >= 0, let found else {
            let code = failure(status)
            if code == ENODEV || code == ENOENT {
                return nil
            }
            throw LinkError("get link", object: "index \(index)", code: code)
        }
        defer { rtnl_link_put(found) }
        return Link(found)
    }

    /// Every link of the namespace, e.g. to find the ports of a bridge.
    public func links() throws(LinkError) -> [Link] {
        var cache: OpaquePointer?
        lastError.code = 0
        let status = rtnl_link_alloc_cache(socket, AF_UNSPEC, &cache)
        guard status >= 0, let cache else {
            throw LinkError("list", object: "links", code: failure(status))
        }
        defer { nl_cache_free(cache) }
        var links: [Link] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            links.append(Link(current))
            object = nl_cache_get_next(current)
        }
        return links
    }

    /// Creates a bridge named `name`, down, with an optional MTU and MAC address.
    ///
    /// - Throws: ``LinkError``; ``LinkError/isExists`` when a link of that name exists (a concurrent caller may
    ///   have just created it: look it up and adopt it if it is a bridge).
    public func createBridge(named name: String, mtu: Int? = nil, mac: MACAddress? = nil) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL)
        message.append(header: linkHeader())
        message.put(IFLA_IFNAME, string: name)
        if let mtu {
            message.put(IFLA_MTU, u32: UInt32(mtu))
        }
        if let mac {
            message.put(IFLA_ADDRESS, bytes: mac.bytes)
        }
        message.nest(IFLA_LINKINFO) {
            message.put(IFLA_INFO_KIND, string: "bridge")
        }
        try request(message, operation: "create bridge", object: name)
    }

    /// Creates a dummy interface named `name`, down: a place to bind addresses the kernel should treat as local
    /// without any traffic leaving through it (IPVS mode binds Service IPs on one, like kube-proxy's `kube-ipvs0`).
    ///
    /// - Throws: ``LinkError``; ``LinkError/isExists`` when a link of that name exists.
    public func createDummy(named name: String) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL)
        message.append(header: linkHeader())
        message.put(IFLA_IFNAME, string: name)
        message.nest(IFLA_LINKINFO) {
            message.put(IFLA_INFO_KIND, string: "dummy")
        }
        try request(message, operation: "create dummy interface", object: name)
    }

    /// Creates a veth pair in one request: this side named `name` (optionally already a port of the bridge with
    /// index `master`), the peer created directly inside another namespace under its final name.
    ///
    /// Creating the peer in place avoids the create-then-move-then-rename dance and its races (two pods briefly
    /// holding the same temporary name, a crash leaving a renamed-but-unconfigured peer behind); making the host
    /// side a bridge port at birth means no window in which a crash leaves an unattached veth.
    ///
    /// - Throws: ``LinkError``; ``LinkError/isExists`` when either name is taken in its namespace.
    public func createVeth(named name: String, mtu: Int? = nil, master: Int32? = nil, peer: VethPeer) throws(LinkError)
    {
        let message = RouteMessage(type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL)
        message.append(header: linkHeader())
        message.put(IFLA_IFNAME, string: name)
        if let mtu {
            message.put(IFLA_MTU, u32: UInt32(mtu))
        }
        if let master {
            message.put(IFLA_MASTER, u32: UInt32(master))
        }
        message.nest(IFLA_LINKINFO) {
            message.put(IFLA_INFO_KIND, string: "veth")
            message.nest(IFLA_INFO_DATA) {
                message.nest(VETH_INFO_PEER) {
                    message.append(header: linkHeader())
                    message.put(IFLA_IFNAME, string: peer.name)
                    if let namespaceFD = peer.namespaceFD {
                        message.put(IFLA_NET_NS_FD, u32: UInt32(bitPattern: namespaceFD))
                    }
                    if let mtu {
                        message.put(IFLA_MTU, u32: UInt32(mtu))
                    }
                    if let mac = peer.mac {
                        message.put(IFLA_ADDRESS, bytes: mac.bytes)
                    }
                }
            }
        }
        try request(message, operation: "create veth", object: "\(name) (peer \(peer.name))")
    }

    /// Creates a VXLAN device (`ip link add NAME type vxlan id VNI dstport PORT dev UNDERLAY local ADDRESS
    /// nolearning`), down, for an overlay whose remote endpoints come from static FDB and neighbour entries.
    ///
    /// - Parameters:
    ///   - vni: the VXLAN network identifier (24 bits).
    ///   - port: the UDP destination port (8472 is the Linux and flannel default, 4789 the IANA one).
    ///   - underlayIndex: the index of the link tunnelled packets leave by, or `nil` to let routing decide.
    ///   - localAddress: the source address of tunnelled packets (the node's underlay address).
    ///   - learning: whether the device learns remote MACs from incoming packets; an overlay with static entries
    ///     wants it off.
    ///   - mtu: the device MTU: the underlay's minus 50 bytes for an IPv4 underlay, 70 for IPv6.
    ///   - mac: the device's MAC (the VTEP MAC other nodes point at); `nil` lets the kernel pick a random one.
    /// - Throws: ``LinkError``; ``LinkError/isExists`` when a link of that name exists.
    public func createVXLAN(
        named name: String, vni: UInt32, port: UInt16, underlayIndex: Int32?, localAddress: InetAddress?,
        learning: Bool = false, mtu: Int? = nil, mac: MACAddress? = nil
    ) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL)
        message.append(header: linkHeader())
        message.put(IFLA_IFNAME, string: name)
        if let mtu {
            message.put(IFLA_MTU, u32: UInt32(mtu))
        }
        if let mac {
            message.put(IFLA_ADDRESS, bytes: mac.bytes)
        }
        message.nest(IFLA_LINKINFO) {
            message.put(IFLA_INFO_KIND, string: "vxlan")
            message.nest(IFLA_INFO_DATA) {
                message.put(IFLA_VXLAN_ID, u32: vni)
                // The port attribute is in network byte order, unlike every other integer here.
                message.put(IFLA_VXLAN_PORT, u16: port.bigEndian)
                message.put(IFLA_VXLAN_LEARNING, u8: learning ? 1 : 0)
                if let underlayIndex {
                    message.put(IFLA_VXLAN_LINK, u32: UInt32(underlayIndex))
                }
                if let localAddress {
                    let type = localAddress.isIPv6 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL
                    message.put(type, bytes: localAddress.bytes)
                }
            }
        }
        try request(message, operation: "create vxlan", object: "\(name) (vni \(vni), port \(port))")
    }

    /// Brings the link up or down (`ip link set … up|down`).
    public func setUp(_ isUp: Bool = true, index: Int32, name: String) throws(LinkError) {
        try setFlags(isUp ? UInt32(IFF_UP) : 0, mask: UInt32(IFF_UP), index: index, name: name)
    }

    /// Turns promiscuous mode on or off (`ip link set … promisc on|off`).
    public func setPromiscuous(_ isOn: Bool, index: Int32, name: String) throws(LinkError) {
        let flag = UInt32(IFF_PROMISC)
        try setFlags(isOn ? flag : 0, mask: flag, index: index, name: name)
    }

    /// Sets the link's MTU (`ip link set … mtu N`).
    public func setMTU(_ mtu: Int, index: Int32, name: String) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWLINK)
        message.append(header: linkHeader(index: index))
        message.put(IFLA_MTU, u32: UInt32(mtu))
        try request(message, operation: "set mtu \(mtu) of", object: name)
    }

    /// Sets bridge-port options of a link that is a bridge port (`ip link set … type bridge_slave …`).
    ///
    /// - Parameters:
    ///   - hairpin: whether the bridge may send a frame back out of the port it came in on, which a pod reaching
    ///     itself through a Service or hostPort needs.
    ///   - locked: whether the port drops frames whose source MAC has no FDB entry pointing to it (kernel 5.18+);
    ///     with one static entry for the pod's MAC it stops MAC spoofing.
    ///   - learning: whether the bridge learns source MACs from the port (a locked port wants it off).
    public func setBridgePort(
        index: Int32, name: String, hairpin: Bool? = nil, locked: Bool? = nil, learning: Bool? = nil
    ) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWLINK)
        message.append(header: linkHeader(index: index))
        message.nest(IFLA_LINKINFO) {
            message.put(IFLA_INFO_SLAVE_KIND, string: "bridge")
            message.nest(IFLA_INFO_SLAVE_DATA) {
                if let hairpin {
                    message.put(IFLA_BRPORT_MODE, u8: hairpin ? 1 : 0)
                }
                if let learning {
                    message.put(IFLA_BRPORT_LEARNING, u8: learning ? 1 : 0)
                }
                if let locked {
                    message.put(IFLA_BRPORT_LOCKED, u8: locked ? 1 : 0)
                }
            }
        }
        try request(message, operation: "set bridge port options of", object: name)
    }

    /// Deletes the link named `name` (for a veth, both ends).
    ///
    /// - Throws: ``LinkError``; ``LinkError/isNotFound`` when there is no such link.
    public func deleteLink(named name: String) throws(LinkError) {
        let message = RouteMessage(type: RTM_DELLINK)
        message.append(header: linkHeader())
        message.put(IFLA_IFNAME, string: name)
        try request(message, operation: "delete link", object: name)
    }

    private func setFlags(_ flags: UInt32, mask: UInt32, index: Int32, name: String) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWLINK)
        message.append(header: linkHeader(index: index, flags: flags, change: mask))
        try request(message, operation: "set flags of", object: name)
    }

    // MARK: addresses

    /// Adds `address` to the link with index `index` (`ip address add`).
    ///
    /// - Parameter noDAD: skip IPv6 duplicate address detection (`nodad`), so the address is usable at once
    ///   instead of after about a second; addresses handed out by IPAM are unique by construction.
    /// - Throws: ``LinkError``; ``LinkError/isExists`` when the link already has the address.
    public func addAddress(_ address: InetPrefix, index: Int32, name: String, noDAD: Bool = true) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_EXCL)
        var header = ifaddrmsg()
        header.ifa_family = UInt8(address.address.family)
        header.ifa_prefixlen = UInt8(address.length)
        header.ifa_index = UInt32(index)
        message.append(header: header)
        message.put(IFA_LOCAL, bytes: address.address.bytes)
        message.put(IFA_ADDRESS, bytes: address.address.bytes)
        if !address.address.isIPv6 && address.length < 31 {
            message.put(IFA_BROADCAST, bytes: address.last.bytes)
        }
        if noDAD && address.address.isIPv6 {
            message.put(IFA_FLAGS, u32: UInt32(IFA_F_NODAD))
        }
        try request(message, operation: "add address", object: "\(address) on \(name)")
    }

    /// Removes `address` from the link with index `index` (`ip address del`).
    public func deleteAddress(_ address: InetPrefix, index: Int32, name: String) throws(LinkError) {
        let message = RouteMessage(type: RTM_DELADDR)
        var header = ifaddrmsg()
        header.ifa_family = UInt8(address.address.family)
        header.ifa_prefixlen = UInt8(address.length)
        header.ifa_index = UInt32(index)
        message.append(header: header)
        message.put(IFA_LOCAL, bytes: address.address.bytes)
        try request(message, operation: "delete address", object: "\(address) from \(name)")
    }

    /// The addresses of the link with index `index`, or of every link when `index` is `nil`.
    public func addresses(index: Int32? = nil) throws(LinkError) -> [InterfaceAddress] {
        var cache: OpaquePointer?
        lastError.code = 0
        let status = rtnl_addr_alloc_cache(socket, &cache)
        guard status >= 0, let cache else {
            throw LinkError("list", object: "addresses", code: failure(status))
        }
        defer { nl_cache_free(cache) }
        var result: [InterfaceAddress] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            object = nl_cache_get_next(current)
            let linkIndex = rtnl_addr_get_ifindex(current)
            guard index == nil || linkIndex == index, let local = rtnl_addr_get_local(current),
                let address = InetAddress(bytes: addressBytes(local)),
                let prefix = InetPrefix(address: address, length: Int(rtnl_addr_get_prefixlen(current)))
            else {
                continue
            }
            result.append(InterfaceAddress(index: linkIndex, address: prefix))
        }
        return result
    }

    // MARK: routes

    /// Adds a route in the main table (`ip route add`).
    ///
    /// - Throws: ``LinkError``; ``LinkError/isExists`` when the same route exists.
    public func addRoute(_ route: Route) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_EXCL)
        message.append(header: routeHeader(route))
        putRouteAttributes(route, into: message)
        try request(message, operation: "add route", object: route.description)
    }

    /// Adds a route in the main table or replaces the one to the same destination (`ip route replace`), so that a
    /// caller converging on a desired route need not know whether an older version of it exists.
    public func replaceRoute(_ route: Route) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_REPLACE)
        message.append(header: routeHeader(route))
        putRouteAttributes(route, into: message)
        try request(message, operation: "replace route", object: route.description)
    }

    /// Deletes a route of the main table (`ip route del`); the destination and whatever else `route` names
    /// (gateway, interface, metric) must match.
    ///
    /// - Throws: ``LinkError``; ``LinkError/isNotFound`` (`ESRCH`) when no such route exists.
    public func deleteRoute(_ route: Route) throws(LinkError) {
        let message = RouteMessage(type: RTM_DELROUTE)
        message.append(header: routeHeader(route))
        putRouteAttributes(route, into: message)
        try request(message, operation: "delete route", object: route.description)
    }

    private func routeHeader(_ route: Route) -> rtmsg {
        var header = rtmsg()
        header.rtm_family = UInt8(route.destination.address.family)
        header.rtm_dst_len = UInt8(route.destination.length)
        header.rtm_table = UInt8(truncatingIfNeeded: RT_TABLE_MAIN.rawValue)
        header.rtm_protocol = UInt8(RTPROT_BOOT)
        header.rtm_scope = UInt8(
            truncatingIfNeeded: route.gateway == nil ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue)
        header.rtm_type = UInt8(RTN_UNICAST)
        if route.isOnLink {
            header.rtm_flags = UInt32(RTNH_F_ONLINK)
        }
        return header
    }

    private func putRouteAttributes(_ route: Route, into message: RouteMessage) {
        if route.destination.length > 0 {
            message.put(RTA_DST.rawValue, bytes: route.destination.network.bytes)
        }
        if let gateway = route.gateway {
            message.put(RTA_GATEWAY.rawValue, bytes: gateway.bytes)
        }
        if let index = route.index {
            message.put(RTA_OIF.rawValue, u32: UInt32(index))
        }
        if let priority = route.priority {
            message.put(RTA_PRIORITY.rawValue, u32: priority)
        }
    }

    /// The routes of the main table for both families.
    public func routes() throws(LinkError) -> [Route] {
        var cache: OpaquePointer?
        lastError.code = 0
        let status = rtnl_route_alloc_cache(socket, AF_UNSPEC, 0, &cache)
        guard status >= 0, let cache else {
            throw LinkError("list", object: "routes", code: failure(status))
        }
        defer { nl_cache_free(cache) }
        var result: [Route] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            object = nl_cache_get_next(current)
            guard rtnl_route_get_table(current) == RT_TABLE_MAIN.rawValue, let destination = rtnl_route_get_dst(current)
            else {
                continue
            }
            let family = Int32(rtnl_route_get_family(current))
            var bytes = addressBytes(destination)
            if bytes.isEmpty {
                bytes = [UInt8](repeating: 0, count: family == AF_INET6 ? 16 : 4)
            }
            guard let address = InetAddress(bytes: bytes),
                let prefix = InetPrefix(address: address, length: Int(nl_addr_get_prefixlen(destination)))
            else {
                continue
            }
            var gateway: InetAddress?
            var index: Int32?
            var isOnLink = false
            if rtnl_route_get_nnexthops(current) > 0, let hop = rtnl_route_nexthop_n(current, 0) {
                gateway = rtnl_route_nh_get_gateway(hop).flatMap { InetAddress(bytes: addressBytes($0)) }
                index = rtnl_route_nh_get_ifindex(hop)
                isOnLink = rtnl_route_nh_get_flags(hop) & UInt32(RTNH_F_ONLINK) != 0
            }
            result.append(Route(destination: prefix, gateway: gateway, index: index, isOnLink: isOnLink))
        }
        return result
    }

    // MARK: neighbours and FDB

    /// Adds a permanent neighbour entry (`ip neigh replace ADDRESS lladdr MAC dev …`), as an overlay does for
    /// remote pods' gateways.
    public func replaceNeighbor(_ address: InetAddress, mac: MACAddress, index: Int32, name: String) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWNEIGH, flags: NLM_F_CREATE | NLM_F_REPLACE)
        message.append(header: neighborHeader(family: address.family, index: index, flags: 0))
        message.put(NDA_DST, bytes: address.bytes)
        message.put(NDA_LLADDR, bytes: mac.bytes)
        try request(message, operation: "replace neighbour", object: "\(address) lladdr \(mac) on \(name)")
    }

    /// Deletes a neighbour entry added by ``replaceNeighbor(_:mac:index:name:)`` (`ip neigh del ADDRESS dev …`).
    ///
    /// - Throws: ``LinkError``; ``LinkError/isNotFound`` when there is no such entry.
    public func deleteNeighbor(_ address: InetAddress, index: Int32, name: String) throws(LinkError) {
        let message = RouteMessage(type: RTM_DELNEIGH)
        message.append(header: neighborHeader(family: address.family, index: index, flags: 0))
        message.put(NDA_DST, bytes: address.bytes)
        try request(message, operation: "delete neighbour", object: "\(address) on \(name)")
    }

    /// Adds a static FDB entry (`bridge fdb replace MAC dev … [master|self] [dst ADDRESS]`).
    ///
    /// - Parameters:
    ///   - onMaster: `true` for the bridge's table (`master`, e.g. pinning a pod's MAC to its port), `false` for
    ///     the device's own table (`self`, e.g. a VXLAN device's remote VTEP for a MAC).
    ///   - destination: the remote tunnel endpoint, for VXLAN devices.
    public func replaceFDBEntry(
        mac: MACAddress, index: Int32, name: String, onMaster: Bool, destination: InetAddress? = nil
    ) throws(LinkError) {
        let message = RouteMessage(type: RTM_NEWNEIGH, flags: NLM_F_CREATE | NLM_F_REPLACE)
        message.append(header: fdbHeader(index: index, onMaster: onMaster))
        message.put(NDA_LLADDR, bytes: mac.bytes)
        if let destination {
            message.put(NDA_DST, bytes: destination.bytes)
        }
        try request(message, operation: "replace fdb entry", object: "\(mac) on \(name)")
    }

    /// Deletes an FDB entry added by ``replaceFDBEntry(mac:index:name:onMaster:destination:)``.
    public func deleteFDBEntry(mac: MACAddress, index: Int32, name: String, onMaster: Bool) throws(LinkError) {
        let message = RouteMessage(type: RTM_DELNEIGH)
        message.append(header: fdbHeader(index: index, onMaster: onMaster))
        message.put(NDA_LLADDR, bytes: mac.bytes)
        try request(message, operation: "delete fdb entry", object: "\(mac) on \(name)")
    }

    /// A bridge's own entry must be `static` (`NUD_NOARP`): `permanent` there means "local to the bridge", which
    /// delivers the MAC to the host and which a locked port refuses. A device's own table (`self`) uses
    /// `permanent`, as `bridge fdb append` does.
    private func fdbHeader(index: Int32, onMaster: Bool) -> ndmsg {
        neighborHeader(
            family: Int32(AF_BRIDGE), index: index, flags: UInt8(onMaster ? NTF_MASTER : NTF_SELF),
            state: onMaster ? UInt16(NUD_NOARP) : UInt16(NUD_PERMANENT))
    }

    private func neighborHeader(
        family: Int32, index: Int32, flags: UInt8, state: UInt16 = UInt16(NUD_PERMANENT)
    )
        -> ndmsg
    {
        var header = ndmsg()
        header.ndm_family = UInt8(family)
        header.ndm_ifindex = index
        header.ndm_state = state
        header.ndm_flags = flags
        return header
    }

    // MARK: plumbing

    /// Sends `message` and waits for the kernel's acknowledgement.
    ///
    /// - Throws: ``LinkError`` with the errno of the kernel's `NLMSG_ERROR` (or of the socket call).
    private func request(_ message: RouteMessage, operation: String, object: String) throws(LinkError) {
        lastError.code = 0
        var status = nl_send_auto(socket, message.message)
        if status >= 0 {
            status = nl_wait_for_ack(socket)
        }
        if status < 0 {
            throw LinkError(operation, object: object, code: failure(status))
        }
    }

    /// The errno behind a failed libnl call: the kernel's, when an `NLMSG_ERROR` arrived; otherwise the libnl
    /// code translated back to the closest errno.
    private func failure(_ status: Int32) -> Int32 {
        if lastError.code != 0 {
            return lastError.code
        }
        switch -status {
        case NLE_NOMEM: return ENOMEM
        case NLE_PERM: return EPERM
        case NLE_OBJ_NOTFOUND: return ENOENT
        case NLE_NODEV: return ENODEV
        case NLE_EXIST: return EEXIST
        case NLE_AGAIN: return EAGAIN
        default: return EIO
        }
    }
}

/// Where the error callback stores the kernel's errno; a class so that libnl can hold a stable pointer to it.
private final class ErrorSlot {
    var code: Int32 = 0
}

/// The bytes of a libnl address.
func addressBytes(_ address: OpaquePointer) -> [UInt8] {
    let count = Int(nl_addr_get_len(address))
    guard count > 0, let data = nl_addr_get_binary_addr(address) else {
        return []
    }
    return Array(UnsafeRawBufferPointer(start: data, count: count))
}
