import CNIPlugin
import Testing

/// The CNI protocol without a kernel: VERSION, environment and configuration validation, error documents.
@Suite struct ProtocolTests {
    @Test func versionAnswersWithoutConfigurationOrPath() throws {
        let outcome = Plugin.run(
            environment: env(["CNI_COMMAND": "VERSION", "CNI_PATH": "dummy"]),
            stdin: Array(#"{"cniVersion":"1.0.0"}"#.utf8))
        #expect(outcome.status == 0)
        let document = try JSON.parse(outcome.stdout)
        #expect(document["cniVersion"] == .string("1.0.0"))
        #expect(
            document["supportedVersions"] == .array(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"].map(JSON.string)))
    }

    @Test func versionToleratesGarbageOnStdin() throws {
        let outcome = Plugin.run(environment: env(["CNI_COMMAND": "VERSION"]), stdin: Array("not json".utf8))
        #expect(outcome.status == 0)
        #expect(try JSON.parse(outcome.stdout)["cniVersion"] == .string("1.1.0"))
    }

    @Test(arguments: [
        // (environment, stdin, expected code, words the message must contain)
        (["CNI_COMMAND": ""], validConfig, 4, "CNI_COMMAND"),
        (["CNI_COMMAND": "ATTACH"], validConfig, 4, "ATTACH"),
        (["CNI_COMMAND": "ADD", "CNI_NETNS": "/run/netns/x", "CNI_IFNAME": "eth0"], validConfig, 4, "CNI_CONTAINERID"),
        (["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_IFNAME": "eth0"], validConfig, 4, "CNI_NETNS"),
        (attachment(ifname: "a-very-long-name0"), validConfig, 4, "15"),
        (attachment(ifname: "eth/0"), validConfig, 4, "not a valid interface name"),
        (attachment(args: "FOO=bar"), validConfig, 4, "FOO"),
        (attachment(args: "broken"), validConfig, 4, "KEY=VALUE"),
        (attachment(), "{", 6, "not valid JSON"),
        (attachment(), "[1]", 6, "JSON object"),
        (attachment(), #"{"name":"n"}"#, 7, "cniVersion"),
        (attachment(), #"{"cniVersion":"0.2.0","name":"n"}"#, 1, "0.2.0"),
        (attachment(), #"{"cniVersion":"1.0.0"}"#, 7, "name"),
        (attachment(), #"{"cniVersion":"1.0.0","name":"n","mtu":"1500"}"#, 7, "mtu: expected an integer"),
        (attachment(), #"{"cniVersion":"1.0.0","name":"n","isGateway":"yes"}"#, 7, "isGateway"),
        (attachment(), #"{"cniVersion":"1.0.0","name":"n","mtu":10}"#, 7, "outside"),
        (attachment(), #"{"cniVersion":"1.0.0","name":"n","vlan":5}"#, 2, "VLAN"),
        (attachment(), #"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"dhcp"}}"#, 2, "dhcp"),
        (attachment(), #"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local"}}"#, 7, "ranges"),
        (attachment(), ipamConfig(#""subnet":"10.244.9.0/33""#), 7, "not a CIDR"),
        (attachment(), ipamConfig(#""subnet":"10.244.9.0/31""#), 7, "too small"),
        (attachment(), ipamConfig(#""subnet":"10.244.9.0/24","rangeStart":"10.244.10.5""#), 7, "outside subnet"),
        (attachment(), ipamConfig(#""subnet":"10.244.9.0/24","gateway":"fd00::1""#), 7, "same family"),
        (
            attachment(), ipamConfig(#""subnet":"10.244.9.0/24","rangeStart":"10.244.9.9","rangeEnd":"10.244.9.3""#), 7,
            "after"
        ),
        (attachment(args: "IP=10.244.9.300"), ipamConfig(#""subnet":"10.244.9.0/24""#), 7, "10.244.9.300"),
        (attachment(args: "MAC=ff:ff:ff:ff:ff:ff"), validConfig, 7, "unicast"),
        (
            attachment(),
            #"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":80}]}}"#,
            7, "hostPort"
        ),
        (
            attachment(),
            #"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"icmp"}]}}"#,
            7, "icmp"
        ),
        (attachment(command: "CHECK"), #"{"cniVersion":"0.3.1","name":"n"}"#, 1, "CHECK"),
        (["CNI_COMMAND": "STATUS"], #"{"cniVersion":"1.0.0","name":"n"}"#, 1, "1.1.0"),
        (
            ["CNI_COMMAND": "GC"],
            #"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"ifname":"eth0"}]}"#, 7, "containerID"
        ),
    ])
    func badInputGetsItsCode(environment: [String: String], stdin: String, code: Int, words: String) throws {
        let outcome = Plugin.run(environment: env(environment), stdin: Array(stdin.utf8))
        #expect(outcome.status == 1)
        let document = try JSON.parse(outcome.stdout)
        #expect(document["code"] == .number(Double(code)), "\(outcome.stdout)")
        guard case .string(let message) = document["msg"] else {
            Issue.record("no msg in \(outcome.stdout)")
            return
        }
        #expect(message.contains(words), "message \(message) should mention \(words)")
        #expect(document["cniVersion"] != nil)
    }

    @Test func argumentsParseWithIgnoreUnknown() throws {
        let arguments = try CNIArguments("IgnoreUnknown=1;K8S_POD_NAME=web;FOO=bar;IP=10.0.0.5")
        #expect(arguments["IP"] == "10.0.0.5")
        #expect(arguments["FOO"] == "bar")
        #expect(throws: CNIError.self) { try CNIArguments("FOO=bar") }
        let spaced = try CNIArguments(";;IgnoreUnknown=true;K8S_POD_NAME=a=b;EMPTY=;")
        #expect(spaced.pairs.map(\.key) == ["IgnoreUnknown", "K8S_POD_NAME", "EMPTY"])
        #expect(spaced["K8S_POD_NAME"] == "a=b")
        #expect(spaced["EMPTY"] == "")
        #expect { try CNIArguments("IgnoreUnknown=1;NOEQUALS") } throws: { error in
            (error as? CNIError)?.message.contains("\"NOEQUALS\" is not KEY=VALUE") == true
        }
    }

    @Test func configurationReadsEveryBridgeKey() throws {
        let text = """
            {"cniVersion":"1.1.0","name":"pods","type":"sluice-cni","bridge":"br-pods","isDefaultGateway":true,
             "forceAddress":true,"ipMasq":true,"mtu":1400,"hairpinMode":true,"promiscMode":true,"macspoofchk":true,
             "snat":false,"dns":{"nameservers":["10.96.0.10"]},
             "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.3.0/24","rangeStart":"10.244.3.10",
               "rangeEnd":"10.244.3.20","gateway":"10.244.3.254"}],[{"subnet":"fd00:10:244:3::/64"}]],
               "routes":[{"dst":"0.0.0.0/0"},{"dst":"fd00:10:96::/108","gw":"fd00:10:244:3::1"}],"dataDir":"/tmp/x"},
             "runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"TCP","hostIP":"198.18.0.1"}],
               "mac":"02:00:00:00:00:07","ips":["10.244.3.15/24"]},
             "unknownKey":{"ignored":true}}
            """
        let network = try NetworkConfiguration(
            stdin: Array(text.utf8), environment: PluginEnvironment(env(attachment())))
        #expect(network.bridge == "br-pods")
        #expect(network.isGateway && network.isDefaultGateway && network.forceAddress && network.ipMasq)
        #expect(network.mtu == 1400 && network.hairpinMode && network.promiscMode && network.macSpoofCheck)
        #expect(!network.hostPortSNAT)
        #expect(network.mac?.description == "02:00:00:00:00:07")
        #expect(network.requestedAddresses.map(\.description) == ["10.244.3.15"])
        #expect(
            network.portMappings == [
                PortMapping(hostPort: 8080, containerPort: 80, transport: .tcp, hostIP: .init("198.18.0.1"))
            ])
        let ipam = try #require(network.ipam)
        #expect(ipam.dataDirectory == "/tmp/x")
        #expect(ipam.rangeSets.count == 2)
        #expect(ipam.rangeSets[0][0].start.description == "10.244.3.10")
        #expect(ipam.rangeSets[0][0].gateway.description == "10.244.3.254")
        #expect(ipam.rangeSets[1][0].gateway.description == "fd00:10:244:3::1")
        #expect(ipam.rangeSets[1][0].end.description == "fd00:10:244:3:ffff:ffff:ffff:ffff")
        #expect(ipam.routes.count == 2)
    }

    @Test func cniArgsIPOverridesRuntimeConfig() throws {
        let text = #"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"ips":["10.244.3.15/24"]}}"#
        let network = try NetworkConfiguration(
            stdin: Array(text.utf8), environment: PluginEnvironment(env(attachment(args: "IP=10.244.3.16"))))
        #expect(network.requestedAddresses.map(\.description) == ["10.244.3.16"])
    }

    @Test func garbageCollectionAcceptsBothAttachmentKeys() throws {
        for key in ["cni.dev/valid-attachments", "cni.dev/attachments"] {
            let text = #"{"cniVersion":"1.1.0","name":"n","\#(key)":[{"containerID":"c1","ifname":"eth0"}]}"#
            let network = try NetworkConfiguration(
                stdin: Array(text.utf8), environment: PluginEnvironment(env(["CNI_COMMAND": "GC"])))
            #expect(network.validAttachments == [AttachmentID(containerID: "c1", interfaceName: "eth0")])
        }
    }
}

let validConfig = #"{"cniVersion":"1.0.0","name":"n"}"#

func ipamConfig(_ range: String) -> String {
    #"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","ranges":[[{\#(range)}]],"dataDir":"/nonexistent"}}"#
}

func attachment(command: String = "ADD", ifname: String = "eth0", args: String? = nil) -> [String: String] {
    var environment = [
        "CNI_COMMAND": command, "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/does-not-exist", "CNI_IFNAME": ifname,
        "CNI_PATH": "/opt/cni/bin",
    ]
    environment["CNI_ARGS"] = args
    return environment
}

func env(_ variables: [String: String]) -> (String) -> String? {
    { variables[$0] }
}
