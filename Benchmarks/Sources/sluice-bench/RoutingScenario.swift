import ArgumentParser
import Foundation
import GatewayRouting
import RoutingWorkload

/// `sluice-bench routing`: issue 9's routing figures — how long `GatewayRouter` takes to compile a table of
/// 10,000 HTTPRoutes, and how many requests per second that table matches on one core. Pure CPU work: no
/// namespaces, no root. Every repetition's table and every timed loop is checked against the workload's
/// expectations, so no figure comes from a table that holds less or a loop that matched less.
struct RoutingBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routing",
        abstract: "Gateway API routing: route-table compile time and matches per second with 10,000 HTTPRoutes.")

    @Flag(help: "A smoke run: 1,000 routes on 100 hostnames, 100,000 lookups, one repetition.")
    var quick = false

    @Option(help: "HTTPRoutes on precise hostnames (10 *.example.com routes are added; default 10000).")
    var routes: Int?

    @Option(help: "Distinct hostnames the routes spread over (default 1000).")
    var hostnames: Int?

    @Option(help: "Timed lookups per matching repetition (default 2000000; full answers use a quarter of that).")
    var lookups: Int?

    @Option(help: "Repetitions of each measurement (median and range are reported; default 5).")
    var repetitions: Int?

    @Option(help: "Directory for the Markdown and JSON results.")
    var output = "Benchmarks/results"

    func validate() throws {
        for value in [routes, hostnames, lookups, repetitions] {
            if let value, value <= 0 { throw ValidationError("counts must be positive") }
        }
    }

    func run() throws {
        let workload = RouteWorkload(
            routes: routes ?? (quick ? 1000 : 10_000), hostnames: hostnames ?? (quick ? 100 : 1000))
        let report = try RoutingMeasurement(
            workload: workload, lookups: lookups ?? (quick ? 100_000 : 2_000_000),
            repetitions: repetitions ?? (quick ? 1 : 5)
        ).run(mode: quick ? "quick" : "full", progress: say)
        say("\n" + report.markdown())
        try report.write(to: output)
    }
}

/// Times compile, match and answer on one ``RouteWorkload``, verifying each against the workload first.
struct RoutingMeasurement {
    var workload: RouteWorkload
    var lookups: Int
    var repetitions: Int

    /// Distinct requests, cycled through by the timed loops (a power of two, so the index is a mask). Enough to
    /// touch ~4,000 routes' keys; few enough that the requests themselves stay in cache, as a proxy's hot
    /// connections would.
    static let sampleSize = 4096

    func run(mode: String, progress: (String) -> Void) throws -> RoutingReport {
        let host = HostDescription.current()
        progress("machine: \(host.cores) cores, \(host.cpu), Linux \(host.kernel), load \(host.loadAverage)")
        let clock = ContinuousClock()
        let port = RouteWorkload.port
        let manifests = workload.manifests()

        // Compile: router construction and the table value the data plane would take; the router is released
        // after the clock stops.
        var compile = Samples()
        var kept: GatewayRouter?
        for rep in 0..<repetitions {
            var router: GatewayRouter?
            var table: RouteTable?
            let duration = clock.measure {
                let built = GatewayRouter(manifests)
                table = built.table
                router = built
            }
            let keys = table?.hostnameKeyCount(of: port) ?? 0
            guard keys == workload.expectedHostnameKeys else {
                throw BenchError(
                    "repetition \(rep + 1) compiled \(keys) hostname keys, expected \(workload.expectedHostnameKeys)")
            }
            compile.append(duration.seconds)
            progress("compile \(workload.routeCount) HTTPRoutes, rep \(rep + 1): \(human(duration.seconds))")
            if kept == nil { kept = router }
        }
        guard let router = kept else { throw BenchError("no repetitions") }

        // The table must answer every route's own requests and the whole sample as expected before it is timed.
        let problems = workload.problems(in: router)
        guard problems.isEmpty else {
            throw BenchError("the compiled route table is wrong: " + problems.joined(separator: "; "))
        }
        let table = router.table
        let probes = workload.requests(count: Self.sampleSize)
        if let problem = probes.lazy.compactMap({ workload.mismatch($0, in: table) }).first {
            throw BenchError("sample request: \(problem)")
        }
        let requests = probes.map(\.request)
        let mask = Self.sampleSize - 1
        func expectedHits(_ count: Int) -> Int {
            let perCycle = probes.count { $0.expected != nil }
            let rest = probes[0..<(count % Self.sampleSize)].count { $0.expected != nil }
            return count / Self.sampleSize * perCycle + rest
        }
        progress(
            "verified: \(workload.routeCount) HTTPRoutes accepted, \(workload.expectedHostnameKeys) hostname keys, "
                + "\(workload.routeCount * 4) own-route lookups and \(Self.sampleSize) sample requests as expected")

        var matches = Samples()
        let wantedHits = expectedHits(lookups)
        for rep in 0..<repetitions {
            var hits = 0
            let duration = clock.measure {
                for index in 0..<lookups where table.match(requests[index & mask], on: port) != nil { hits += 1 }
            }
            guard hits == wantedHits else {
                throw BenchError("matching repetition \(rep + 1): \(hits) hits, expected \(wantedHits)")
            }
            matches.append(Double(lookups) / duration.seconds)
            progress("match, rep \(rep + 1): \(rate(Double(lookups) / duration.seconds)) (\(hits) of \(lookups) hit)")
        }

        var answers = Samples()
        let answerCount = max(1, lookups / 4)
        let wantedForwards = expectedHits(answerCount)
        for rep in 0..<repetitions {
            var forwarded = 0
            let duration = clock.measure {
                for index in 0..<answerCount {
                    let answer = table.answer(requests[index & mask], on: port)
                    if answer.status == 200 && answer.backend != nil { forwarded += 1 }
                }
            }
            guard forwarded == wantedForwards else {
                throw BenchError("answer repetition \(rep + 1): \(forwarded) forwarded, expected \(wantedForwards)")
            }
            answers.append(Double(answerCount) / duration.seconds)
            progress("answer, rep \(rep + 1): \(rate(Double(answerCount) / duration.seconds))")
        }

        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        return RoutingReport(
            mode: mode, stamp: stamp, machine: host, loadAverageAfter: HostDescription.currentLoadAverage(),
            repetitions: repetitions, routes: workload.routes, hostnames: workload.hostnames,
            httpRoutes: workload.routeCount, rules: workload.ruleCount, matches: workload.matchCount,
            hostnameKeys: workload.expectedHostnameKeys, sampleRequests: Self.sampleSize,
            sampleHitShare: Double(expectedHits(Self.sampleSize)) / Double(Self.sampleSize),
            lookupsPerRepetition: lookups, answersPerRepetition: answerCount, compileSeconds: compile,
            matchesPerSecond: matches, answersPerSecond: answers)
    }
}

/// One routing run: written as `routing-<mode>-<stamp>.md` and `.json` (every repetition's figures).
struct RoutingReport: Codable {
    var mode: String
    var stamp: String
    var machine: HostDescription
    /// The load average when the run ended; with the one at the start, it shows how busy the machine was.
    var loadAverageAfter: String
    var repetitions: Int
    /// HTTPRoutes on precise hostnames, and how many hostnames they spread over.
    var routes: Int
    var hostnames: Int
    /// Every HTTPRoute of the input (``routes`` plus the wildcard routes), their rules and match conditions.
    var httpRoutes: Int
    var rules: Int
    var matches: Int
    var hostnameKeys: Int
    var sampleRequests: Int
    /// The share of sample requests that a route takes (the rest are 404s).
    var sampleHitShare: Double
    var lookupsPerRepetition: Int
    var answersPerRepetition: Int
    var compileSeconds: Samples
    var matchesPerSecond: Samples
    var answersPerSecond: Samples

    func markdown() -> String {
        var md = "# sluice-bench routing, \(mode) run \(stamp)\n\n"
        md +=
            "Machine: \(machine.cores) cores (\(machine.cpu)), Linux \(machine.kernel); load average \(machine.loadAverage) "
        md += "at start, \(loadAverageAfter) at the end. One thread. "
        md +=
            repetitions > 1 ? "Medians of \(repetitions) repetitions (min–max in brackets).\n\n" : "One repetition.\n\n"
        md += "Input: \(httpRoutes) HTTPRoutes (\(routes) on \(hostnames) hostnames + \(httpRoutes - routes) on "
        md += "`*.example.com`), \(rules) rules, \(matches) match conditions (Exact, PathPrefix, PathPrefix + header); "
        md += "\(hostnameKeys) hostname keys. Requests: \(sampleRequests) distinct, cycled "
        md += String(format: "(%.0f%% hit a route", sampleHitShare * 100)
        md += ": PathPrefix, Exact and header-qualified hits; the rest are path misses and unknown hosts).\n\n"
        md += "| HTTPRoutes | rules | hostname keys | compile | matches/s (one core) | per match | full answers/s |\n"
        md += "|---:|---:|---:|---:|---:|---:|---:|\n"
        md += "| \(httpRoutes) | \(rules) | \(hostnameKeys) | \(humanSpread(compileSeconds)) "
        md += "| \(rateSpread(matchesPerSecond)) | \(String(format: "%.0f ns", 1e9 / matchesPerSecond.median)) "
        md += "| \(rateSpread(answersPerSecond)) |\n\n"
        md += "Compile is `GatewayRouter(manifests).table` from loaded objects (YAML parsing not included). A match is "
        md += "`RouteTable.match` (the hot path: listener, hostname key, rule); a full answer adds filters, the "
        md += "backend choice and the result value (`RouteTable.answer`). \(lookupsPerRepetition) lookups and "
        md += "\(answersPerRepetition) answers per repetition.\n\n"
        md += "Verified: every repetition's table has \(hostnameKeys) hostname keys; every HTTPRoute is Accepted and "
        md += "attached; each route's own four requests (Exact, PathPrefix, canary with and without the header) and "
        md += "every sample request match the expected route and rule; each timed loop's hits equal the expected "
        md += "count.\n"
        return md
    }

    func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = URL(fileURLWithPath: directory).appendingPathComponent("routing-\(mode)-\(stamp)")
        try markdown().write(to: base.appendingPathExtension("md"), atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: base.appendingPathExtension("json"))
        say("wrote \(base.path).md, .json")
    }
}

/// A rate for people: `1.35 M/s`, `740 k/s`.
func rate(_ perSecond: Double) -> String {
    if perSecond.isNaN { return "–" }
    return perSecond >= 1e6 ? String(format: "%.2f M/s", perSecond / 1e6) : String(format: "%.0f k/s", perSecond / 1e3)
}

/// Median rate with the range of the repetitions; the median alone for one sample.
func rateSpread(_ samples: Samples) -> String {
    guard !samples.isEmpty else { return "–" }
    if samples.values.count == 1 { return rate(samples.median) }
    return "\(rate(samples.median)) (\(rate(samples.min))–\(rate(samples.max)))"
}
