import KubeAPI
import Overlay
import Testing

/// The overlay compiler: which entries each remote node gets per backend, and which Nodes are skipped and why.
@Suite struct OverlayCompilerTests {
    static func node(
        _ name: String, podCIDRs: [String], ip: String? = nil, vtepMAC: String? = nil, vtepIP: String? = nil
    ) -> Node {
        var annotations: [String: String] = [:]
        annotations[VTEPAnnotation.mac] = vtepMAC
        annotations[VTEPAnnotation.address] = vtepIP
        return Node(
            metadata: ObjectMeta(name: name, annotations: annotations),
            spec: NodeSpec(podCIDRs: podCIDRs),
            status: NodeStatus(addresses: ip.map { [NodeAddress(type: .internalIP, address: $0)] } ?? []))
    }

    static let cluster = [
        node("a", podCIDRs: ["10.244.1.0/24"], ip: "198.18.0.1", vtepMAC: "02:00:00:00:00:01", vtepIP: "10.244.1.0"),
        node("b", podCIDRs: ["10.244.2.0/24"], ip: "198.18.0.2", vtepMAC: "02:00:00:00:00:02", vtepIP: "10.244.2.0"),
        node("c", podCIDRs: ["10.244.3.0/24"], ip: "198.18.0.3", vtepMAC: "02:00:00:00:00:03", vtepIP: "10.244.3.0"),
    ]

    @Test func vxlanGivesEachRemoteNodeARouteANeighbourAndAnFDBEntry() {
        let plan = OverlayCompiler.compile(nodes: Self.cluster, localNode: "a", backend: .vxlan)
        #expect(plan.problems.isEmpty)
        #expect(plan.remoteNodes.keys.sorted() == ["b", "c"])
        let b = plan.remoteNodes["b"]!
        #expect(b.routes.map(\.description) == ["10.244.2.0/24 via 10.244.2.0 onlink"])
        #expect(b.neighbor?.description == "10.244.2.0 lladdr 02:00:00:00:00:02")
        #expect(b.fdbEntry?.description == "02:00:00:00:00:02 dst 198.18.0.2")
    }

    @Test func hostGatewayRoutesViaTheNodeAddress() {
        let plan = OverlayCompiler.compile(nodes: Self.cluster, localNode: "b", backend: .hostGateway)
        #expect(plan.problems.isEmpty)
        #expect(
            plan.routes.map(\.description).sorted() == [
                "10.244.1.0/24 via 198.18.0.1", "10.244.3.0/24 via 198.18.0.3",
            ])
        #expect(plan.neighbors.isEmpty && plan.fdbEntries.isEmpty)
    }

    @Test func hostGatewayRoutesEachFamilyViaTheNodeAddressOfThatFamily() {
        var dual = Self.node("b", podCIDRs: ["10.244.2.0/24", "fd00:10:244:2::/64"], ip: "198.18.0.2")
        dual.status.addresses.append(NodeAddress(type: .internalIP, address: "fd00:198:18::2"))
        let plan = OverlayCompiler.compile(nodes: [Self.cluster[0], dual], localNode: "a", backend: .hostGateway)
        #expect(
            plan.routes.map(\.description).sorted() == [
                "10.244.2.0/24 via 198.18.0.2", "fd00:10:244:2::/64 via fd00:198:18::2",
            ])
    }

    @Test func theLocalNodeGetsNoEntries() {
        let plan = OverlayCompiler.compile(nodes: [Self.cluster[0]], localNode: "a", backend: .vxlan)
        #expect(plan.remoteNodes.isEmpty && plan.problems.isEmpty)
    }

    @Test func nonCanonicalPodCIDRsAreRoutedByTheirNetwork() {
        let b = Self.node("b", podCIDRs: ["10.244.2.7/24"], ip: "198.18.0.2")
        let plan = OverlayCompiler.compile(nodes: [b], localNode: "a", backend: .hostGateway)
        #expect(plan.routes.map(\.description) == ["10.244.2.0/24 via 198.18.0.2"])
    }

    @Test(
        arguments: [
            (node("x", podCIDRs: [], ip: "198.18.0.9"), "Node x: spec.podCIDR is not set"),
            (
                node("x", podCIDRs: ["10.244.9.0/33"], ip: "198.18.0.9"),
                "Node x: spec.podCIDRs[0] \"10.244.9.0/33\" is not a CIDR"
            ),
            (
                node("x", podCIDRs: ["10.244.9.0/24"]),
                "Node x: no IPv4 InternalIP in status.addresses for pod CIDR 10.244.9.0/24"
            ),
        ])
    func hostGatewaySkipsBadNodesNamingThem(bad: Node, message: String) {
        let plan = OverlayCompiler.compile(nodes: Self.cluster + [bad], localNode: "a", backend: .hostGateway)
        #expect(plan.problems.map(\.description) == [message])
        #expect(plan.remoteNodes.keys.sorted() == ["b", "c"])
    }

    @Test(
        arguments: [
            (
                node("x", podCIDRs: ["10.244.9.0/24"], ip: "198.18.0.9", vtepIP: "10.244.9.0"),
                "Node x: annotation sluice.dev/vtep-mac is missing"
            ),
            (
                node(
                    "x", podCIDRs: ["10.244.9.0/24"], ip: "198.18.0.9", vtepMAC: "02:00:00:00:00:zz",
                    vtepIP: "10.244.9.0"),
                "Node x: annotation sluice.dev/vtep-mac \"02:00:00:00:00:zz\" is not a unicast MAC address"
            ),
            (
                node(
                    "x", podCIDRs: ["10.244.9.0/24"], ip: "198.18.0.9", vtepMAC: "01:00:5e:00:00:01",
                    vtepIP: "10.244.9.0"),
                "Node x: annotation sluice.dev/vtep-mac \"01:00:5e:00:00:01\" is not a unicast MAC address"
            ),
            (
                node("x", podCIDRs: ["10.244.9.0/24"], ip: "198.18.0.9", vtepMAC: "02:00:00:00:00:09"),
                "Node x: annotation sluice.dev/vtep-ip is missing"
            ),
            (
                node(
                    "x", podCIDRs: ["10.244.9.0/24"], ip: "198.18.0.9", vtepMAC: "02:00:00:00:00:09", vtepIP: "10.244.9"
                ),
                "Node x: annotation sluice.dev/vtep-ip \"10.244.9\" is not an IP address"
            ),
            (
                node("x", podCIDRs: ["10.244.9.0/24"], vtepMAC: "02:00:00:00:00:09", vtepIP: "10.244.9.0"),
                "Node x: status.addresses has no InternalIP"
            ),
        ])
    func vxlanSkipsBadNodesNamingThem(bad: Node, message: String) {
        let plan = OverlayCompiler.compile(nodes: Self.cluster + [bad], localNode: "a", backend: .vxlan)
        #expect(plan.problems.map(\.description) == [message])
        #expect(plan.remoteNodes.keys.sorted() == ["b", "c"])
    }

    @Test func theMACIsNormalizedToLowerCase() {
        let b = Self.node(
            "b", podCIDRs: ["10.244.2.0/24"], ip: "198.18.0.2", vtepMAC: "02:AB:00:00:00:02", vtepIP: "10.244.2.0")
        let plan = OverlayCompiler.compile(nodes: [b], localNode: "a", backend: .vxlan)
        #expect(plan.fdbEntries.map(\.mac) == ["02:ab:00:00:00:02"])
    }

    @Test func overlappingPodCIDRsSkipTheLaterNodeWhateverTheInputOrder() {
        let overlapping = Self.node("d", podCIDRs: ["10.244.2.128/25"], ip: "198.18.0.4")
        for nodes in [Self.cluster + [overlapping], [overlapping] + Self.cluster.reversed()] {
            let plan = OverlayCompiler.compile(nodes: nodes, localNode: "a", backend: .hostGateway)
            #expect(
                plan.problems.map(\.description) == [
                    "Node d: pod CIDR 10.244.2.128/25 overlaps 10.244.2.0/24 of Node b"
                ])
            #expect(plan.remoteNodes.keys.sorted() == ["b", "c"])
        }
    }

    @Test func aRemoteNodeOverlappingTheLocalNodeIsSkippedEvenIfItsNameSortsFirst() {
        let early = Self.node("0-early", podCIDRs: ["10.244.3.0/24"], ip: "198.18.0.5")
        let plan = OverlayCompiler.compile(nodes: Self.cluster + [early], localNode: "c", backend: .hostGateway)
        #expect(
            plan.problems.map(\.description) == [
                "Node 0-early: pod CIDR 10.244.3.0/24 overlaps 10.244.3.0/24 of Node c"
            ])
        #expect(plan.remoteNodes.keys.sorted() == ["a", "b"])
    }

    @Test func vxlanSkipsPodCIDRsOfTheOtherFamilyThanTheVTEPButKeepsTheRest() {
        let b = Self.node(
            "b", podCIDRs: ["10.244.2.0/24", "fd00:10:244:2::/64"], ip: "198.18.0.2", vtepMAC: "02:00:00:00:00:02",
            vtepIP: "10.244.2.0")
        let plan = OverlayCompiler.compile(nodes: [b], localNode: "a", backend: .vxlan)
        #expect(plan.routes.map(\.description) == ["10.244.2.0/24 via 10.244.2.0 onlink"])
        #expect(
            plan.problems.map(\.description) == [
                "Node b: pod CIDR fd00:10:244:2::/64 skipped: the VTEP address 10.244.2.0 is IPv4"
            ])
    }
}
