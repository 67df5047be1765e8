import Foundation
import KubeAPI
import Logging
import NFTables
import NFTablesNetlink
import NetworkPolicy
import SluiceAgent
import SluiceTestSupport
import Testing

/// Real packets between the e2e pods: for each scenario the kernel's observed truth table must equal
/// `sluice policy matrix` (the checker over the same compiled structures) cell for cell. The scenarios run in order
/// on one node, so each is also an update of the previous one's policies.
@Suite(.requiresRoot)
struct PolicyTrafficTests {
    struct Scenario {
        var name: String
        var family: AddressFamily = .ipv4
        var policies: [NetworkPolicy]
    }

    static func policy(
        _ name: String, in namespace: String, selecting selector: LabelSelector = LabelSelector(),
        types: [PolicyType] = [], ingress: [NetworkPolicyIngressRule] = [], egress: [NetworkPolicyEgressRule] = []
    ) -> NetworkPolicy {
        NetworkPolicy(
            metadata: ObjectMeta(name: name, namespace: namespace),
            spec: NetworkPolicySpec(podSelector: selector, policyTypes: types, ingress: ingress, egress: egress))
    }

    static func labels(_ labels: [String: String]) -> LabelSelector { LabelSelector(matchLabels: labels) }

    static func fromNamespace(_ namespace: String, ports: [NetworkPolicyPort] = []) -> NetworkPolicyIngressRule {
        NetworkPolicyIngressRule(from: [NetworkPolicyPeer(namespaceSelector: labels(["ns": namespace]))], ports: ports)
    }

    /// The scenarios of the upstream suite that a single node can show, in the order they are applied.
    static func scenarios(_ lab: PolicyLab) -> [Scenario] {
        let denyIngressX = policy("deny-ingress", in: "x", types: [.ingress])
        let xa = labels(["pod": "a"])
        // x/a … z/c hold consecutive addresses from .2: a /29 at .0 covers x/a–y/b; except .4/31 cuts x/c and y/a.
        let v4 = lab.pod(ObjectName(namespace: "x", name: "a")).ipv4.split(separator: ".").dropLast().joined(
            separator: ".")
        let v6 = lab.pod(ObjectName(namespace: "x", name: "a")).ipv6.dropLast(1)
        return [
            Scenario(name: "no policies", policies: []),
            Scenario(name: "default deny ingress", policies: [denyIngressX]),
            Scenario(name: "default deny egress", policies: [policy("deny-egress", in: "x", types: [.egress])]),
            Scenario(
                name: "allow from namespace",
                policies: [policy("allow-ns", in: "x", selecting: xa, ingress: [fromNamespace("y")])]),
            Scenario(
                name: "pod AND namespace selector",
                policies: [
                    policy(
                        "and", in: "x", selecting: xa,
                        ingress: [
                            NetworkPolicyIngressRule(from: [
                                NetworkPolicyPeer(
                                    podSelector: labels(["pod": "b"]),
                                    namespaceSelector: LabelSelector(matchExpressions: [
                                        LabelSelectorRequirement(key: "ns", operator: .in, values: ["y", "z"])
                                    ]))
                            ])
                        ])
                ]),
            Scenario(
                name: "pod selector in own namespace",
                policies: [
                    policy(
                        "same-ns", in: "y", selecting: labels(["pod": "c"]),
                        ingress: [
                            NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: labels(["pod": "a"]))])
                        ])
                ]),
            Scenario(
                name: "ipBlock with except",
                policies: [
                    policy(
                        "cidr", in: "z", selecting: labels(["pod": "c"]),
                        ingress: [
                            NetworkPolicyIngressRule(from: [
                                NetworkPolicyPeer(ipBlock: IPBlock(cidr: "\(v4).0/29", except: ["\(v4).4/31"]))
                            ])
                        ])
                ]),
            Scenario(
                name: "named ports",
                policies: [
                    policy(
                        "named", in: "x", types: [.ingress],
                        ingress: [
                            NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: "serve-80-tcp")])
                        ])
                ]),
            Scenario(
                name: "named port egress",
                policies: [
                    policy(
                        "named-egress", in: "y", selecting: labels(["pod": "b"]), types: [.egress],
                        egress: [
                            NetworkPolicyEgressRule(ports: [NetworkPolicyPort(protocol: .udp, port: "serve-81-udp")])
                        ])
                ]),
            Scenario(
                name: "endPort",
                policies: [
                    policy(
                        "range", in: "y", types: [.ingress],
                        ingress: [
                            NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: 81, endPort: 90)])
                        ])
                ]),
            Scenario(
                name: "multiple policies",
                policies: [
                    denyIngressX,
                    policy("from-y", in: "x", selecting: xa, ingress: [fromNamespace("y")]),
                    policy(
                        "from-z-81", in: "x",
                        ingress: [fromNamespace("z", ports: [NetworkPolicyPort(protocol: .udp, port: 81)])]),
                ]),
            Scenario(
                name: "egress to pods",
                policies: [
                    policy(
                        "to-y-80", in: "x", selecting: xa, types: [.egress],
                        egress: [
                            NetworkPolicyEgressRule(
                                to: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "y"]))],
                                ports: [
                                    NetworkPolicyPort(protocol: .tcp, port: 80),
                                    NetworkPolicyPort(protocol: .udp, port: 80),
                                ])
                        ])
                ]),
            Scenario(
                name: "egress and ingress must both allow",
                policies: [
                    policy(
                        "x-to-z", in: "x", types: [.egress],
                        egress: [
                            NetworkPolicyEgressRule(to: [NetworkPolicyPeer(namespaceSelector: labels(["ns": "z"]))])
                        ]),
                    policy(
                        "z-from-y", in: "z",
                        ingress: [fromNamespace("y"), fromNamespace("x", ports: [NetworkPolicyPort(port: 81)])]),
                ]),
            Scenario(
                name: "policy updated in place",
                policies: [
                    policy("x-to-z", in: "x", types: [.egress], egress: [NetworkPolicyEgressRule()]),
                    policy("z-from-y", in: "z", ingress: [fromNamespace("x")]),
                ]),
            Scenario(
                name: "rejected policy keeps its pods isolated",
                policies: [
                    policy(
                        "broken", in: "y", selecting: labels(["pod": "a"]),
                        ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: 0)])]),
                    policy("allow-x", in: "y", selecting: labels(["pod": "a"]), ingress: [fromNamespace("x")]),
                ]),
            Scenario(
                name: "ipBlock with except over IPv6", family: .ipv6,
                policies: [
                    policy(
                        "cidr6", in: "x", selecting: labels(["pod": "b"]), types: [.egress],
                        egress: [
                            NetworkPolicyEgressRule(to: [
                                NetworkPolicyPeer(ipBlock: IPBlock(cidr: "\(v6)0/124", except: ["\(v6)4/126"]))
                            ])
                        ])
                ]),
            Scenario(name: "policies deleted", policies: []),
        ]
    }

    @Test func kernelTruthTablesEqualThePolicyMatrix() async throws {
        try await PolicyLab.run { lab in
            for scenario in Self.scenarios(lab) {
                let manifests = lab.manifests(scenario.policies)
                try await lab.syncer.sync(manifests)
                let checker = try PolicyChecker(manifests: manifests)
                let matrix = try checker.matrix(
                    ports: PolicyLab.ports, protocols: PolicyLab.protocols, family: scenario.family)
                #expect(matrix.count == 9 * 8 * 2 * 2, "\(scenario.name)")
                let wrong = lab.mismatches(matrix, family: scenario.family)
                #expect(wrong == [], "\(scenario.name): \(wrong.count) cells differ")
            }
        }
    }
}

/// What the kernel holds: plain nft that `nft list` decodes, changes that are element batches touching only the
/// pods they concern, and a restart that adopts the table without rewriting anything.
@Suite(.requiresRoot)
struct PolicyKernelStateTests {
    static let table = TableRef(family: .inet, name: "sluice-policy")

    /// The kernel's elements keyed by (starting with) the addresses of `pods`, per set.
    static func elements(of pods: [NodeTopology.Pod], in lab: PolicyLab) throws -> [String: Set<String>] {
        let prefixes = pods.flatMap { [$0.ipv4 + " ", $0.ipv6 + " "] }
        let kernel = try lab.topology.node.run { () throws -> KernelTable? in
            try NFTablesConnection().listTable(Self.table)
        }
        var result: [String: Set<String>] = [:]
        for set in kernel?.sets ?? [] {
            result[set.set.name] = Set(
                set.elements.map { "\($0.key) : \($0.data?.description ?? "")" }.filter { key in
                    prefixes.contains { key.hasPrefix($0) }
                })
        }
        return result
    }

    @Test func policyChangesAreElementBatchesThatLeaveOtherPodsAlone() async throws {
        try await PolicyLab.run { lab in
            let y = [
                PolicyTrafficTests.policy("deny", in: "y", types: [.ingress]),
                PolicyTrafficTests.policy(
                    "from-x", in: "y", selecting: PolicyTrafficTests.labels(["pod": "b"]),
                    ingress: [PolicyTrafficTests.fromNamespace("x", ports: [NetworkPolicyPort(port: 80)])]),
            ]
            let x = PolicyTrafficTests.policy("from-z", in: "x", ingress: [PolicyTrafficTests.fromNamespace("z")])
            try await lab.syncer.sync(lab.manifests(y))
            let yPods = PolicyLab.podNames.map { lab.pod(ObjectName(namespace: "y", name: $0)) }
            let before = try Self.elements(of: yPods, in: lab)
            #expect(before["ingress-ports4"]?.count == 1, "\(before)")

            let added = try await lab.syncer.sync(lab.manifests(y + [x]))
            #expect(added.changedPods == 3)
            #expect(added.elementOperations == 3 * (2 + 2 + 2), "isolation, self and one z range per family and pod")
            #expect(try Self.elements(of: yPods, in: lab) == before)
            let xa = lab.pod(ObjectName(namespace: "x", name: "a"))
            let za = lab.pod(ObjectName(namespace: "z", name: "a"))
            #expect(tcpRequest(from: za.namespace, to: xa.ipv4, port: 81).serverName == xa.name)
            let yb = lab.pod(ObjectName(namespace: "y", name: "b"))
            let denied = tcpRequest(from: yb.namespace, to: xa.ipv4, port: 81, timeout: .milliseconds(500))
            #expect(denied == .timedOut, "\(denied)")

            let listing = try lab.topology.node.exec(["nft", "list", "table", "inet", "sluice-policy"])
            #expect(listing.contains("ip daddr vmap @ingress-pods4"), "\(listing)")
            #expect(listing.contains("\(yb.ipv4) . \(xa.ipv4)-"), "x's pods as one range: \(listing)")

            // A restarted agent adopts the table: nothing to add or delete.
            let restarted = try lab.topology.node.run { () throws -> PolicySyncer in
                var logger = Logger(label: "restart")
                logger.logLevel = .critical
                return PolicySyncer(nodeName: PolicyLab.nodeName, connection: try NFTablesConnection(), logger: logger)
            }
            #expect(try await restarted.sync(lab.manifests(y + [x])).elementOperations == 0)

            // Deleting the x policy: x is open again, y still isolated.
            try await lab.syncer.sync(lab.manifests(y))
            #expect(tcpRequest(from: yb.namespace, to: xa.ipv4, port: 81).serverName == xa.name)
            #expect(try Self.elements(of: yPods, in: lab) == before)
        }
    }

    /// A pod the API shows without addresses yet (the kubelet has not reported them) is enforced from the
    /// addresses the CNI plugin recorded for it in its IPAM store.
    @Test func aPodIsEnforcedFromItsCNIAllocationBeforeTheAPIReportsItsAddresses() async throws {
        try await PolicyLab.run { lab in
            let xa = lab.pod(ObjectName(namespace: "x", name: "a"))
            let yb = lab.pod(ObjectName(namespace: "y", name: "b"))
            var manifests = lab.manifests([PolicyTrafficTests.policy("deny", in: "x", types: [.ingress])])
            let index = try #require(
                manifests.pods.firstIndex { $0.metadata.namespace == "x" && $0.metadata.name == "a" })
            manifests.pods[index].status = PodStatus(phase: .pending)

            // Without the store, x/a has no known address: nothing isolates it.
            try await lab.syncer.sync(manifests)
            #expect(tcpRequest(from: yb.namespace, to: xa.ipv4, port: 80).serverName == xa.name)

            // The store as sluice-cni writes it: host-local's address record plus the pod record beside it.
            let store = NSTemporaryDirectory() + "sluice-cni-allocations-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: store) }
            let network = store + "/sluice"
            try FileManager.default.createDirectory(atPath: network, withIntermediateDirectories: true)
            for address in [xa.ipv4, xa.ipv6] {
                try "c-xa\r\neth0".write(toFile: network + "/" + address, atomically: true, encoding: .utf8)
                try "x/a\r\nc-xa".write(toFile: network + "/" + address + ".pod", atomically: true, encoding: .utf8)
            }
            // A stale pod record (its address now held by another container) is ignored.
            try "c-other\r\neth0".write(toFile: network + "/10.244.99.9", atomically: true, encoding: .utf8)
            try "x/a\r\nc-xa".write(toFile: network + "/10.244.99.9.pod", atomically: true, encoding: .utf8)
            let allocations = CNIAllocations.read(dataDirectory: store)
            #expect(
                allocations == [ObjectName(namespace: "x", name: "a"): [IPAddress(xa.ipv4)!, IPAddress(xa.ipv6)!]],
                "\(allocations)")

            let report = try await lab.syncer.sync(manifests, allocations: allocations)
            #expect(report.changedPods == 1)
            let denied = tcpRequest(from: yb.namespace, to: xa.ipv4, port: 80, timeout: .milliseconds(500))
            #expect(denied == .timedOut, "\(denied)")
            let deniedV6 = tcpRequest(from: yb.namespace, to: xa.ipv6, port: 80, timeout: .milliseconds(500))
            #expect(deniedV6 == .timedOut, "\(deniedV6)")
        }
    }
}
