import CNIPlugin
import Foundation
import KubeAPI
import NetworkPolicy
import SluiceAgent
import SluiceTestSupport
import Synchronization
import Testing

/// `sluice-cni` invoked as a runtime invokes it, against real namespaces: a test "node" namespace holds the
/// bridge, host veths and nftables table; pod namespaces get the pod ends.
@Suite(.requiresRoot) struct PluginKernelTests {
    /// A bridge someone else gave another address of the gateway's subnet: ADD refuses (code 7) and leaves the
    /// bridge as it found it, unless `forceAddress`, which replaces that address with the gateway.
    @Test func aBridgeWithAnotherAddressOfTheSubnetNeedsForceAddress() throws {
        try withTestNamespaces("cni-node", "cni-pod") { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            try harness.node.ipBatch([
                "link add \(harness.bridge) type bridge", "address add 10.244.66.9/24 dev \(harness.bridge)",
                "link set \(harness.bridge) up",
            ])
            let refused = try harness.invoke(
                "ADD", containerID: "c-1", netns: namespaces[1].namespace.path,
                configuration: harness.configuration(subnets: ["10.244.66.0/24"]))
            #expect(!refused.succeeded)
            #expect(try JSON.parse(refused.stdout).errorCode == 7, "\(refused.stdout)")
            let before = try harness.node.exec(["ip", "-o", "-4", "address", "show", "dev", harness.bridge])
            #expect(before.contains("10.244.66.9/24") && !before.contains("10.244.66.1/"), "\(before)")
            #expect(harness.storedAddresses().isEmpty)

            let forced = try harness.add(
                containerID: "c-2", pod: namespaces[1],
                configuration: harness.configuration(subnets: ["10.244.66.0/24"], extra: #""forceAddress":true"#))
            // Round-robin: .2 went to the refused ADD and was released.
            #expect(forced.resultAddresses == ["10.244.66.3/24"])
            let after = try harness.node.exec(["ip", "-o", "-4", "address", "show", "dev", harness.bridge])
            #expect(after.contains("10.244.66.1/24") && !after.contains("10.244.66.9/"), "\(after)")
        }
    }

    /// The conflist `sluiced --cni-conf` writes from a Node object works as the runtime hands it to the plugin
    /// (one plugin's configuration with the list's name and version): a dual-stack pod gets one address from each
    /// of the node's pod CIDRs, the first addresses are the bridge's gateways, the MTU is the overlay's.
    @Test func theConflistSluicedWritesGivesPodsTheNodesPodCIDRs() throws {
        try withTestNamespaces("cni-node", "cni-pod") { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let node = Node(
                metadata: ObjectMeta(name: "node-a"),
                spec: NodeSpec(podCIDRs: ["10.244.64.0/24", "fd00:10:244:64::/64"]))
            let text = try #require(CNIConfigWriter.conflist(for: node, mtu: 1450, masquerade: false))
            let list = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            var plugin = try #require((list["plugins"] as? [[String: Any]])?.first)
            plugin["name"] = list["name"]
            plugin["cniVersion"] = list["cniVersion"]
            var ipam = try #require(plugin["ipam"] as? [String: Any])
            ipam["dataDir"] = harness.dataDirectory
            plugin["ipam"] = ipam
            plugin["bridge"] = harness.bridge
            let configuration = String(decoding: try JSONSerialization.data(withJSONObject: plugin), as: UTF8.self)
            let result = try harness.add(containerID: "c-conf", pod: namespaces[1], configuration: configuration)
            #expect(result.resultAddresses == ["10.244.64.2/24", "fd00:10:244:64::2/64"])
            let link = try namespaces[1].exec(["ip", "-o", "link", "show", "eth0"])
            #expect(link.contains("mtu 1450"), "\(link)")
            let routes = try namespaces[1].exec(["ip", "route"]) + (try namespaces[1].exec(["ip", "-6", "route"]))
            #expect(routes.contains("default via 10.244.64.1") && routes.contains("default via fd00:10:244:64::1"))
        }
    }

    /// With the pod's identity in `CNI_ARGS` (as kubelet's runtimes pass it), ADD records it beside each address
    /// in host-local's store layout, `sluiced` reads it back, and DEL removes it with the address.
    @Test func addRecordsThePodBesideItsAddressesForSluiced() throws {
        try withTestNamespaces("cni-node", "cni-pod") { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let configuration = harness.configuration(subnets: ["10.244.63.0/24", "fd00:10:244:63::/64"])
            let arguments = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-7d4;K8S_POD_UID=u1"
            _ = try harness.add(
                containerID: "c-cart", pod: namespaces[1], configuration: configuration, arguments: arguments)
            let store = harness.dataDirectory + "/sluice-test"
            #expect(try String(contentsOfFile: store + "/10.244.63.2", encoding: .utf8) == "c-cart\r\neth0")
            #expect(
                try String(contentsOfFile: store + "/10.244.63.2.pod", encoding: .utf8) == "shop/cart-7d4\r\nc-cart")
            #expect(
                CNIAllocations.read(dataDirectory: harness.dataDirectory) == [
                    ObjectName(namespace: "shop", name: "cart-7d4"): [
                        IPAddress("10.244.63.2")!, IPAddress("fd00:10:244:63::2")!,
                    ]
                ])
            #expect(harness.storedAddresses() == ["10.244.63.2", "fd00:10:244:63::2"])

            let deleted = try harness.invoke(
                "DEL", containerID: "c-cart", netns: namespaces[1].namespace.path, configuration: configuration,
                arguments: arguments)
            #expect(deleted.succeeded, "\(deleted)")
            #expect(harness.storeFiles().filter { $0.hasSuffix(".pod") }.isEmpty, "\(harness.storeFiles())")
            #expect(CNIAllocations.read(dataDirectory: harness.dataDirectory).isEmpty)
        }
    }

    @Test(arguments: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"])
    func addCheckDeleteInEveryVersion(version: String) throws {
        try withTestNamespaces("cni-node", "cni-pod") { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let pod = namespaces[1]
            let configuration = harness.configuration(
                version: version, subnets: ["10.244.61.0/24", "fd00:10:244:61::/64"],
                extra: #""dns":{"nameservers":["10.96.0.10"]}"#)
            let result = try harness.add(containerID: "c-\(version)", pod: pod, configuration: configuration)
            try validateResult(result, version: version)
            #expect(result.resultAddresses == ["10.244.61.2/24", "fd00:10:244:61::2/64"])
            #expect(result["dns"]?["nameservers"] == .array([.string("10.96.0.10")]))
            guard case .array(let interfaces) = result["interfaces"] else {
                Issue.record("no interfaces")
                return
            }
            #expect(interfaces[2]["sandbox"] == .string(pod.namespace.path))
            #expect(interfaces[2]["name"] == .string("eth0"))

            let addresses = try pod.exec(["ip", "-o", "address", "show", "dev", "eth0"])
            #expect(addresses.contains("10.244.61.2/24") && addresses.contains("fd00:10:244:61::2/64"))
            #expect(!addresses.contains("tentative"))
            let routes = try pod.exec(["ip", "route"]) + (try pod.exec(["ip", "-6", "route"]))
            #expect(routes.contains("default via 10.244.61.1") && routes.contains("default via fd00:10:244:61::1"))
            #expect(try pod.exec(["ip", "-o", "link", "show", "lo"]).contains("UP"))
            #expect(try harness.node.exec(["ping", "-c1", "-W2", "10.244.61.2"]).contains("1 received"))

            if version != "0.3.1" {
                let withPrevious = String(configuration.dropLast()) + #","prevResult":\#(result.text)}"#
                let check = try harness.invoke(
                    "CHECK", containerID: "c-\(version)", netns: pod.namespace.path, configuration: withPrevious)
                #expect(check.succeeded, "\(check)")
                // CHECK notices a missing address.
                try pod.exec(["ip", "address", "del", "10.244.61.2/24", "dev", "eth0"])
                let failed = try harness.invoke(
                    "CHECK", containerID: "c-\(version)", netns: pod.namespace.path, configuration: withPrevious)
                #expect(try JSON.parse(failed.stdout).errorCode == 104, "\(failed.stdout)")
            }

            for _ in 0..<2 {
                let delete = try harness.invoke(
                    "DEL", containerID: "c-\(version)", netns: pod.namespace.path, configuration: configuration)
                #expect(delete.succeeded && delete.stdout.isEmpty, "\(delete)")
            }
            #expect(harness.storedAddresses().isEmpty)
            #expect(try harness.hostVeths().isEmpty)
            #expect(try pod.execStatus(["ip", "link", "show", "eth0"]).status != 0)
        }
    }

    @Test func podsTalkMasqueradeAndHostPortsWork() throws {
        try withTestNamespaces("cni-node", "cni-a", "cni-b", "cni-ext") { namespaces in
            let (node, podA, podB, external) = (namespaces[0], namespaces[1], namespaces[2], namespaces[3])
            let harness = try PluginHarness(node: node)
            defer { harness.removeDataDirectory() }
            // The external host: one routed hop from the node, in its own test namespace.
            try node.exec(["ip", "link", "add", "ext0", "type", "veth", "peer", "name", "eth0", "netns", external.name])
            try node.exec(["ip", "address", "add", "198.18.0.1/30", "dev", "ext0"])
            try node.exec(["ip", "link", "set", "ext0", "up"])
            try external.exec(["ip", "address", "add", "198.18.0.2/30", "dev", "eth0"])
            try external.exec(["ip", "link", "set", "eth0", "up"])

            let base = harness.configuration(
                subnets: ["10.244.62.0/24"], extra: #""ipMasq":true,"hairpinMode":true"#)
            let mapped =
                String(base.dropLast())
                + #","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}}"#
            _ = try harness.add(containerID: "pod-a", pod: podA, configuration: mapped)
            _ = try harness.add(containerID: "pod-b", pod: podB, configuration: base)
            let serverA = try NameServer(name: "a", in: podA, tcpPorts: [80])
            let serverExternal = try NameServer(name: "ext", in: external, tcpPorts: [9000])
            defer {
                serverA.stop()
                serverExternal.stop()
            }

            // Pod to pod over the bridge, unchanged source.
            #expect(tcpRequest(from: podB, to: "10.244.62.2", port: 80) == .reply("a 10.244.62.3"))
            // Pod to outside: masqueraded to the node's address on that link.
            #expect(tcpRequest(from: podA, to: "198.18.0.2", port: 9000) == .reply("ext 198.18.0.1"))
            // hostPort from the external host: DNAT to the pod, client address preserved.
            #expect(tcpRequest(from: external, to: "198.18.0.1", port: 8080) == .reply("a 198.18.0.2"))
            // hostPort from another pod through the gateway address.
            #expect(tcpRequest(from: podB, to: "10.244.62.1", port: 8080).serverName == "a")
            // hostPort from the pod itself (hairpin): masqueraded so the reply comes back through the bridge.
            #expect(tcpRequest(from: podA, to: "198.18.0.1", port: 8080) == .reply("a 10.244.62.1"))
            #expect(try harness.tableElementComments().contains("sluice-test pod-a eth0"))

            let delete = try harness.invoke(
                "DEL", containerID: "pod-a", netns: podA.namespace.path, configuration: mapped)
            #expect(delete.succeeded, "\(delete)")
            #expect(
                tcpRequest(from: external, to: "198.18.0.1", port: 8080, timeout: .milliseconds(500)).serverName == nil)
            #expect(try harness.tableElementComments().allSatisfy { $0.contains("pod-b") })
            _ = try harness.invoke("DEL", containerID: "pod-b", netns: podB.namespace.path, configuration: base)
            #expect(try harness.tableElementComments().isEmpty)
        }
    }

    /// The plugin is a static executable: on a root with no library, no loader and no file of the host it answers
    /// VERSION, and an ADD with masquerade and a hostPort (netlink, nftables through libnftnl and Sluice's own
    /// libmnl functions) then a DEL do all their work.
    @Test func pluginNeedsNothingFromTheHostFilesystem() throws {
        try withTestNamespaces("cni-node", "cni-pod") { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try PluginHarness(node: node)
            defer { harness.removeDataDirectory() }
            let version = try harness.invoke(
                "VERSION", configuration: #"{"cniVersion":"1.0.0"}"#, onEmptyRoot: true)
            #expect(version.succeeded, "\(version)")
            #expect(try JSON.parse(version.stdout)["supportedVersions"] != nil, "\(version)")

            let configuration =
                String(harness.configuration(subnets: ["10.244.67.0/24"], extra: #""ipMasq":true"#).dropLast())
                + #","runtimeConfig":{"portMappings":[{"hostPort":8081,"containerPort":80,"protocol":"tcp"}]}}"#
            let add = try harness.invoke(
                "ADD", containerID: "static", netns: pod.namespace.path, configuration: configuration,
                onEmptyRoot: true)
            #expect(add.succeeded, "\(add)")
            #expect(try JSON.parse(add.stdout).resultAddresses == ["10.244.67.2/24"], "\(add)")
            #expect(try pod.exec(["ip", "-o", "-4", "address", "show", "dev", "eth0"]).contains("10.244.67.2/24"))
            #expect(harness.storedAddresses() == ["10.244.67.2"])
            #expect(try harness.tableElementComments().contains("sluice-test static eth0"))

            let delete = try harness.invoke(
                "DEL", containerID: "static", netns: pod.namespace.path, configuration: configuration,
                onEmptyRoot: true)
            #expect(delete.succeeded, "\(delete)")
            #expect(harness.storedAddresses().isEmpty)
            #expect(try harness.hostVeths().isEmpty)
            #expect(try harness.tableElementComments().isEmpty)
        }
    }

    @Test func deleteWorksWithAnEmptyOrVanishedNamespace() throws {
        try withTestNamespaces("cni-node") { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let configuration = harness.configuration(subnets: ["10.244.63.0/24"])
            let pod = try TestNamespace.make("cni-gone")
            _ = try harness.add(containerID: "gone", pod: pod, configuration: configuration)
            let path = pod.namespace.path
            try pod.delete()
            for netns in [path, ""] {
                let delete = try harness.invoke("DEL", containerID: "gone", netns: netns, configuration: configuration)
                #expect(delete.succeeded, "\(delete)")
            }
            #expect(harness.storedAddresses().isEmpty)
            #expect(try harness.hostVeths().isEmpty)
        }
    }

    @Test func parallelAddsGetDistinctAddressesAndDeletesLeaveNothing() throws {
        let count = 100
        try withTestNamespaces(["cni-node"] + (0..<count).map { "cni-p\($0)" }) { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let configuration = harness.configuration(subnets: ["10.244.64.0/24"], extra: #""ipMasq":true"#)
            let pods = Array(namespaces.dropFirst())
            let adds = try runConcurrently(harness, command: "ADD", pods: pods, configuration: configuration)
            let addresses = try adds.map { try JSON.parse($0).resultAddresses.first ?? "" }
            #expect(Set(addresses).count == count, "\(addresses)")
            #expect(harness.storedAddresses().count == count)
            #expect(try harness.hostVeths().count == count)

            for _ in 0..<2 {
                let deletes = try runConcurrently(harness, command: "DEL", pods: pods, configuration: configuration)
                #expect(deletes.allSatisfy { $0.isEmpty }, "\(deletes)")
                #expect(harness.storedAddresses().isEmpty)
                #expect(try harness.hostVeths().isEmpty)
                #expect(try harness.tableElementComments().isEmpty)
            }
        }
    }

    @Test func killedAddsLeaveNothingAfterGarbageCollection() throws {
        let kills = 200
        let podCount = 4
        try withTestNamespaces(["cni-node"] + (0..<podCount).map { "cni-k\($0)" }) { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let pods = Array(namespaces.dropFirst())
            func configuration(hostPort: Int, version: String = "1.1.0", extra: String = "") -> String {
                let mapping = #"{"portMappings":[{"hostPort":\#(hostPort),"containerPort":80}]}"#
                return harness.configuration(
                    version: version, subnets: ["10.244.65.0/24", "fd00:10:244:65::/64"],
                    extra: #""ipMasq":true,"runtimeConfig":\#(mapping)"# + extra)
            }
            // One attachment that must survive GC.
            _ = try harness.add(containerID: "survivor", pod: pods[0], configuration: configuration(hostPort: 9999))
            let survivorVeths = try harness.hostVeths()
            let checkpoints = FaultInjection.Checkpoint.allCases
            for attempt in 0..<kills {
                let checkpoint = checkpoints[attempt % checkpoints.count]
                let result = try harness.invoke(
                    "ADD", containerID: "killed-\(attempt)", netns: pods[attempt % podCount].namespace.path,
                    ifname: "k\(attempt)", configuration: configuration(hostPort: 10000 + attempt),
                    environment: [FaultInjection.variable: checkpoint.rawValue])
                #expect(result.status == 128 + SIGKILL, "ADD should die at \(checkpoint.rawValue): \(result)")
            }
            let valid = #","cni.dev/valid-attachments":[{"containerID":"survivor","ifname":"eth0"}]"#
            let gc = try harness.invoke("GC", configuration: configuration(hostPort: 1, extra: valid))
            #expect(gc.succeeded, "\(gc)")
            #expect(harness.storedAddresses() == ["10.244.65.2", "fd00:10:244:65::2"])
            #expect(harness.storeFiles().allSatisfy { !$0.hasPrefix(".") }, "\(harness.storeFiles())")
            #expect(try harness.hostVeths() == survivorVeths)
            #expect(Set(try harness.tableElementComments()) == ["sluice-test survivor eth0"])
            for pod in pods {
                let links = try pod.exec(["ip", "-o", "link"])
                #expect(!links.contains(" k"), "pod ends of killed ADDs must be gone: \(links)")
            }
        }
    }

    @Test func badCallsGetTheirCodeAndChangeNothing() throws {
        try withTestNamespaces("cni-node", "cni-pod") { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let pod = namespaces[1]
            let tiny = harness.configuration(version: "1.1.0", name: "tiny", subnets: ["10.244.66.0/30"])
            func code(_ result: ProcessResult) throws -> Int? {
                #expect(result.status == 1)
                return try JSON.parse(result.stdout).errorCode
            }
            // Interface name taken inside the container.
            try pod.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "other0"])
            #expect(
                try code(harness.invoke("ADD", containerID: "c1", netns: pod.namespace.path, configuration: tiny))
                    == 101)
            // A namespace path that is no namespace.
            #expect(
                try code(harness.invoke("ADD", containerID: "c1", netns: "/run/netns/nope", configuration: tiny)) == 3)
            #expect(
                try code(harness.invoke("ADD", containerID: "c1", netns: "/etc/hostname", configuration: tiny)) == 3)
            #expect(harness.storedAddresses(network: "tiny").isEmpty)
            #expect(try harness.hostVeths().isEmpty)
            #expect(try harness.invoke("STATUS", configuration: tiny).succeeded)

            // A /30 has one address for pods: the second ADD finds the range exhausted and leaves nothing.
            _ = try harness.add(containerID: "c1", pod: pod, ifname: "net1", configuration: tiny)
            let veths = try harness.hostVeths()
            #expect(
                try code(
                    harness.invoke(
                        "ADD", containerID: "c2", netns: pod.namespace.path, ifname: "net2", configuration: tiny))
                    == 102)
            #expect(harness.storedAddresses(network: "tiny") == ["10.244.66.2"])
            #expect(try harness.hostVeths() == veths)
            #expect(try pod.execStatus(["ip", "link", "show", "net2"]).status != 0)
            #expect(try code(harness.invoke("STATUS", configuration: tiny)) == 50)
            _ = try harness.invoke(
                "DEL", containerID: "c1", netns: pod.namespace.path, ifname: "net1", configuration: tiny)
            #expect(try harness.invoke("STATUS", configuration: tiny).succeeded)
        }
    }

    @Test func chainedPreviousResultIsExtended() throws {
        try withTestNamespaces("cni-node", "cni-pod") { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let previous =
                #"{"cniVersion":"1.0.0","interfaces":[{"name":"tap0"}],"ips":[{"address":"198.18.5.5/24","interface":0}],"dns":{"domain":"example"}}"#
            let configuration =
                String(harness.configuration(subnets: ["10.244.67.0/24"]).dropLast())
                + #","prevResult":\#(previous)}"#
            let result = try harness.add(containerID: "chain", pod: namespaces[1], configuration: configuration)
            try validateResult(result, version: "1.0.0")
            #expect(result.resultAddresses == ["198.18.5.5/24", "10.244.67.2/24"])
            guard case .array(let ips) = result["ips"] else {
                return
            }
            #expect(ips[1]["interface"] == .number(3))
            #expect(result["dns"]?["domain"] == .string("example"))
            _ = try harness.invoke(
                "DEL", containerID: "chain", netns: namespaces[1].namespace.path, configuration: configuration)
        }
    }

    @Test func requestedAddressAndMACAreHonoured() throws {
        try withTestNamespaces("cni-node", "cni-pod") { namespaces in
            let harness = try PluginHarness(node: namespaces[0])
            defer { harness.removeDataDirectory() }
            let configuration = harness.configuration(subnets: ["10.244.68.0/24"], extra: #""macspoofchk":true"#)
            let result = try harness.add(
                containerID: "req", pod: namespaces[1], configuration: configuration,
                arguments: "IgnoreUnknown=1;IP=10.244.68.77;MAC=02:42:0a:f4:44:4d")
            #expect(result.resultAddresses == ["10.244.68.77/24"])
            #expect(try namespaces[1].exec(["ip", "link", "show", "eth0"]).contains("02:42:0a:f4:44:4d"))
            #expect(try harness.node.exec(["ping", "-c1", "-W2", "10.244.68.77"]).contains("1 received"))
            // macspoofchk: frames from any other MAC are dropped at the bridge port.
            try namespaces[1].exec(["ip", "link", "set", "eth0", "address", "02:42:0a:f4:44:99"])
            try namespaces[1].exec(["ip", "neigh", "flush", "all"])
            #expect(try namespaces[1].execStatus(["ping", "-c1", "-W1", "10.244.68.1"]).status != 0)
            _ = try harness.invoke(
                "DEL", containerID: "req", netns: namespaces[1].namespace.path, configuration: configuration)
        }
    }
}

/// Runs one plugin process per pod at the same time (one thread per process, all started together), as a node
/// does when many pods start together; returns each process's stdout in pod order.
///
/// Not a shell's `&` and `wait`: the test runner blocks `SIGCHLD`, a child shell inherits that mask, and dash's
/// `wait` then never wakes up.
func runConcurrently(
    _ harness: PluginHarness, command: String, pods: [TestNamespace], configuration: String
) throws -> [String] {
    let outputs = Mutex([String?](repeating: nil, count: pods.count))
    let group = DispatchGroup()
    for (index, pod) in pods.enumerated() {
        group.enter()
        Thread {
            let result = try? harness.invoke(
                command, containerID: "par-\(index)", netns: pod.namespace.path, configuration: configuration)
            outputs.withLock { $0[index] = result.map { $0.succeeded ? $0.stdout : "failed: \($0)" } }
            group.leave()
        }.start()
    }
    group.wait()
    return outputs.withLock { $0.map { $0 ?? "could not run" } }
}
