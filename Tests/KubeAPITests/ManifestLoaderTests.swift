import Foundation
import Testing

@testable import KubeAPI

private func serviceYAML(_ name: String, namespace: String? = nil, port: String = "80") -> String {
    """
    apiVersion: v1
    kind: Service
    metadata:
      name: \(name)\(namespace.map { "\n  namespace: \($0)" } ?? "")
    spec:
      ports:
      - port: \(port)
    """
}

@Suite("Manifest loading")
struct ManifestLoaderTests {
    @Test func loadsMultiDocumentYAMLAndCountsOnlyNonEmptyDocuments() {
        let text = """
            # leading comment
            ---
            \(serviceYAML("a"))
            ---
            # only a comment
            ---
            \(serviceYAML("b", namespace: "shop"))
            --- 
            ...
            ---
            \(serviceYAML("c", port: "0"))
            """
        let set = load(text, source: "services.yaml")
        #expect(set.services.map(\.namespacedName) == ["default/a", "shop/b"])
        #expect(
            set.diagnostics.map(\.description) == [
                "services.yaml doc 3 Service default/c: spec.ports[0].port: 0 is not in 1-65535"
            ])
    }

    @Test func loadsJSON() throws {
        let json = """
            {
            \t"apiVersion": "v1",
            \t"kind": "Service",
            \t"metadata": {"name": "web", "namespace": "shop", "labels": {"version": "1"}},
            \t"spec": {"ports": [{"port": 443, "targetPort": "https", "protocol": "TCP"}], "clusterIP": "10.96.0.5"}
            }
            """
        let set = load(json, source: "web.json")
        #expect(set.diagnostics.isEmpty)
        let service = try #require(set.services.first)
        #expect(service.spec.ports == [ServicePort(port: 443, targetPort: "https")])
        #expect(service.spec.clusterIPs == ["10.96.0.5"])
        #expect(service.metadata.labels == ["version": "1"])
    }

    @Test func jsonStringsAreNotNumbers() {
        let json =
            #"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": "443"}]}}"#
        #expect(
            messages(json, source: "web.json") == [
                "web.json doc 1 Service default/web: spec.ports[0].port: expected an integer, found a string"
            ])
    }

    @Test func loadsListsOfMixedKinds() {
        let text = """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Namespace
              metadata: {name: shop}
            - apiVersion: v1
              kind: Service
              metadata: {name: web, namespace: shop}
              spec: {ports: [{port: 0}]}
            - apiVersion: discovery.k8s.io/v1
              kind: EndpointSlice
              metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
              addressType: IPv4
              endpoints: [{addresses: [10.0.0.1]}]
            - apiVersion: apps/v1
              kind: Deployment
              metadata: {name: web, namespace: shop}
            - just a string
            """
        let set = load(text, source: "list.yaml")
        #expect(set.namespaces.map(\.metadata.name) == ["shop"])
        #expect(set.endpointSlices.map(\.namespacedName) == ["shop/web-1"])
        #expect(set.services.isEmpty)
        #expect(
            set.diagnostics.map(\.description) == [
                "list.yaml doc 1 items[1] Service shop/web: spec.ports[0].port: 0 is not in 1-65535",
                "list.yaml doc 1 items[3] Deployment shop/web: kind Deployment (apps/v1) is not used by Sluice; skipped",
                "list.yaml doc 1 items[4]: expected an object, found a string",
            ])
        #expect(set.diagnostics.map(\.severity) == [.error, .warning, .error])
    }

    @Test func loadsTypedListsWhoseItemsOmitKind() {
        let text = """
            apiVersion: v1
            kind: ServiceList
            metadata: {resourceVersion: "12"}
            items:
            - metadata: {name: a, namespace: x}
              spec: {ports: [{port: 80}]}
            - metadata: {name: b, namespace: x}
              spec: {ports: [{port: 81}]}
            """
        let set = load(text)
        #expect(set.diagnostics.isEmpty)
        #expect(set.services.map(\.namespacedName) == ["x/a", "x/b"])
    }

    @Test(arguments: [
        (
            "apiVersion: apps/v1\nkind: ServiceList\nitems: []",
            "test.yaml doc 1 ServiceList: apiVersion: \"apps/v1\" is not an apiVersion of ServiceList (expected v1)"
        ),
        (
            "apiVersion: v2\nkind: List\nitems: []",
            "test.yaml doc 1 List: apiVersion: \"v2\" is not an apiVersion of List (expected v1)"
        ),
        (
            "apiVersion: apps/v1\nkind: DeploymentList\nitems: [{metadata: {name: a}}]",
            "test.yaml doc 1 DeploymentList: kind DeploymentList (apps/v1) is not used by Sluice; skipped"
        ),
        (
            "apiVersion: v1\nkind: List\nitems: {a: b}",
            "test.yaml doc 1 List: items: expected a list, found an object"
        ),
        (
            "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: List, items: []}]",
            "test.yaml doc 1 items[0] List: a list inside a list is not supported"
        ),
        (
            "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, metadata: {name: a}}]",
            "test.yaml doc 1 items[0]: kind: required"
        ),
    ])
    func reportsBadLists(text: String, expected: String) {
        #expect(messages(text) == [expected])
    }

    @Test func reportsUnknownKindsAsWarningsAndSkipsThem() {
        let text = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: shop}
            ---
            apiVersion: example.com/v1
            kind: Widget
            metadata: {name: gadget}
            ---
            \(serviceYAML("web"))
            """
        let set = load(text, source: "mixed.yaml")
        #expect(set.services.count == 1)
        #expect(set.errors.isEmpty)
        #expect(
            set.warnings.map(\.description) == [
                "mixed.yaml doc 1 Deployment shop/web: kind Deployment (apps/v1) is not used by Sluice; skipped",
                "mixed.yaml doc 2 Widget gadget: kind Widget (example.com/v1) is not used by Sluice; skipped",
            ])
    }

    @Test(arguments: [
        (
            "apiVersion: apps/v1\nkind: Service\nmetadata: {name: web}",
            "test.yaml doc 1 Service default/web: apiVersion: \"apps/v1\" is not an apiVersion of Service (expected v1)"
        ),
        (
            "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: web, namespace: a}",
            "test.yaml doc 1 Ingress a/web: apiVersion: \"networking.k8s.io/v1beta1\" is not an apiVersion of Ingress (expected networking.k8s.io/v1)"
        ),
        (
            "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: HTTPRoute\nmetadata: {name: r}",
            "test.yaml doc 1 HTTPRoute default/r: apiVersion: \"gateway.networking.k8s.io/v1alpha2\" is not an apiVersion of HTTPRoute (expected gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1)"
        ),
        (
            "apiVersion: v1\nkind: GatewayClass\nmetadata: {name: c}",
            "test.yaml doc 1 GatewayClass c: apiVersion: \"v1\" is not an apiVersion of GatewayClass (expected gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1)"
        ),
        (
            "kind: Service\nmetadata: {name: web}",
            "test.yaml doc 1 Service default/web: apiVersion: required"
        ),
        ("apiVersion: v1\nmetadata: {name: web}", "test.yaml doc 1: kind: required"),
        ("- apiVersion: v1\n- kind: Service", "test.yaml doc 1: expected an object, found a list"),
        ("just text", "test.yaml doc 1: expected an object, found a string"),
    ])
    func rejectsDocumentsWithoutAUsableKindOrVersion(text: String, expected: String) {
        #expect(messages(text) == [expected])
    }

    @Test func reportsMalformedYAMLWithItsLineAndLoadsTheOtherDocuments() {
        let text = """
            \(serviceYAML("a"))
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: broken
               namespace: oops
            ---
            \(serviceYAML("b"))
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: "unterminated}
            """
        let set = load(text, source: "svc.yaml")
        #expect(set.services.map(\.metadata.name) == ["a", "b"])
        #expect(
            set.diagnostics.map(\.description) == [
                "svc.yaml doc 2: line 13, column 13: syntax error: mapping values are not allowed in this context",
                "svc.yaml doc 4: line 25, column 32: syntax error: found unexpected end of stream (while scanning a quoted scalar)",
            ])
        #expect(set.diagnostics.first?.line == 13)
    }

    @Test func reportsDuplicateKeys() {
        let set = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nkind: Namespace\n", source: "dup.yaml")
        #expect(set.namespaces.isEmpty)
        #expect(
            set.diagnostics.map(\.description) == [
                "dup.yaml doc 1: line 2, column 1: syntax error: duplicate key \"kind\""
            ])
    }

    @Test(arguments: [
        (
            "{ports: [{port: abc}]}",
            ["spec.ports[0].port: expected an integer, found a string"]
        ),
        (
            "{ports: [{port: \"80\"}]}",
            ["spec.ports[0].port: expected an integer, found a string"]
        ),
        (
            "{ports: [{port: 80.5}]}",
            ["spec.ports[0].port: expected an integer, found a number"]
        ),
        (
            "{ports: [{port: true}]}",
            ["spec.ports[0].port: expected an integer, found a boolean"]
        ),
        (
            "{ports: [{port: 99999999999999999999}]}",
            ["spec.ports[0].port: 99999999999999999999 is out of range"]
        ),
        (
            "{ports: \"80\"}",
            ["spec.ports: expected a list, found a string"]
        ),
        (
            "{ports: [80]}",
            ["spec.ports[0]: expected an object, found an integer"]
        ),
        (
            "{ports: [{port: x}, {port: 1, nodePort: [1]}], publishNotReadyAddresses: maybe, selector: {app: {a: b}}}",
            [
                "spec.ports[0].port: expected an integer, found a string",
                "spec.ports[1].nodePort: expected an integer, found a list",
                "spec.selector[app]: expected a string, found an object",
                "spec.publishNotReadyAddresses: expected a boolean, found a string",
            ]
        ),
        (
            "[]",
            ["spec: expected an object, found a list"]
        ),
        (
            "{ports: [{port: 80, protocol: [TCP]}]}",
            ["spec.ports[0].protocol: expected a string, found a list"]
        ),
        (
            "{ports: [{port: 80, targetPort: {name: http}}]}",
            ["spec.ports[0].targetPort: expected a string, found an object"]
        ),
    ])
    func reportsEveryTypeErrorByFieldPath(spec: String, expected: [String]) {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: \(spec)"
        let set = load(text)
        #expect(set.services.isEmpty)
        #expect(set.diagnostics.map(\.description) == expected.map { "test.yaml doc 1 Service default/web: \($0)" })
    }

    @Test func nullFieldsCountAsAbsent() throws {
        let text = """
            apiVersion: v1
            kind: Service
            metadata: {name: web, labels: null}
            spec:
              ports: [{port: 80, protocol: ~}]
              selector:
            """
        let service = try #require(loadValid(text).services.first)
        #expect(service.spec.ports == [ServicePort(protocol: .tcp, port: 80)])
        #expect(service.metadata.labels.isEmpty)
    }

    @Test func reportsMetadataTypeErrorsAndInvalidBase64() {
        let text = """
            apiVersion: v1
            kind: Secret
            metadata: {name: tls, labels: [a]}
            data: {tls.crt: "not base64!"}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: tls2}
            data: {tls.crt: "not base64!"}
            """
        #expect(
            messages(text) == [
                "test.yaml doc 1 Secret default/tls: metadata.labels: expected an object, found a list",
                "test.yaml doc 1 Secret default/tls: data: value of \"tls.crt\" is not valid base64",
                "test.yaml doc 2 Secret default/tls2: data: value of \"tls.crt\" is not valid base64",
            ])
    }

    @Test func defaultsNamespacesAndClearsThemForClusterScopedKinds() throws {
        let text = """
            \(serviceYAML("a"))
            ---
            apiVersion: v1
            kind: Node
            metadata: {name: node-a, namespace: ignored}
            """
        let set = load(text)
        #expect(set.diagnostics.isEmpty)
        #expect(set.services.first?.metadata.namespace == "default")
        #expect(set.nodes.first?.metadata.namespace == "")
        #expect(set.nodes.first?.namespacedName == "node-a")
    }

    @Test func keepsTheFirstOfTwoDefinitionsOfAnObject() {
        let text = [serviceYAML("a"), serviceYAML("a", port: "81"), serviceYAML("a", namespace: "other")].joined(
            separator: "\n---\n")
        let set = load(text)
        #expect(set.services.map(\.namespacedName) == ["default/a", "other/a"])
        #expect(set.services.first?.spec.ports.first?.port == 80)
        #expect(
            set.diagnostics.map(\.description) == [
                "test.yaml doc 2 Service default/a: already defined in test.yaml doc 1; this definition is skipped"
            ])
    }

    @Test func loadsDirectoriesRecursivelyInSortedOrder() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try directory.write(serviceYAML("from-b"), to: "b.yaml")
        try directory.write(serviceYAML("from-a"), to: "a.yml")
        try directory.write(
            #"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "from-json"}, "spec": {"ports": [{"port": 1}]}}"#,
            to: "c/inner.json")
        try directory.write(serviceYAML("from-nested"), to: "c/z/deep.YAML")
        try directory.write(serviceYAML("not-a-manifest"), to: "notes.txt")
        try directory.write(serviceYAML("hidden"), to: "..data/a.yaml")
        try directory.write(serviceYAML("hidden-file"), to: ".hidden.yaml")
        try directory.write("apiVersion: v1\nkind: Service\nmetadata: {name: \"x}\n", to: "c/broken.yaml")
        try directory.write(#"{"apiVersion": "v1", "kind": "#, to: "c/broken.json")

        let set = ManifestLoader().load(path: directory.path)
        #expect(set.services.map(\.metadata.name) == ["from-a", "from-b", "from-json", "from-nested"])
        let prefix = directory.path
        #expect(
            set.diagnostics.map(\.description) == [
                "\(prefix)/c/broken.json doc 1: line 2, column 1: syntax error: did not find expected node content (while parsing a flow node)",
                "\(prefix)/c/broken.yaml doc 1: line 4, column 1: syntax error: found unexpected end of stream (while scanning a quoted scalar)",
            ])
    }

    @Test func loadsExplicitFilesInTheGivenOrderAndReportsMissingOnes() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try directory.write(serviceYAML("second"), to: "2.yaml")
        try directory.write(serviceYAML("first"), to: "1.txt")
        let missing = directory.appendingPathComponent("missing.yaml").path
        let set = ManifestLoader().load(
            paths: [
                directory.appendingPathComponent("1.txt").path, missing,
                directory.appendingPathComponent("2.yaml").path,
            ])
        #expect(set.services.map(\.metadata.name) == ["first", "second"])
        #expect(set.diagnostics.map(\.description) == ["\(missing): no such file or directory"])
    }

    @Test func duplicatesAreDetectedAcrossFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try directory.write(serviceYAML("web"), to: "a.yaml")
        try directory.write(serviceYAML("web"), to: "b.yaml")
        let set = ManifestLoader().load(path: directory.path)
        #expect(set.services.count == 1)
        #expect(
            set.diagnostics.map(\.description) == [
                "\(directory.path)/b.yaml doc 1 Service default/web: already defined in \(directory.path)/a.yaml doc 1; this definition is skipped"
            ])
    }

    @Test func rejectsDataThatIsNotUTF8() {
        let set = ManifestLoader().load(data: Data([0x61, 0xff, 0xfe]), source: "binary.yaml")
        #expect(set.diagnostics.map(\.description) == ["binary.yaml: is not UTF-8 text"])
    }

    @Test func loadsEveryKindFromOneStream() {
        let all = [
            Fixtures.service, Fixtures.endpoints, Fixtures.endpointSlice, Fixtures.pod, Fixtures.namespace,
            Fixtures.node,
            Fixtures.secret, Fixtures.networkPolicy, Fixtures.ingress, Fixtures.ingressClass, Fixtures.gatewayClass,
            Fixtures.gateway, Fixtures.httpRoute, Fixtures.referenceGrant,
        ]
        let set = load(all.joined(separator: "\n---\n"))
        #expect(set.diagnostics.map(\.description) == [])
        #expect(set.objectCount == 14)
        for count in [
            set.services.count, set.endpoints.count, set.endpointSlices.count, set.pods.count, set.namespaces.count,
            set.nodes.count, set.secrets.count, set.networkPolicies.count, set.ingresses.count,
            set.ingressClasses.count,
            set.gatewayClasses.count, set.gateways.count, set.httpRoutes.count, set.referenceGrants.count,
        ] {
            #expect(count == 1)
        }
    }

    @Test func loadsThousandsOfServices() {
        let text = (0..<3000).map { serviceYAML("svc-\($0)", namespace: "ns-\($0 % 7)") }.joined(separator: "\n---\n")
        let set = load(text)
        #expect(set.diagnostics.isEmpty)
        #expect(set.services.count == 3000)
        #expect(set.services.last?.namespacedName == "ns-3/svc-2999")
    }

    @Test func convertsForeignDecodingErrorsToFieldPaths() {
        let json = Data(#"{"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}, {"port": "x"}]}}"#.utf8)
        #expect {
            try JSONDecoder().decode(Service.self, from: json)
        } throws: { error in
            guard let decodingError = error as? DecodingError else { return false }
            return FieldError(decodingError).path.description == "spec.ports[1].port"
        }
    }

    @Test func rendersDiagnosticsInTheDocumentedFormat() {
        let diagnostic = ManifestDiagnostic(
            severity: .error, source: "services.yaml", document: 3, kind: "Service", objectName: "default/web",
            field: "spec.ports[0].port", message: "0 is not in 1-65535")
        #expect(
            diagnostic.description == "services.yaml doc 3 Service default/web: spec.ports[0].port: 0 is not in 1-65535"
        )
        let listItem = ManifestDiagnostic(
            severity: .error, source: "list.yaml", document: 2, listItem: 4, kind: "Node", objectName: "n1",
            message: "problem")
        #expect(listItem.description == "list.yaml doc 2 items[4] Node n1: problem")
    }
}
