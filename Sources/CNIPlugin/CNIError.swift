/// A failed CNI call, as the spec reports it: a numeric code, a message and optional details, printed as JSON on
/// stdout with a non-zero exit status.
///
/// Runtimes show `msg` to people (podman prints it, kubelet puts it in pod events), so it says what was wrong
/// and where, e.g. `ipam.ranges[0][0].subnet: "10.244.1.0/33" is not a CIDR`. Codes 1–99 are the spec's, so
/// runtimes can react (11 means retry); 100 and up are Sluice's own, one per kind of failure.
public struct CNIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The spec's well-known codes and Sluice's own (100+).
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// 1: the configuration's `cniVersion` (or the prevResult's) is one this plugin does not speak.
        public static let incompatibleVersion = Code(rawValue: 1)
        /// 2: a configuration field (or runtime capability) the plugin does not support.
        public static let unsupportedField = Code(rawValue: 2)
        /// 3: the container (its network namespace) does not exist; nothing was done.
        public static let unknownContainer = Code(rawValue: 3)
        /// 4: a `CNI_*` environment variable is missing or invalid.
        public static let invalidEnvironment = Code(rawValue: 4)
        /// 5: reading stdin or the IPAM store failed.
        public static let ioFailure = Code(rawValue: 5)
        /// 6: stdin is not valid JSON.
        public static let decodingFailure = Code(rawValue: 6)
        /// 7: the configuration is JSON but invalid (wrong type, bad CIDR, range outside its subnet, …).
        public static let invalidConfiguration = Code(rawValue: 7)
        /// 11: a transient condition; the runtime may retry.
        public static let tryAgainLater = Code(rawValue: 11)
        /// 50 (STATUS): the plugin cannot take ADDs, e.g. its address ranges are exhausted.
        public static let notAvailable = Code(rawValue: 50)
        /// 51 (STATUS): the plugin works with limited connectivity.
        public static let limitedConnectivity = Code(rawValue: 51)
        /// 100: a kernel operation failed (the message names the object and errno).
        public static let kernelFailure = Code(rawValue: 100)
        /// 101: `CNI_IFNAME` already exists in the container.
        public static let interfaceExists = Code(rawValue: 101)
        /// 102: no free address is left in a range set.
        public static let rangeExhausted = Code(rawValue: 102)
        /// 103: a requested address (`IP=`, `ips`) is taken or outside every range.
        public static let addressUnavailable = Code(rawValue: 103)
        /// 104: CHECK found the attachment differs from its `prevResult`.
        public static let checkFailed = Code(rawValue: 104)
    }

    public let code: Code
    /// What went wrong, for a person to act on.
    public let message: String
    /// More context (the underlying errno text, the full path), or empty.
    public let details: String

    public init(_ code: Code, _ message: String, details: String = "") {
        self.code = code
        self.message = message
        self.details = details
    }

    /// The spec's error document for `cniVersion`.
    public func document(cniVersion: String) -> JSON {
        var members: [(String, JSON)] = [
            ("cniVersion", .string(cniVersion)), ("code", .number(Double(code.rawValue))), ("msg", .string(message)),
        ]
        if !details.isEmpty {
            members.append(("details", .string(details)))
        }
        return .object(members)
    }

    public var description: String {
        "CNI error \(code.rawValue): \(message)" + (details.isEmpty ? "" : " (\(details))")
    }
}
