import Foundation
import Testing

@testable import KubeAPI

@Suite("Decoding real-world manifests")
struct DecodingTests {
    @Test func service() throws {
        let service = try #require(loadValid(Fixtures.service).services.first)
        #expect(service.metadata.name == "web")
        #expect(service.metadata.namespace == "shop")
        #expect(service.metadata.uid == "0b9b6c2e-6f4e-4d8a-9a55-3c1f0e1d2a3b")
        #expect(service.metadata.resourceVersion == "4711")
        #expect(service.metadata.creationTimestamp == "2024-05-01T10:00:00Z")
        #expect(service.metadata.labels == ["app.kubernetes.io/name": "web"])
        let spec = service.spec
        #expect(spec.type == .loadBalancer)
        #expect(spec.clusterIP == "10.96.12.34")
        #expect(spec.clusterIPs == ["10.96.12.34", "fd00:10:96::1234"])
        #expect(spec.ipFamilies == [.ipv4, .ipv6])
        #expect(spec.ipFamilyPolicy == .preferDualStack)
        #expect(
            spec.ports == [
                ServicePort(
                    name: "http", protocol: .tcp, port: 80, targetPort: "http-web", nodePort: 30080, appProtocol: "http"
                ),
                ServicePort(name: "dns", protocol: .udp, port: 53, targetPort: 5353, nodePort: 30053),
            ])
        #expect(spec.selector == ["app.kubernetes.io/name": "web"])
        #expect(spec.sessionAffinity == .clientIP)
        #expect(spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == 600)
        #expect(spec.externalTrafficPolicy == .local)
        #expect(spec.internalTrafficPolicy == .cluster)
        #expect(spec.healthCheckNodePort == 31999)
        #expect(spec.loadBalancerSourceRanges == ["203.0.113.0/24"])
        #expect(spec.trafficDistribution == .preferClose)
        #expect(
            service.status.loadBalancer.ingress == [
                LoadBalancerIngress(ip: "198.51.100.7"), LoadBalancerIngress(hostname: "lb.example.com"),
            ])
    }

    @Test func serviceDefaults() throws {
        let service = try #require(
            loadValid(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: db}
                spec:
                  ports: [{port: 5432}]
                """
            ).services.first)
        #expect(service.metadata.namespace == "default")
        #expect(service.spec.type == .clusterIP)
        #expect(service.spec.sessionAffinity == SessionAffinity.none)
        #expect(service.spec.sessionAffinityConfig == nil)
        #expect(service.spec.externalTrafficPolicy == nil)
        #expect(service.spec.internalTrafficPolicy == .cluster)
        #expect(service.spec.publishNotReadyAddresses == false)
        #expect(service.spec.ports == [ServicePort(name: "", protocol: .tcp, port: 5432, targetPort: .int(5432))])
    }

    @Test func nodePortServiceDefaultsExternalTrafficPolicyAndAffinityTimeout() throws {
        let service = try #require(
            loadValid(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: edge}
                spec:
                  type: NodePort
                  clusterIP: 10.96.0.10
                  sessionAffinity: ClientIP
                  ports: [{port: 80, nodePort: 30080}]
                """
            ).services.first)
        #expect(service.spec.externalTrafficPolicy == .cluster)
        #expect(service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == 10800)
        #expect(service.spec.clusterIPs == ["10.96.0.10"])
    }

    @Test func headlessServiceNeedsNoPorts() throws {
        let service = try #require(
            loadValid(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: peers, namespace: db}
                spec: {clusterIP: None, selector: {app: db}}
                """
            ).services.first)
        #expect(service.spec.isHeadless)
        #expect(service.spec.clusterIPs == ["None"])
    }

    @Test func endpoints() throws {
        let endpoints = try #require(loadValid(Fixtures.endpoints).endpoints.first)
        #expect(endpoints.subsets.count == 1)
        let subset = endpoints.subsets[0]
        #expect(
            subset.addresses == [
                EndpointAddress(
                    ip: "10.244.1.5", nodeName: "node-a",
                    targetRef: ObjectReference(
                        kind: "Pod", namespace: "shop", name: "web-7d9f8-abcde",
                        uid: "6a4c9a1e-0000-4000-8000-000000000001"))
            ])
        #expect(subset.notReadyAddresses == [EndpointAddress(ip: "10.244.2.9", hostname: "web-1")])
        #expect(
            subset.ports == [
                EndpointPort(name: "http", port: 8080), EndpointPort(name: "dns", port: 5353, protocol: .udp),
            ])
    }

    @Test func endpointSlice() throws {
        let slice = try #require(loadValid(Fixtures.endpointSlice).endpointSlices.first)
        #expect(slice.addressType == .ipv4)
        #expect(slice.serviceName == "web")
        #expect(slice.metadata.generation == 3)
        #expect(slice.endpoints.count == 2)
        let first = slice.endpoints[0]
        #expect(first.addresses == ["10.244.1.5"])
        #expect(first.conditions == EndpointConditions(ready: true, serving: true, terminating: false))
        #expect(first.hints == EndpointHints(forZones: [ForZone(name: "zone-a")], forNodes: [ForNode(name: "node-a")]))
        #expect(first.zone == "zone-a")
        #expect(first.nodeName == "node-a")
        #expect(first.targetRef?.name == "web-7d9f8-abcde")
        let second = slice.endpoints[1]
        #expect(second.conditions == EndpointConditions(ready: false, serving: nil, terminating: true))
        #expect(!second.conditions.isReady && !second.conditions.isServing && second.conditions.isTerminating)
        #expect(
            slice.ports == [
                EndpointSlicePort(name: "http", port: 8080, protocol: .tcp, appProtocol: "http"),
                EndpointSlicePort(name: "dns", port: 5353, protocol: .udp),
            ])
    }

    @Test func endpointConditionsTreatUnknownAsReady() {
        let unknown = EndpointConditions()
        #expect(unknown.isReady && unknown.isServing && !unknown.isTerminating)
    }

    @Test func pod() throws {
        let pod = try #require(loadValid(Fixtures.pod).pods.first)
        #expect(pod.metadata.labels["app.kubernetes.io/name"] == "web")
        #expect(pod.metadata.deletionTimestamp == "2024-05-01T11:00:00Z")
        #expect(pod.spec.nodeName == "node-a")
        #expect(pod.spec.hostNetwork == false)
        #expect(
            pod.spec.containers == [
                Container(
                    name: "web",
                    ports: [
                        ContainerPort(name: "http-web", containerPort: 8080),
                        ContainerPort(
                            name: "dns", containerPort: 5353, protocol: .udp, hostPort: 53, hostIP: "192.0.2.10"),
                    ])
            ])
        #expect(pod.status.phase == .running)
        #expect(pod.status.podIP == "10.244.1.5")
        #expect(pod.status.podIPs == [PodIP(ip: "10.244.1.5"), PodIP(ip: "fd00:10:244:1::5")])
        #expect(pod.status.hostIP == "192.0.2.10")
        #expect(pod.status.conditions.first == PodCondition(type: "Ready", status: .true))
        #expect(pod.status.isReady)
    }

    @Test func podIPsDefaultToPodIP() throws {
        let pod = try #require(
            loadValid(
                """
                apiVersion: v1
                kind: Pod
                metadata: {name: solo}
                spec: {containers: [{name: main}]}
                status: {podIP: 10.244.0.7, phase: Pending}
                """
            ).pods.first)
        #expect(pod.status.podIPs == [PodIP(ip: "10.244.0.7")])
        #expect(!pod.status.isReady)
    }

    @Test func namespace() throws {
        let namespace = try #require(loadValid(Fixtures.namespace).namespaces.first)
        #expect(namespace.metadata.name == "shop")
        #expect(namespace.metadata.namespace == "")
        #expect(namespace.metadata.labels["team"] == "payments")
        #expect(namespace.effectiveLabels[Namespace.nameLabel] == "shop")
    }

    @Test func node() throws {
        let node = try #require(loadValid(Fixtures.node).nodes.first)
        #expect(node.zone == "zone-a")
        #expect(node.metadata.annotations["node.alpha.kubernetes.io/ttl"] == "0")
        #expect(node.spec.podCIDR == "10.244.1.0/24")
        #expect(node.spec.podCIDRs == ["10.244.1.0/24", "fd00:10:244:1::/64"])
        #expect(node.spec.unschedulable)
        #expect(
            node.status.addresses == [
                NodeAddress(type: .internalIP, address: "192.0.2.10"),
                NodeAddress(type: .internalIP, address: "2001:db8::10"),
                NodeAddress(type: .hostname, address: "node-a"),
            ])
    }

    @Test func secretDecodesBase64AndMergesStringData() throws {
        let secret = try #require(loadValid(Fixtures.secret).secrets.first)
        #expect(secret.type == Secret.tlsType)
        #expect(secret.tlsCertificate == Data("-----BEGIN CERTIFICATE-----".utf8))
        #expect(secret.tlsPrivateKey == Data("-----BEGIN PRIVATE KEY-----".utf8))
        #expect(secret.data["note"] == Data("managed by hand".utf8))
        #expect(secret.stringData == ["note": "managed by hand"])
    }

    @Test func networkPolicy() throws {
        let policy = try #require(loadValid(Fixtures.networkPolicy).networkPolicies.first)
        let spec = policy.spec
        #expect(spec.podSelector == LabelSelector(matchLabels: ["app.kubernetes.io/name": "web"]))
        #expect(spec.policyTypes == [])
        #expect(spec.effectivePolicyTypes == [.ingress, .egress])
        let rule = try #require(spec.ingress.first)
        #expect(
            rule.from == [
                NetworkPolicyPeer(
                    podSelector: LabelSelector(matchExpressions: [
                        LabelSelectorRequirement(key: "role", operator: .in, values: ["frontend", "api"])
                    ]),
                    namespaceSelector: LabelSelector(matchLabels: ["team": "payments"])),
                NetworkPolicyPeer(ipBlock: IPBlock(cidr: "172.16.0.0/16", except: ["172.16.1.0/24"])),
            ])
        #expect(
            rule.ports == [
                NetworkPolicyPort(protocol: .tcp, port: 8080),
                NetworkPolicyPort(protocol: .tcp, port: "http-web"),
                NetworkPolicyPort(protocol: .udp, port: 32000, endPort: 32768),
            ])
        #expect(
            spec.egress == [
                NetworkPolicyEgressRule(to: [NetworkPolicyPeer(podSelector: LabelSelector())]),
                NetworkPolicyEgressRule(ports: [NetworkPolicyPort(protocol: .sctp)]),
            ])
    }

    @Test(arguments: [
        ("{}", [PolicyType.ingress]),
        ("{egress: [{}]}", [.ingress, .egress]),
        ("{policyTypes: [Egress]}", [.egress]),
        ("{policyTypes: [Egress], ingress: [{}]}", [.egress]),
    ])
    func networkPolicyTypesDefaultLikeTheAPIServer(spec: String, expected: [PolicyType]) throws {
        let policy = try #require(
            loadValid(
                """
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: p}
                spec: \(spec)
                """
            ).networkPolicies.first)
        #expect(policy.spec.effectivePolicyTypes == expected)
        #expect(policy.spec.isolatesEgress == expected.contains(.egress))
    }

    @Test func ingress() throws {
        let ingress = try #require(loadValid(Fixtures.ingress).ingresses.first)
        let spec = ingress.spec
        #expect(spec.ingressClassName == "sluice")
        #expect(
            spec.defaultBackend
                == IngressBackend(
                    resource: TypedLocalObjectReference(apiGroup: "storage.example.com", kind: "Bucket", name: "static")
                ))
        #expect(spec.rules.map(\.host) == ["shop.example.com", "*.shop.example.com"])
        let paths = try #require(spec.rules.first?.http?.paths)
        #expect(
            paths == [
                HTTPIngressPath(
                    path: "/", pathType: .prefix,
                    backend: IngressBackend(
                        service: IngressServiceBackend(name: "web", port: ServiceBackendPort(name: "http")))),
                HTTPIngressPath(
                    path: "/api/v1", pathType: .exact,
                    backend: IngressBackend(
                        service: IngressServiceBackend(name: "api", port: ServiceBackendPort(number: 8080)))),
            ])
        #expect(spec.rules[1].http?.paths.first?.path == nil)
        #expect(spec.rules[1].http?.paths.first?.pathType == .implementationSpecific)
        #expect(spec.tls == [IngressTLS(hosts: ["shop.example.com"], secretName: "web-tls")])
        #expect(ingress.status.loadBalancer.ingress == [LoadBalancerIngress(ip: "198.51.100.8")])
    }

    @Test func ingressClass() throws {
        let ingressClass = try #require(loadValid(Fixtures.ingressClass).ingressClasses.first)
        #expect(ingressClass.spec.controller == "sluice.dev/ingress-controller")
        #expect(ingressClass.isDefaultClass)
        #expect(ingressClass.metadata.namespace == "")
    }

    @Test func gatewayClass() throws {
        let gatewayClass = try #require(loadValid(Fixtures.gatewayClass).gatewayClasses.first)
        #expect(gatewayClass.spec.controllerName == "sluice.dev/gateway-controller")
    }

    @Test func gateway() throws {
        let gateway = try #require(loadValid(Fixtures.gateway).gateways.first)
        #expect(gateway.spec.gatewayClassName == "sluice")
        #expect(
            gateway.spec.addresses == [
                GatewayAddress(type: "IPAddress", value: "198.51.100.20"),
                GatewayAddress(type: "Hostname", value: "edge.example.com"),
            ])
        let listeners = gateway.spec.listeners
        #expect(listeners.map(\.name) == ["http", "https", "passthrough"])
        #expect(
            listeners[0]
                == Listener(
                    name: "http", port: 80, protocol: "HTTP",
                    allowedRoutes: AllowedRoutes(namespaces: RouteNamespaces(from: .all))))
        #expect(listeners[1].hostname == "*.example.com")
        #expect(
            listeners[1].tls
                == GatewayTLSConfig(
                    mode: .terminate,
                    certificateRefs: [
                        SecretObjectReference(group: "", kind: "Secret", name: "wildcard-tls", namespace: "certs")
                    ]))
        #expect(
            listeners[1].allowedRoutes
                == AllowedRoutes(
                    namespaces: RouteNamespaces(
                        from: .selector, selector: LabelSelector(matchLabels: ["gateway-access": "yes"])),
                    kinds: [RouteGroupKind(group: gatewayAPIGroup, kind: "HTTPRoute")]))
        #expect(listeners[2].tls?.mode == .passthrough)
        #expect(listeners[2].allowedRoutes == AllowedRoutes(namespaces: RouteNamespaces(from: .same)))
    }

    @Test func httpRoute() throws {
        let route = try #require(loadValid(Fixtures.httpRoute).httpRoutes.first)
        let spec = route.spec
        #expect(
            spec.parentRefs == [
                ParentReference(
                    group: gatewayAPIGroup, kind: "Gateway", namespace: "infra", name: "edge", sectionName: "https"),
                ParentReference(name: "internal", port: 8080),
            ])
        #expect(spec.hostnames == ["shop.example.com"])
        #expect(spec.rules.count == 3)

        let api = spec.rules[0]
        #expect(api.name == "api")
        #expect(
            api.matches == [
                HTTPRouteMatch(
                    path: HTTPPathMatch(type: .pathPrefix, value: "/api"),
                    headers: [
                        HTTPHeaderMatch(type: .exact, name: "X-Canary", value: "true"),
                        HTTPHeaderMatch(type: .regularExpression, name: "User-Agent", value: ".*Mobile.*"),
                    ],
                    queryParams: [HTTPQueryParamMatch(name: "debug", value: "1")],
                    method: .get)
            ])
        #expect(
            api.filters == [
                HTTPRouteFilter(
                    type: .requestHeaderModifier,
                    requestHeaderModifier: HTTPHeaderFilter(
                        set: [HTTPHeader(name: "X-Route", value: "api")],
                        add: [HTTPHeader(name: "X-Trace", value: "on")],
                        remove: ["X-Internal"])),
                HTTPRouteFilter(
                    type: .urlRewrite,
                    urlRewrite: HTTPURLRewriteFilter(
                        hostname: "api.internal",
                        path: HTTPPathModifier(type: .replacePrefixMatch, replacePrefixMatch: "/v2"))),
                HTTPRouteFilter(
                    type: .requestMirror,
                    requestMirror: HTTPRequestMirrorFilter(
                        backendRef: BackendObjectReference(name: "shadow", port: 8080),
                        fraction: Fraction(numerator: 5, denominator: 100))),
            ])
        #expect(
            api.backendRefs == [
                HTTPBackendRef(name: "api-v1", port: 8080, weight: 90),
                HTTPBackendRef(
                    name: "api-v2", namespace: "canary", port: 8080, weight: 10,
                    filters: [
                        HTTPRouteFilter(
                            type: .responseHeaderModifier,
                            responseHeaderModifier: HTTPHeaderFilter(set: [HTTPHeader(name: "X-Version", value: "v2")]))
                    ]),
            ])

        let redirect = spec.rules[1]
        #expect(redirect.matches == [HTTPRouteMatch(path: HTTPPathMatch(type: .exact, value: "/old"))])
        #expect(
            redirect.filters.first?.requestRedirect
                == HTTPRequestRedirectFilter(
                    scheme: "https", hostname: "shop.example.com",
                    path: HTTPPathModifier(type: .replaceFullPath, replaceFullPath: "/new"), port: 443, statusCode: 301)
        )

        let fallback = spec.rules[2]
        #expect(fallback.matches == [HTTPRouteMatch(path: HTTPPathMatch(type: .pathPrefix, value: "/"))])
        #expect(fallback.backendRefs == [HTTPBackendRef(group: "", kind: "Service", name: "web", port: 80, weight: 1)])
        #expect(
            fallback.filters.first?.extensionRef
                == LocalObjectReference(group: "sluice.dev", kind: "RateLimit", name: "gentle"))
    }

    @Test func httpRouteWithoutRulesMatchesEverything() throws {
        let route = try #require(
            loadValid(
                """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: all}
                spec:
                  parentRefs: [{name: edge}]
                  rules: [{matches: [{headers: [{name: X-A, value: b}]}], backendRefs: [{name: web, port: 80}]}]
                """
            ).httpRoutes.first)
        let match = try #require(route.spec.rules.first?.matches.first)
        #expect(match.path == HTTPPathMatch(type: .pathPrefix, value: "/"))
        #expect(route.spec.rules.first?.backendRefs.first?.weight == 1)
        #expect(HTTPRouteSpec().rules == [HTTPRouteRule(matches: [HTTPRouteMatch()])])
    }

    @Test func referenceGrant() throws {
        let grant = try #require(loadValid(Fixtures.referenceGrant).referenceGrants.first)
        #expect(grant.spec.from == [ReferenceGrantFrom(group: gatewayAPIGroup, kind: "Gateway", namespace: "infra")])
        #expect(
            grant.spec.to == [
                ReferenceGrantTo(group: "", kind: "Secret", name: "wildcard-tls"),
                ReferenceGrantTo(group: "", kind: "Service"),
            ])
    }

    @Test func quotedNumbersStayStrings() throws {
        let service = try #require(
            loadValid(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: web, labels: {version: "2"}}
                spec:
                  ports: [{port: 80, targetPort: "http"}]
                """
            ).services.first)
        #expect(service.spec.ports.first?.targetPort == .string("http"))
        #expect(service.metadata.labels["version"] == "2")
    }

    @Test func encodedObjectsLoadAgainAsJSON() throws {
        let original = load(
            [Fixtures.service, Fixtures.secret, Fixtures.httpRoute, Fixtures.networkPolicy, Fixtures.gateway].joined(
                separator: "\n---\n"))
        #expect(original.diagnostics.isEmpty)
        let encoder = JSONEncoder()
        var documents: [String] = []
        for object in original.services as [any KubernetesObject] + original.secrets + original.httpRoutes
            + original.networkPolicies + original.gateways
        {
            documents.append(String(decoding: try encoder.encode(object), as: UTF8.self))
        }
        let reloaded = load(documents.joined(separator: "\n---\n"), source: "encoded.json")
        #expect(reloaded.diagnostics.map(\.description) == [])
        #expect(reloaded == original)
    }

    @Test func foundationJSONDecoderAppliesTheSameDefaults() throws {
        let json = Data(#"{"metadata":{"name":"web"},"spec":{"ports":[{"port":443}]}}"#.utf8)
        let service = try JSONDecoder().decode(Service.self, from: json)
        #expect(service.spec.ports == [ServicePort(port: 443)])
        #expect(service.spec.ports.first?.targetPort == .int(443))
        #expect(service.spec.type == .clusterIP)
    }
}
