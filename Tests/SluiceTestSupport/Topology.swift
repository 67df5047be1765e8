/// Small building blocks for test topologies (nodes, pods, underlays), composed by each test as it needs.
///
/// They shell out to iproute2 with `ip -n NAME`, so every change is addressed to a namespace the test owns and
/// none can reach the host's root namespace. Interface names must be at most 15 characters (`IFNAMSIZ`).
extension TestNamespace {
    /// Runs `ip -n NAME arguments…` and returns its standard output, e.g. `try ns.ip("-j", "route", "show")`.
    @discardableResult
    public func ip(_ arguments: String...) throws -> String {
        try ip(arguments)
    }

    @discardableResult
    private func ip(_ arguments: [String]) throws -> String {
        try runProcess(["ip", "-n", name] + arguments).output()
    }

    /// Adds a Linux bridge named `bridge` (down; see ``setUp(_:)``).
    public func addBridge(_ bridge: String) throws {
        try ip("link", "add", bridge, "type", "bridge")
    }

    /// Adds a veth pair: `name` here and `peer` in `peerNamespace` (or here too when `nil`), both down.
    ///
    /// The pair is created inside this namespace and the peer is moved straight into the other one, so neither
    /// end ever exists in the host's namespace.
    public func addVethPair(_ name: String, peer: String, in peerNamespace: TestNamespace? = nil) throws {
        var arguments = ["link", "add", name, "type", "veth", "peer", "name", peer]
        if let peerNamespace {
            arguments += ["netns", peerNamespace.name]
        }
        try ip(arguments)
    }

    /// Enslaves `link` to `bridge` (`ip link set LINK master BRIDGE`).
    public func attach(_ link: String, toBridge bridge: String) throws {
        try ip("link", "set", link, "master", bridge)
    }

    /// Adds an address in CIDR notation, e.g. `198.18.0.1/24` or `fd00:5::1/64`, to `device`.
    public func addAddress(_ cidr: String, to device: String) throws {
        try ip("address", "add", cidr, "dev", device)
    }

    /// Brings `device` up.
    public func setUp(_ device: String) throws {
        try ip("link", "set", device, "up")
    }

    /// Runs several `ip` commands in this namespace with one process (`ip -n NAME -batch -`), one command per
    /// element without the leading `ip`, e.g. `["link set eth0 up", "route add 0.0.0.0/0 via 10.244.1.1"]`.
    ///
    /// Building a topology takes dozens of commands; one process instead of one each keeps set-up fast. `ip` stops
    /// at the first failing command and the error names its line.
    public func ipBatch(_ commands: [String]) throws {
        _ = try runProcess(["ip", "-n", name, "-batch", "-"], stdin: commands.joined(separator: "\n") + "\n").output()
    }

    /// Sets kernel parameters of this namespace only, e.g. `["net.ipv4.ip_forward": "1"]`, with
    /// `ip netns exec NAME sysctl -w KEY=VALUE…`.
    ///
    /// `net.*` parameters are per network namespace, and the program runs inside this one, so the host's own
    /// settings are never touched.
    public func setSysctls(_ settings: KeyValuePairs<String, String>) throws {
        try exec(["sysctl", "-q", "-w"] + settings.map { "\($0.key)=\($0.value)" })
    }

    /// Adds a route to `destination` (a CIDR, never `default` towards anything outside the test) via `gateway`
    /// and/or out of `device`.
    public func addRoute(_ destination: String, via gateway: String? = nil, device: String? = nil) throws {
        var arguments = ["route", "add", destination]
        if let gateway {
            arguments += ["via", gateway]
        }
        if let device {
            arguments += ["dev", device]
        }
        try ip(arguments)
    }
}
