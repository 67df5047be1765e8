/// The `CNI_*` environment of one invocation, validated for the command at hand.
///
/// The spec passes the call's parameters in environment variables. ADD, DEL and CHECK need the container ID and
/// interface name; ADD and CHECK need the namespace, DEL tolerates an empty one (containerd sends DEL that way);
/// VERSION, STATUS and GC need none of them.
public struct PluginEnvironment: Sendable, Hashable {
    /// The CNI commands.
    public enum Command: String, Sendable, Hashable, CaseIterable {
        case add = "ADD"
        case delete = "DEL"
        case check = "CHECK"
        case version = "VERSION"
        case status = "STATUS"
        case garbageCollect = "GC"
    }

    public let command: Command
    /// `CNI_CONTAINERID`; empty for commands that have none.
    public let containerID: String
    /// `CNI_NETNS`, a namespace file path; empty when the runtime sent none (DEL may do so).
    public let networkNamespace: String
    /// `CNI_IFNAME`, the interface name inside the container.
    public let interfaceName: String
    /// `CNI_ARGS`, parsed.
    public let arguments: CNIArguments

    /// Reads and validates the environment for its command.
    ///
    /// - Parameter variables: looks up one variable (the process environment, or a dictionary in tests).
    /// - Throws: ``CNIError`` with code 4 naming the variable and what a valid value looks like.
    public init(_ variables: (String) -> String?) throws(CNIError) {
        guard let commandText = variables("CNI_COMMAND"), !commandText.isEmpty else {
            throw CNIError(
                .invalidEnvironment, "CNI_COMMAND is not set; expected one of ADD, DEL, CHECK, VERSION, STATUS, GC")
        }
        guard let command = Command(rawValue: commandText) else {
            throw CNIError(
                .invalidEnvironment,
                "CNI_COMMAND \(commandText) is not a CNI command; expected one of ADD, DEL, CHECK, VERSION, STATUS, GC")
        }
        self.command = command
        let needsAttachment =
            switch command {
            case .add, .delete, .check: true
            case .version, .status, .garbageCollect: false
            }
        containerID = variables("CNI_CONTAINERID") ?? ""
        networkNamespace = variables("CNI_NETNS") ?? ""
        interfaceName = variables("CNI_IFNAME") ?? ""
        arguments = try CNIArguments(variables("CNI_ARGS") ?? "")
        guard needsAttachment else {
            return
        }
        guard !containerID.isEmpty else {
            throw CNIError(.invalidEnvironment, "CNI_CONTAINERID is required for \(command.rawValue) and is empty")
        }
        guard containerID.utf8.allSatisfy(Self.isContainerIDByte), containerID.utf8.first != UInt8(ascii: ".") else {
            throw CNIError(
                .invalidEnvironment,
                "CNI_CONTAINERID \(containerID) has characters outside letters, digits, '_', '.' and '-'")
        }
        try Self.validateInterfaceName(interfaceName)
        if command != .delete && networkNamespace.isEmpty {
            throw CNIError(.invalidEnvironment, "CNI_NETNS is required for \(command.rawValue) and is empty")
        }
    }

    /// The spec's container ID alphabet: alphanumerics plus `_`, `.` and `-`.
    private static func isContainerIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// The kernel's interface name rules: 1–15 bytes, not `.` or `..`, no `/`, `:` or whitespace.
    static func validateInterfaceName(_ name: String) throws(CNIError) {
        guard !name.isEmpty else {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME is required and is empty")
        }
        guard name.utf8.count <= 15 else {
            throw CNIError(
                .invalidEnvironment,
                "CNI_IFNAME \(name) is \(name.utf8.count) bytes long; Linux interface names have at most 15")
        }
        guard name != ".", name != "..", !name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) else {
            throw CNIError(
                .invalidEnvironment, "CNI_IFNAME \(name) is not a valid interface name (no '/', ':' or spaces)")
        }
    }
}

/// `CNI_ARGS`: `KEY=VALUE` pairs separated by `;`.
///
/// The reference plugins reject keys they do not know unless `IgnoreUnknown=1|true` is among the pairs; runtimes
/// set it because they pass Kubernetes metadata (`K8S_POD_NAME`, …) to every plugin. This plugin understands `IP`
/// (requested addresses, comma-separated) and `MAC`, and accepts the Kubernetes keys always.
public struct CNIArguments: Sendable, Hashable {
    /// Every pair in order.
    public let pairs: [(key: String, value: String)]

    /// Keys this plugin reads or tolerates without `IgnoreUnknown`.
    static let knownKeys = [
        "IgnoreUnknown", "IP", "MAC", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID",
    ]

    /// Parses `CNI_ARGS`.
    ///
    /// - Throws: ``CNIError`` with code 4 for a pair without `=`, or an unknown key without `IgnoreUnknown`.
    public init(_ text: String) throws(CNIError) {
        var pairs: [(key: String, value: String)] = []
        // Split on bytes (`;` and `=` are ASCII): Character-based splitting costs more than the rest of
        // reading the environment, and runtimes send these on every call.
        for item in text.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: true) {
            guard let equals = item.firstIndex(of: UInt8(ascii: "=")) else {
                throw CNIError(
                    .invalidEnvironment, "CNI_ARGS item \"\(String(decoding: item, as: UTF8.self))\" is not KEY=VALUE")
            }
            pairs.append(
                (
                    String(decoding: item[..<equals], as: UTF8.self),
                    String(decoding: item[item.index(after: equals)...], as: UTF8.self)
                ))
        }
        self.pairs = pairs
        let ignoreUnknown = pairs.contains {
            $0.key == "IgnoreUnknown" && ["1", "true", "True", "TRUE"].contains($0.value)
        }
        if !ignoreUnknown, let unknown = pairs.first(where: { !Self.knownKeys.contains($0.key) }) {
            throw CNIError(
                .invalidEnvironment,
                "CNI_ARGS key \(unknown.key) is not known to sluice-cni; known keys are IP, MAC and the K8S_* keys "
                    + "(add IgnoreUnknown=1 to pass others)")
        }
    }

    /// The last value of `key`, or `nil`.
    public subscript(key: String) -> String? {
        pairs.last { $0.key == key }?.value
    }

    public static func == (lhs: CNIArguments, rhs: CNIArguments) -> Bool {
        lhs.pairs.map(\.key) == rhs.pairs.map(\.key) && lhs.pairs.map(\.value) == rhs.pairs.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        for pair in pairs {
            hasher.combine(pair.key)
            hasher.combine(pair.value)
        }
    }
}
