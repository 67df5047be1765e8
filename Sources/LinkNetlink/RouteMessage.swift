internal import CNLRoute
import Glibc

/// An rtnetlink request under construction: a libnl `nl_msg` with a family header and attributes.
///
/// Requests are built attribute by attribute (rather than through libnl's object model) because the plugin needs
/// messages libnl's objects cannot express in one go: a veth whose peer is born in another namespace and whose
/// host side is born enslaved to a bridge, bridge-port options as slave data, FDB entries with `NTF_SELF`.
final class RouteMessage {
    let message: OpaquePointer

    /// Starts a request of netlink `type` (`RTM_NEWLINK`, …) with `flags` beyond `NLM_F_REQUEST | NLM_F_ACK`.
    init(type: some BinaryInteger, flags: Int32 = 0) {
        message = nlmsg_alloc_simple(Int32(type), flags | Int32(NLM_F_REQUEST) | Int32(NLM_F_ACK))
    }

    deinit {
        nlmsg_free(message)
    }

    /// Appends a fixed family header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`, `ndmsg`) or, inside a nest, a nested
    /// header (a veth peer's `ifinfomsg`).
    func append<Header>(header: Header) {
        var header = header
        _ = withUnsafeMutableBytes(of: &header) { raw in
            nlmsg_append(message, raw.baseAddress, raw.count, Int32(NLMSG_ALIGNTO))
        }
    }

    func put(_ type: some BinaryInteger, bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { nla_put(message, Int32(type), Int32($0.count), $0.baseAddress) }
    }

    func put(_ type: some BinaryInteger, u8 value: UInt8) {
        _ = nla_put_u8(message, Int32(type), value)
    }

    func put(_ type: some BinaryInteger, u16 value: UInt16) {
        _ = nla_put_u16(message, Int32(type), value)
    }

    func put(_ type: some BinaryInteger, u32 value: UInt32) {
        _ = nla_put_u32(message, Int32(type), value)
    }

    func put(_ type: some BinaryInteger, string value: String) {
        _ = nla_put_string(message, Int32(type), value)
    }

    /// Wraps the attributes `body` adds in a nested attribute of `type`.
    func nest(_ type: some BinaryInteger, _ body: () -> Void) {
        let start = nla_nest_start(message, Int32(type))
        body()
        _ = nla_nest_end(message, start)
    }
}

/// `struct ifinfomsg` for a request about the link with index `index` (0: by name or a new link).
func linkHeader(index: Int32 = 0, family: Int32 = AF_UNSPEC, flags: UInt32 = 0, change: UInt32 = 0) -> ifinfomsg {
    var header = ifinfomsg()
    header.ifi_family = UInt8(family)
    header.ifi_index = index
    header.ifi_flags = flags
    header.ifi_change = change
    return header
}
