import CNIPlugin
import Foundation
import SluiceTestSupport
import Testing

/// Runs the real `sluice-cni` executable exactly as a runtime does: `CNI_*` environment, configuration on stdin,
/// inside a test "node" namespace (so the bridge, veth host ends and nftables table land there, never in the
/// host's namespace).
struct PluginHarness {
    let node: TestNamespace
    /// The IPAM `dataDir` of this test, under `/tmp`.
    let dataDirectory: String
    let bridge: String

    /// The plugin binary: `SLUICE_CNI_BINARY`, or the `sluice-cni` built next to the test bundle.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SLUICE_CNI_BINARY"] {
            return path
        }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent("sluice-cni").path
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return bundle.appendingPathComponent("sluice-cni").path
    }

    init(node: TestNamespace, bridge: String = "slbr0") throws {
        self.node = node
        self.bridge = bridge
        dataDirectory = NSTemporaryDirectory() + "sluice-cni-" + node.name
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
    }

    func removeDataDirectory() {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    /// A configuration for network `name` with IPAM on the given subnets and `extra` JSON members.
    func configuration(
        version: String = "1.0.0", name: String = "sluice-test", subnets: [String] = ["10.244.60.0/24"],
        extra: String = ""
    ) -> String {
        let ranges = subnets.map { #"[{"subnet":"\#($0)"}]"# }.joined(separator: ",")
        return """
            {"cniVersion":"\(version)","name":"\(name)","type":"sluice-cni","bridge":"\(bridge)","isGateway":true,\
            "isDefaultGateway":true,"ipam":{"type":"host-local","ranges":[\(ranges)],"dataDir":"\(dataDirectory)"}\
            \(extra.isEmpty ? "" : "," + extra)}
            """
    }

    /// Invokes the plugin in the node namespace.
    ///
    /// With `onEmptyRoot` the plugin runs on a root filesystem that holds nothing but itself: a tmpfs with the
    /// binary, `/proc`, `/sys`, `/run/netns` and the IPAM store bound in, in a mount namespace of its own (so nothing
    /// is mounted on the host, and all of it is gone when the plugin exits). A plugin that needed the dynamic loader
    /// or any library or file of the host would fail there.
    func invoke(
        _ command: String, containerID: String = "", netns: String = "", ifname: String = "eth0",
        configuration: String, arguments: String? = "IgnoreUnknown=1;K8S_POD_NAME=test",
        environment: [String: String] = [:], onEmptyRoot: Bool = false
    ) throws -> ProcessResult {
        var variables = [
            "CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(containerID)", "CNI_NETNS=\(netns)", "CNI_IFNAME=\(ifname)",
            "CNI_PATH=/opt/cni/bin",
        ]
        if let arguments {
            variables.append("CNI_ARGS=\(arguments)")
        }
        variables += environment.map { "\($0)=\($1)" }
        guard onEmptyRoot else {
            return try node.execStatus(["env", "-i"] + variables + [Self.binary], stdin: configuration)
        }
        let root = dataDirectory + "-root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let script = """
            set -eu
            PATH=/usr/sbin:/usr/bin:/sbin:/bin
            binary=$1 data=$2 root=$3
            mount -t tmpfs sluice-cni-test "$root"
            mkdir -p "$root/proc" "$root/sys" "$root/run/netns" "$root$data"
            cp "$binary" "$root/sluice-cni"
            mount --rbind /proc "$root/proc"
            mount --rbind /sys "$root/sys"
            mount --rbind /run/netns "$root/run/netns"
            mount --bind "$data" "$root$data"
            exec chroot "$root" /sluice-cni
            """
        return try node.execStatus(
            ["env", "-i"] + variables + [
                "/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh",
                Self.binary, dataDirectory, root,
            ], stdin: configuration)
    }

    /// ADD that must succeed; returns the parsed result.
    func add(
        containerID: String, pod: TestNamespace, ifname: String = "eth0", configuration: String,
        arguments: String? = "IgnoreUnknown=1"
    ) throws -> JSON {
        let result = try invoke(
            "ADD", containerID: containerID, netns: pod.namespace.path, ifname: ifname, configuration: configuration,
            arguments: arguments)
        guard result.succeeded else {
            throw ProcessError.failed(result)
        }
        return try JSON.parse(result.stdout)
    }

    /// The address records in the store of network `name` (file names that are addresses).
    func storedAddresses(network: String = "sluice-test") -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/" + network)) ?? []
        return names.filter { ($0.contains(":") || $0.first?.isNumber == true) && !$0.hasSuffix(".pod") }.sorted()
    }

    /// Every file in the store of network `name`, e.g. to prove no temporary file was left.
    func storeFiles(network: String = "sluice-test") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/" + network)) ?? []).sorted()
    }

    /// The plugin's host-side veths (`sl` + 12 hex digits) in the node namespace.
    func hostVeths() throws -> [String] {
        let output = try node.exec(["ip", "-o", "link", "show", "type", "veth"])
        return output.split(separator: "\n").compactMap { line in
            let name = line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)
            let base = String(name.split(separator: "@")[0])
            return base.count == 14 && base.hasPrefix("sl") ? base : nil
        }.sorted()
    }

    /// The comments of every element in the plugin's nftables table (empty when the table does not exist).
    func tableElementComments() throws -> [String] {
        try elementComments(ofListing: node.execStatus(["nft", "-j", "list", "table", "inet", "sluice-cni"]))
    }
}

/// The element comments in an `nft -j list table` listing; none when the listing failed (no table).
func elementComments(ofListing listing: ProcessResult) throws -> [String] {
    guard listing.succeeded else {
        return []
    }
    let document = try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [String: Any]
    var comments: [String] = []
    for item in document?["nftables"] as? [[String: Any]] ?? [] {
        let set = (item["set"] ?? item["map"]) as? [String: Any]
        for element in set?["elem"] as? [Any] ?? [] {
            if let inner = (element as? [String: Any])?["elem"] as? [String: Any],
                let comment = inner["comment"] as? String
            {
                comments.append(comment)
            }
        }
    }
    return comments.sorted()
}

extension JSON {
    /// The `address` strings of a result's `ips`.
    var resultAddresses: [String] {
        guard case .array(let ips) = self["ips"] ?? .null else {
            return []
        }
        return ips.compactMap { if case .string(let text) = $0["address"] { text } else { nil } }
    }

    /// The code of an error document.
    var errorCode: Int? {
        if case .number(let code) = self["code"] { Int(code) } else { nil }
    }
}
