import KubeAPI
import NFTables
import NetworkPolicy
import Testing

/// Never fail open: a policy that cannot be honoured still isolates what it selects, allows nothing, and says so.
struct RejectedPolicyTests {
    @Test func anInvalidPolicyIsolatesItsPodsAndAllowsNothing() throws {
        let broken = E2E.policy(
            "broken", in: "x", selecting: E2E.labels(["pod": "a"]),
            ingress: [NetworkPolicyIngressRule(ports: [NetworkPolicyPort(protocol: .tcp, port: 70000)])])
        let manifests = E2E.manifests([broken])
        #expect(
            try Truth.mismatches(manifests) { _, to, _, _ in to != .pod("x/a") } == [])
        let checker = try PolicyChecker(manifests: manifests)
        let verdict = try checker.check(from: .pod(.pod("y/a")), to: .pod(.pod("x/a")), protocol: .tcp, port: 80)
        #expect(verdict.ingress.rejectedPolicies == [.pod("x/broken")])
        let diagnostic = try #require(checker.enforcer.diagnostics.first)
        #expect(diagnostic.contains("x/broken rejected"), "\(diagnostic)")
        #expect(diagnostic.contains("70000 is not in 1-65535"), "\(diagnostic)")
        #expect(diagnostic.contains("stay isolated for ingress"), "\(diagnostic)")
        #expect(diagnostic.contains("(here: x/a)"), "\(diagnostic)")
    }

    @Test func anInvalidSelectorIsolatesTheWholeNamespace() throws {
        let broken = E2E.policy(
            "bad-selector", in: "y",
            selecting: LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "pod", operator: .in)]),
            types: [.ingress])
        #expect(try Truth.mismatches(E2E.manifests([broken])) { _, to, _, _ in to.namespace != "y" } == [])
    }

    @Test func unknownPolicyTypesIsolateBothWays() throws {
        let broken = E2E.policy(
            "bad-types", in: "y", selecting: E2E.labels(["pod": "c"]), types: [.unrecognized("Ingres")])
        #expect(
            try Truth.mismatches(E2E.manifests([broken])) { from, to, _, _ in
                from != .pod("y/c") && to != .pod("y/c")
            } == [])
    }

    @Test func aPolicyThatFailsValidationIsolatesExactlyThePodsItSelects() throws {
        let text = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: typo, namespace: z}
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - ports: [{protocol: TPC, port: 80}]
            """
        var manifests = ManifestLoader().load(text: text, source: "policies.yaml")
        #expect(manifests.networkPolicies.isEmpty)
        #expect(manifests.invalidNetworkPolicies.map(\.metadata.name) == ["typo"])
        #expect(manifests.errors.first?.description.contains("\"TPC\" is not one of TCP, UDP, SCTP") == true)
        #expect(RejectedPolicy.rejected(by: manifests).isEmpty, "known as an object, not by name only")
        manifests.namespaces = E2E.namespaceObjects()
        manifests.pods = E2E.pods()
        // z/a allows nothing in (its only policy is rejected: fail closed); z/b, z/c and every egress stay open.
        #expect(
            try Truth.mismatches(manifests) { _, to, _, _ in
                !(to.namespace == "z" && to.name == "a")
            } == [])
        let checker = try PolicyChecker(manifests: manifests)
        let verdict = try checker.check(
            from: .pod(.pod("x/a")), to: .pod(.pod("z/a")), protocol: .tcp, port: 80)
        #expect(!verdict.allowed)
    }

    @Test func aPolicyKnownOnlyByNameIsolatesItsNamespace() throws {
        let text = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: garbled, namespace: z}
            spec:
              podSelector: [not, a, selector]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: allow-y, namespace: z}
            spec:
              podSelector: {}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
            """
        var manifests = ManifestLoader().load(text: text, source: "policies.yaml")
        #expect(manifests.networkPolicies.count == 1)
        #expect(manifests.invalidNetworkPolicies.isEmpty)
        let rejected = RejectedPolicy.rejected(by: manifests)
        #expect(rejected.map(\.name) == [.pod("z/garbled")])
        manifests.namespaces = E2E.namespaceObjects()
        manifests.pods = E2E.pods()
        // Its selector is unknown: z stays isolated both ways; its valid policy still lets y in.
        #expect(
            try Truth.mismatches(manifests) { from, to, _, _ in
                if from.namespace == "z" { return false }
                return to.namespace != "z" || from.namespace == "y"
            } == [])
    }

    @Test func aDuplicateDefinitionIsNotARejection() {
        let text = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: twice, namespace: x}
            spec: {podSelector: {}}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: twice, namespace: x}
            spec: {podSelector: {}}
            """
        let manifests = ManifestLoader().load(text: text, source: "twice.yaml")
        #expect(manifests.errors.count == 1)
        #expect(RejectedPolicy.rejected(by: manifests).isEmpty)
    }
}
