import KubeAPI
import NFTables
import NetworkPolicy
import Testing

/// The compiled layout: fixed objects, elements keyed by local pods, incremental syncs that send only elements.
struct PolicyDatapathLayoutTests {
    static func enforcer(node: String? = "node-a") -> PolicyEnforcer {
        PolicyEnforcer(configuration: PolicyConfiguration(nodeName: node))
    }

    static func ruleset(_ transactions: [Transaction]) throws -> Ruleset {
        var ruleset = Ruleset()
        for tx in transactions { try ruleset.apply(tx) }
        return ruleset
    }

    /// `n` policies in x, each letting one labelled peer reach one pod.
    static func policies(_ count: Int) -> [NetworkPolicy] {
        (0..<count).map { i in
            E2E.policy(
                "p\(i)", in: "x", selecting: E2E.labels(["pod": ["a", "b", "c"][i % 3]]),
                ingress: [
                    NetworkPolicyIngressRule(
                        from: [NetworkPolicyPeer(podSelector: E2E.labels(["peer": "\(i)"]))],
                        ports: [NetworkPolicyPort(port: .int(1000 + i))])
                ])
        }
    }

    @Test func theTableHasFixedChainsAndSetsInPlainNft() {
        let text = Self.enforcer().fullTransaction().description
        #expect(
            text.contains("add table inet sluice-policy { comment \"Kubernetes NetworkPolicy, owned by sluice\"; }"))
        #expect(
            text.contains(
                "add chain inet sluice-policy forward { type filter hook forward priority 0; policy accept; }"))
        #expect(text.contains("add rule inet sluice-policy forward ct state established,related accept"))
        #expect(text.contains("add rule inet sluice-policy forward ip saddr vmap @egress-pods4"))
        #expect(text.contains("add rule inet sluice-policy forward ip6 daddr vmap @ingress-pods6"))
        #expect(
            text.contains(
                "add rule inet sluice-policy ingress ip daddr . ip saddr . meta l4proto . th dport @ingress-ports4 return"
            ))
        #expect(
            text.contains(
                "add set inet sluice-policy egress-ports6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; flags interval;"
            ))
        #expect(
            text.contains(
                "add rule inet sluice-policy egress counter drop comment \"not allowed by any NetworkPolicy\""))
    }

    @Test func kernelObjectsDoNotGrowWithPolicies() throws {
        func objects(_ count: Int) throws -> (chains: Int, sets: Int, elements: Int) {
            var enforcer = Self.enforcer()
            var policies = Self.policies(count)
            for index in policies.indices {
                policies[index].spec.ingress[0].from = [NetworkPolicyPeer(namespaceSelector: LabelSelector())]
            }
            enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: policies)
            let ruleset = try Self.ruleset([enforcer.sync().transaction])
            let table = enforcer.layout.table
            return (ruleset.chains(in: table).count, ruleset.sets(in: table).count, enforcer.programmedElementCount)
        }
        let few = try objects(3)
        let many = try objects(300)
        #expect(few.chains == 3 && many.chains == 3)
        #expect(few.sets == 14 && many.sets == 14)
        #expect(many.elements > few.elements)
    }

    @Test func aPodJoiningASelectorIsElementsOnly() throws {
        var enforcer = Self.enforcer()
        let policy = E2E.policy(
            "from-web", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: E2E.labels(["role": "web"]))])])
        enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: [policy])
        let first = enforcer.sync()
        var pods = E2E.pods()
        pods.append(E2E.pod("web", namespace: "x", labels: ["role": "web"], ipv4: "10.244.2.7", node: "node-b"))
        enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: pods, policies: [policy])
        let second = enforcer.sync()
        #expect(second.changedPods == [.pod("x/a")])
        #expect(second.transaction.operations.allSatisfy { if case .addElements = $0 { true } else { false } })
        #expect(
            second.transaction.description
                == "add element inet sluice-policy ingress-any4 { 10.244.1.2 . 10.244.2.7 }\n")
        // The same state compiled from scratch holds the same elements.
        var fresh = Self.enforcer()
        fresh.replaceAll(namespaces: E2E.namespaceObjects(), pods: pods, policies: [policy])
        _ = fresh.sync()
        #expect(
            try Self.ruleset([first.transaction, second.transaction]) == Self.ruleset([fresh.fullTransaction()]))
    }

    @Test func aPolicyChangeIsOneBatchAndOthersAreUntouched() throws {
        var enforcer = Self.enforcer()
        var policies = Self.policies(6)
        enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: policies)
        let first = enforcer.sync()
        let yPolicy = E2E.policy("deny", in: "y", types: [.ingress])
        enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: policies + [yPolicy])
        let addY = enforcer.sync()
        #expect(addY.changedPods == [.pod("y/a"), .pod("y/b"), .pod("y/c")])
        policies[1].spec.ingress[0].ports = [NetworkPolicyPort(port: 2001)]
        enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: policies + [yPolicy])
        let change = enforcer.sync()
        #expect(change.changedPods == [.pod("x/a"), .pod("x/b"), .pod("x/c")])
        // Only the changed rule's element moved (no peers match it: the pod's isolation entries stay).
        #expect(change.transaction.elementCount == 0)
        enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: [yPolicy])
        let removed = enforcer.sync()
        let deleted = removed.transaction.operations.compactMap { op -> String? in
            if case .deleteElements(let set, _) = op { set.name } else { nil }
        }
        #expect(deleted.sorted() == ["ingress-pods4", "ingress-pods6", "self4", "self6"])
        var fresh = Self.enforcer()
        fresh.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: [yPolicy])
        _ = fresh.sync()
        #expect(
            try Self.ruleset([first.transaction, addY.transaction, change.transaction, removed.transaction])
                == Self.ruleset([fresh.fullTransaction()]))
    }

    @Test func peerChangesRecompileOnlyTheirReaders() throws {
        var enforcer = Self.enforcer()
        let policy = E2E.policy(
            "from-z", in: "x", selecting: E2E.labels(["pod": "b"]),
            ingress: [
                NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: E2E.labels(["team": "blue"]))])
            ])
        enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: [policy])
        _ = enforcer.sync()
        // z joins team blue: its three pods become peers of x/b (and of nothing else).
        enforcer.replaceAll(
            namespaces: E2E.namespaceObjects(extraLabels: ["z": ["team": "blue"]]), pods: E2E.pods(), policies: [policy]
        )
        let joined = enforcer.sync()
        #expect(joined.changedPods == [.pod("x/b")])
        #expect(
            joined.transaction.description
                == "add element inet sluice-policy ingress-any4 { 10.244.1.3 . 10.244.1.8-10.244.1.10 }\n"
                + "add element inet sluice-policy ingress-any6 { fd00:10:244:1::3 . fd00:10:244:1::8-fd00:10:244:1::a }\n"
        )
        // z/b moves to another address: x/b's element is split.
        var pods = E2E.pods()
        let index = pods.firstIndex { $0.metadata.namespace == "z" && $0.metadata.name == "b" }!
        pods[index].status = PodStatus(phase: .running, podIP: "10.244.3.9", podIPs: [PodIP(ip: "10.244.3.9")])
        enforcer.replaceAll(
            namespaces: E2E.namespaceObjects(extraLabels: ["z": ["team": "blue"]]), pods: pods, policies: [policy])
        let moved = enforcer.sync()
        #expect(moved.changedPods == [.pod("x/b"), .pod("z/b")])
        #expect(moved.transaction.elementCount == 7)
    }

    @Test func onlyLocalPodsAreEnforced() throws {
        var enforcer = Self.enforcer(node: "node-a")
        let pods = E2E.pods { $0.hasPrefix("x/") ? "node-a" : "node-b" }
        enforcer.replaceAll(
            namespaces: E2E.namespaceObjects(), pods: pods,
            policies: ["x", "y"].map { E2E.policy("deny", in: $0, types: [.ingress]) })
        let sync = enforcer.sync()
        #expect(sync.changedPods == [.pod("x/a"), .pod("x/b"), .pod("x/c")])
        #expect(enforcer.contribution(of: .pod("y/a")) == nil)
        #expect(enforcer.contribution(of: .pod("x/a"))?.isolatedBy == [.ingress: [.pod("x/deny")]])
    }

    @Test func twoLocalPodsClaimingOneAddressAreReported() {
        var enforcer = Self.enforcer()
        var pods = E2E.pods()
        pods.append(E2E.pod("stale", namespace: "x", labels: [:], ipv4: "10.244.1.2"))
        enforcer.replaceAll(
            namespaces: E2E.namespaceObjects(), pods: pods, policies: [E2E.policy("deny", in: "x", types: [.ingress])])
        let sync = enforcer.sync()
        #expect(sync.diagnostics.contains { $0.contains("x/a, x/stale share address 10.244.1.2") })
        #expect(enforcer.contribution(of: .pod("x/stale"))?.addresses == nil)
    }

    @Test func elementsOfOneSetNeverOverlap() throws {
        // Overlapping rules: a CIDR around selected pods, two port ranges sharing 80, an open rule on 81.
        let policy = E2E.policy(
            "overlap", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [
                NetworkPolicyIngressRule(
                    from: [NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.244.1.0/29", except: ["10.244.1.4/31"]))],
                    ports: [NetworkPolicyPort(port: 79, endPort: 80)]),
                NetworkPolicyIngressRule(
                    from: [NetworkPolicyPeer(namespaceSelector: E2E.labels(["ns": "x"]))],
                    ports: [NetworkPolicyPort(port: 80, endPort: 90)]),
                NetworkPolicyIngressRule(ports: [NetworkPolicyPort(port: 81)]),
            ])
        var enforcer = Self.enforcer()
        enforcer.replaceAll(namespaces: E2E.namespaceObjects(), pods: E2E.pods(), policies: [policy])
        let ruleset = try Self.ruleset([enforcer.sync().transaction])
        for set in ruleset.sets(in: enforcer.layout.table) where set.flags.contains(.interval) {
            let elements = ruleset.elements(of: set.ref)
            for (i, a) in elements.enumerated() {
                for b in elements[(i + 1)...] {
                    let overlaps = zip(zip(a.key.firsts, a.key.lasts), zip(b.key.firsts, b.key.lasts)).allSatisfy {
                        ranges in
                        let ((aFirst, aLast), (bFirst, bLast)) = ranges
                        return !aLast.networkOrderBytes.lexicographicallyPrecedes(bFirst.networkOrderBytes)
                            && !bLast.networkOrderBytes.lexicographicallyPrecedes(aFirst.networkOrderBytes)
                    }
                    #expect(!overlaps, "\(set.name): \(a.key) overlaps \(b.key)")
                }
            }
        }
        let reasons = enforcer.contribution(of: .pod("x/a"))?.reasons["ingress-ports4"] ?? [:]
        let shared = reasons.first { key, _ in key.description == "10.244.1.2 . 10.244.1.2/31 . tcp . 80" }
        #expect(shared?.value.map(\.index) == [0, 1], "\(reasons.map { "\($0.key)" }.sorted())")
    }
}
