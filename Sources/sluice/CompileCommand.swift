import ArgumentParser
import Foundation
import KubeAPI
import NFTables
import ServiceProxy

/// `sluice compile`: what the node agent would program, as nft text, for the given manifests.
struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Load manifests and print the compiled Service ruleset as nft text.",
        discussion: """
            Every invalid object is reported on stderr with file, document, kind, namespace/name, field path and
            problem; the rest still compiles. The exit status is 1 when any object was rejected.
            The text is what the kernel gets over netlink, in nft syntax, for reading: `nft list ruleset`
            prints the programmed table the same way, but nft's parser cannot type a few of these
            expressions inside a concatenation (`ct original proto-dst`, `numgen` into a `mark` field), so the
            output is not meant for `nft -f`.
            """)

    @OptionGroup var options: ProxyOptions

    @Flag(help: "Print the hand-built example ruleset that exercises every IR feature instead.")
    var example = false

    func validate() throws {
        if options.files.isEmpty && !example { throw ValidationError("give manifests with -f FILE (or --example)") }
    }

    func run() throws {
        if example {
            print(ExampleRuleset.transaction().description, terminator: "")
            return
        }
        let (manifests, rejected) = options.load()
        let (proxy, sync) = try options.compile(manifests)
        print(
            "# \(Self.summary(manifests)); \(proxy.programmedElementCount) map elements, \(proxy.dynamicChains.count) dynamic chains"
        )
        print(sync.transaction.description, terminator: "")
        if rejected { throw ExitCode(1) }
    }

    static func summary(_ m: ManifestSet) -> String {
        let counts: [(String, Int)] = [
            ("Namespace", m.namespaces.count), ("Node", m.nodes.count), ("Pod", m.pods.count),
            ("Service", m.services.count), ("Endpoints", m.endpoints.count),
            ("EndpointSlice", m.endpointSlices.count), ("NetworkPolicy", m.networkPolicies.count),
            ("Secret", m.secrets.count), ("Ingress", m.ingresses.count), ("IngressClass", m.ingressClasses.count),
            ("GatewayClass", m.gatewayClasses.count), ("Gateway", m.gateways.count),
            ("HTTPRoute", m.httpRoutes.count), ("ReferenceGrant", m.referenceGrants.count),
        ]
        let parts = counts.filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }
        return "loaded " + (parts.isEmpty ? "no objects" : parts.joined(separator: ", "))
    }
}

/// Diagnostics go to stderr so stdout stays readable (and, for plain rulesets, loadable).
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
