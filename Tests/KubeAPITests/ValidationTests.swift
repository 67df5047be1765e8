import Testing

@testable import KubeAPI

/// Each case is one manifest and the exact diagnostics it must produce; the rest of the object is
/// valid, so any extra or missing message is a regression.
struct ValidationCase: CustomTestStringConvertible, Sendable {
    var name: String
    var yaml: String
    var expected: [String]

    var testDescription: String { name }

    init(_ name: String, _ yaml: String, _ expected: [String]) {
        self.name = name
        self.yaml = yaml
        self.expected = expected
    }
}

private func serviceYAML(_ spec: String, name: String = "web") -> String {
    """
    apiVersion: v1
    kind: Service
    metadata: {name: \(name)}
    spec: \(spec)
    """
}

private func objectYAML(_ apiVersion: String, _ kind: String, _ body: String, name: String = "x") -> String {
    """
    apiVersion: \(apiVersion)
    kind: \(kind)
    metadata: {name: \(name)}
    \(body)
    """
}

private let label = NameRule.dns1123Label.explanation
private let subdomain = NameRule.dns1123Subdomain.explanation
private let portName = NameRule.portName.explanation
private let hostname = NameRule.wildcardHostname.explanation
private let headerName = NameRule.httpHeaderName.explanation
private let prefix = "test.yaml doc 1"

@Suite("Validation")
struct ValidationTests {
    static let serviceCases: [ValidationCase] = [
        ValidationCase(
            "port out of range", serviceYAML("{ports: [{port: 0}]}"),
            ["\(prefix) Service default/web: spec.ports[0].port: 0 is not in 1-65535"]),
        ValidationCase(
            "port and targetPort too large", serviceYAML("{ports: [{port: 70000, targetPort: 70001}]}"),
            [
                "\(prefix) Service default/web: spec.ports[0].port: 70000 is not in 1-65535",
                "\(prefix) Service default/web: spec.ports[0].targetPort: 70001 is not in 1-65535",
            ]),
        ValidationCase(
            "a defaulted targetPort is not reported twice", serviceYAML("{ports: [{port: 70000}]}"),
            ["\(prefix) Service default/web: spec.ports[0].port: 70000 is not in 1-65535"]),
        ValidationCase(
            "named targetPort must be an IANA service name", serviceYAML("{ports: [{port: 80, targetPort: \"8080\"}]}"),
            ["\(prefix) Service default/web: spec.ports[0].targetPort: \"8080\" is not \(portName)"]),
        ValidationCase(
            "unknown protocol", serviceYAML("{ports: [{port: 80, protocol: tcp}]}"),
            ["\(prefix) Service default/web: spec.ports[0].protocol: \"tcp\" is not one of TCP, UDP, SCTP"]),
        ValidationCase(
            "port names required with several ports", serviceYAML("{ports: [{port: 80}, {port: 443, name: https}]}"),
            ["\(prefix) Service default/web: spec.ports[0].name: required when the Service has more than one port"]),
        ValidationCase(
            "duplicate port names and ports",
            serviceYAML("{ports: [{name: a, port: 80}, {name: a, port: 80}, {name: b, port: 80, protocol: UDP}]}"),
            [
                "\(prefix) Service default/web: spec.ports[1].name: duplicate port name \"a\"",
                "\(prefix) Service default/web: spec.ports[1]: duplicate port 80/TCP",
            ]),
        ValidationCase(
            "port name must be a DNS label", serviceYAML("{ports: [{name: HTTP, port: 80}]}"),
            ["\(prefix) Service default/web: spec.ports[0].name: \"HTTP\" is not \(label)"]),
        ValidationCase(
            "nodePort only for externally reachable types", serviceYAML("{ports: [{port: 80, nodePort: 30080}]}"),
            [
                "\(prefix) Service default/web: spec.ports[0].nodePort: may only be set for NodePort and LoadBalancer Services"
            ]),
        ValidationCase(
            "nodePort range", serviceYAML("{type: NodePort, ports: [{port: 80, nodePort: 65536}]}"),
            ["\(prefix) Service default/web: spec.ports[0].nodePort: 65536 is not in 1-65535"]),
        ValidationCase(
            "ports required", serviceYAML("{selector: {app: web}}"),
            ["\(prefix) Service default/web: spec.ports: required"]),
        ValidationCase(
            "service type", serviceYAML("{type: Internal, ports: [{port: 80}]}"),
            [
                "\(prefix) Service default/web: spec.type: \"Internal\" is not one of ClusterIP, NodePort, LoadBalancer, ExternalName"
            ]),
        ValidationCase(
            "session affinity value and timeout",
            serviceYAML(
                "{ports: [{port: 80}], sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}}"
            ),
            [
                "\(prefix) Service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 0 is not in 1-86400"
            ]),
        ValidationCase(
            "timeout above a day",
            serviceYAML(
                "{ports: [{port: 80}], sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 86401}}}"
            ),
            [
                "\(prefix) Service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is not in 1-86400"
            ]),
        ValidationCase(
            "affinity config without ClientIP",
            serviceYAML("{ports: [{port: 80}], sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}}"),
            ["\(prefix) Service default/web: spec.sessionAffinityConfig: must not be set when sessionAffinity is None"]),
        ValidationCase(
            "unknown session affinity", serviceYAML("{ports: [{port: 80}], sessionAffinity: Sticky}"),
            ["\(prefix) Service default/web: spec.sessionAffinity: \"Sticky\" is not one of None, ClientIP"]),
        ValidationCase(
            "cluster IP syntax", serviceYAML("{ports: [{port: 80}], clusterIP: 10.96.0.256}"),
            [
                "\(prefix) Service default/web: spec.clusterIP: \"10.96.0.256\" is not a valid IP address",
                "\(prefix) Service default/web: spec.clusterIPs[0]: \"10.96.0.256\" is not a valid IP address",
            ]),
        ValidationCase(
            "clusterIPs[0] must equal clusterIP",
            serviceYAML("{ports: [{port: 80}], clusterIP: 10.96.0.1, clusterIPs: [10.96.0.2]}"),
            ["\(prefix) Service default/web: spec.clusterIPs[0]: \"10.96.0.2\" must equal clusterIP \"10.96.0.1\""]),
        ValidationCase(
            "two clusterIPs of one family",
            serviceYAML("{ports: [{port: 80}], clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, 10.96.0.2]}"),
            ["\(prefix) Service default/web: spec.clusterIPs: must not have two IPv4 entries"]),
        ValidationCase(
            "ipFamilies must match clusterIPs",
            serviceYAML("{ports: [{port: 80}], clusterIP: 10.96.0.1, ipFamilies: [IPv6]}"),
            ["\(prefix) Service default/web: spec.ipFamilies[0]: IPv6 does not match clusterIPs[0] \"10.96.0.1\""]),
        ValidationCase(
            "ipFamilies values and policy",
            serviceYAML("{ports: [{port: 80}], ipFamilies: [IPv4, ipv6], ipFamilyPolicy: SingleStack}"),
            [
                "\(prefix) Service default/web: spec.ipFamilies[1]: \"ipv6\" is not one of IPv4, IPv6",
                "\(prefix) Service default/web: spec.ipFamilyPolicy: SingleStack allows only one IP family",
            ]),
        ValidationCase(
            "unknown ipFamilyPolicy", serviceYAML("{ports: [{port: 80}], ipFamilyPolicy: DualStack}"),
            [
                "\(prefix) Service default/web: spec.ipFamilyPolicy: \"DualStack\" is not one of SingleStack, PreferDualStack, RequireDualStack"
            ]),
        ValidationCase(
            "external IPs, LB IP and source ranges",
            serviceYAML(
                "{type: LoadBalancer, ports: [{port: 80}], externalIPs: [1.2.3.4, 1.2.3], loadBalancerIP: fe80::1%eth0, loadBalancerSourceRanges: [10.0.0.0/8, 10.0.0.0]}"
            ),
            [
                "\(prefix) Service default/web: spec.externalIPs[1]: \"1.2.3\" is not a valid IP address",
                "\(prefix) Service default/web: spec.loadBalancerIP: \"fe80::1%eth0\" is not a valid IP address",
                "\(prefix) Service default/web: spec.loadBalancerSourceRanges[1]: \"10.0.0.0\" is not a valid CIDR",
            ]),
        ValidationCase(
            "externalTrafficPolicy only for external types",
            serviceYAML("{ports: [{port: 80}], externalTrafficPolicy: Local}"),
            [
                "\(prefix) Service default/web: spec.externalTrafficPolicy: may only be set for NodePort and LoadBalancer Services"
            ]),
        ValidationCase(
            "traffic policy values",
            serviceYAML(
                "{type: NodePort, ports: [{port: 80}], externalTrafficPolicy: Global, internalTrafficPolicy: Node}"),
            [
                "\(prefix) Service default/web: spec.externalTrafficPolicy: \"Global\" is not one of Cluster, Local",
                "\(prefix) Service default/web: spec.internalTrafficPolicy: \"Node\" is not one of Cluster, Local",
            ]),
        ValidationCase(
            "healthCheckNodePort needs LoadBalancer with Local",
            serviceYAML("{type: LoadBalancer, ports: [{port: 80}], healthCheckNodePort: 0}"),
            [
                "\(prefix) Service default/web: spec.healthCheckNodePort: 0 is not in 1-65535",
                "\(prefix) Service default/web: spec.healthCheckNodePort: may only be set for LoadBalancer Services with externalTrafficPolicy Local",
            ]),
        ValidationCase(
            "trafficDistribution value", serviceYAML("{ports: [{port: 80}], trafficDistribution: Nearby}"),
            [
                "\(prefix) Service default/web: spec.trafficDistribution: \"Nearby\" is not one of PreferClose, PreferSameZone, PreferSameNode"
            ]),
        ValidationCase(
            "ExternalName needs a DNS name and no cluster IP",
            serviceYAML("{type: ExternalName, clusterIP: 10.96.0.1, externalName: \"db_host\"}"),
            [
                "\(prefix) Service default/web: spec.clusterIP: must be empty for ExternalName Services",
                "\(prefix) Service default/web: spec.externalName: \"db_host\" is not \(subdomain)",
            ]),
        ValidationCase(
            "ExternalName requires externalName", serviceYAML("{type: ExternalName}"),
            ["\(prefix) Service default/web: spec.externalName: required"]),
        ValidationCase(
            "selector labels", serviceYAML("{ports: [{port: 80}], selector: {app: \"a b\"}}"),
            [
                "\(prefix) Service default/web: spec.selector[app]: \"a b\" is not \(NameRule.labelValue.explanation)"
            ]),
        ValidationCase(
            "service name is a DNS-1035 label", serviceYAML("{ports: [{port: 80}]}", name: "1web"),
            ["\(prefix) Service default/1web: metadata.name: \"1web\" is not \(NameRule.dns1035Label.explanation)"]),
        ValidationCase(
            "name required",
            "apiVersion: v1\nkind: Service\nmetadata: {namespace: shop}\nspec: {ports: [{port: 80}]}",
            ["\(prefix) Service shop/(unnamed): metadata.name: required"]),
        ValidationCase(
            "namespace and labels",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: Shop, labels: {\"-x\": y}}\nspec: {ports: [{port: 80}]}",
            [
                "\(prefix) Service Shop/web: metadata.namespace: \"Shop\" is not \(label)",
                "\(prefix) Service Shop/web: metadata.labels: \"-x\" is not \(NameRule.labelKey.explanation)",
            ]),
        ValidationCase(
            "load balancer status IP",
            serviceYAML("{ports: [{port: 80}]}\nstatus: {loadBalancer: {ingress: [{ip: 300.1.1.1}]}}"),
            [
                "\(prefix) Service default/web: status.loadBalancer.ingress[0].ip: \"300.1.1.1\" is not a valid IP address"
            ]),
        ValidationCase(
            "all errors of an object are reported",
            serviceYAML("{type: Foo, ports: [{port: 0, protocol: ICMP}], sessionAffinity: Bar}"),
            [
                "\(prefix) Service default/web: spec.type: \"Foo\" is not one of ClusterIP, NodePort, LoadBalancer, ExternalName",
                "\(prefix) Service default/web: spec.ports[0].protocol: \"ICMP\" is not one of TCP, UDP, SCTP",
                "\(prefix) Service default/web: spec.ports[0].port: 0 is not in 1-65535",
                "\(prefix) Service default/web: spec.sessionAffinity: \"Bar\" is not one of None, ClientIP",
            ]),
    ]

    static let endpointCases: [ValidationCase] = [
        ValidationCase(
            "Endpoints addresses and ports",
            objectYAML(
                "v1", "Endpoints",
                "subsets: [{addresses: [{ip: 10.0.0.1.2, hostname: Web}], notReadyAddresses: [{ip: \"\"}], ports: [{port: 80}, {name: b, port: 0, protocol: ICMP}]}]"
            ),
            [
                "\(prefix) Endpoints default/x: subsets[0].addresses[0].ip: \"10.0.0.1.2\" is not a valid IP address",
                "\(prefix) Endpoints default/x: subsets[0].addresses[0].hostname: \"Web\" is not \(label)",
                "\(prefix) Endpoints default/x: subsets[0].notReadyAddresses[0].ip: \"\" is not a valid IP address",
                "\(prefix) Endpoints default/x: subsets[0].ports[0].name: required when the subset has more than one port",
                "\(prefix) Endpoints default/x: subsets[0].ports[1].port: 0 is not in 1-65535",
                "\(prefix) Endpoints default/x: subsets[0].ports[1].protocol: \"ICMP\" is not one of TCP, UDP, SCTP",
            ]),
        ValidationCase(
            "EndpointSlice address family must match addressType",
            objectYAML(
                "discovery.k8s.io/v1", "EndpointSlice",
                "addressType: IPv4\nendpoints: [{addresses: [\"fd00::1\"]}, {addresses: [10.0.0.1, 10.0.0]}, {addresses: []}]"
            ),
            [
                "\(prefix) EndpointSlice default/x: endpoints[0].addresses[0]: \"fd00::1\" is not an IPv4 address",
                "\(prefix) EndpointSlice default/x: endpoints[1].addresses[1]: \"10.0.0\" is not a valid IP address",
                "\(prefix) EndpointSlice default/x: endpoints[2].addresses: required",
            ]),
        ValidationCase(
            "EndpointSlice IPv6 and FQDN",
            objectYAML(
                "discovery.k8s.io/v1", "EndpointSlice",
                "addressType: IPv6\nendpoints: [{addresses: [10.0.0.1], hostname: a.b, nodeName: Node_1, hints: {forZones: [{}]}}]"
            ),
            [
                "\(prefix) EndpointSlice default/x: endpoints[0].addresses[0]: \"10.0.0.1\" is not an IPv6 address",
                "\(prefix) EndpointSlice default/x: endpoints[0].hostname: \"a.b\" is not \(label)",
                "\(prefix) EndpointSlice default/x: endpoints[0].nodeName: \"Node_1\" is not \(subdomain)",
                "\(prefix) EndpointSlice default/x: endpoints[0].hints.forZones[0].name: required",
            ]),
        ValidationCase(
            "EndpointSlice FQDN addresses",
            objectYAML(
                "discovery.k8s.io/v1", "EndpointSlice",
                "addressType: FQDN\nendpoints: [{addresses: [db.example.com, \"Bad Name\"]}]"),
            ["\(prefix) EndpointSlice default/x: endpoints[0].addresses[1]: \"Bad Name\" is not \(subdomain)"]),
        ValidationCase(
            "EndpointSlice addressType and ports",
            objectYAML(
                "discovery.k8s.io/v1", "EndpointSlice",
                "addressType: IPv5\nports: [{name: http, port: 80}, {name: http, port: 99999, protocol: udp}]"),
            [
                "\(prefix) EndpointSlice default/x: addressType: \"IPv5\" is not one of IPv4, IPv6, FQDN",
                "\(prefix) EndpointSlice default/x: ports[1].name: duplicate port name \"http\"",
                "\(prefix) EndpointSlice default/x: ports[1].port: 99999 is not in 1-65535",
                "\(prefix) EndpointSlice default/x: ports[1].protocol: \"udp\" is not one of TCP, UDP, SCTP",
            ]),
        ValidationCase(
            "EndpointSlice addressType required", objectYAML("discovery.k8s.io/v1", "EndpointSlice", "endpoints: []"),
            ["\(prefix) EndpointSlice default/x: addressType: required"]),
    ]

    static let podAndNodeCases: [ValidationCase] = [
        ValidationCase(
            "Pod ports and IPs",
            objectYAML(
                "v1", "Pod",
                """
                spec:
                  containers:
                  - name: main
                    ports: [{containerPort: 0, name: HTTP}, {containerPort: 80, name: web, hostPort: 70000, hostIP: bad}]
                  - name: side
                    ports: [{containerPort: 81, name: web, protocol: IP}]
                status:
                  phase: Done
                  podIP: 10.0.0.1
                  podIPs: [{ip: 10.0.0.2}, {ip: 10.0.0.3}]
                  conditions: [{type: Ready, status: Yes}]
                """),
            [
                "\(prefix) Pod default/x: spec.containers[0].ports[0].name: \"HTTP\" is not \(portName)",
                "\(prefix) Pod default/x: spec.containers[0].ports[0].containerPort: 0 is not in 1-65535",
                "\(prefix) Pod default/x: spec.containers[0].ports[1].hostPort: 70000 is not in 1-65535",
                "\(prefix) Pod default/x: spec.containers[0].ports[1].hostIP: \"bad\" is not a valid IP address",
                "\(prefix) Pod default/x: spec.containers[1].ports[0].name: duplicate port name \"web\"",
                "\(prefix) Pod default/x: spec.containers[1].ports[0].protocol: \"IP\" is not one of TCP, UDP, SCTP",
                "\(prefix) Pod default/x: status.phase: \"Done\" is not one of Pending, Running, Succeeded, Failed, Unknown",
                "\(prefix) Pod default/x: status.conditions[0].status: \"Yes\" is not one of True, False, Unknown",
                "\(prefix) Pod default/x: status.podIPs[0].ip: \"10.0.0.2\" must equal podIP \"10.0.0.1\"",
                "\(prefix) Pod default/x: status.podIPs: must not have two IPv4 entries",
            ]),
        ValidationCase(
            "Node pod CIDRs and addresses",
            objectYAML(
                "v1", "Node",
                """
                spec: {podCIDR: 10.244.0.0/24, podCIDRs: [10.244.1.0/24, 10.244.0.0/33]}
                status: {addresses: [{type: InternalIP, address: node-a}, {type: Internal, address: 10.0.0.1}, {type: Hostname}]}
                """),
            [
                "\(prefix) Node x: spec.podCIDRs[0]: \"10.244.1.0/24\" must equal podCIDR \"10.244.0.0/24\"",
                "\(prefix) Node x: spec.podCIDRs[1]: \"10.244.0.0/33\" is not a valid CIDR",
                "\(prefix) Node x: status.addresses[0].address: \"node-a\" is not a valid IP address",
                "\(prefix) Node x: status.addresses[1].type: \"Internal\" is not one of Hostname, InternalIP, ExternalIP, InternalDNS, ExternalDNS",
                "\(prefix) Node x: status.addresses[2].address: required",
            ]),
        ValidationCase(
            "Node podCIDR syntax", objectYAML("v1", "Node", "spec: {podCIDR: 10.244.0.0}"),
            [
                "\(prefix) Node x: spec.podCIDR: \"10.244.0.0\" is not a valid CIDR",
                "\(prefix) Node x: spec.podCIDRs[0]: \"10.244.0.0\" is not a valid CIDR",
            ]),
        ValidationCase(
            "Node name is a subdomain", objectYAML("v1", "Node", "spec: {}", name: "Node_A"),
            ["\(prefix) Node Node_A: metadata.name: \"Node_A\" is not \(subdomain)"]),
        ValidationCase(
            "Namespace name is a DNS label", objectYAML("v1", "Namespace", "", name: "a.b"),
            ["\(prefix) Namespace a.b: metadata.name: \"a.b\" is not \(label)"]),
        ValidationCase(
            "TLS Secret needs certificate and key",
            objectYAML("v1", "Secret", "type: kubernetes.io/tls\ndata: {tls.crt: YQ==, \"bad/key\": YQ==}"),
            [
                "\(prefix) Secret default/x: data: \"bad/key\" is not a valid key (at most 253 letters, digits, '-', '_' or '.', and not \".\" or \"..\")",
                "\(prefix) Secret default/x: data[tls.key]: required for kubernetes.io/tls Secrets",
            ]),
    ]

    static let networkPolicyCases: [ValidationCase] = [
        ValidationCase(
            "ipBlock except must be a strict subset of the same family",
            objectYAML(
                "networking.k8s.io/v1", "NetworkPolicy",
                "spec: {ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24, 10.0.0.0/16, \"fd00::/64\", 10.0.5.0/24, 10.0.0/8]}}]}]}"
            ),
            [
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].from[0].ipBlock.except[0]: \"10.1.0.0/24\" is not a strict subset of cidr \"10.0.0.0/16\"",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].from[0].ipBlock.except[1]: \"10.0.0.0/16\" is not a strict subset of cidr \"10.0.0.0/16\"",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].from[0].ipBlock.except[2]: \"fd00::/64\" is not of the same IP family as cidr \"10.0.0.0/16\"",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].from[0].ipBlock.except[4]: \"10.0.0/8\" is not a valid CIDR",
            ]),
        ValidationCase(
            "ipBlock cidr required and valid",
            objectYAML(
                "networking.k8s.io/v1", "NetworkPolicy",
                "spec: {egress: [{to: [{ipBlock: {except: [10.0.0.0/8]}}, {ipBlock: {cidr: 10.0.0.0/40}}]}]}"),
            [
                "\(prefix) NetworkPolicy default/x: spec.egress[0].to[0].ipBlock.cidr: required",
                "\(prefix) NetworkPolicy default/x: spec.egress[0].to[1].ipBlock.cidr: \"10.0.0.0/40\" is not a valid CIDR",
            ]),
        ValidationCase(
            "peers need exactly one kind",
            objectYAML(
                "networking.k8s.io/v1", "NetworkPolicy",
                "spec: {ingress: [{from: [{}, {podSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}]}]}"),
            [
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].from[0]: must specify podSelector, namespaceSelector or ipBlock",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].from[1]: may not combine ipBlock with podSelector or namespaceSelector",
            ]),
        ValidationCase(
            "ports, endPort and protocols",
            objectYAML(
                "networking.k8s.io/v1", "NetworkPolicy",
                "spec: {ingress: [{ports: [{port: 0}, {port: 8080, endPort: 8000}, {port: http, endPort: 90}, {endPort: 90}, {port: \"web--x\", protocol: ICMP}, {port: 1000, endPort: 70000}]}]}"
            ),
            [
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].ports[0].port: 0 is not in 1-65535",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].ports[1].endPort: 8000 is less than port 8080",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].ports[2].endPort: may only be set with a numeric port",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].ports[3].endPort: may only be set with a numeric port",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].ports[4].protocol: \"ICMP\" is not one of TCP, UDP, SCTP",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].ports[4].port: \"web--x\" is not \(portName)",
                "\(prefix) NetworkPolicy default/x: spec.ingress[0].ports[5].endPort: 70000 is not in 1-65535",
            ]),
        ValidationCase(
            "policyTypes and selectors",
            objectYAML(
                "networking.k8s.io/v1", "NetworkPolicy",
                "spec: {podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}, policyTypes: [Ingress, Ingress, Both], egress: [{to: [{namespaceSelector: {matchLabels: {\"a/b/c\": x}}}]}]}"
            ),
            [
                "\(prefix) NetworkPolicy default/x: spec.podSelector.matchExpressions[0].operator: \"Equals\" is not one of In, NotIn, Exists, DoesNotExist",
                "\(prefix) NetworkPolicy default/x: spec.policyTypes: must have at most 2 entries",
                "\(prefix) NetworkPolicy default/x: spec.policyTypes[2]: \"Both\" is not one of Ingress, Egress",
                "\(prefix) NetworkPolicy default/x: spec.policyTypes[1]: duplicate policy type \"Ingress\"",
                "\(prefix) NetworkPolicy default/x: spec.egress[0].to[0].namespaceSelector.matchLabels: \"a/b/c\" is not \(NameRule.labelKey.explanation)",
            ]),
    ]

    static let ingressCases: [ValidationCase] = [
        ValidationCase(
            "Ingress needs rules or a default backend", objectYAML("networking.k8s.io/v1", "Ingress", "spec: {}"),
            ["\(prefix) Ingress default/x: spec: must specify defaultBackend or rules"]),
        ValidationCase(
            "Ingress paths, path types and backends",
            objectYAML(
                "networking.k8s.io/v1", "Ingress",
                """
                spec:
                  rules:
                  - host: 10.0.0.1
                    http:
                      paths:
                      - {path: api, pathType: Prefix, backend: {service: {name: api, port: {number: 0}}}}
                      - {path: /a, backend: {service: {name: api, port: {name: http, number: 80}}}}
                      - {path: /b, pathType: Regex, backend: {}}
                      - {path: b, pathType: ImplementationSpecific, backend: {service: {name: Api, port: {name: HTTP}}}}
                      - {path: /c//d, pathType: Exact, backend: {resource: {kind: Bucket, name: b}, service: {name: a, port: {number: 1}}}}
                  - host: "*.example.com"
                    http: {paths: []}
                  - host: Bad_Host
                  tls: [{hosts: ["a.*.example.com"], secretName: Web_TLS}]
                """),
            [
                "\(prefix) Ingress default/x: spec.rules[0].host: \"10.0.0.1\" must be a DNS name, not an IP address",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[0].path: \"api\" must start with '/'",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[0].backend.service.port.number: 0 is not in 1-65535",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[1].pathType: required",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[1].backend.service.port: must specify exactly one of name or number",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[2].pathType: \"Regex\" is not one of Exact, Prefix, ImplementationSpecific",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[2].backend: must specify exactly one of service or resource",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[3].path: \"b\" must start with '/'",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[3].backend.service.name: \"Api\" is not \(NameRule.dns1035Label.explanation)",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[3].backend.service.port.name: \"HTTP\" is not \(portName)",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[4].path: \"/c//d\" must not contain '//'",
                "\(prefix) Ingress default/x: spec.rules[0].http.paths[4].backend: must specify exactly one of service or resource",
                "\(prefix) Ingress default/x: spec.rules[1].http.paths: required",
                "\(prefix) Ingress default/x: spec.rules[2].host: \"Bad_Host\" is not \(hostname)",
                "\(prefix) Ingress default/x: spec.tls[0].hosts[0]: \"a.*.example.com\" is not \(hostname)",
                "\(prefix) Ingress default/x: spec.tls[0].secretName: \"Web_TLS\" is not \(subdomain)",
            ]),
        ValidationCase(
            "IngressClass controller",
            objectYAML("networking.k8s.io/v1", "IngressClass", "spec: {controller: nginx}"),
            ["\(prefix) IngressClass x: spec.controller: \"nginx\" is not \(NameRule.domainPrefixedPath.explanation)"]),
        ValidationCase(
            "GatewayClass controller required",
            objectYAML("gateway.networking.k8s.io/v1", "GatewayClass", "spec: {}"),
            ["\(prefix) GatewayClass x: spec.controllerName: required"]),
    ]

    static let gatewayCases: [ValidationCase] = [
        ValidationCase(
            "Gateway listeners",
            objectYAML(
                "gateway.networking.k8s.io/v1", "Gateway",
                """
                spec:
                  gatewayClassName: sluice
                  addresses: [{value: 1.2.3}, {type: Hostname, value: "*.example.com"}, {type: Custom, value: x}]
                  listeners:
                  - {name: web, port: 0, protocol: HTTP, tls: {certificateRefs: [{name: a}]}}
                  - {name: web, port: 443, protocol: HTTPS}
                  - {name: raw, port: 9000, protocol: TCP, hostname: raw.example.com}
                  - name: tls
                    port: 8443
                    protocol: HTTPS
                    hostname: 192.0.2.1
                    tls: {mode: Passthrough}
                    allowedRoutes: {namespaces: {from: Selector}, kinds: [{group: x}]}
                  - {name: odd, port: 1, protocol: "FTP", allowedRoutes: {namespaces: {from: Other}}}
                """),
            [
                "\(prefix) Gateway default/x: spec.listeners[1].name: duplicate listener name \"web\"",
                "\(prefix) Gateway default/x: spec.listeners[0].port: 0 is not in 1-65535",
                "\(prefix) Gateway default/x: spec.listeners[0].tls: must not be set for protocol HTTP",
                "\(prefix) Gateway default/x: spec.listeners[1].tls: required for protocol HTTPS",
                "\(prefix) Gateway default/x: spec.listeners[2].hostname: must not be set for protocol TCP",
                "\(prefix) Gateway default/x: spec.listeners[3].hostname: \"192.0.2.1\" must be a DNS name, not an IP address",
                "\(prefix) Gateway default/x: spec.listeners[3].tls.mode: must be Terminate for protocol HTTPS",
                "\(prefix) Gateway default/x: spec.listeners[3].allowedRoutes.namespaces.selector: required when from is Selector",
                "\(prefix) Gateway default/x: spec.listeners[3].allowedRoutes.kinds[0].kind: required",
                "\(prefix) Gateway default/x: spec.listeners[4].protocol: \"FTP\" is not \(NameRule.domainPrefixedPath.explanation)",
                "\(prefix) Gateway default/x: spec.listeners[4].allowedRoutes.namespaces.from: \"Other\" is not one of All, Same, Selector",
                "\(prefix) Gateway default/x: spec.addresses[0].value: \"1.2.3\" is not a valid IP address",
                "\(prefix) Gateway default/x: spec.addresses[1].value: \"*.example.com\" is not \(subdomain)",
                "\(prefix) Gateway default/x: spec.addresses[2].type: \"Custom\" is not \(NameRule.domainPrefixedPath.explanation)",
            ]),
        ValidationCase(
            "Gateway needs a class and listeners", objectYAML("gateway.networking.k8s.io/v1", "Gateway", "spec: {}"),
            [
                "\(prefix) Gateway default/x: spec.gatewayClassName: required",
                "\(prefix) Gateway default/x: spec.listeners: required",
            ]),
        ValidationCase(
            "Terminate needs certificates",
            objectYAML(
                "gateway.networking.k8s.io/v1", "Gateway",
                "spec: {gatewayClassName: c, listeners: [{name: s, port: 443, protocol: HTTPS, tls: {mode: Terminate}}, {name: t, port: 444, protocol: TLS, tls: {mode: Reencrypt, certificateRefs: [{namespace: A}]}}]}"
            ),
            [
                "\(prefix) Gateway default/x: spec.listeners[0].tls.certificateRefs: required when mode is Terminate",
                "\(prefix) Gateway default/x: spec.listeners[1].tls.mode: \"Reencrypt\" is not one of Terminate, Passthrough",
                "\(prefix) Gateway default/x: spec.listeners[1].tls.certificateRefs[0].name: required",
                "\(prefix) Gateway default/x: spec.listeners[1].tls.certificateRefs[0].namespace: \"A\" is not \(label)",
            ]),
        ValidationCase(
            "ReferenceGrant",
            objectYAML(
                "gateway.networking.k8s.io/v1beta1", "ReferenceGrant",
                "spec: {from: [{group: gateway.networking.k8s.io, kind: HTTPRoute}], to: []}"),
            [
                "\(prefix) ReferenceGrant default/x: spec.to: required",
                "\(prefix) ReferenceGrant default/x: spec.from[0].namespace: required",
            ]),
    ]

    static let httpRouteCases: [ValidationCase] = [
        ValidationCase(
            "HTTPRoute matches",
            objectYAML(
                "gateway.networking.k8s.io/v1", "HTTPRoute",
                """
                spec:
                  parentRefs: [{name: edge, port: 0}, {sectionName: Web}]
                  hostnames: ["10.0.0.1", "*.example.com"]
                  rules:
                  - matches:
                    - path: {type: Prefix, value: /}
                    - path: {value: api}
                    - path: {type: Exact, value: /a/../b}
                    - path: {type: RegularExpression, value: ""}
                      headers: [{name: X-A, value: "1"}, {name: x-a, value: "2"}, {name: "bad header", value: "3", type: Glob}]
                      queryParams: [{name: q, value: "1"}, {name: q, value: "2"}, {type: Prefix, value: "1"}]
                      method: FETCH
                    backendRefs: [{name: web, port: 80}]
                """),
            [
                "\(prefix) HTTPRoute default/x: spec.parentRefs[0].port: 0 is not in 1-65535",
                "\(prefix) HTTPRoute default/x: spec.parentRefs[1].name: required",
                "\(prefix) HTTPRoute default/x: spec.parentRefs[1].sectionName: \"Web\" is not \(subdomain)",
                "\(prefix) HTTPRoute default/x: spec.hostnames[0]: \"10.0.0.1\" must be a DNS name, not an IP address",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[0].path.type: \"Prefix\" is not one of Exact, PathPrefix, RegularExpression",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[1].path.value: \"api\" must start with '/'",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[2].path.value: \"/a/../b\" must not contain '//', '/./' or '/../'",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[3].path.value: required",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[3].headers[1].name: duplicate header name \"x-a\"",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[3].headers[2].type: \"Glob\" is not one of Exact, RegularExpression",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[3].headers[2].name: \"bad header\" is not \(headerName)",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[3].queryParams[1].name: duplicate query parameter name \"q\"",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[3].queryParams[2].type: \"Prefix\" is not one of Exact, RegularExpression",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[3].queryParams[2].name: required",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[3].method: \"FETCH\" is not one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH",
            ]),
        ValidationCase(
            "HTTPRoute backends and weights",
            objectYAML(
                "gateway.networking.k8s.io/v1", "HTTPRoute",
                "spec: {rules: [{backendRefs: [{name: a, port: 80, weight: -1}, {name: b, weight: 1000001}, {port: 80}, {name: c, kind: Bucket, group: storage.example.com}]}]}"
            ),
            [
                "\(prefix) HTTPRoute default/x: spec.rules[0].backendRefs[0].weight: -1 is not in 0-1000000",
                "\(prefix) HTTPRoute default/x: spec.rules[0].backendRefs[1].port: required for a Service backend",
                "\(prefix) HTTPRoute default/x: spec.rules[0].backendRefs[1].weight: 1000001 is not in 0-1000000",
                "\(prefix) HTTPRoute default/x: spec.rules[0].backendRefs[2].name: required",
            ]),
        ValidationCase(
            "HTTPRoute filters",
            objectYAML(
                "gateway.networking.k8s.io/v1", "HTTPRoute",
                """
                spec:
                  rules:
                  - matches: [{path: {type: Exact, value: /x}}]
                    filters:
                    - type: RequestRedirect
                      requestRedirect: {scheme: ftp, port: 0, statusCode: 304, path: {type: ReplacePrefixMatch, replaceFullPath: /y}}
                    - type: URLRewrite
                      requestHeaderModifier: {set: [{name: "a b", value: c}], remove: [""]}
                    - type: RequestMirror
                      requestMirror: {backendRef: {name: m}, percent: 101, fraction: {numerator: 3, denominator: 2}}
                    - type: Teleport
                    - type: ExtensionRef
                      extensionRef: {group: x}
                    backendRefs: [{name: web, port: 80}]
                """),
            [
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].requestRedirect.scheme: \"ftp\" is not one of http, https",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].requestRedirect.port: 0 is not in 1-65535",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].requestRedirect.statusCode: 304 is not one of 301, 302, 303, 307, 308",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].requestRedirect.path.replacePrefixMatch: required when type is ReplacePrefixMatch",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].requestRedirect.path.replaceFullPath: must not be set when type is ReplacePrefixMatch",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[1].requestHeaderModifier: must not be set when type is URLRewrite",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[1].urlRewrite: required when type is URLRewrite",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[1].requestHeaderModifier.set[0].name: \"a b\" is not \(headerName)",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[1].requestHeaderModifier.remove[0]: required",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[2].requestMirror.backendRef.port: required for a Service backend",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[2].requestMirror.percent: 101 is not in 0-100",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[2].requestMirror.fraction: may not be set together with percent",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[2].requestMirror.fraction.numerator: 3 is not in 0-2",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[3].type: \"Teleport\" is not one of RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, RequestRedirect, URLRewrite, ExtensionRef",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[4].extensionRef.kind: required",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[4].extensionRef.name: required",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters: may not combine RequestRedirect and URLRewrite",
                "\(prefix) HTTPRoute default/x: spec.rules[0].backendRefs: must be empty when a RequestRedirect filter is used",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches: ReplacePrefixMatch requires exactly one PathPrefix match",
            ]),
        ValidationCase(
            "HTTPRoute filter type required",
            objectYAML(
                "gateway.networking.k8s.io/v1", "HTTPRoute",
                "spec: {rules: [{filters: [{urlRewrite: {hostname: a.b}}]}]}"),
            [
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].type: required",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].urlRewrite: must not be set when type is ",
            ]),
    ]

    @Test(arguments: serviceCases)
    func service(_ testCase: ValidationCase) {
        #expect(messages(testCase.yaml) == testCase.expected)
    }

    @Test(arguments: endpointCases)
    func endpoints(_ testCase: ValidationCase) {
        #expect(messages(testCase.yaml) == testCase.expected)
    }

    @Test(arguments: podAndNodeCases)
    func podsNodesNamespacesSecrets(_ testCase: ValidationCase) {
        #expect(messages(testCase.yaml) == testCase.expected)
    }

    @Test(arguments: networkPolicyCases)
    func networkPolicy(_ testCase: ValidationCase) {
        #expect(messages(testCase.yaml) == testCase.expected)
    }

    @Test(arguments: ingressCases)
    func ingressAndClasses(_ testCase: ValidationCase) {
        #expect(messages(testCase.yaml) == testCase.expected)
    }

    @Test(arguments: gatewayCases)
    func gatewaysAndGrants(_ testCase: ValidationCase) {
        #expect(messages(testCase.yaml) == testCase.expected)
    }

    @Test(arguments: httpRouteCases)
    func httpRoute(_ testCase: ValidationCase) {
        #expect(messages(testCase.yaml) == testCase.expected)
    }

    @Test func invalidObjectsAreNotLoaded() {
        let set = load(serviceYAML("{ports: [{port: 0}]}"))
        #expect(set.services.isEmpty)
        #expect(set.errors.count == 1)
    }

    @Test func validateWorksOnObjectsBuiltInCode() {
        let service = Service(
            metadata: ObjectMeta(name: "web", namespace: "default"),
            spec: ServiceSpec(ports: [ServicePort(port: 80, targetPort: .string("Http"))]))
        #expect(service.validate().map(\.description) == ["spec.ports[0].targetPort: \"Http\" is not \(portName)"])
        #expect(
            Service(
                metadata: ObjectMeta(name: "ok", namespace: "default"), spec: ServiceSpec(ports: [ServicePort(port: 1)])
            ).validate() == [])
    }
}

@Suite("Validation of the less common fields")
struct MoreValidationTests {
    static let cases: [ValidationCase] = [
        ValidationCase(
            "headless NodePort Service", serviceYAML("{type: NodePort, clusterIP: None, ports: [{port: 80}]}"),
            ["\(prefix) Service default/web: spec.clusterIP: may not be None for NodePort Services"]),
        ValidationCase(
            "None must be alone in clusterIPs",
            serviceYAML("{clusterIP: None, clusterIPs: [None, 10.96.0.1], ports: [{port: 80}]}"),
            ["\(prefix) Service default/web: spec.clusterIPs[0]: \"None\" must be the only entry"]),
        ValidationCase(
            "three IP families",
            serviceYAML(
                "{ports: [{port: 80}], clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, \"fd00::1\", \"fd00::2\"]}"),
            ["\(prefix) Service default/web: spec.clusterIPs: must have at most 2 entries, one per IP family"]),
        ValidationCase(
            "appProtocol and annotation keys",
            """
            apiVersion: v1
            kind: Service
            metadata: {name: web, annotations: {"a b": c}}
            spec: {ports: [{port: 80, appProtocol: "k8s.io/h2c/x"}]}
            """,
            [
                "\(prefix) Service default/web: metadata.annotations: \"a b\" is not \(NameRule.labelKey.explanation)",
                "\(prefix) Service default/web: spec.ports[0].appProtocol: \"k8s.io/h2c/x\" is not \(NameRule.labelKey.explanation)",
            ]),
        ValidationCase(
            "Endpoints node names and app protocols",
            objectYAML(
                "v1", "Endpoints",
                "subsets: [{addresses: [{ip: 10.0.0.1, nodeName: Node_1}], ports: [{name: HTTP, port: 80, appProtocol: \"-x\"}]}]"
            ),
            [
                "\(prefix) Endpoints default/x: subsets[0].addresses[0].nodeName: \"Node_1\" is not \(subdomain)",
                "\(prefix) Endpoints default/x: subsets[0].ports[0].name: \"HTTP\" is not \(label)",
                "\(prefix) Endpoints default/x: subsets[0].ports[0].appProtocol: \"-x\" is not \(NameRule.labelKey.explanation)",
            ]),
        ValidationCase(
            "EndpointSlice limits and node hints",
            objectYAML(
                "discovery.k8s.io/v1", "EndpointSlice",
                "addressType: IPv4\nendpoints: [{addresses: [\((1...101).map { "10.0.0.\($0 % 250)" }.joined(separator: ", "))], hints: {forNodes: [{name: \"\"}]}}]\nports: [{name: Web, port: 1}]"
            ),
            [
                "\(prefix) EndpointSlice default/x: endpoints[0].addresses: must have at most 100 entries",
                "\(prefix) EndpointSlice default/x: endpoints[0].hints.forNodes[0].name: required",
                "\(prefix) EndpointSlice default/x: ports[0].name: \"Web\" is not \(label)",
            ]),
        ValidationCase(
            "Pod container names, node name and status IPs",
            objectYAML(
                "v1", "Pod",
                """
                spec: {nodeName: Node_A, containers: [{ports: [{containerPort: 80}]}]}
                status: {hostIP: 1.2.3.4.5, podIP: bad, podIPs: [{ip: bad}], conditions: [{status: "True"}]}
                """),
            [
                "\(prefix) Pod default/x: spec.nodeName: \"Node_A\" is not \(subdomain)",
                "\(prefix) Pod default/x: spec.containers[0].name: required",
                "\(prefix) Pod default/x: status.conditions[0].type: required",
                "\(prefix) Pod default/x: status.hostIP: \"1.2.3.4.5\" is not a valid IP address",
                "\(prefix) Pod default/x: status.podIP: \"bad\" is not a valid IP address",
                "\(prefix) Pod default/x: status.podIPs[0].ip: \"bad\" is not a valid IP address",
            ]),
        ValidationCase(
            "Ingress resource backends and class name",
            objectYAML(
                "networking.k8s.io/v1", "Ingress",
                "spec: {ingressClassName: Sluice, defaultBackend: {resource: {apiGroup: x}}}"),
            [
                "\(prefix) Ingress default/x: spec.ingressClassName: \"Sluice\" is not \(subdomain)",
                "\(prefix) Ingress default/x: spec.defaultBackend.resource.kind: required",
                "\(prefix) Ingress default/x: spec.defaultBackend.resource.name: required",
            ]),
        ValidationCase(
            "ReferenceGrant groups, kinds and names",
            objectYAML(
                "gateway.networking.k8s.io/v1beta1", "ReferenceGrant",
                "spec: {from: [{group: Bad_Group, kind: Gateway, namespace: infra}], to: [{group: \"\", name: Some_Name}]}"
            ),
            [
                "\(prefix) ReferenceGrant default/x: spec.from[0].group: \"Bad_Group\" is not \(subdomain)",
                "\(prefix) ReferenceGrant default/x: spec.to[0].kind: required",
                "\(prefix) ReferenceGrant default/x: spec.to[0].name: \"Some_Name\" is not \(subdomain)",
            ]),
        ValidationCase(
            "ReferenceGrant size limit",
            objectYAML(
                "gateway.networking.k8s.io/v1beta1", "ReferenceGrant",
                "spec: {from: [\(Array(repeating: "{kind: Gateway, namespace: a}", count: 17).joined(separator: ", "))], to: [{kind: Secret}]}"
            ),
            ["\(prefix) ReferenceGrant default/x: spec.from: must have at most 16 entries"]),
        ValidationCase(
            "HTTPRoute rule names, long paths, rewrites and mirror fractions",
            objectYAML(
                "gateway.networking.k8s.io/v1", "HTTPRoute",
                """
                spec:
                  rules:
                  - name: Rule_1
                    matches: [{path: {value: "/\(String(repeating: "a", count: 1024))"}}]
                    filters:
                    - {type: URLRewrite, urlRewrite: {hostname: "*.example.com", path: {type: ReplaceFullPath}}}
                    - {type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, fraction: {numerator: 1, denominator: 0}}}
                """),
            [
                "\(prefix) HTTPRoute default/x: spec.rules[0].name: \"Rule_1\" is not \(subdomain)",
                "\(prefix) HTTPRoute default/x: spec.rules[0].matches[0].path.value: must be at most 1024 characters",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].urlRewrite.hostname: \"*.example.com\" is not \(subdomain)",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[0].urlRewrite.path.replaceFullPath: required when type is ReplaceFullPath",
                "\(prefix) HTTPRoute default/x: spec.rules[0].filters[1].requestMirror.fraction.denominator: 0 must be at least 1",
            ]),
        ValidationCase(
            "HTTPRoute hostname limit",
            objectYAML(
                "gateway.networking.k8s.io/v1", "HTTPRoute",
                "spec: {hostnames: [\((0...16).map { "h\($0).example.com" }.joined(separator: ", "))]}"),
            ["\(prefix) HTTPRoute default/x: spec.hostnames: must have at most 16 entries"]),
    ]

    @Test(arguments: cases)
    func lessCommonFields(_ testCase: ValidationCase) {
        #expect(messages(testCase.yaml) == testCase.expected)
    }
}
