import ArgumentParser
import Foundation
import GatewayRouting
import KubeAPI
import RoutingWorkload

/// `sluice route benchmark` (hidden): measures the route table on synthetic input — compile time, matches per
/// second on one core, and the cost of changing one route. Numbers are printed, never asserted; build with
/// `-c release` for meaningful figures. The input is `RouteWorkload`, the same routes and requests as
/// `sluice-bench routing` (which reports issue 9's figures); the table is checked against it before timing.
struct RouteBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Measure route compilation, matching and incremental updates on synthetic routes.",
        shouldDisplay: false)

    @Option(help: "HTTPRoutes to generate.")
    var routes = 10_000

    @Option(help: "Distinct hostnames the routes spread over.")
    var hostnames = 1_000

    @Option(help: "Requests to match per measurement.")
    var requests = 2_000_000

    @Option(help: "Repetitions of each measurement; the best is reported.")
    var repetitions = 5

    func validate() throws {
        guard routes > 0, hostnames > 0, requests > 0, repetitions > 0 else {
            throw ValidationError("all counts must be positive")
        }
    }

    func run() throws {
        let workload = RouteWorkload(routes: routes, hostnames: hostnames)
        let manifests = workload.manifests()
        let clock = ContinuousClock()
        func best(_ body: () -> Void) -> Duration {
            (0..<repetitions).map { _ in clock.measure(body) }.min()!
        }
        func milliseconds(_ duration: Duration) -> String {
            String(
                format: "%.2f ms",
                Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1e3)
        }
        func microseconds(_ duration: Duration) -> String {
            String(
                format: "%.1f µs",
                Double(duration.components.attoseconds) / 1e12 + Double(duration.components.seconds) * 1e6)
        }

        var built: [GatewayRouter] = []
        built.reserveCapacity(repetitions)
        // Only construction is timed; the routers are released afterwards.
        let compile = best { built.append(GatewayRouter(manifests)) }
        let router = built[0]
        built = []
        let problems = workload.problems(in: router)
        guard problems.isEmpty else {
            throw ValidationError("the compiled table is wrong: " + problems.joined(separator: "; "))
        }
        let port = RouteWorkload.port
        let table = router.table
        print(
            "input: \(routes) HTTPRoutes over \(hostnames) hostnames (+10 wildcard routes), \(table.hostnameKeyCount(of: port)) hostname keys"
        )
        print("compile (full, from loaded manifests): \(milliseconds(compile))")

        let probes = workload.requests(count: 4096)
        let sample = probes.map(\.request)
        var matched = 0
        let matching = best {
            matched = 0
            for index in 0..<requests where table.match(sample[index & 4095], on: port) != nil { matched += 1 }
        }
        let seconds = Double(matching.components.seconds) + Double(matching.components.attoseconds) / 1e18
        print(
            String(
                format: "match (hot path, one core): %.2f M requests/s (%.0f ns/request, %d of %d matched)",
                Double(requests) / seconds / 1e6, seconds * 1e9 / Double(requests), matched, requests))
        let expected = (0..<requests).count { probes[$0 & 4095].expected != nil }
        guard matched == expected else { throw ValidationError("\(matched) requests matched, expected \(expected)") }

        let answers = min(requests, 200_000)
        let answering = best {
            for index in 0..<answers { _ = table.answer(sample[index & 4095], on: port) }
        }
        let answerSeconds = Double(answering.components.seconds) + Double(answering.components.attoseconds) / 1e18
        print(
            String(
                format: "answer (match + filters + JSON-ready result): %.2f M requests/s",
                Double(answers) / answerSeconds / 1e6))

        let precise = manifests.httpRoutes[routes / 2]
        let wildcard = manifests.httpRoutes.first { $0.spec.hostnames.first?.hasPrefix("*.") == true }!
        for (label, route) in [("a route with one precise hostname", precise), ("a *.example.com route", wildcard)] {
            var changed = route
            changed.spec.rules[0].matches[0].path.value += "-v2"
            var updating = router
            let unshared = best {
                updating.apply(changed)
                updating.apply(route)
            }
            var snapshots: [RouteTable] = []
            let shared = best {
                snapshots.append(updating.table)
                updating.apply(changed)
                snapshots.append(updating.table)
                updating.apply(route)
            }
            print(
                "change \(label): \(microseconds(unshared / 2)) per update; "
                    + "\(microseconds(shared / 2)) while the data plane holds the previous table")
        }
    }
}
