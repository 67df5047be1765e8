import KubeAPI
import NFTables
import NetworkPolicy

/// The upstream e2e layout: namespaces x, y, z labelled `ns`, pods a, b, c in each labelled `pod`, every pod serving
/// TCP and UDP on 80 and 81 through container ports named `serve-<port>-<protocol>`.
enum E2E {
    static let namespaces = ["x", "y", "z"]
    static let podNames = ["a", "b", "c"]
    static let ports: [UInt16] = [80, 81]
    static let protocols: [TransportProtocol] = [.tcp, .udp]

    /// `x/a` is 10.244.1.2, `x/b` .3, … `z/c` .10 (and fd00:10:244:1::2 …), all on node-a unless told.
    static func pods(node: (String) -> String = { _ in "node-a" }) -> [Pod] {
        var pods: [Pod] = []
        for (n, namespace) in namespaces.enumerated() {
            for (p, name) in podNames.enumerated() {
                let host = 2 + n * 3 + p
                pods.append(
                    pod(
                        name, namespace: namespace, labels: ["pod": name], ipv4: "10.244.1.\(host)",
                        ipv6: "fd00:10:244:1::\(String(host, radix: 16))", node: node("\(namespace)/\(name)")))
            }
        }
        return pods
    }

    static func pod(
        _ name: String, namespace: String, labels: [String: String], ipv4: String, ipv6: String? = nil,
        node: String = "node-a", ports: [ContainerPort]? = nil, hostNetwork: Bool = false
    ) -> Pod {
        let containerPorts =
            ports
            ?? [80, 81].flatMap { port in
                [TransportProtocol.tcp, .udp].map { proto in
                    ContainerPort(
                        name: "serve-\(port)-\(proto.rawValue.lowercased())", containerPort: port, protocol: proto)
                }
            }
        return Pod(
            metadata: ObjectMeta(name: name, namespace: namespace, labels: labels),
            spec: PodSpec(
                nodeName: node, hostNetwork: hostNetwork,
                containers: [Container(name: "server", ports: containerPorts)]),
            status: PodStatus(
                phase: .running, podIP: ipv4, podIPs: [PodIP(ip: ipv4)] + (ipv6.map { [PodIP(ip: $0)] } ?? [])))
    }

    static func namespaceObjects(extraLabels: [String: [String: String]] = [:]) -> [Namespace] {
        namespaces.map { name in
            Namespace(
                metadata: ObjectMeta(name: name, labels: ["ns": name].merging(extraLabels[name] ?? [:]) { $1 }))
        }
    }

    static func manifests(_ policies: [NetworkPolicy], pods: [Pod] = pods()) -> ManifestSet {
        var set = ManifestSet()
        set.namespaces = namespaceObjects()
        set.pods = pods
        set.networkPolicies = policies
        return set
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

    static var allPods: [ObjectName] {
        namespaces.flatMap { n in podNames.map { ObjectName(namespace: n, name: $0) } }
    }
}

/// A truth table the way the e2e tests state expectations: a rule deciding each cell, compared with the checker's
/// matrix cell by cell; the failure lists every cell that differs.
struct Truth {
    typealias Rule = (_ from: ObjectName, _ to: ObjectName, _ port: UInt16, _ proto: TransportProtocol) -> Bool

    static func mismatches(
        _ manifests: ManifestSet, family: AddressFamily = .ipv4, ports: [UInt16] = E2E.ports,
        protocols: [TransportProtocol] = E2E.protocols, expected: Rule
    ) throws -> [String] {
        let checker = try PolicyChecker(manifests: manifests)
        let cells = try checker.matrix(ports: ports, protocols: protocols, family: family)
        var wrong: [String] = []
        for cell in cells where cell.allowed != expected(cell.from, cell.to, cell.port, cell.protocol) {
            wrong.append(
                "\(cell.from) -> \(cell.to) \(cell.protocol)/\(cell.port): got \(cell.allowed ? "allow" : "deny")")
        }
        return wrong
    }
}

extension ObjectName {
    /// `ObjectName("x/a")!` for test literals.
    static func pod(_ text: String) -> ObjectName { ObjectName(text)! }
}
