import ArgumentParser
import Foundation
import NetNamespace

/// `sluice-bench cni`: the CNI plugin as a runtime experiences it — VERSION, ADD and DEL one at a time and as a
/// parallel burst — for `sluice-cni` and for Debian's reference `bridge` + `host-local`, each in fresh node
/// namespaces with fresh IPAM stores, every measurement verified in the kernel and the store.
struct CNIBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cni",
        abstract:
            "CNI: VERSION exec, ADD and DEL single, a parallel burst — sluice-cni vs reference bridge + host-local.")

    @Flag(help: "A smoke run: one round, 3 single pods, a burst of 5, 20 VERSION execs (CI runs this).")
    var quick = false

    @Option(help: "Rounds per implementation, each in a fresh node namespace with a fresh IPAM store (default 5).")
    var repetitions: Int?

    @Option(help: "Pods added, then deleted, one at a time in each round (default 10).")
    var singles: Int?

    @Option(help: "Pods added at once, then deleted at once, in each round (default 30).")
    var burst: Int?

    @Option(help: "VERSION execs (and launch-floor execs) in each round (default 200).")
    var versionExecs: Int?

    @Option(help: "How plugins enter the node namespace: setns (the bench's child enters it) or nsenter.")
    var launcher: PluginLauncher = .setns

    @Option(help: "The sluice-cni binary (default: the one next to sluice-bench).")
    var plugin: String?

    @Option(help: "Directory of the reference plugins (Debian's containernetworking-plugins).")
    var referenceDirectory = "/usr/lib/cni"

    @Option(help: "Directory for the Markdown and JSON results.")
    var output = "Benchmarks/results"

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("sluice-bench needs root: it creates network namespaces") }
        let counts = CNIWorkload(
            rounds: repetitions ?? (quick ? 1 : 5), singles: singles ?? (quick ? 3 : 10),
            burst: burst ?? (quick ? 5 : 30), versionExecs: versionExecs ?? (quick ? 20 : 200))
        guard counts.rounds > 0, counts.singles > 0, counts.burst > 0, counts.versionExecs > 0,
            counts.singles + counts.burst < 250
        else {
            throw ValidationError("counts must be positive, and singles + burst must fit a /24 (under 250)")
        }
        let built = try sluiceBinary()
        let installation = try PluginInstallation(copying: built)
        defer { installation.remove() }
        let sluice = installation.path
        for name in ["bridge", "host-local"] where access(referenceDirectory + "/" + name, X_OK) != 0 {
            throw ValidationError(
                "\(referenceDirectory)/\(name) is missing: install Debian's containernetworking-plugins "
                    + "(scripts/install-deps.sh)")
        }
        BenchNamespaces.installSignalCleanup()
        let machine = Report.Machine.current(iptablesRestore: "iptables-legacy-restore")
        say("machine: \(machine.cores) cores, \(machine.cpu), Linux \(machine.kernel), load \(machine.loadAverage)")
        let implementations = [
            CNIImplementation(
                name: "Sluice", binary: sluice, type: "sluice-cni",
                version: "a copy of \(built), \(sluiceVersion(built))"),
            CNIImplementation(
                name: "reference bridge + host-local", binary: referenceDirectory + "/bridge", type: "bridge",
                version: referenceVersion()),
        ]
        var results = implementations.map { CNIImplementationResult(implementation: $0) }
        for round in 0..<counts.rounds {
            // Alternate who goes first, so slow phases of a shared machine fall on both alike.
            let order = round % 2 == 0 ? Array(results.indices) : results.indices.reversed()
            for index in order {
                say("round \(round + 1)/\(counts.rounds): \(results[index].implementation.name)")
                let scenario = CNIRound(
                    implementation: implementations[index], workload: counts, launcher: launcher,
                    pluginDirectory: referenceDirectory, round: round)
                try scenario.run(into: &results[index])
                // The kernel frees deleted namespaces later, in a worker that takes the same global locks
                // (RTNL) as every ADD and DEL: let it finish before the next implementation is timed.
                usleep(1_000_000)
            }
        }
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let report = CNIReport(
            mode: quick ? "quick" : "full", stamp: stamp, machine: machine, workload: counts, launcher: launcher,
            implementations: results)
        say("\n" + report.markdown())
        try report.write(to: output)
    }

    /// `--plugin`, or `sluice-cni` in the directory of this executable (SwiftPM builds both products there).
    private func sluiceBinary() throws -> String {
        let path =
            plugin
            ?? URL(
                fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                    ?? CommandLine.arguments[0]
            ).deletingLastPathComponent().appendingPathComponent("sluice-cni").path
        guard access(path, X_OK) == 0 else {
            throw ValidationError(
                "no sluice-cni at \(path): build it next to sluice-bench (swift build -c release --product sluice-cni) "
                    + "or pass --plugin")
        }
        return path
    }

    /// The binary's size and modification time: enough to tell which build a result file came from.
    private func sluiceVersion(_ path: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? Int).map { "\($0) bytes" } ?? "?"
        let date = (attributes?[.modificationDate] as? Date).map { ISO8601DateFormatter().string(from: $0) } ?? "?"
        return "\(size), built \(date)"
    }

    /// The Debian package's version, e.g. `1.1.1+ds1-3+b5`.
    private func referenceVersion() -> String {
        let version = try? runTool(["dpkg-query", "-W", "-f=${Version}", "containernetworking-plugins"])
        return version.map { "containernetworking-plugins \($0)" } ?? "?"
    }
}

/// The plugin copied into a CNI bin directory of its own, the way every deployment installs it (and the way Debian
/// installed the reference plugins), so both are timed from a file written by an ordinary copy.
///
/// The build's own file is different: gold writes its output through a memory mapping, and on this machine's
/// kernel an exec of that file costs ~0.2 ms more than an exec of a byte-identical copy (measured, not explained:
/// dropping its pages from the page cache does not change it). That is an artefact of the build directory, not
/// something a runtime would ever see.
struct PluginInstallation {
    let directory: String
    let path: String

    init(copying binary: String) throws {
        var template = Array("/tmp/sluice-bench-cni-bin.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw ValidationError("cannot create a directory to install sluice-cni into: errno \(errno)")
        }
        directory = String(cString: created)
        path = directory + "/sluice-cni"
        do {
            try FileManager.default.copyItem(atPath: binary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw ValidationError("cannot install \(binary) into \(directory): \(error)")
        }
        chmod(path, 0o755)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// How much each round does.
struct CNIWorkload: Codable {
    var rounds: Int
    var singles: Int
    var burst: Int
    var versionExecs: Int
}

/// One plugin under test: the binary the runtime would exec and the `type` its configuration names.
struct CNIImplementation: Codable {
    var name: String
    var binary: String
    var type: String
    var version: String
}

/// One round of one implementation: a fresh node namespace and IPAM store, the launch floor and VERSION execs,
/// the first ADD (which creates the bridge), single ADDs then DELs, a burst of ADDs then of DELs, and a check
/// after each step that it did its work.
struct CNIRound {
    let implementation: CNIImplementation
    let workload: CNIWorkload
    let launcher: PluginLauncher
    /// `CNI_PATH`: where the reference `bridge` finds `host-local` (Sluice ignores it).
    let pluginDirectory: String
    let round: Int

    /// The network name: the store lives in `dataDir/<network>`.
    static let network = "sluice-bench"
    /// Both implementations create a bridge of this name in their own node namespace.
    static let bridge = "slbench0"
    static let subnet = "10.244.90.0/24"
    static let gateway = "10.244.90.1"
    static let versionRequest = Array(#"{"cniVersion":"1.0.0"}"#.utf8)

    func run(into result: inout CNIImplementationResult) throws {
        try withNamespace("cninode") { node in
            let store = try BenchScratchDirectories.create("cni-\(implementation.type)")
            defer { BenchScratchDirectories.remove(store) }
            let launch = try NodeLauncher(node: node, kind: launcher)
            let checker = CNIChecker(node: node, store: store + "/" + Self.network, bridge: Self.bridge)
            try measureExecs(launch, into: &result)

            var pods: [NetworkNamespace] = []
            defer { pods.forEach(BenchNamespaces.delete) }
            for _ in 0..<(1 + workload.singles + workload.burst) { pods.append(try BenchNamespaces.create("cnipod")) }
            let configuration = Array(configuration(store: store).utf8)
            let attachments = pods.enumerated().map { index, pod in
                Attachment(pod: pod, containerID: "bench\(round)c\(index)\(String(getpid(), radix: 16))")
            }
            var live: [String: String] = [:]  // container ID → address

            // The first ADD creates the bridge and gives it the gateway address.
            let first = try launch.run(invocation(.add, attachments[0], configuration))
            live[attachments[0].containerID] = try checker.added(first, attachments[0], implementation.name)
            try checker.bridgeIsGateway(Self.gateway)
            result.firstAdd.append(first)

            let singles = attachments[1...workload.singles]
            for attachment in singles {
                let completion = try launch.run(invocation(.add, attachment, configuration))
                live[attachment.containerID] = try checker.added(completion, attachment, implementation.name)
                result.addSingle.append(completion)
            }
            try checker.state(live, label: "after \(workload.singles + 1) single ADDs")
            for attachment in singles {
                let completion = try launch.run(invocation(.delete, attachment, configuration))
                try checker.deleted(completion, attachment, implementation.name)
                live[attachment.containerID] = nil
                result.delSingle.append(completion)
            }
            try checker.state(live, label: "after the single DELs")

            let burst = Array(attachments[(1 + workload.singles)...])
            let added = try launch.run(burst.map { invocation(.add, $0, configuration) })
            for (attachment, completion) in zip(burst, added.completions) {
                live[attachment.containerID] = try checker.added(completion, attachment, implementation.name)
                result.burstAdd.append(completion)
            }
            result.burstAddWall.append(added.wall.seconds)
            result.burstAddMachineBusy.append(added.machineBusy)
            try checker.state(live, label: "after a burst of \(burst.count) ADDs")
            let deleted = try launch.run(burst.map { invocation(.delete, $0, configuration) })
            for (attachment, completion) in zip(burst, deleted.completions) {
                try checker.deleted(completion, attachment, implementation.name)
                live[attachment.containerID] = nil
                result.burstDel.append(completion)
            }
            result.burstDelWall.append(deleted.wall.seconds)
            result.burstDelMachineBusy.append(deleted.machineBusy)

            try checker.deleted(
                launch.run(invocation(.delete, attachments[0], configuration)), attachments[0], implementation.name)
            live[attachments[0].containerID] = nil
            try checker.state(live, label: "after every DEL")
        }
    }

    /// The launch floor (`/bin/true` started the same way, same environment and stdin) and VERSION, interleaved
    /// so both see the same machine.
    private func measureExecs(_ launch: NodeLauncher, into result: inout CNIImplementationResult) throws {
        let environment = ["CNI_COMMAND=VERSION", "CNI_PATH=\(pluginDirectory)", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        let version = PluginInvocation(
            executable: implementation.binary, environment: environment, stdin: Self.versionRequest)
        var floor = version
        floor.executable = "/bin/true"
        for _ in 0..<workload.versionExecs {
            let idle = try launch.run(floor)
            guard idle.status == 0 else { throw BenchError("/bin/true in the node namespace exited \(idle.status)") }
            result.launchFloor.append(idle)
            let answer = try launch.run(version)
            let document = try? JSONSerialization.jsonObject(with: Data(answer.stdout.utf8)) as? [String: Any]
            guard answer.status == 0, let supported = document?["supportedVersions"] as? [String],
                supported.contains("1.0.0")
            else {
                throw BenchError(
                    "\(implementation.name): VERSION failed (exit \(answer.status)): \(answer.stdout.prefix(500))")
            }
            result.version.append(answer)
        }
    }

    /// The same network for both implementations: the reference `bridge` plugin's keys with a `host-local`
    /// `ipam` section; only `type` differs. No masquerade (the reference would exec iptables, Sluice writes
    /// nftables: a different job) and no default route in the pod.
    func configuration(store: String) -> String {
        """
        {"cniVersion":"1.0.0","name":"\(Self.network)","type":"\(implementation.type)","bridge":"\(Self.bridge)",\
        "isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","ranges":[[{"subnet":"\(Self.subnet)"}]],\
        "dataDir":"\(store)"}}
        """
    }

    private enum Command: String {
        case add = "ADD"
        case delete = "DEL"
    }

    /// What a runtime such as podman passes: the attachment, `CNI_PATH`, `CNI_ARGS` with the pod's name.
    private func invocation(_ command: Command, _ attachment: Attachment, _ configuration: [UInt8]) -> PluginInvocation
    {
        PluginInvocation(
            executable: implementation.binary,
            environment: [
                "CNI_COMMAND=\(command.rawValue)", "CNI_CONTAINERID=\(attachment.containerID)",
                "CNI_NETNS=\(attachment.pod.path)", "CNI_IFNAME=eth0", "CNI_PATH=\(pluginDirectory)",
                "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=\(attachment.containerID)",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            ], stdin: configuration)
    }
}

/// A pod namespace and the container ID it is attached under.
struct Attachment {
    var pod: NetworkNamespace
    var containerID: String
}

/// Proves that each measured call did its work, from outside the plugin: the pod's interface and address (`ip`),
/// the host ends on the node's bridge, the records in the IPAM store.
struct CNIChecker {
    let node: NetworkNamespace
    /// `dataDir/<network>`.
    let store: String
    let bridge: String

    /// A successful ADD: exit 0, a result (not an error document) with one IPv4 address in the subnet, and that
    /// address on `eth0` inside the pod. Returns the address.
    func added(_ completion: PluginCompletion, _ attachment: Attachment, _ name: String) throws -> String {
        let document = try? JSONSerialization.jsonObject(with: Data(completion.stdout.utf8)) as? [String: Any]
        guard completion.status == 0, let document, document["code"] == nil,
            let ips = document["ips"] as? [[String: Any]], let cidr = ips.first?["address"] as? String,
            let address = cidr.split(separator: "/").first.map(String.init)
        else {
            throw BenchError(
                "\(name): ADD of \(attachment.containerID) in \(attachment.pod.path) failed (exit \(completion.status)): "
                    + completion.stdout.prefix(500))
        }
        let listing = try runTool(["ip", "-n", attachment.pod.name!, "-j", "address", "show", "dev", "eth0"])
        let links = try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [[String: Any]] ?? []
        let locals = links.flatMap { ($0["addr_info"] as? [[String: Any]]) ?? [] }.compactMap { $0["local"] as? String }
        guard locals.contains(address), address.hasPrefix("10.244.90.") else {
            throw BenchError(
                "\(name): ADD of \(attachment.containerID) answered \(cidr), but eth0 in \(attachment.pod.path) has \(locals)"
            )
        }
        return address
    }

    /// A successful DEL: exit 0, no error document, and the pod's `eth0` gone.
    func deleted(_ completion: PluginCompletion, _ attachment: Attachment, _ name: String) throws {
        guard completion.status == 0, !completion.stdout.contains("\"code\"") else {
            throw BenchError(
                "\(name): DEL of \(attachment.containerID) failed (exit \(completion.status)): "
                    + completion.stdout.prefix(500))
        }
        let listing = try runTool(["ip", "-n", attachment.pod.name!, "-j", "link", "show"])
        let links = try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [[String: Any]] ?? []
        guard !links.contains(where: { $0["ifname"] as? String == "eth0" }) else {
            throw BenchError("\(name): after DEL of \(attachment.containerID), eth0 is still in \(attachment.pod.path)")
        }
    }

    /// The bridge exists in the node namespace and holds the gateway address (`isGateway`).
    func bridgeIsGateway(_ gateway: String) throws {
        let listing = try runTool(["ip", "-n", node.name!, "-j", "address", "show", "dev", bridge])
        guard listing.contains("\"local\":\"\(gateway)\"") else {
            throw BenchError("bridge \(bridge) in \(node.path) lacks the gateway \(gateway): \(listing.prefix(500))")
        }
    }

    /// The node and the store agree with `live` (container ID → address): addresses are distinct, the store has
    /// exactly those records, each naming its container, and the node has one host veth per attachment, each a
    /// port of the bridge.
    func state(_ live: [String: String], label: String) throws {
        guard Set(live.values).count == live.count else {
            throw BenchError("\(label): addresses handed out twice: \(live.values.sorted())")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: store)) ?? []
        let records = names.filter { name in
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
        }
        guard Set(records) == Set(live.values) else {
            throw BenchError("\(label): the store holds \(records.sorted()), expected \(live.values.sorted())")
        }
        for (containerID, address) in live {
            let record = (try? String(contentsOfFile: store + "/" + address, encoding: .utf8)) ?? ""
            guard record.split(whereSeparator: \.isNewline).first.map(String.init) == containerID else {
                throw BenchError("\(label): the record of \(address) is \(record.debugDescription), not \(containerID)")
            }
        }
        let veths = try links(["type", "veth"])
        let ports = try links(["master", bridge])
        guard veths.count == live.count, Set(veths) == Set(ports) else {
            throw BenchError(
                "\(label): \(live.count) attachments, but host veths \(veths.sorted()) and bridge ports \(ports.sorted())"
            )
        }
    }

    private func links(_ filter: [String]) throws -> [String] {
        let listing = try runTool(["ip", "-n", node.name!, "-j", "link", "show"] + filter)
        guard !listing.allSatisfy(\.isWhitespace) else { return [] }
        let links = try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [[String: Any]] ?? []
        return links.compactMap { $0["ifname"] as? String }
    }
}
