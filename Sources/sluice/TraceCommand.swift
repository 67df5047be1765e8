import ArgumentParser
import Foundation
import KubeAPI
import ServiceProxy

/// `sluice trace`: follow one new connection through the compiled Service ruleset, as the kernel would.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace a connection through the compiled Service rules: Service, endpoints, DNAT, masquerade.",
        discussion: """
            Evaluates the same IR `sluiced` programs (prerouting, forward, postrouting; or output and
            postrouting with --from-node). NodePorts answer on the node's addresses: those of its Node object,
            or --node-ip.
            """)

    @OptionGroup var options: ProxyOptions

    @Option(help: "Source address of the connection.")
    var src: String

    @Option(help: "Destination address (a ClusterIP, LoadBalancer or external IP, or a node address).")
    var dst: String

    @Option(help: "Destination port.")
    var dport: UInt16

    @Option(help: "Source port.")
    var sport: UInt16 = 40000

    @Option(name: .customLong("protocol"), help: "tcp, udp or sctp.")
    var transport: String = "tcp"

    @Flag(help: "The connection starts on the node itself (output hook).")
    var fromNode = false

    @Option(name: .customLong("node-ip"), help: "An address of this node (repeatable; default: its Node object's).")
    var nodeIPs: [String] = []

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: String = "text"

    func validate() throws {
        if options.files.isEmpty { throw ValidationError("give manifests with -f FILE") }
        guard ["tcp", "udp", "sctp"].contains(transport.lowercased()) else {
            throw ValidationError("--protocol \(transport): expected tcp, udp or sctp")
        }
        guard ["text", "json"].contains(output) else { throw ValidationError("-o \(output): expected text or json") }
        for (flag, text) in [("src", src), ("dst", dst)] + nodeIPs.map({ ("node-ip", $0) }) where IPAddress(text) == nil
        {
            throw ValidationError("--\(flag) \(text): not an IP address")
        }
        if IPAddress(src)?.family != IPAddress(dst)?.family {
            throw ValidationError("--src and --dst must be of one family")
        }
    }

    func run() throws {
        let (manifests, _) = options.load()
        let (proxy, _) = try options.compile(manifests)
        let node = manifests.nodes.first { $0.metadata.name == options.nodeName }
        let local =
            nodeIPs.isEmpty
            ? (node?.status.addresses.compactMap { IPAddress($0.address) } ?? []) : nodeIPs.compactMap(IPAddress.init)
        let proto: TransportProtocol =
            switch transport.lowercased() {
            case "udp": .udp
            case "sctp": .sctp
            default: .tcp
            }
        let result = proxy.trace(
            ServiceTraceRequest(
                source: IPAddress(src)!, destination: IPAddress(dst)!, port: dport, protocol: proto, sourcePort: sport,
                fromNode: fromNode, localAddresses: local))
        if output == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        print("\(src):\(sport) -> \(dst):\(dport)/\(proto.rawValue)")
        if let service = result.service {
            let port = result.servicePort.map { $0.isEmpty ? "" : " port \($0)" } ?? ""
            print("  Service \(service)\(port) (\(result.frontend ?? "frontend"))")
        }
        print("  \(result.verdict): \(result.reason)")
        for candidate in result.endpoints {
            let percent = String(format: "%.1f%%", candidate.probability * 100)
            print("    -> \(candidate.endpoint)  \(percent)\(candidate.masquerade ? "  masqueraded" : "")")
        }
    }
}
