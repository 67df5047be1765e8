import KubeAPI

/// An HTTPRoute's rules compiled once, whatever parents it attaches to.
struct CompiledRoute: Sendable {
    var source: RouteSource
    /// The route's own hostnames (`[.any]` when it has none), most specific first.
    var hostnames: [HostnamePattern]
    /// Entries of the valid rules without hostname specificity (filled in per attachment).
    var entries: [RouteEntry]
    /// Route-level problems: the whole route is invalid (`Accepted: False`, `UnsupportedValue`).
    var routeProblems: [String]
    /// Dropped rules by index, with what was wrong (`PartiallyInvalid`, or `Accepted: False` when all are).
    var droppedRules: [Int: [String]]
    var ruleCount: Int
    /// Whether some dropped rule combined filters that cannot be combined (`IncompatibleFilters`).
    var hasIncompatibleFilters: Bool
    /// Unresolvable references (`ResolvedRefs: False`), in rule order.
    var refProblems: [RefProblem]

    var isInvalid: Bool { !routeProblems.isEmpty || (ruleCount > 0 && droppedRules.count == ruleCount) }

    /// `validate: false` trusts the loader's validation (ManifestSet holds only valid objects); objects from
    /// elsewhere are validated here, each problem attributed to the rule that has it so only that rule is dropped.
    init(_ route: HTTPRoute, context: ReferenceContext, validate: Bool) {
        source = RouteSource(kind: HTTPRoute.kind, namespace: route.metadata.namespace, name: route.metadata.name)
        let patterns = route.spec.hostnames.map { HostnamePattern($0) }
        hostnames = patterns.isEmpty ? [.any] : Self.unique(patterns).sorted { $0.specificity > $1.specificity }
        entries = []
        routeProblems = []
        droppedRules = [:]
        ruleCount = route.spec.rules.count
        hasIncompatibleFilters = false
        refProblems = []

        for error in validate ? route.validate() : [] {
            if let rule = Self.ruleIndex(of: error.path) {
                droppedRules[rule, default: []].append(error.description)
                if error.message.contains("may not combine") { hasIncompatibleFilters = true }
            } else {
                routeProblems.append(error.description)
            }
        }
        for (index, rule) in route.spec.rules.enumerated() where droppedRules[index] == nil {
            do {
                entries += try compile(rule, at: index, of: route, context: context)
            } catch {
                droppedRules[index] = [error.description]
            }
        }
    }

    /// `spec.rules[3].matches[0]…` → 3.
    private static func ruleIndex(of path: FieldPath) -> Int? {
        let text = path.description
        guard text.hasPrefix("spec.rules["), let close = text.firstIndex(of: "]") else { return nil }
        return Int(text[text.index(text.startIndex, offsetBy: 11)..<close])
    }

    private static func unique(_ patterns: [HostnamePattern]) -> [HostnamePattern] {
        var seen = Set<HostnamePattern>()
        return patterns.filter { seen.insert($0).inserted }
    }

    private mutating func compile(
        _ rule: HTTPRouteRule, at index: Int, of route: HTTPRoute, context: ReferenceContext
    ) throws(RuleProblem) -> [RouteEntry] {
        var problems: [RefProblem] = []
        let filters = rule.filters.map { CompiledFilter($0, route: route, context: context, problems: &problems) }
        let backends = rule.backendRefs.map { reference -> BackendChoice in
            let target: String?
            switch context.resolve(reference.reference, fromRoute: route) {
            case .success(let resolved): target = resolved
            case .failure(let problem):
                problems.append(problem)
                target = nil
            }
            return BackendChoice(
                target: target, weight: reference.weight,
                filters: reference.filters.map {
                    CompiledFilter($0, route: route, context: context, problems: &problems)
                })
        }
        let action = RouteAction(source: source, rule: index, ruleName: rule.name, filters: filters, backends: backends)
        var entries: [RouteEntry] = []
        for (matchIndex, match) in rule.matches.enumerated() {
            let conditions = try Self.conditions(match, rule: index, match: matchIndex)
            let precedence = Precedence(
                host: HostSpecificity(preciseCharacters: 0, characters: 0),
                pathRank: match.path.type == .exact ? 2 : match.path.type == .regularExpression ? 1 : 0,
                pathLength: match.path.value.utf8.count, hasMethod: match.method != nil,
                headerCount: conditions.headers.count, queryCount: conditions.queryParameters.count,
                created: route.metadata.creationTimestamp, source: source, rule: index, match: matchIndex)
            entries.append(RouteEntry(conditions: conditions, precedence: precedence, action: action))
        }
        refProblems += problems
        return entries
    }

    private static func conditions(
        _ match: HTTPRouteMatch, rule: Int, match index: Int
    ) throws(RuleProblem)
        -> MatchConditions
    {
        let at = "spec.rules[\(rule)].matches[\(index)]"
        func expression(_ pattern: String, _ field: String) throws(RuleProblem) -> RegularExpression {
            do {
                return try RegularExpression(pattern)
            } catch {
                throw RuleProblem(description: "\(at).\(field): \(error)")
            }
        }
        func value(_ type: HeaderMatchType, _ value: String, _ field: String) throws(RuleProblem) -> ValueCondition {
            type == .regularExpression ? .regularExpression(try expression(value, field)) : .exact(value)
        }
        let path: PathCondition =
            switch match.path.type {
            case .exact: .exact(Array(match.path.value.utf8))
            case .regularExpression: .regularExpression(try expression(match.path.value, "path.value"))
            default: .prefix(match.path.value)
            }
        // Only the first of several conditions on one name counts (the spec says to ignore the rest).
        var headers: [(name: [UInt8], value: ValueCondition)] = []
        for (position, header) in match.headers.enumerated() {
            let name = Array(header.name.lowercased().utf8)
            if headers.contains(where: { $0.name == name }) { continue }
            headers.append((name, try value(header.type, header.value, "headers[\(position)].value")))
        }
        var parameters: [(name: String, value: ValueCondition)] = []
        for (position, parameter) in match.queryParams.enumerated() {
            if parameters.contains(where: { $0.name == parameter.name }) { continue }
            parameters.append(
                (parameter.name, try value(parameter.type, parameter.value, "queryParams[\(position)].value")))
        }
        return MatchConditions(
            path: path, pathValue: match.path.value, method: match.method?.rawValue, headers: headers,
            queryParameters: parameters)
    }
}

/// Why one rule was dropped.
struct RuleProblem: Error, CustomStringConvertible {
    var description: String
}
