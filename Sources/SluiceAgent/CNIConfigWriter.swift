import Foundation
import KubeAPI

/// The node's CNI network configuration, written by the agent from its own Node object.
///
/// Each node has its own pod CIDR, which only the API knows (the downward API does not expose it), so a static
/// conflist shipped with the DaemonSet cannot be right on every node. The agent writes it instead, the way
/// flannel does, and rewrites it when the pod CIDRs change: one range set per pod CIDR (dual-stack gets one
/// address of each family), the bridge gateway the first address of each (the default route of each family),
/// and the MTU of the overlay.
public enum CNIConfigWriter {
    /// The conflist for `node`, or `nil` when it has no usable pod CIDR yet.
    ///
    /// - Parameters:
    ///   - mtu: the pods' MTU (the VXLAN device's, so encapsulated packets fit the underlay); `nil` leaves the
    ///     plugin's default.
    ///   - masquerade: whether the plugin itself masquerades pod egress (`ipMasq`); off when the agent does it.
    public static func conflist(for node: Node, mtu: Int?, masquerade: Bool) -> String? {
        let cidrs = node.spec.podCIDRs.compactMap(IPCIDR.init)
        guard !cidrs.isEmpty else { return nil }
        var rangeSets: [String] = []
        for cidr in cidrs {
            rangeSets.append("[{\"subnet\": \"\(cidr.network)/\(cidr.prefixLength)\"}]")
        }
        let ranges = rangeSets.joined(separator: ", ")
        let mtuLine = mtu.map { "\n          \"mtu\": \($0)," } ?? ""
        return """
            {
              "cniVersion": "1.0.0",
              "name": "sluice",
              "plugins": [
                {
                  "type": "sluice-cni",
                  "bridge": "cni0",
                  "isGateway": true,
                  "isDefaultGateway": true,
                  "hairpinMode": true,
                  "ipMasq": \(masquerade),\(mtuLine)
                  "ipam": {
                    "type": "host-local",
                    "ranges": [\(ranges)]
                  }
                }
              ]
            }

            """
    }

    /// Writes `text` to `path` when it differs from what is there (whole: temporary file, then rename, so a
    /// runtime never reads half a configuration). Returns whether it wrote.
    @discardableResult
    public static func write(_ text: String, to path: String) throws -> Bool {
        if let current = try? String(contentsOfFile: path, encoding: .utf8), current == text { return false }
        let temporary = path + ".sluice-tmp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw HealthCheckError.system("rename \(temporary) to \(path)", code)
        }
        return true
    }
}
