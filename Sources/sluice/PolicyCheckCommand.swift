import ArgumentParser
import KubeAPI
import NetworkPolicy

/// `sluice policy check`: would this connection be allowed, and why?
struct PolicyCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Judge one new connection: the verdict, who isolates each end, which rule allowed it.",
        discussion: """
            The verdict comes from tracing the connection's first packet through the compiled policy table, exactly
            as a node programs it (every pod treated as enforced by its own node); the reasons are the rules behind
            the set elements it matched. An end may also be an IP address outside the pod network (ipBlock rules).
            Invalid objects are reported on stderr (a rejected policy keeps isolating what it selects) and make the
            exit status 1 after the answer.
            """)

    @OptionGroup var options: PolicyOptions

    @Option(help: "The client: NAMESPACE/POD, or an IP address.")
    var from: String

    @Option(help: "The server: NAMESPACE/POD, or an IP address.")
    var to: String

    @Option(help: "The destination port.")
    var port: UInt16

    @Option(name: .customLong("protocol"), help: "TCP, UDP or SCTP.")
    var transport = "TCP"

    @Option(name: [.short, .customLong("output")], help: "text or json.")
    var output: CheckOutput = .text

    enum CheckOutput: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func run() throws {
        guard let source = PolicyEndpoint(from) else { throw ValidationError("--from \(from): not NS/POD or an IP") }
        guard let destination = PolicyEndpoint(to) else { throw ValidationError("--to \(to): not NS/POD or an IP") }
        let proto = try parseProtocol(transport)
        let (checker, rejected) = try options.checker()
        let verdict: PolicyVerdict
        do {
            verdict = try checker.check(
                from: source, to: destination, protocol: proto, port: port, family: options.family?.family)
        } catch {
            throw ValidationError(error.description)
        }
        switch output {
        case .json: try printJSON(CheckReport(verdict))
        case .text: print(Self.text(verdict), terminator: "")
        }
        if rejected { throw ExitCode(1) }
    }

    static func text(_ verdict: PolicyVerdict) -> String {
        var text = "\(verdict.allowed ? "allow" : "deny"): \(verdict.source) (\(verdict.sourceAddress)) -> "
        text += "\(verdict.destination) (\(verdict.destinationAddress)) \(verdict.protocol)/\(verdict.port)\n"
        text += "  egress at \(describe(verdict.egress, .egress, verdict.source))\n"
        text += "  ingress at \(describe(verdict.ingress, .ingress, verdict.destination))\n"
        return text
    }

    private static func describe(_ side: PolicySide, _ direction: PolicyDirection, _ end: PolicyEndpoint) -> String {
        let name = side.pod?.description ?? end.description
        guard side.enforced else { return "\(name): not a pod, no policy applies" }
        guard !side.isolatedBy.isEmpty else {
            return "\(name): not isolated (no NetworkPolicy selects it for \(direction.rawValue))"
        }
        var text = "\(name): isolated by \(side.isolatedBy.map(\.description).joined(separator: ", "))"
        if !side.rejectedPolicies.isEmpty {
            text += " (rejected, allowing nothing: \(side.rejectedPolicies.map(\.description).joined(separator: ", ")))"
        }
        text +=
            side.allowedBy.isEmpty
            ? "; no rule allows it" : "; allowed by \(side.allowedBy.map(\.description).joined(separator: ", "))"
        return text
    }
}

/// `-o json` of `policy check`.
struct CheckReport: Encodable {
    struct Side: Encodable {
        var pod: String?
        var enforced: Bool
        var isolated: Bool
        var isolatedBy: [String]
        var rejectedPolicies: [String]
        var allowed: Bool
        var allowedBy: [String]

        init(_ side: PolicySide) {
            pod = side.pod?.description
            enforced = side.enforced
            isolated = !side.isolatedBy.isEmpty
            isolatedBy = side.isolatedBy.map(\.description)
            rejectedPolicies = side.rejectedPolicies.map(\.description)
            allowed = side.allowed
            allowedBy = side.allowedBy.map(\.description)
        }
    }

    var verdict: String
    var from: String
    var to: String
    var port: UInt16
    var `protocol`: String
    var source: String
    var destination: String
    var egress: Side
    var ingress: Side
    var trace: [String]

    init(_ verdict: PolicyVerdict) {
        self.verdict = verdict.allowed ? "allow" : "deny"
        from = verdict.source.description
        to = verdict.destination.description
        port = verdict.port
        `protocol` = verdict.protocol.rawValue
        source = verdict.sourceAddress.description
        destination = verdict.destinationAddress.description
        egress = Side(verdict.egress)
        ingress = Side(verdict.ingress)
        trace = verdict.trace
    }
}
