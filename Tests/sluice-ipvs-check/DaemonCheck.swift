import Foundation
import IPVS
import IPVSNetlink
import KubeAPI
import LinkNetlink
import NFTables
import NFTablesNetlink
import SluiceAgent
import SluiceTestSupport

extension Checks {
    /// A manifest directory with one NodePort Service and its endpoints.
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: default}
        spec:
          type: NodePort
          clusterIP: 10.96.0.11
          clusterIPs: [10.96.0.11]
          ports: [{name: echo, protocol: TCP, port: 9000, targetPort: 8080, nodePort: 30081}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: echo-1
          namespace: default
          labels: {kubernetes.io/service-name: echo}
        addressType: IPv4
        ports: [{name: echo, protocol: TCP, port: 8080}]
        endpoints:
          - addresses: [10.244.2.2]
            conditions: {ready: true}
            nodeName: node-a
        """

    /// `sluiced --once` itself (the binary named by `SLUICED`) in IPVS mode, then back in nftables mode.
    func daemon(pods: Pods) async {
        await check("sluiced-proxy-mode") {
            guard let sluiced = ProcessInfo.processInfo.environment["SLUICED"] else {
                return ["SLUICED (the sluiced binary in the VM) not set"]
            }
            try cleanUp()
            let directory = "/tmp/sluiced-manifests"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Self.manifests.write(toFile: directory + "/echo.yaml", atomically: true, encoding: .utf8)
            let common = [
                sluiced, "--manifests", directory, "--node-name", Scenario.nodeName, "--once",
                "--metrics-bind-address", "", "--cni-data-dir", "", "--v", "0",
            ]
            var problems: [String] = []
            let ipvsRun = try runProcess(
                common + ["--proxy-mode", "ipvs", "--ipvs-scheduler", "wlc", "--ipvs-timeouts", "901,121,301"])
            if !ipvsRun.succeeded { problems.append("sluiced --proxy-mode ipvs: \(ipvsRun)") }
            let timeouts = try IPVSConnection().timeouts()
            if timeouts != (901, 121, 301) { problems.append("--ipvs-timeouts: kernel has \(timeouts)") }
            let table = Checks.render(try IPVSConnection().table())
            let expected = ["10.96.0.11:9000"] + Checks.nodeAddresses.map { "\($0):30081" }
            for frontend in expected where !table.contains("TCP \(frontend) wlc | 10.244.2.2:8080 Masq 1") {
                problems.append("TCP \(frontend) wlc missing from \(table)")
            }
            let reply = tcpRequest(from: pods.client, to: "10.96.0.11", port: 9000)
            if reply.serverName != "ep1" { problems.append("ClusterIP programmed by sluiced: \(reply)") }
            let nftRun = try runProcess(common + ["--proxy-mode", "nftables"])
            if !nftRun.succeeded { problems.append("sluiced --proxy-mode nftables: \(nftRun)") }
            if !(try IPVSConnection().services().isEmpty) { problems.append("nftables mode left virtual services") }
            if try LinkConnection().link(named: IPVSServiceSyncer.dummyInterface) != nil {
                problems.append("nftables mode left the dummy interface")
            }
            if try NFTablesConnection().listTable(TableRef(family: .inet, name: "sluice")) == nil {
                problems.append("nftables mode programmed no table")
            }
            // Back to IPVS: the nftables table goes again.
            _ = try runProcess(common + ["--proxy-mode", "ipvs"])
            if try NFTablesConnection().listTable(TableRef(family: .inet, name: "sluice")) != nil {
                problems.append("ipvs mode left table sluice")
            }
            try cleanUp()
            return problems
        }
    }
}
