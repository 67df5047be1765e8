import CNIPlugin
import LinkNetlink
import Testing

/// Checks a result document against the spec's result schema for `version`: required keys and their types,
/// addresses in CIDR form, interface indices within `interfaces`.
func validateResult(_ document: JSON, version: String) throws {
    #expect(document["cniVersion"] == .string(version))
    guard case .array(let interfaces) = document["interfaces"] ?? .array([]) else {
        Issue.record("interfaces is not an array")
        return
    }
    for interface in interfaces {
        guard case .string = interface["name"] else {
            Issue.record("interface without a name: \(interface.text)")
            continue
        }
        if let mac = interface["mac"] {
            guard case .string(let text) = mac, MACAddress(text) != nil else {
                Issue.record("bad mac \(mac.text)")
                continue
            }
        }
        if let sandbox = interface["sandbox"], case .string = sandbox {
        } else if interface["sandbox"] != nil {
            Issue.record("sandbox is not a string")
        }
    }
    guard case .array(let ips) = document["ips"] ?? .array([]) else {
        Issue.record("ips is not an array")
        return
    }
    for ip in ips {
        guard case .string(let address) = ip["address"], let prefix = InetPrefix(address) else {
            Issue.record("ip without a CIDR address: \(ip.text)")
            continue
        }
        if version.hasPrefix("0.") {
            #expect(ip["version"] == .string(prefix.address.isIPv6 ? "6" : "4"))
        } else {
            #expect(ip["version"] == nil)
        }
        if let gateway = ip["gateway"] {
            guard case .string(let text) = gateway, InetAddress(text) != nil else {
                Issue.record("bad gateway \(gateway.text)")
                continue
            }
        }
        if let index = ip["interface"] {
            guard case .number(let number) = index, number >= 0, Int(number) < interfaces.count else {
                Issue.record("ip interface index \(index.text) outside interfaces")
                continue
            }
        }
    }
    guard case .array(let routes) = document["routes"] ?? .array([]) else {
        Issue.record("routes is not an array")
        return
    }
    for route in routes {
        guard case .string(let destination) = route["dst"], InetPrefix(destination) != nil else {
            Issue.record("route without a CIDR dst: \(route.text)")
            continue
        }
    }
    if let dns = document["dns"] {
        guard case .object = dns else {
            Issue.record("dns is not an object")
            return
        }
    }
}
