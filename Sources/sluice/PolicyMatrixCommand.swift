import ArgumentParser
import Foundation
import KubeAPI
import NetworkPolicy

/// `sluice policy matrix`: the truth table of every ordered pod pair, as the upstream e2e tests print it.
struct PolicyMatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Print the allow/deny truth table of every ordered pair of pods, per port and protocol.",
        discussion: """
            Each cell is the traced verdict of a new connection from the row's pod to the column's (a pod to itself
            is left out: `-` in the table, absent in JSON). `table` prints one grid per protocol and port, `.` for
            allowed and `X` for denied; `json` prints a list of {"from","to","port","protocol","verdict"}.
            """)

    @OptionGroup var options: PolicyOptions

    @Option(help: "Comma-separated destination ports.")
    var ports = "80,81"

    @Option(help: "Comma-separated protocols (TCP, UDP, SCTP).")
    var protocols = "TCP,UDP,SCTP"

    @Option(name: [.short, .customLong("output")], help: "table or json.")
    var output: MatrixOutput = .table

    enum MatrixOutput: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    struct Cell: Encodable {
        var from: String
        var to: String
        var port: UInt16
        var `protocol`: String
        var verdict: String
    }

    func run() throws {
        let portList = try ports.split(separator: ",").map { text in
            guard let port = UInt16(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--ports: \(text) is not a port")
            }
            return port
        }
        let protocolList = try protocols.split(separator: ",").map {
            try parseProtocol($0.trimmingCharacters(in: .whitespaces))
        }
        let (checker, rejected) = try options.checker()
        let cells: [PolicyMatrixCell]
        do {
            cells = try checker.matrix(
                ports: portList, protocols: protocolList, family: options.family?.family ?? .ipv4)
        } catch {
            throw ValidationError(error.description)
        }
        switch output {
        case .json:
            try printJSON(
                cells.map {
                    Cell(
                        from: $0.from.description, to: $0.to.description, port: $0.port,
                        protocol: $0.protocol.rawValue, verdict: $0.allowed ? "allow" : "deny")
                })
        case .table:
            print(Self.table(cells, ports: portList, protocols: protocolList), terminator: "")
        }
        if rejected { throw ExitCode(1) }
    }

    /// One grid per protocol and port: rows are clients, columns servers, tab-separated like the e2e output.
    static func table(_ cells: [PolicyMatrixCell], ports: [UInt16], protocols: [TransportProtocol]) -> String {
        var pods: [ObjectName] = []
        var verdicts: [String: Bool] = [:]
        for cell in cells {
            if !pods.contains(cell.from) { pods.append(cell.from) }
            verdicts["\(cell.from) \(cell.to) \(cell.port) \(cell.protocol)"] = cell.allowed
        }
        var text = ""
        for proto in protocols {
            for port in ports {
                text += "\(proto)/\(port) (. allowed, X denied; rows connect to columns)\n"
                text += (["-"] + pods.map(\.description)).joined(separator: "\t") + "\n"
                for from in pods {
                    let row = pods.map { to -> String in
                        guard let allowed = verdicts["\(from) \(to) \(port) \(proto)"] else { return "-" }
                        return allowed ? "." : "X"
                    }
                    text += ([from.description] + row).joined(separator: "\t") + "\n"
                }
                text += "\n"
            }
        }
        return text
    }
}
