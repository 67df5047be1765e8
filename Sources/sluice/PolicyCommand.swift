import ArgumentParser
import Foundation
import KubeAPI
import NetworkPolicy

/// `sluice policy`: NetworkPolicy questions answered from manifests, by the same compiled sets and rules a node
/// programs (traced, never approximated).
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check connections against NetworkPolicies, or print their truth table.",
        subcommands: [PolicyCheckCommand.self, PolicyMatrixCommand.self])
}

/// The manifests and output settings shared by `policy check` and `policy matrix`.
struct PolicyOptions: ParsableArguments {
    @Option(
        name: [.short, .customLong("filename")],
        help: "A manifest file or directory (Namespaces, Pods, NetworkPolicies; YAML or JSON); repeatable.")
    var files: [String] = []

    @Option(help: "The address family to connect over: ipv4 or ipv6 (default: IPv4 where both ends have one).")
    var family: FamilyOption?

    func validate() throws {
        if files.isEmpty { throw ValidationError("give manifests with -f FILE") }
    }

    /// Loads the manifests (diagnostics on stderr) and compiles the cluster-wide view; `rejected` tells whether
    /// any object was refused, which makes the command exit 1 after answering.
    func checker() throws -> (checker: PolicyChecker, rejected: Bool) {
        let manifests = ManifestLoader().load(paths: files)
        var rejected = false
        for diagnostic in manifests.diagnostics {
            printError(diagnostic.description)
            if diagnostic.severity == .error { rejected = true }
        }
        let checker = try PolicyChecker(manifests: manifests)
        for problem in checker.enforcer.diagnostics { printError(problem) }
        return (checker, rejected)
    }
}

enum FamilyOption: String, ExpressibleByArgument, CaseIterable {
    case ipv4, ipv6

    var family: AddressFamily { self == .ipv4 ? .ipv4 : .ipv6 }
}

/// A transport protocol as written on the command line (`TCP`, `udp`, …).
func parseProtocol(_ text: String) throws -> TransportProtocol {
    let proto = TransportProtocol(rawValue: text.uppercased())
    guard proto.isKnown else { throw ValidationError("\(text): not one of TCP, UDP, SCTP") }
    return proto
}

/// Prints a value as one line of JSON, keys sorted so output is stable for scripts and diffs.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
