/// Evaluates `ruleset` for `packet` at `hook`, the way the kernel would run the same IR.
///
/// Base chains of every table that sees the packet (`inet` sees IPv4 and IPv6, `ip` only IPv4, `ip6` only
/// IPv6; `netdev` and `inet` ingress chains only on their device) run in priority order, ties in creation
/// order. Accept ends one base chain and the next one runs; drop and reject end the hook. Inside a chain:
/// rules in order, statements left to right, a failed match ends the rule; `jump` pushes a return point (16
/// deep, as `NFT_JUMP_STACK_SIZE`), `goto` does not, `return` or the end of a chain pops, and the end of the
/// base chain applies its policy.
///
/// Details that follow the kernel rather than intuition:
/// - nat chains run inside the NAT core's hook (priority -100 at prerouting/output, 100 at input/postrouting)
///   ordered among themselves by their own priority; they run only for a flow's first packet (`ct state`
///   new or related), and once one sets up a binding the remaining nat chains of the hook are skipped.
/// - DNAT, SNAT and masquerade end the base chain with accept (the nat expression sets the verdict) and
///   rewrite the packet for later chains; a NAT statement of the other family in an `inet` table does nothing.
/// - In `inet` tables, the first statement that reads `ip`/`ip6` headers is guarded by `meta nfproto`, as
///   nft (and Sluice's netlink lowering) adds it: an IPv6 packet does not match a rule reading `ip daddr`.
/// - `cmp` compares register bytes with `memcmp`, so `<`/`>` on host-order values (marks) compare
///   little-endian bytes exactly as the lowered rule does; interval sets compare in network byte order.
/// - `numgen random mod N` splits the trace into N outcomes of probability 1/N (identical outcomes are
///   merged); `jhash` computes the kernel's hash (see `jhash(_:initval:)`).
///
/// Dynamic set updates are reported, not stored: a lookup later in the same trace sees the ruleset as given.
/// Anything the model cannot evaluate (a field the packet lacks, a missing set) makes the rule not match,
/// with the reason in the step.
public func trace(_ packet: TracePacket, hook: Hook, in ruleset: Ruleset) -> [TraceOutcome] {
    let chains = TraceRun.baseChains(for: packet, hook: hook, in: ruleset)
    var outcomes: [TraceOutcome] = []
    // Depth-first over the values of random draws: a run either completes or stops at the first draw its
    // script does not fix, which then forks into one script per value.
    var pending: [(script: [UInt32], probability: Double)] = [([], 1)]
    while let (script, probability) = pending.popLast() {
        var run = TraceRun(hook: hook, packet: packet, script: script)
        do {
            let verdict = try run.run(chains)
            outcomes.append(
                TraceOutcome(
                    probability: probability, verdict: verdict, nat: run.nat, packet: run.packet,
                    setUpdates: run.setUpdates, steps: run.steps))
        } catch {
            let share = probability / Double(error.modulus)
            for value in (0..<error.modulus).reversed() { pending.append((script + [value], share)) }
        }
    }
    return merged(outcomes)
}

/// Traces routed traffic through several hooks in sequence — `[.prerouting, .forward, .postrouting]` for
/// forwarded packets, `[.output, .postrouting]` for locally generated ones — carrying each outcome's packet
/// (DNATed destination, marks, conntrack status) into the next hook, multiplying probabilities and stopping
/// an outcome at drop or reject.
public func tracePath(_ packet: TracePacket, hooks: [Hook], in ruleset: Ruleset) -> [TraceOutcome] {
    var outcomes = [
        TraceOutcome(probability: 1, verdict: .accept, nat: [], packet: packet, setUpdates: [], steps: [])
    ]
    for hook in hooks {
        outcomes = merged(
            outcomes.flatMap { earlier -> [TraceOutcome] in
                guard earlier.verdict == .accept else { return [earlier] }
                return trace(earlier.packet, hook: hook, in: ruleset).map { later in
                    TraceOutcome(
                        probability: earlier.probability * later.probability, verdict: later.verdict,
                        nat: earlier.nat + later.nat, packet: later.packet,
                        setUpdates: earlier.setUpdates + later.setUpdates, steps: earlier.steps + later.steps)
                }
            })
    }
    return outcomes
}

/// Sums the probabilities of outcomes that are identical in everything else, keeping first-seen order.
private func merged(_ outcomes: [TraceOutcome]) -> [TraceOutcome] {
    var result: [TraceOutcome] = []
    var positions: [TraceOutcome: Int] = [:]
    for outcome in outcomes {
        var key = outcome
        key.probability = 0
        if let position = positions[key] {
            result[position].probability += outcome.probability
        } else {
            positions[key] = result.count
            result.append(outcome)
        }
    }
    return result
}

/// A random draw the current script does not fix: the explorer forks here.
struct TraceNeedsDraw: Error {
    var modulus: UInt32
}

/// Why evaluating an expression or statement stopped.
enum TraceHalt: Error {
    case draw(modulus: UInt32)
    /// The expression has no value, or the match failed: the rule does not match, for this reason.
    case miss(String)
}

/// What a rule did, for the chain walk.
enum TraceRuleEffect {
    /// Matched or not; either way the next rule runs.
    case proceed(TraceStepResult)
    /// accept, drop, continue or return.
    case verdict(Verdict)
    /// A jump or goto, with its target resolved.
    case enter(RulesetChainState, Verdict)
    case nat(NATResult)
    case reject(RejectKind)
}

/// One deterministic evaluation of a hook, given the values of its random draws.
struct TraceRun {
    /// Most chains a jump may nest (`NFT_JUMP_STACK_SIZE`); deeper, the kernel drops.
    static let jumpStackSize = 16
    /// Most values one `numgen` may fork into.
    static let maximumModulus: UInt32 = 4096
    /// Rules evaluated before giving up on a `goto` loop the kernel would have refused to load.
    static let ruleBudget = 100_000

    let hook: Hook
    var packet: TracePacket
    let script: [UInt32]
    var draws = 0
    var steps: [TraceStep] = []
    var nat: [NATResult] = []
    var setUpdates: [TraceSetUpdate] = []
    var natSetUp = false
    var budget = ruleBudget

    init(hook: Hook, packet: TracePacket, script: [UInt32]) {
        self.hook = hook
        self.packet = packet
        self.script = script
    }

    /// Base chains that see `packet` at `hook`, in the order the kernel runs them.
    static func baseChains(
        for packet: TracePacket, hook: Hook, in ruleset: Ruleset
    ) -> [(chain: RulesetChainState, table: RulesetTableState)] {
        var found: [(chain: RulesetChainState, table: RulesetTableState, order: (Int64, Int64, UInt64))] = []
        for table in ruleset.tableStates.values {
            for chain in table.chains.values {
                guard let base = chain.chain.base, base.hook == hook, sees(packet, table.table.family, base) else {
                    continue
                }
                // nat chains run inside the NAT core's hook, whose priority is fixed per hook.
                let core: Int64 =
                    base.type != .nat ? Int64(base.priority) : (hook == .prerouting || hook == .output ? -100 : 100)
                found.append((chain, table, (core, Int64(base.priority), chain.sequence)))
            }
        }
        return found.sorted { $0.order < $1.order }.map { ($0.chain, $0.table) }
    }

    private static func sees(_ packet: TracePacket, _ family: TableFamily, _ base: BaseChain) -> Bool {
        if base.hook == .ingress && base.device != packet.inputInterface { return false }
        switch family {
        case .inet: return packet.family == .ip || packet.family == .ip6
        case .ip, .ip6: return packet.family == family
        case .netdev: return base.hook == .ingress
        case .arp, .bridge: return false
        }
    }

    mutating func run(
        _ chains: [(chain: RulesetChainState, table: RulesetTableState)]
    ) throws(TraceNeedsDraw) -> TraceVerdict {
        for (chain, table) in chains {
            if chain.chain.base?.type == .nat {
                if packet.ctState.isDisjoint(with: [.new, .related]) {
                    skip(chain, "nat chains see only the first packet of a flow; later ones reuse its binding")
                    continue
                }
                if natSetUp {
                    skip(chain, "an earlier nat chain of this hook already set up the binding")
                    continue
                }
            }
            let verdict = try evaluate(base: chain, in: table)
            if verdict != .accept { return verdict }
        }
        return .accept
    }

    private mutating func skip(_ chain: RulesetChainState, _ reason: String) {
        steps.append(
            TraceStep(hook: hook, chain: chain.chain.ref, ruleIndex: nil, rule: "", result: .skipped(reason: reason)))
    }

    private mutating func evaluate(
        base: RulesetChainState, in table: RulesetTableState
    ) throws(TraceNeedsDraw) -> TraceVerdict {
        var stack: [(chain: RulesetChainState, next: Int)] = []
        var chain = base
        var index = 0
        while true {
            guard index < chain.rules.count else {
                if let caller = stack.popLast() {
                    (chain, index) = caller
                    continue
                }
                return policy(of: base)
            }
            guard budget > 0 else {
                skip(chain, "more than \(Self.ruleBudget) rules evaluated: a goto loop the kernel refuses to load")
                return .drop
            }
            budget -= 1
            let rule = chain.rules[index]
            let effect = try evaluate(rule, in: table)
            steps.append(
                TraceStep(
                    hook: hook, chain: chain.chain.ref, ruleIndex: index, rule: rule.description, result: effect.step))
            switch effect {
            case .proceed, .verdict(.continue):
                index += 1
            case .verdict(.accept), .nat:
                return .accept
            case .verdict(.drop):
                return .drop
            case .reject(let kind):
                return .reject(kind)
            case .verdict:  // return
                guard let caller = stack.popLast() else { return policy(of: base) }
                (chain, index) = caller
            case .enter(let target, let verdict):
                if case .jump = verdict {
                    stack.append((chain, index + 1))
                    if stack.count > Self.jumpStackSize {
                        skip(target, "jump stack exhausted (\(Self.jumpStackSize) nested jumps): the kernel drops")
                        return .drop
                    }
                }
                chain = target
                index = 0
            }
        }
    }

    private mutating func policy(of base: RulesetChainState) -> TraceVerdict {
        let policy = base.chain.base?.policy ?? .accept
        steps.append(TraceStep(hook: hook, chain: base.chain.ref, ruleIndex: nil, rule: "", result: .policy(policy)))
        return policy == .drop ? .drop : .accept
    }

    private mutating func evaluate(_ rule: Rule, in table: RulesetTableState) throws(TraceNeedsDraw) -> TraceRuleEffect
    {
        var guarded = table.table.family != .inet
        for (index, statement) in rule.statements.enumerated() {
            if !guarded,
                let needed = statement.expressions.reduce(
                    into: Set<TableFamily>(), { $0.formUnion($1.requiredFamilies) }
                )
                .first
            {
                guarded = true
                let family: TableFamily = needed == .ip ? .ip : .ip6
                if packet.family != family {
                    let reason =
                        "meta nfproto is \(Value.nfproto(packet.family)), the rule reads \(family.rawValue) headers"
                    return .proceed(.notMatched(statement: index, reason: reason))
                }
            }
            do throws(TraceHalt) {
                if let effect = try execute(statement, of: rule, in: table) { return effect }
            } catch {
                switch error {
                case .draw(let modulus): throw TraceNeedsDraw(modulus: modulus)
                case .miss(let reason): return .proceed(.notMatched(statement: index, reason: reason))
                }
            }
        }
        return .proceed(.matched)
    }

    /// Runs one statement: `nil` to go on with the next statement, an effect to end the rule.
    private mutating func execute(
        _ statement: Statement, of rule: Rule, in table: RulesetTableState
    ) throws(TraceHalt) -> TraceRuleEffect? {
        switch statement {
        case .compare(let e, let op, let value):
            let values = try evaluate(e, in: table)
            let register = registerBytes(values)
            guard register.count >= value.bytes.count else {
                throw .miss("\(e) is \(register.count) bytes, the value \(value.bytes.count)")
            }
            guard op.holds(compareBytes(Array(register.prefix(value.bytes.count)), value.bytes)) else {
                throw .miss("\(e) is \(render(values)), not \(op.rawValue) \(value)")
            }
        case .prefix(let e, let value, let length, let negated):
            let values = try evaluate(e, in: table)
            let network = value.prefixRange(length: length).first
            let masked = Value(type: value.type, bytes: Array(registerBytes(values).prefix(network.bytes.count)))
                .prefixRange(length: length).first
            guard (masked.bytes == network.bytes) != negated else {
                let inside = negated ? "inside" : "outside"
                throw .miss("\(e) is \(render(values)), \(inside) \(network)/\(length)")
            }
        case .anyFlags(let e, let flags):
            let values = try evaluate(e, in: table)
            guard zip(registerBytes(values), flags.bytes).contains(where: { $0 & $1 != 0 }) else {
                throw .miss("\(e) is \(render(values)), none of \(flags)")
            }
        case .lookup(let e, let name, let negated):
            let key = try evaluate(e, in: table)
            let found = try element(key, in: name, of: table) != nil
            guard found != negated else {
                throw .miss("\(render(key)) is \(found ? "" : "not ")in @\(name)")
            }
        case .verdictMap(let e, let name):
            let key = try evaluate(e, in: table)
            guard let element = try element(key, in: name, of: table) else {
                throw .miss("\(render(key)) is not in @\(name)")
            }
            guard case .verdict(let verdict) = element.data else { throw .miss("@\(name) is not a verdict map") }
            return try effect(of: verdict, in: table)
        case .counter:
            return nil
        case .verdict(let verdict):
            return try effect(of: verdict, in: table)
        case .dnat(let family, let target), .snat(let family, let target):
            // The target's registers load first (a map miss ends the rule); then the inet nat expression acts
            // only on packets of its own family and otherwise lets the rule continue.
            let values = try evaluate(target, in: table)
            guard family == packet.family else { return nil }
            let isDestination = if case .dnat = statement { true } else { false }
            return translate(isDestination ? .dnat : .snat, to: values, chain: rule.chain)
        case .masquerade:
            return translate(.masquerade, to: [], chain: rule.chain)
        case .setUpdate(let operation, let name, let key, let timeout, let data):
            let keyValues = try evaluate(key, in: table)
            var dataValues: [Value]?
            if let data { dataValues = try evaluate(data, in: table) }
            setUpdates.append(
                TraceSetUpdate(
                    set: SetRef(table: table.table.ref, name: name), operation: operation, key: keyValues,
                    data: dataValues, timeout: timeout))
        case .reject(let kind):
            return .reject(kind)
        case .orMark(let bits):
            packet.mark |= UInt32(truncatingIfNeeded: bits.integerValue)
        }
        return nil
    }

    private func effect(of verdict: Verdict, in table: RulesetTableState) throws(TraceHalt) -> TraceRuleEffect {
        guard let name = verdict.chain else { return .verdict(verdict) }
        guard let target = table.chains[name] else { throw .miss("\(verdict): chain \(name) does not exist") }
        return .enter(target, verdict)
    }

    /// Sets up a NAT binding: rewrites the packet, marks conntrack as the kernel does when the tuple changes,
    /// and accepts for the base chain.
    private mutating func translate(_ kind: NATResult.Kind, to values: [Value], chain: ChainRef) -> TraceRuleEffect {
        let address = values.first
        let port = values.count > 1 ? values[1] : nil
        let newPort = port.map { UInt16(truncatingIfNeeded: $0.integerValue) }
        switch kind {
        case .dnat:
            if let address,
                address != packet.destination || (newPort ?? packet.destinationPort) != packet.destinationPort
            {
                packet.ctStatus.insert(.dnat)
            }
            packet.destination = address ?? packet.destination
            packet.destinationPort = newPort ?? packet.destinationPort
        case .snat:
            if let address, address != packet.source || (newPort ?? packet.sourcePort) != packet.sourcePort {
                packet.ctStatus.insert(.snat)
            }
            packet.source = address ?? packet.source
            packet.sourcePort = newPort ?? packet.sourcePort
        case .masquerade:
            packet.ctStatus.insert(.snat)
        }
        let result = NATResult(kind: kind, address: address, port: port, hook: hook, chain: chain)
        nat.append(result)
        natSetUp = true
        return .nat(result)
    }

    // MARK: expressions

    /// The value(s) of an expression, one per field of its type.
    private mutating func evaluate(_ e: Expression, in table: RulesetTableState) throws(TraceHalt) -> [Value] {
        switch e {
        case .payload(let field):
            return [try payload(field)]
        case .meta(let key):
            switch key {
            case .l4proto: return [.inetProtocol(packet.l4proto)]
            case .nfproto: return [.nfproto(packet.family)]
            case .mark: return [.mark(packet.mark)]
            case .iifname:
                guard let name = packet.inputInterface else { throw .miss("no input interface at \(hook.rawValue)") }
                return [.interfaceName(name)]
            case .oifname:
                guard let name = packet.outputInterface else { throw .miss("no output interface at \(hook.rawValue)") }
                return [.interfaceName(name)]
            }
        case .ct(let key):
            switch key {
            case .state: return [.ctState(packet.ctState)]
            case .status: return [.ctStatus(packet.ctStatus)]
            case .mark: return [.mark(packet.ctMark)]
            case .originalDestination, .originalDestination6:
                guard key.requiredFamily == packet.family else {
                    throw .miss("ct \(key.rawValue) of an \(Value.nfproto(packet.family)) flow")
                }
                return [packet.originalDestination]
            case .originalDestinationPort:
                guard packet.hasPorts else {
                    throw .miss("ct \(key.rawValue): a \(Value.inetProtocol(packet.l4proto)) flow has no ports")
                }
                return [.port(packet.originalDestinationPort)]
            }
        case .numgenRandom(let modulus, let offset):
            guard modulus > 0, modulus <= Self.maximumModulus else {
                throw .miss("numgen modulus \(modulus) is outside 1...\(Self.maximumModulus)")
            }
            guard draws < script.count else { throw .draw(modulus: modulus) }
            draws += 1
            return [.integer(script[draws - 1] &+ offset)]
        case .jhash(let input, let modulus, let seed, let offset):
            guard modulus > 0 else { throw .miss("jhash modulus is 0") }
            let bytes = registerBytes(try evaluate(input, in: table))
            return [.integer(jhashSlot(bytes, modulus: modulus, seed: seed, offset: offset))]
        case .fibDestinationType:
            return [.fibAddressType(addressType(of: packet.destination))]
        case .concat(let parts):
            var values: [Value] = []
            for part in parts { values += try evaluate(part, in: table) }
            return values
        case .mapLookup(let key, let map, _):
            let keyValues = try evaluate(key, in: table)
            guard let element = try element(keyValues, in: map, of: table) else {
                throw .miss("\(render(keyValues)) is not in @\(map)")
            }
            guard case .values(let data) = element.data else { throw .miss("@\(map) does not map to values") }
            return data
        case .constant(let value):
            return [value]
        }
    }

    private func payload(_ field: PayloadField) throws(TraceHalt) -> Value {
        switch field {
        case .ipSource, .ipDestination, .ip6Source, .ip6Destination:
            guard field.requiredFamily == packet.family else {
                throw .miss("\(field.rawValue) of an \(Value.nfproto(packet.family)) packet")
            }
            return field == .ipSource || field == .ip6Source ? packet.source : packet.destination
        case .transportSourcePort, .transportDestinationPort:
            guard packet.hasPorts else {
                throw .miss("\(field.rawValue): a \(Value.inetProtocol(packet.l4proto)) header has no ports")
            }
            return .port(field == .transportSourcePort ? packet.sourcePort : packet.destinationPort)
        }
    }

    /// The bytes the kernel holds for an expression's values: each field of a concatenation on its own 32-bit
    /// register, zero-padded; a plain value unpadded. Exactly what `cmp`, `bitwise` and `hash` read.
    private func registerBytes(_ values: [Value]) -> [UInt8] {
        guard values.count > 1 else { return values.first?.bytes ?? [] }
        return values.flatMap { $0.bytes + Array(repeating: 0, count: $0.type.registerLength - $0.bytes.count) }
    }

    private func addressType(of address: Value) -> FibAddressType {
        if packet.localAddresses.contains(address) { return .local }
        switch address.type {
        case .ipv4Address where address.bytes == [255, 255, 255, 255]: return .broadcast
        case .ipv4Address where (address.bytes.first ?? 0) & 0xf0 == 0xe0: return .multicast
        case .ipv6Address where address.bytes.first == 0xff: return .multicast
        default: return .unicast
        }
    }

    /// The element a key selects: exact match in a hash set, range containment per field (network byte order)
    /// in an interval set. Overlapping ranges — which the kernel refuses — resolve to the lowest key.
    private func element(_ key: [Value], in name: String, of table: RulesetTableState) throws(TraceHalt) -> SetElement?
    {
        guard let set = table.sets[name] else { throw .miss("set @\(name) does not exist") }
        let fields = set.set.key.fields
        guard key.count == fields.count else {
            throw .miss("the key has \(key.count) fields, @\(name) is keyed by \(set.set.key)")
        }
        guard set.set.flags.contains(.interval) else {
            // The kernel compares bytes only; the set's types make the values comparable.
            return set.elements[ElementKey(zip(key, fields).map { Value(type: $1, bytes: $0.bytes) })]
        }
        let probe = key.map(\.networkOrderBytes)
        var best: SetElement?
        for element in set.elements.unordered where element.key.contains(probe) {
            if let current = best, !element.key.sortKey.lexicographicallyPrecedes(current.key.sortKey) { continue }
            best = element
        }
        return best
    }
}

extension TraceRuleEffect {
    fileprivate var step: TraceStepResult {
        switch self {
        case .proceed(let result): result
        case .verdict(let verdict), .enter(_, let verdict): .verdict(verdict)
        case .nat(let result): .nat(result)
        case .reject(let kind): .reject(kind)
        }
    }
}

extension ElementKey {
    /// Whether network-order field values lie within this key's ranges, as rbtree and pipapo sets match.
    fileprivate func contains(_ probe: [[UInt8]]) -> Bool {
        guard probe.count == firsts.count else { return false }
        for (value, (first, last)) in zip(probe, zip(firsts, lasts)) {
            let low = first.networkOrderBytes
            let high = last.networkOrderBytes
            guard value.count == low.count, compareBytes(low, value) <= 0, compareBytes(value, high) <= 0 else {
                return false
            }
        }
        return true
    }
}

extension CompareOperator {
    /// Whether the operator holds for a `memcmp` result.
    fileprivate func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }
}

/// `memcmp`'s sign for equal-length byte strings.
private func compareBytes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
    for (l, r) in zip(lhs, rhs) where l != r { return l < r ? -1 : 1 }
    return 0
}

private func render(_ values: [Value]) -> String {
    values.map(\.description).joined(separator: " . ")
}
