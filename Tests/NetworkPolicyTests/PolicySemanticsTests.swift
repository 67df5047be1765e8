import KubeAPI
import NFTables
import NetworkPolicy
import Testing

/// networking.k8s.io/v1 semantics, one behaviour per test, each against a hand-stated truth table over the e2e
/// layout (x, y, z × a, b, c; TCP and UDP on 80 and 81), evaluated on the compiled ruleset by the tracer.
struct PolicySemanticsTests {
    typealias P = ObjectName

    @Test func withoutPoliciesEverythingIsAllowed() throws {
        #expect(try Truth.mismatches(E2E.manifests([])) { _, _, _, _ in true } == [])
    }

    @Test func defaultDenyIngressIsolatesTheNamespaceEvenFromItself() throws {
        let deny = E2E.policy("deny", in: "x", types: [.ingress])
        #expect(try Truth.mismatches(E2E.manifests([deny])) { _, to, _, _ in to.namespace != "x" } == [])
    }

    @Test func defaultDenyEgressStopsEverythingLeaving() throws {
        let deny = E2E.policy("deny", in: "x", types: [.egress])
        #expect(try Truth.mismatches(E2E.manifests([deny])) { from, _, _, _ in from.namespace != "x" } == [])
    }

    @Test func anEmptyIngressRuleAllowsEveryone() throws {
        let open = E2E.policy("open", in: "x", ingress: [NetworkPolicyIngressRule()])
        let deny = E2E.policy("deny", in: "x", types: [.ingress])
        #expect(try Truth.mismatches(E2E.manifests([deny, open])) { _, _, _, _ in true } == [])
    }

    @Test func policyTypesDefaultToIngressPlusEgressWhenEgressRulesExist() throws {
        // Only egress rules, no policyTypes: isolated both ways; its egress rule allows y only.
        let egressOnly = E2E.policy(
            "egress", in: "x", selecting: E2E.labels(["pod": "a"]),
            egress: [NetworkPolicyEgressRule(to: [NetworkPolicyPeer(namespaceSelector: E2E.labels(["ns": "y"]))])])
        #expect(
            try Truth.mismatches(E2E.manifests([egressOnly])) { from, to, _, _ in
                if to == .pod("x/a") { return false }
                if from == .pod("x/a") { return to.namespace == "y" }
                return true
            } == [])
        // Only ingress rules: egress untouched.
        let ingressOnly = E2E.policy(
            "ingress", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: E2E.labels(["pod": "b"]))])])
        #expect(
            try Truth.mismatches(E2E.manifests([ingressOnly])) { from, to, _, _ in
                to != .pod("x/a") || from == .pod("x/b")
            } == [])
    }

    @Test func namespaceSelectorAllowsEveryPodOfTheSelectedNamespaces() throws {
        let policy = E2E.policy(
            "from-y", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: E2E.labels(["ns": "y"]))])])
        #expect(
            try Truth.mismatches(E2E.manifests([policy])) { from, to, _, _ in
                to != .pod("x/a") || from.namespace == "y"
            } == [])
    }

    @Test func namespaceNameLabelIsAlwaysThere() throws {
        let policy = E2E.policy(
            "from-z", in: "x", types: [.ingress],
            ingress: [
                NetworkPolicyIngressRule(from: [
                    NetworkPolicyPeer(
                        namespaceSelector: LabelSelector(matchExpressions: [
                            LabelSelectorRequirement(key: Namespace.nameLabel, operator: .in, values: ["z"])
                        ]))
                ])
            ])
        #expect(
            try Truth.mismatches(E2E.manifests([policy])) { from, to, _, _ in
                to.namespace != "x" || from.namespace == "z"
            } == [])
    }

    @Test func podSelectorPeerMeansThePolicysOwnNamespace() throws {
        let policy = E2E.policy(
            "from-b", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: E2E.labels(["pod": "b"]))])])
        #expect(
            try Truth.mismatches(E2E.manifests([policy])) { from, to, _, _ in
                to != .pod("x/a") || from == .pod("x/b")
            } == [])
    }

    @Test func podAndNamespaceSelectorInOnePeerIsAnAnd() throws {
        let and = E2E.policy(
            "and", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [
                NetworkPolicyIngressRule(from: [
                    NetworkPolicyPeer(
                        podSelector: E2E.labels(["pod": "b"]),
                        namespaceSelector: LabelSelector(matchExpressions: [
                            LabelSelectorRequirement(key: "ns", operator: .in, values: ["y", "z"])
                        ]))
                ])
            ])
        #expect(
            try Truth.mismatches(E2E.manifests([and])) { from, to, _, _ in
                to != .pod("x/a") || (from.name == "b" && from.namespace != "x")
            } == [])
        // The same selectors as two peers are an OR.
        let or = E2E.policy(
            "or", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [
                NetworkPolicyIngressRule(from: [
                    NetworkPolicyPeer(podSelector: E2E.labels(["pod": "b"])),
                    NetworkPolicyPeer(
                        namespaceSelector: LabelSelector(matchExpressions: [
                            LabelSelectorRequirement(key: "ns", operator: .in, values: ["y", "z"])
                        ])),
                ])
            ])
        #expect(
            try Truth.mismatches(E2E.manifests([or])) { from, to, _, _ in
                to != .pod("x/a") || from == .pod("x/b") || from.namespace != "x"
            } == [])
    }

    @Test func matchExpressionsNotInAndDoesNotExistHoldForUnlabelledPods() throws {
        let policy = E2E.policy(
            "not-a", in: "y", types: [.ingress],
            ingress: [
                NetworkPolicyIngressRule(from: [
                    NetworkPolicyPeer(
                        podSelector: LabelSelector(matchExpressions: [
                            LabelSelectorRequirement(key: "pod", operator: .notIn, values: ["a"]),
                            LabelSelectorRequirement(key: "team", operator: .doesNotExist),
                        ]),
                        namespaceSelector: LabelSelector())
                ])
            ])
        #expect(
            try Truth.mismatches(E2E.manifests([policy])) { from, to, _, _ in
                to.namespace != "y" || from.name != "a"
            } == [])
    }

    @Test func ipBlockWithExceptInIPv4() throws {
        // 10.244.1.0/28 covers x/a (.2) … z/c (.10); except .4/30 cuts out .4–.7 (x/c, y/a, y/b, y/c).
        let policy = E2E.policy(
            "cidr", in: "z", selecting: E2E.labels(["pod": "c"]),
            ingress: [
                NetworkPolicyIngressRule(from: [
                    NetworkPolicyPeer(ipBlock: IPBlock(cidr: "10.244.1.0/28", except: ["10.244.1.4/30"]))
                ])
            ])
        let cut: Set<ObjectName> = [.pod("x/c"), .pod("y/a"), .pod("y/b"), .pod("y/c")]
        #expect(
            try Truth.mismatches(E2E.manifests([policy])) { from, to, _, _ in
                to != .pod("z/c") || !cut.contains(from)
            } == [])
        // Over IPv6 the IPv4 block allows nothing: z/c only accepts what an IPv6 rule would.
        #expect(
            try Truth.mismatches(E2E.manifests([policy]), family: .ipv6) { _, to, _, _ in to != .pod("z/c") } == [])
    }

    @Test func ipBlockWithExceptInIPv6() throws {
        let policy = E2E.policy(
            "cidr6", in: "x", selecting: E2E.labels(["pod": "a"]), types: [.egress],
            egress: [
                NetworkPolicyEgressRule(to: [
                    NetworkPolicyPeer(ipBlock: IPBlock(cidr: "fd00:10:244:1::/120", except: ["fd00:10:244:1::8/125"]))
                ])
            ])
        // Pods are ::2 … ::a; the except ::8–::f cuts out z/a, z/b and z/c.
        #expect(
            try Truth.mismatches(E2E.manifests([policy]), family: .ipv6) { from, to, _, _ in
                from != .pod("x/a") || to.namespace != "z"
            } == [])
        #expect(
            try Truth.mismatches(E2E.manifests([policy]), family: .ipv4) { from, _, _, _ in from != .pod("x/a") }
                == [])
    }

    @Test func numericPortsAndEndPortRanges() throws {
        let only80 = E2E.policy(
            "tcp-80", in: "x", types: [.ingress],
            ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: 80)])])
        #expect(
            try Truth.mismatches(E2E.manifests([only80])) { _, to, port, proto in
                to.namespace != "x" || (port == 80 && proto == .tcp)
            } == [])
        let range = E2E.policy(
            "udp-range", in: "x", types: [.ingress],
            ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .udp, port: 79, endPort: 81)])])
        #expect(
            try Truth.mismatches(E2E.manifests([range])) { _, to, _, proto in to.namespace != "x" || proto == .udp }
                == [])
        let allTCP = E2E.policy(
            "all-tcp", in: "x", types: [.ingress], ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort()])])
        #expect(
            try Truth.mismatches(E2E.manifests([allTCP])) { _, to, _, proto in to.namespace != "x" || proto == .tcp }
                == [])
    }

    @Test func namedIngressPortsResolveOnTheDestinationPod() throws {
        // x/b declares its TCP 80 server as "web" instead; the rule names "web" — only x/b:80 opens.
        var pods = E2E.pods()
        let index = pods.firstIndex { $0.metadata.namespace == "x" && $0.metadata.name == "b" }!
        pods[index].spec.containers[0].ports[0].name = "web"
        let policy = E2E.policy(
            "named", in: "x", types: [.ingress],
            ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: "web")])])
        #expect(
            try Truth.mismatches(E2E.manifests([policy], pods: pods)) { _, to, port, proto in
                to.namespace != "x" || (to == .pod("x/b") && port == 80 && proto == .tcp)
            } == [])
        // A name with the wrong protocol matches nothing.
        let wrongProtocol = E2E.policy(
            "named-udp", in: "x", types: [.ingress],
            ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .udp, port: "serve-81-tcp")])])
        #expect(try Truth.mismatches(E2E.manifests([wrongProtocol])) { _, to, _, _ in to.namespace != "x" } == [])
    }

    @Test func namedEgressPortsResolveOnEachDestinationPod() throws {
        // y/c serves UDP 81 under the name the rule uses; everyone else's serve-81-udp is renamed away.
        var pods = E2E.pods()
        for index in pods.indices where !(pods[index].metadata.namespace == "y" && pods[index].metadata.name == "c") {
            pods[index].spec.containers[0].ports[3].name = "other"
        }
        let policy = E2E.policy(
            "named-egress", in: "x", types: [.egress],
            egress: [NetworkPolicyEgressRule(ports: [NetworkPolicyPort(protocol: .udp, port: "serve-81-udp")])])
        #expect(
            try Truth.mismatches(E2E.manifests([policy], pods: pods)) { from, to, port, proto in
                from.namespace != "x" || (to == .pod("y/c") && port == 81 && proto == .udp)
            } == [])
    }

    @Test func policiesAreAUnionAndBothEndsMustAgree() throws {
        let denyX = E2E.policy("deny", in: "x", types: [.ingress, .egress])
        let fromY = E2E.policy(
            "from-y", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: E2E.labels(["ns": "y"]))])])
        let fromZ80 = E2E.policy(
            "from-z", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [
                NetworkPolicyIngressRule(
                    from: [NetworkPolicyPeer(namespaceSelector: E2E.labels(["ns": "z"]))],
                    ports: [NetworkPolicyPort(port: 80)])
            ])
        let aToB = E2E.policy(
            "a-to-b", in: "x", selecting: E2E.labels(["pod": "a"]), types: [.egress],
            egress: [NetworkPolicyEgressRule(to: [NetworkPolicyPeer(podSelector: E2E.labels(["pod": "b"]))])])
        #expect(
            try Truth.mismatches(E2E.manifests([denyX, fromY, fromZ80, aToB])) { from, to, port, proto in
                if from.namespace == "x" && from.name != "a" { return false }
                if from == .pod("x/a") { return false }  // its only egress target, x/b, denies all ingress
                if to.namespace != "x" { return true }
                guard to == .pod("x/a") else { return false }
                return from.namespace == "y" || (from.namespace == "z" && port == 80 && proto == .tcp)
            } == [])
    }

    @Test func sctpIsAPortProtocolToo() throws {
        let policy = E2E.policy(
            "sctp", in: "x", types: [.ingress],
            ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .sctp, port: 80)])])
        #expect(
            try Truth.mismatches(E2E.manifests([policy]), protocols: [.tcp, .udp, .sctp]) { _, to, port, proto in
                to.namespace != "x" || (proto == .sctp && port == 80)
            } == [])
    }

    @Test func hostNetworkAndAddresslessPodsAreNotSubject() throws {
        var pods = E2E.pods()
        pods.append(
            E2E.pod("host", namespace: "x", labels: ["pod": "host"], ipv4: "10.244.1.1", hostNetwork: true))
        var pending = E2E.pod("pending", namespace: "x", labels: [:], ipv4: "")
        pending.status = PodStatus(phase: .pending)
        pods.append(pending)
        let checker = try PolicyChecker(manifests: E2E.manifests([E2E.policy("deny", in: "x")], pods: pods))
        #expect(checker.enforcer.podNames == E2E.allPods)
        // The node's own address (where a host-network pod lives) is not a pod: an ingress check from it is judged
        // like any address, while real node traffic never passes the forward hook.
        let fromNode = try checker.check(
            from: .address(IPAddress("10.244.1.1")!), to: .pod(.pod("y/a")), protocol: .tcp, port: 80)
        #expect(fromNode.allowed)
    }

    @Test func checkExplainsWhoIsolatesAndWhichRuleAllows() throws {
        let deny = E2E.policy("deny", in: "y", types: [.ingress])
        let fromX = E2E.policy(
            "from-x", in: "y", selecting: E2E.labels(["pod": "b"]),
            ingress: [
                NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: E2E.labels(["ns": "z"]))]),
                NetworkPolicyIngressRule(
                    from: [NetworkPolicyPeer(namespaceSelector: E2E.labels(["ns": "x"]))],
                    ports: [NetworkPolicyPort(port: 80)]),
            ])
        let checker = try PolicyChecker(manifests: E2E.manifests([deny, fromX]))
        let allowed = try checker.check(from: .pod(.pod("x/a")), to: .pod(.pod("y/b")), protocol: .tcp, port: 80)
        #expect(allowed.allowed)
        #expect(allowed.egress.isolatedBy == [] && allowed.egress.allowed)
        #expect(allowed.ingress.isolatedBy == [.pod("y/deny"), .pod("y/from-x")])
        #expect(allowed.ingress.allowedBy == [PolicyRuleRef(policy: .pod("y/from-x"), direction: .ingress, index: 1)])
        #expect(
            allowed.sourceAddress == IPAddress("10.244.1.2") && allowed.destinationAddress == IPAddress("10.244.1.6"))
        #expect(allowed.trace.contains { $0.contains("ingress-ports4") })

        let denied = try checker.check(from: .pod(.pod("x/a")), to: .pod(.pod("y/b")), protocol: .tcp, port: 81)
        #expect(!denied.allowed && !denied.ingress.allowed && denied.ingress.allowedBy == [])
        #expect(throws: PolicyCheckError.self) {
            try checker.check(from: .pod(.pod("x/nope")), to: .pod(.pod("y/b")), protocol: .tcp, port: 80)
        }
    }

    @Test func externalAddressesAreJudgedByIPBlocks() throws {
        let egress = E2E.policy(
            "out", in: "x", types: [.egress],
            egress: [
                NetworkPolicyEgressRule(to: [
                    NetworkPolicyPeer(ipBlock: IPBlock(cidr: "192.0.2.0/24", except: ["192.0.2.128/25"]))
                ])
            ])
        let checker = try PolicyChecker(manifests: E2E.manifests([egress]))
        let inside = try checker.check(
            from: .pod(.pod("x/a")), to: .address(IPAddress("192.0.2.1")!), protocol: .udp, port: 53)
        let excepted = try checker.check(
            from: .pod(.pod("x/a")), to: .address(IPAddress("192.0.2.200")!), protocol: .udp, port: 53)
        #expect(inside.allowed && !excepted.allowed)
        #expect(inside.ingress.pod == nil && !inside.ingress.enforced)
    }

    @Test func aPodReachingItselfIsNeverJudged() throws {
        let checker = try PolicyChecker(
            manifests: E2E.manifests([E2E.policy("deny", in: "x", types: [.ingress, .egress])]))
        #expect(try checker.check(from: .pod(.pod("x/a")), to: .pod(.pod("x/a")), protocol: .tcp, port: 80).allowed)
    }
}
