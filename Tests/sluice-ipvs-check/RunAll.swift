import Foundation
import IPVS
import IPVSNetlink
import KubeAPI
import LinkNetlink
import NFTables
import NFTablesNetlink
import ServiceProxy
import SluiceAgent
import SluiceTestSupport

extension Checks {
    /// Every check, in an order where each starts from a known state.
    func runAll(pods: Pods) async {
        let catalogue = Scenario.catalogue()
        let logger = self.logger

        // Read-back: what the kernel holds (netlink dump and ipvsadm) equals the pure compile, per scheduler.
        for scheduler in ["wrr", "lc", "wlc", "sh", "mh", "rr"] {
            await check("readback-\(scheduler)") {
                try cleanUp()
                let syncer = try syncer(scheduler: scheduler)
                let report = try await syncer.sync(catalogue)
                let (expected, addresses) = Scenario.expected(
                    catalogue, scheduler: scheduler, nodeAddresses: Checks.nodeAddresses)
                var problems = report.errors.map { "sync error: \($0)" }
                let kernel = try IPVSConnection().table()
                problems += Checks.difference("netlink dump", Checks.render(kernel), Checks.render(expected))
                problems += Checks.difference("ipvsadm -Ln", try Checks.ipvsadmTable(), Checks.render(expected))
                problems += Checks.difference(
                    "dummy addresses", try dummyAddresses().map(\.description).sorted(),
                    addresses.map(\.description).sorted())
                if expected.count < 10 { problems.append("catalogue compiled to only \(expected.count) services") }
                if scheduler == "sh" || scheduler == "mh",
                    kernel.values.contains(where: { !$0.service.flags.contains(.schedulerFallback) })
                {
                    problems.append("\(scheduler) services lack the fallback flag")
                }
                let table = try NFTablesConnection().listTable(TableRef(family: .inet, name: "sluice-ipvs"))
                if table == nil { problems.append("table inet sluice-ipvs missing") }
                return problems
            }
        }

        // Incremental: the rr state above is the base; count requests per change.
        await check("incremental") {
            let syncer = try syncer()
            var problems: [String] = []
            let first = try await syncer.sync(catalogue)
            if first.operations.contains(where: \.isDeletion) || first.operations.count != 0 {
                problems.append("adoption of an identical table sent \(first.operations)")
            }
            let again = try await syncer.sync(catalogue)
            if again.ipvsMessages != 0 { problems.append("unchanged sync sent \(again.ipvsMessages) requests") }
            var grown = catalogue
            grown.endpointSlices[0] = Scenario.slice("web", ["10.244.2.2", "10.244.3.2", "10.244.3.3"])
            let add = try await syncer.sync(grown)
            if add.ipvsMessages != 1 { problems.append("one new endpoint sent \(add.ipvsMessages) requests") }
            let back = try await syncer.sync(catalogue)
            // Weight 0 first (draining), not a delete; then one dump of the service's destinations shows it had no
            // connections, so it is deleted at once: three requests.
            let quiesced =
                back.operations.count == 1
                && back.operations.first.map({
                    if case .updateDestination(_, let d) = $0 { d.weight == 0 } else { false }
                }) == true
            if !quiesced || back.drained != 1 || back.ipvsMessages != 3 {
                problems.append(
                    "one removed endpoint: \(back.operations), drained \(back.drained), \(back.ipvsMessages) requests")
            }
            say(
                "  incremental: adopt=\(first.ipvsMessages) unchanged=\(again.ipvsMessages) add=\(add.ipvsMessages) remove=\(back.ipvsMessages)"
            )
            return problems
        }

        // Restart: a new syncer (new process in real life) adopts without deleting or re-adding live services.
        await check("restart-adopts") {
            let before = Checks.render(try IPVSConnection().table())
            let syncer = try syncer()
            let report = try await syncer.sync(catalogue)
            var problems: [String] = []
            let changes = report.operations.filter {
                if case .updateDestination(_, let d) = $0, d.weight == 0 { return false }
                return true
            }
            if !changes.isEmpty { problems.append("restart sent \(changes)") }
            let after = Checks.render(try IPVSConnection().table())
            problems += Checks.difference("table after restart", after, before)
            return problems
        }

        // Real traffic: a client pod reaches the ClusterIP served by two endpoint pods through IPVS.
        await check("traffic-clusterip") {
            try cleanUp()
            let syncer = try syncer(drainTimeout: .seconds(3))
            try await syncer.sync(catalogue)
            var problems: [String] = []
            let spread = tally(20) { _ in tcpRequest(from: pods.client, to: "10.96.0.10", port: 80) }
            if spread["ep1", default: 0] == 0 || spread["ep2", default: 0] == 0 || spread.count != 2 {
                problems.append("both endpoints should answer: \(spread)")
            }
            // Pod to ClusterIP inside the cluster CIDR keeps its source address.
            let reply = tcpRequest(from: pods.client, to: "10.96.0.10", port: 80)
            if reply.peerAddress != "10.244.1.2" { problems.append("pod source not kept: \(reply)") }
            // IPv6 through IPVS too.
            let spread6 = tally(10) { _ in tcpRequest(from: pods.client, to: "fd00:96::10", port: 80) }
            if spread6["ep1", default: 0] == 0 || spread6["ep2", default: 0] == 0 || spread6.count != 2 {
                problems.append("IPv6 ClusterIP: both endpoints should answer: \(spread6)")
            }
            // UDP through IPVS too; a replaced UDP endpoint is deleted at once although its flow is still known
            // (UDP flows never end by themselves), and the next datagram goes to the new one.
            let dns = udpRequest(from: pods.client, to: "10.96.0.53", port: 53)
            if dns.serverName != "ep1" { problems.append("UDP ClusterIP: \(dns)") }
            var moved = catalogue
            moved.endpointSlices[3] = Scenario.slice("dns", port: 53, portName: "dns", protocol: .udp, ["10.244.3.2"])
            let udpKey = VirtualServiceKey(address: IPAddress("10.96.0.53")!, proto: .udp, port: 53)
            let flows = try IPVSConnection().destinations(of: udpKey).map {
                $0.inactiveConnections + $0.activeConnections
            }
            let udpMove = try await syncer.sync(moved)
            let udpLeft = try IPVSConnection().destinations(of: udpKey).map(\.destination.key.address.description)
            if flows.reduce(0, +) == 0 { problems.append("no IPVS flow recorded for the UDP request") }
            if udpMove.drained != 1 || udpLeft != ["10.244.3.2"] {
                problems.append("UDP endpoint replaced: drained \(udpMove.drained), left \(udpLeft)")
            }
            let dnsAfter = udpRequest(from: pods.client, to: "10.96.0.53", port: 53)
            if dnsAfter.serverName != "ep2" { problems.append("UDP after the move: \(dnsAfter)") }
            try await syncer.sync(catalogue)
            // An endpoint removed: weight 0, new connections all go to the other one, deleted once drained.
            var shrunk = catalogue
            shrunk.endpointSlices[0] = Scenario.slice("web", ["10.244.2.2"])
            try await syncer.sync(shrunk)
            let key = VirtualServiceKey(address: IPAddress("10.96.0.10")!, proto: .tcp, port: 80)
            let draining = try IPVSConnection().destinations(of: key)
            let removed = draining.first { $0.destination.key.address == IPAddress("10.244.3.2")! }
            if removed?.destination.weight != 0 { problems.append("removed endpoint not at weight 0: \(draining)") }
            let after = tally(20) { _ in tcpRequest(from: pods.client, to: "10.96.0.10", port: 80) }
            if after != ["ep1": 20] { problems.append("after removal: \(after)") }
            try await Task.sleep(for: .seconds(3.5))
            let drained = try await syncer.drain()
            let left = try IPVSConnection().destinations(of: key).map(\.destination.key.address.description)
            if left != ["10.244.2.2"] || drained != 1 {
                problems.append("after draining: \(left), drained \(drained)")
            }
            return problems
        }

        // NodePort on a node address: masqueraded (external traffic with the Cluster policy).
        await check("traffic-nodeport-masquerade") {
            let reply = tcpRequest(from: pods.client, to: "10.244.1.1", port: 30080)
            guard let name = reply.serverName, ["ep1", "ep2"].contains(name) else { return ["NodePort: \(reply)"] }
            let seen = reply.peerAddress ?? "?"
            return seen == "10.244.1.2" ? ["NodePort traffic not masqueraded (endpoint saw \(seen))"] : []
        }

        // No endpoints: rejected at once by the mode's nftables table.
        await check("no-endpoints-reject") {
            let reply = tcpRequest(from: pods.client, to: "10.96.0.99", port: 80, timeout: .seconds(3))
            return reply == .refused ? [] : ["Service without endpoints: \(reply)"]
        }

        // Bad input: a scheduler this kernel lacks is named with each Service; nothing half-made is left.
        await check("bad-scheduler") {
            try cleanUp()
            let syncer = try syncer(scheduler: "nosuch")
            let report = try await syncer.sync(catalogue)
            var problems: [String] = []
            for name in ["default/web", "default/lb", "default/sticky", "default/dns", "default/empty"]
            where !report.errors.contains(where: { $0.contains("Service \(name)") && $0.contains("ip_vs_nosuch") }) {
                problems.append("no error naming \(name) and the scheduler")
            }
            if let first = report.errors.first { print("  e.g. \(first)") }
            let left = try IPVSConnection().services()
            if !left.isEmpty { problems.append("virtual services left: \(left)") }
            return problems
        }

        // A kernel refusal for one Service: the error names it; the others are programmed; a later sync retries.
        await check("kernel-rejection-isolated") {
            try cleanUp()
            var without = catalogue
            without.services.removeAll { $0.metadata.name == "web" }
            let syncer = try syncer()
            try await syncer.sync(without)
            // Someone else took web's virtual service in the meantime.
            let squatter = VirtualService(
                key: VirtualServiceKey(address: IPAddress("10.96.0.10")!, proto: .tcp, port: 80), scheduler: "wlc")
            let other = try IPVSConnection()
            _ = try other.apply([.addService(squatter)])
            let report = try await syncer.sync(catalogue)
            var problems: [String] = []
            let named = report.errors.filter { $0.contains("Service default/web") }
            if named.count != 1 { problems.append("expected one error naming default/web: \(report.errors)") }
            if let first = named.first { print("  e.g. \(first)") }
            let (expected, _) = Scenario.expected(catalogue, scheduler: "rr", nodeAddresses: Checks.nodeAddresses)
            var rest = expected
            rest[squatter.key] = nil
            var kernel = try other.table()
            kernel[squatter.key] = nil
            problems += Checks.difference("other Services", Checks.render(kernel), Checks.render(rest))
            // The squatter leaves: the next sync programs web.
            _ = try other.apply([.deleteService(squatter.key)])
            let retry = try await syncer.sync(catalogue)
            if !retry.errors.isEmpty { problems.append("retry: \(retry.errors)") }
            problems += Checks.difference("after retry", Checks.render(try other.table()), Checks.render(expected))
            return problems
        }

        // A sync that fails half-way (someone deleted the dummy interface): the next one re-reads and converges.
        await check("recovers-after-failed-sync") {
            try cleanUp()
            let syncer = try syncer()
            try await syncer.sync(catalogue)
            _ = try runProcess(["ip", "link", "del", IPVSServiceSyncer.dummyInterface]).output()
            var grown = catalogue
            grown.services.append(Scenario.service("late", clusterIP: "10.96.0.77"))
            grown.endpointSlices.append(Scenario.slice("late", ["10.244.2.2"]))
            var problems: [String] = []
            do {
                try await syncer.sync(grown)
                problems.append("a sync without the dummy interface succeeded")
            } catch {
                say("  failed as expected: \(error)")
            }
            let report = try await syncer.sync(grown)
            problems += report.errors
            let (expected, addresses) = Scenario.expected(
                grown, scheduler: "rr", nodeAddresses: Checks.nodeAddresses)
            problems += Checks.difference(
                "table", Checks.render(try IPVSConnection().table()), Checks.render(expected))
            problems += Checks.difference(
                "dummy addresses", try dummyAddresses().map(\.description).sorted(),
                addresses.map(\.description).sorted())
            let reply = tcpRequest(from: pods.client, to: "10.96.0.77", port: 80)
            if reply.serverName != "ep1" { problems.append("new Service after recovery: \(reply)") }
            return problems
        }

        // Watch events (what the API source delivers), folded with receive and programmed by flush.
        await check("watch-events") {
            try cleanUp()
            let syncer = try syncer()
            let web = catalogue.services[0]
            let slice = catalogue.endpointSlices[0]
            await syncer.receive([.service(web), .endpointSlice(slice)])
            let first = try await syncer.flush()
            var problems = first.errors
            let key = VirtualServiceKey(address: IPAddress("10.96.0.10")!, proto: .tcp, port: 80)
            let programmed = try IPVSConnection().destinations(of: key).map(\.destination.key.address.description)
            if programmed.sorted() != ["10.244.2.2", "10.244.3.2"] { problems.append("after events: \(programmed)") }
            await syncer.receive([.serviceDeleted(ServiceName(namespace: "default", name: "web"))])
            let second = try await syncer.flush()
            if second.operations != [.deleteService(key)] { problems.append("Service deleted: \(second.operations)") }
            if try dummyAddresses().contains(IPAddress("10.96.0.10")!) { problems.append("ClusterIP still bound") }
            return problems
        }

        // Connection timeouts: set over netlink, read back (ipvsadm --set / -L --timeout).
        await check("timeouts") {
            let connection = try IPVSConnection()
            let before = try connection.timeouts()
            try connection.setTimeouts(tcp: 900, tcpFin: 120, udp: 300)
            let after = try connection.timeouts()
            let text = try runProcess(["ipvsadm", "-L", "--timeout"]).output()
            try connection.setTimeouts(tcp: before.tcp, tcpFin: before.tcpFin, udp: before.udp)
            var problems: [String] = []
            if after != (900, 120, 300) { problems.append("read back \(after)") }
            if !text.contains("900 120 300") { problems.append("ipvsadm shows \(text)") }
            return problems
        }

        // Switching modes: each mode removes the other's state.
        await check("mode-switch") {
            try cleanUp()
            var problems: [String] = []
            let nft = ServiceSyncer(
                configuration: ProxyConfiguration(nodeName: Scenario.nodeName), connection: try NFTablesConnection(),
                conntrack: nil, logger: logger)
            try await nft.sync(catalogue)
            let nftables = TableRef(family: .inet, name: "sluice")
            if try NFTablesConnection().listTable(nftables) == nil { problems.append("nftables mode made no table") }
            let syncer = try syncer()
            try await syncer.sync(catalogue)
            if try NFTablesConnection().listTable(nftables) != nil { problems.append("ipvs mode kept table sluice") }
            if try IPVSConnection().services().isEmpty { problems.append("ipvs mode programmed nothing") }
            let removed = try ProxyModeCleanup.removeIPVSModeState(
                nftables: try NFTablesConnection(), links: try LinkConnection(), logger: logger)
            if !removed.table || !removed.dummyInterface || removed.virtualServices == 0 {
                problems.append("cleanup removed \(removed)")
            }
            if !(try IPVSConnection().services().isEmpty) { problems.append("virtual services left after switch") }
            if try LinkConnection().link(named: IPVSServiceSyncer.dummyInterface) != nil {
                problems.append("dummy interface left after switch")
            }
            return problems
        }

        // --ipvs-strict-arp: kube-proxy's strictARP settings, only when asked for (restored afterwards).
        await check("strict-arp") {
            try cleanUp()
            let ignore = "/proc/sys/net/ipv4/conf/all/arp_ignore"
            let announce = "/proc/sys/net/ipv4/conf/all/arp_announce"
            func read(_ path: String) throws -> String {
                try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let before = (try read(ignore), try read(announce))
            defer {
                try? before.0.write(toFile: ignore, atomically: false, encoding: .utf8)
                try? before.1.write(toFile: announce, atomically: false, encoding: .utf8)
            }
            var problems: [String] = []
            try await syncer().sync(catalogue)
            if (try read(ignore), try read(announce)) != before { problems.append("changed without --ipvs-strict-arp") }
            try cleanUp()
            try await syncer(strictARP: true).sync(catalogue)
            let after = (try read(ignore), try read(announce))
            if after != ("1", "2") { problems.append("arp_ignore/arp_announce are \(after), expected (1, 2)") }
            try cleanUp()
            return problems
        }
    }
}
