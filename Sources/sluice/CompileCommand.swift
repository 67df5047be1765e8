import ArgumentParser
import Foundation
import KubeAPI
import NFTables

/// `sluice compile`: what the node agent would program, as nft text, for the given manifests.
struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Load manifests and print the compiled ruleset as nft text.",
        discussion: """
            Every invalid object is reported on stderr with file, document, kind, namespace/name, field path and
            problem; the rest still loads. The exit status is 1 when any object was rejected.
            Until the Service compiler lands, the ruleset printed is Sluice's hand-built example.
            """)

    @Option(name: [.short, .customLong("filename")], help: "A manifest file or directory (YAML or JSON); repeatable.")
    var files: [String] = []

    @Option(help: "The node to compile for (its local endpoints and addresses).")
    var nodeName: String?

    @Flag(help: "Print only the hand-built example ruleset.")
    var example = false

    func validate() throws {
        if files.isEmpty && !example { throw ValidationError("give manifests with -f FILE (or --example)") }
    }

    func run() throws {
        var rejected = false
        if !files.isEmpty {
            let manifests = ManifestLoader().load(paths: files)
            for diagnostic in manifests.diagnostics {
                printError(diagnostic.description)
                if diagnostic.severity == .error { rejected = true }
            }
            print("# loaded: \(Self.summary(manifests))")
        }
        print(ExampleRuleset.transaction().description, terminator: "")
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
        return parts.isEmpty ? "no objects" : parts.joined(separator: ", ")
    }
}

/// Diagnostics go to stderr so stdout stays a loadable nft script.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
