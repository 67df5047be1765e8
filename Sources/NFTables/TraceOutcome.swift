/// The fate of a packet at a hook (or along a path of hooks).
public enum TraceVerdict: Sendable, Hashable, CustomStringConvertible {
    /// Every base chain accepted it: the packet continues.
    case accept
    case drop
    /// Dropped and answered with a reset or ICMP error, so the client fails at once.
    case reject(RejectKind)

    public var description: String {
        switch self {
        case .accept: "accept"
        case .drop: "drop"
        case .reject(let kind): kind.description
        }
    }
}

/// A NAT binding a nat chain set up for the flow.
public struct NATResult: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case dnat, snat, masquerade
    }

    public var kind: Kind
    /// The new address; `nil` for masquerade, whose address is the output interface's (not modelled).
    public var address: Value?
    /// The new port, when the target names one.
    public var port: Value?
    public var hook: Hook
    public var chain: ChainRef

    public init(kind: Kind, address: Value?, port: Value?, hook: Hook, chain: ChainRef) {
        self.kind = kind
        self.address = address
        self.port = port
        self.hook = hook
        self.chain = chain
    }

    /// `dnat to 10.244.1.5:8080` or `masquerade`.
    public var description: String {
        guard let address else { return kind.rawValue }
        guard let port else { return "\(kind.rawValue) to \(address)" }
        return address.type == .ipv6Address
            ? "\(kind.rawValue) to [\(address)]:\(port)" : "\(kind.rawValue) to \(address):\(port)"
    }
}

/// An element the packet path adds to or refreshes in a dynamic set (`add @set { … }` / `update @set { … }`).
public struct TraceSetUpdate: Sendable, Hashable, CustomStringConvertible {
    public var set: SetRef
    public var operation: SetUpdateOperation
    public var key: [Value]
    public var data: [Value]?
    public var timeout: Duration?

    public init(set: SetRef, operation: SetUpdateOperation, key: [Value], data: [Value]?, timeout: Duration?) {
        self.set = set
        self.operation = operation
        self.key = key
        self.data = data
        self.timeout = timeout
    }

    /// `update @affinity { 10.0.0.1 . 10.96.0.10 timeout 10800s }`.
    public var description: String {
        var text = "\(operation.rawValue) @\(set.name) { " + key.map(\.description).joined(separator: " . ")
        if let timeout { text += " timeout \(formatDuration(timeout))" }
        if let data { text += " : " + data.map(\.description).joined(separator: " . ") }
        return text + " }"
    }
}

/// What happened to one rule (or a chain's policy) during a trace.
public enum TraceStepResult: Sendable, Hashable, CustomStringConvertible {
    /// Every statement matched and none ended evaluation: the next rule runs.
    case matched
    /// Statement `statement` (0-based) did not match, so the rest of the rule was skipped.
    case notMatched(statement: Int, reason: String)
    /// The rule (a verdict statement or a verdict map) decided: accept, drop, jump, goto, return, continue.
    case verdict(Verdict)
    /// A NAT statement set up a binding; the kernel's nat expression then accepts for the base chain.
    case nat(NATResult)
    case reject(RejectKind)
    /// No rule decided: the base chain's policy applies.
    case policy(Verdict)
    /// The chain was not evaluated (e.g. a nat chain for a packet of an established flow).
    case skipped(reason: String)

    public var description: String {
        switch self {
        case .matched: "matched"
        case .notMatched(let statement, let reason): "no match at statement \(statement): \(reason)"
        case .verdict(let verdict): verdict.description
        case .nat(let nat): nat.description
        case .reject(let kind): kind.description
        case .policy(let verdict): "policy \(verdict)"
        case .skipped(let reason): "skipped: \(reason)"
        }
    }
}

/// One rule (or policy, or skipped chain) the packet met, in evaluation order.
public struct TraceStep: Sendable, Hashable, CustomStringConvertible {
    public var hook: Hook
    public var chain: ChainRef
    /// The rule's position in its chain; `nil` for a policy or a skipped chain.
    public var ruleIndex: Int?
    /// The rule's nft text (empty for a policy or a skipped chain).
    public var rule: String
    public var result: TraceStepResult

    public init(hook: Hook, chain: ChainRef, ruleIndex: Int?, rule: String, result: TraceStepResult) {
        self.hook = hook
        self.chain = chain
        self.ruleIndex = ruleIndex
        self.rule = rule
        self.result = result
    }

    /// `prerouting inet sluice services #0 th dport vmap @ports => jump web`.
    public var description: String {
        let position = ruleIndex.map { " #\($0) \(rule)" } ?? ""
        return "\(hook.rawValue) \(chain)\(position) => \(result)"
    }
}

/// One possible fate of a traced packet, with its probability (`numgen random` splits a trace in several).
public struct TraceOutcome: Sendable, Hashable, CustomStringConvertible {
    /// Outcomes of one trace sum to 1.
    public var probability: Double
    public var verdict: TraceVerdict
    /// NAT bindings in the order they were set up (a path can DNAT in prerouting and masquerade later).
    public var nat: [NATResult]
    /// The packet as it leaves the last traced hook: DNATed destination, marks, conntrack status.
    public var packet: TracePacket
    public var setUpdates: [TraceSetUpdate]
    public var steps: [TraceStep]

    public init(
        probability: Double, verdict: TraceVerdict, nat: [NATResult], packet: TracePacket,
        setUpdates: [TraceSetUpdate], steps: [TraceStep]
    ) {
        self.probability = probability
        self.verdict = verdict
        self.nat = nat
        self.packet = packet
        self.setUpdates = setUpdates
        self.steps = steps
    }

    /// A readable multi-line rendering for `sluice trace`.
    public var description: String {
        var lines = ["\(verdict) (probability \(percent(probability)))"]
        lines += nat.map { "  \($0) (\($0.hook.rawValue), \($0.chain))" }
        lines.append("  packet: \(packet)")
        lines += setUpdates.map { "  \($0)" }
        lines += steps.map { "    \($0)" }
        return lines.joined(separator: "\n")
    }

    /// The outcome as plain strings and numbers for `-o json`.
    public var report: TraceReport {
        TraceReport(
            probability: probability, verdict: verdict.description, nat: nat.map(\.description),
            packet: TraceReport.Packet(packet), setUpdates: setUpdates.map(\.description),
            steps: steps.map {
                TraceReport.Step(
                    hook: $0.hook.rawValue, chain: $0.chain.description, ruleIndex: $0.ruleIndex, rule: $0.rule,
                    result: $0.result.description)
            })
    }
}

/// A `Codable` view of a `TraceOutcome` in nft's spelling, so a CLI can print `-o json` without knowing the IR.
public struct TraceReport: Sendable, Hashable, Codable {
    public struct Packet: Sendable, Hashable, Codable {
        public var family: String
        public var source: String
        public var destination: String
        public var l4proto: String
        public var sourcePort: UInt16
        public var destinationPort: UInt16
        public var inputInterface: String?
        public var outputInterface: String?
        public var mark: UInt32
        public var ctState: String
        public var ctStatus: String
        public var ctMark: UInt32
        public var originalDestination: String
        public var originalDestinationPort: UInt16

        public init(_ packet: TracePacket) {
            family = packet.family.rawValue
            source = packet.source.description
            destination = packet.destination.description
            l4proto = Value.inetProtocol(packet.l4proto).description
            sourcePort = packet.sourcePort
            destinationPort = packet.destinationPort
            inputInterface = packet.inputInterface
            outputInterface = packet.outputInterface
            mark = packet.mark
            ctState = packet.ctState.description
            ctStatus = packet.ctStatus.description
            ctMark = packet.ctMark
            originalDestination = packet.originalDestination.description
            originalDestinationPort = packet.originalDestinationPort
        }
    }

    public struct Step: Sendable, Hashable, Codable {
        public var hook: String
        public var chain: String
        public var ruleIndex: Int?
        public var rule: String
        public var result: String
    }

    public var probability: Double
    public var verdict: String
    public var nat: [String]
    public var packet: Packet
    public var setUpdates: [String]
    public var steps: [Step]
}

/// `33.33%`: two decimals without Foundation's formatter (or libm: probabilities are never negative).
private func percent(_ probability: Double) -> String {
    let hundredths = Int(probability * 10000 + 0.5)
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)%"
}
