import LinkNetlink

/// One plugin's network configuration as a runtime passes it on stdin: the reference `bridge` plugin's keys, a
/// `host-local`-compatible `ipam` section, and what the runtime adds (`runtimeConfig`, `prevResult`, `args`, and
/// for GC the valid attachments).
///
/// Everything is validated before the plugin touches the kernel, so a bad configuration changes nothing. Every
/// key is explained in `cni-conf/README.md`.
public struct NetworkConfiguration: Sendable {
    /// `cniVersion`: the spec version of this call; results are printed in it.
    public var cniVersion: String
    /// `name`: the network's name; also the IPAM store's directory and part of the ownership tag of host state.
    public var name: String
    /// `bridge`: the bridge's name in the host namespace, created on demand (default `cni0`).
    public var bridge = "cni0"
    /// `isGateway`: give the bridge the gateway address of each range, making it the pods' router.
    public var isGateway = false
    /// `isDefaultGateway`: also add default routes via the gateway inside the pod (implies `isGateway`).
    public var isDefaultGateway = false
    /// `forceAddress`: replace a different address the bridge has in the same subnet instead of failing.
    public var forceAddress = false
    /// `ipMasq`: masquerade traffic from the pod to destinations outside its subnet.
    public var ipMasq = false
    /// `mtu`: the MTU of the bridge (when created here) and both veth ends; `nil` keeps the kernel default.
    public var mtu: Int?
    /// `hairpinMode`: let the bridge send a pod's frames back to the same pod (needed to reach itself via a
    /// Service or hostPort).
    public var hairpinMode = false
    /// `promiscMode`: put the bridge in promiscuous mode.
    public var promiscMode = false
    /// `macspoofchk`: drop frames from the pod whose source MAC is not the pod interface's.
    public var macSpoofCheck = false
    /// `snat`: masquerade hairpin and localhost hostPort traffic (as the reference `portmap`'s key; default on).
    public var hostPortSNAT = true
    /// `ipam`: the address plan; `nil` for a layer-2-only attachment without addresses.
    public var ipam: IPAMConfiguration?
    /// `dns`: copied into the result as is.
    public var dns: JSON?
    /// `runtimeConfig.portMappings`: hostPorts to DNAT to this pod.
    public var portMappings: [PortMapping] = []
    /// Addresses requested through `runtimeConfig.ips`, `args.cni.ips` or `CNI_ARGS IP=`.
    public var requestedAddresses: [InetAddress] = []
    /// `runtimeConfig.mac`, `args.cni.mac` or `CNI_ARGS MAC=`: the pod interface's MAC address.
    public var mac: MACAddress?
    /// `prevResult`: the previous plugin's result in a chain (ADD) or the cached result (DEL, CHECK).
    public var previousResult: CNIResult?
    /// GC's `cni.dev/valid-attachments` (or the spec text's `cni.dev/attachments`): what must be kept.
    public var validAttachments: Set<AttachmentID> = []

    /// The IPAM types served by the built-in allocator: `host-local` (same configuration and on-disk store as
    /// the reference plugin) and `sluice`.
    static let ipamTypes = ["host-local", "sluice"]

    /// Parses and validates stdin for `environment`'s command.
    ///
    /// - Throws: ``CNIError``: 6 for malformed JSON, 1 for an unsupported `cniVersion`, 2 for an unsupported
    ///   feature, 7 for anything else invalid, each naming the field.
    public init(stdin: [UInt8], environment: PluginEnvironment) throws(CNIError) {
        let document: JSON
        do {
            document = try JSON.parse(stdin)
        } catch {
            throw CNIError(.decodingFailure, "network configuration on stdin is not valid JSON: \(error)")
        }
        guard case .object = document else {
            throw CNIError(.decodingFailure, "network configuration on stdin must be a JSON object")
        }
        let root = ConfigReader(document)
        guard let version = try root.string("cniVersion") else {
            throw CNIError(.invalidConfiguration, "cniVersion is missing; sluice-cni speaks \(Self.versionList)")
        }
        guard CNIVersion.supported.contains(version) else {
            throw CNIError(
                .incompatibleVersion, "cniVersion \(version) is not supported; sluice-cni speaks \(Self.versionList)")
        }
        cniVersion = version
        guard let name = try root.string("name"), !name.isEmpty else {
            throw CNIError(.invalidConfiguration, "name is missing: every network needs a name")
        }
        guard !name.contains("/"), name != ".", name != "..", name.utf8.count <= 200 else {
            throw root.invalid("name", "\"\(name)\" cannot be a directory name (no '/', not '.' or '..')")
        }
        self.name = name
        try readBridgeKeys(root)
        if let ipam = try root.object("ipam") {
            let type = try ipam.string("type") ?? "host-local"
            guard Self.ipamTypes.contains(type) else {
                throw ipam.invalid(
                    "type", "IPAM type \"\(type)\" is not supported; sluice-cni has host-local compatible IPAM built in"
                )
                .withCode(.unsupportedField)
            }
            self.ipam = try IPAMConfiguration(ipam, networkName: name)
        }
        dns = root.value("dns")
        try readRuntimeKeys(root, arguments: environment.arguments)
        if let previous = root.value("prevResult") {
            previousResult = try CNIResult(parsing: previous, path: "prevResult")
        }
        if environment.command == .garbageCollect {
            validAttachments = try Self.attachments(root)
        }
        if environment.command == .check && !CNIVersion.hasCheck(version) {
            throw CNIError(
                .incompatibleVersion, "CHECK needs cniVersion 0.4.0 or later; this configuration has \(version)")
        }
        if [.status, .garbageCollect].contains(environment.command) && !CNIVersion.hasGarbageCollection(version) {
            throw CNIError(
                .incompatibleVersion,
                "\(environment.command.rawValue) needs cniVersion 1.1.0; this configuration has \(version)")
        }
    }

    private static var versionList: String { CNIVersion.supported.joined(separator: ", ") }

    private mutating func readBridgeKeys(_ root: ConfigReader) throws(CNIError) {
        if let bridge = try root.string("bridge") {
            do {
                try PluginEnvironment.validateInterfaceName(bridge)
            } catch {
                throw root.invalid(
                    "bridge", "\"\(bridge)\" is not a valid interface name (1–15 bytes, no '/', ':' or spaces)")
            }
            self.bridge = bridge
        }
        isDefaultGateway = try root.bool("isDefaultGateway") ?? false
        isGateway = try root.bool("isGateway") ?? false || isDefaultGateway
        forceAddress = try root.bool("forceAddress") ?? false
        ipMasq = try root.bool("ipMasq") ?? false
        mtu = try root.integer("mtu", in: 68...65535)
        hairpinMode = try root.bool("hairpinMode") ?? false
        promiscMode = try root.bool("promiscMode") ?? false
        macSpoofCheck = try root.bool("macspoofchk") ?? false
        hostPortSNAT = try root.bool("snat") ?? true
        if let vlan = try root.integer("vlan", in: 0...4094), vlan != 0 {
            throw root.invalid("vlan", "VLAN tagging is not supported by sluice-cni").withCode(.unsupportedField)
        }
        if root.value("vlanTrunk") != nil {
            throw root.invalid("vlanTrunk", "VLAN trunks are not supported by sluice-cni").withCode(.unsupportedField)
        }
    }

    /// `runtimeConfig` capabilities, `args.cni` conventions and `CNI_ARGS`, in increasing precedence for the
    /// same setting (as the reference plugins apply them).
    private mutating func readRuntimeKeys(_ root: ConfigReader, arguments: CNIArguments) throws(CNIError) {
        var requested: [String] = []
        var macText: String?
        if let runtime = try root.object("runtimeConfig") {
            for mapping in try runtime.objects("portMappings") ?? [] {
                portMappings.append(try PortMapping(mapping))
            }
            requested = try runtime.strings("ips") ?? []
            macText = try runtime.string("mac")
        }
        if let cni = try root.object("args")?.object("cni") {
            if let ips = try cni.strings("ips") {
                requested = ips
            }
            macText = try cni.string("mac") ?? macText
        }
        if let ips = arguments["IP"] {
            requested = ips.split(separator: ",").map(String.init)
        }
        macText = arguments["MAC"] ?? macText
        for text in requested {
            // `runtimeConfig.ips` carries CIDRs (`10.244.1.7/24`); `IP=` plain addresses.
            let addressText = text.split(separator: "/").first.map(String.init) ?? text
            guard let address = InetAddress(addressText) else {
                throw CNIError(.invalidConfiguration, "requested IP \"\(text)\" is not an IPv4 or IPv6 address")
            }
            requestedAddresses.append(address)
        }
        if let macText {
            guard let mac = MACAddress(macText), !mac.isMulticast else {
                throw CNIError(.invalidConfiguration, "requested MAC \"\(macText)\" is not a unicast MAC address")
            }
            self.mac = mac
        }
    }

    /// GC's list of attachments to keep, under either key libcni and the spec have used.
    private static func attachments(_ root: ConfigReader) throws(CNIError) -> Set<AttachmentID> {
        var result: Set<AttachmentID> = []
        for key in ["cni.dev/valid-attachments", "cni.dev/attachments"] {
            for entry in try root.objects(key) ?? [] {
                guard let containerID = try entry.string("containerID"), let interface = try entry.string("ifname")
                else {
                    throw CNIError(.invalidConfiguration, "\(entry.path): needs containerID and ifname")
                }
                result.insert(AttachmentID(containerID: containerID, interfaceName: interface))
            }
        }
        return result
    }
}

/// One attachment of a container to a network: the runtime's unit of ADD, DEL and GC.
public struct AttachmentID: Sendable, Hashable, CustomStringConvertible {
    public let containerID: String
    public let interfaceName: String

    public init(containerID: String, interfaceName: String) {
        self.containerID = containerID
        self.interfaceName = interfaceName
    }

    public var description: String { "\(containerID)/\(interfaceName)" }
}

/// A hostPort: traffic to the node on `hostPort` (optionally only to `hostIP`) is DNATed to the pod's
/// `containerPort`.
public struct PortMapping: Sendable, Hashable {
    public enum TransportProtocol: String, Sendable, Hashable {
        case tcp, udp, sctp
    }

    public var hostPort: UInt16
    public var containerPort: UInt16
    public var transport: TransportProtocol
    /// Only traffic to this node address is mapped; `nil` maps every local address.
    public var hostIP: InetAddress?

    public init(hostPort: UInt16, containerPort: UInt16, transport: TransportProtocol, hostIP: InetAddress? = nil) {
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.transport = transport
        self.hostIP = hostIP
    }

    init(_ reader: ConfigReader) throws(CNIError) {
        guard let hostPort = try reader.integer("hostPort", in: 1...65535),
            let containerPort = try reader.integer("containerPort", in: 1...65535)
        else {
            throw CNIError(.invalidConfiguration, "\(reader.path): needs hostPort and containerPort (1–65535)")
        }
        let protocolText = (try reader.string("protocol") ?? "tcp").lowercased()
        guard let transport = TransportProtocol(rawValue: protocolText) else {
            throw reader.invalid("protocol", "\"\(protocolText)\" is not tcp, udp or sctp")
        }
        self.hostPort = UInt16(hostPort)
        self.containerPort = UInt16(containerPort)
        self.transport = transport
        let hostIPText = try reader.string("hostIP") ?? ""
        if hostIPText.isEmpty || hostIPText == "0.0.0.0" || hostIPText == "::" {
            hostIP = nil
        } else {
            guard let address = InetAddress(hostIPText) else {
                throw reader.invalid("hostIP", "\"\(hostIPText)\" is not an IPv4 or IPv6 address")
            }
            hostIP = address
        }
    }
}

extension CNIError {
    /// The same message under another code.
    func withCode(_ code: Code) -> CNIError {
        CNIError(code, message, details: details)
    }
}
