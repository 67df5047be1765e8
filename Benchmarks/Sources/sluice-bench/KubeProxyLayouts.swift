/// kube-proxy's nftables-mode ruleset for a ``ServiceSet``, as text for `nft -f`.
///
/// Written from the layout kube-proxy's nftables proxier produces (pkg/proxy/nftables), not from its code: table
/// `ip kube-proxy`; the `service-ips` verdict map keyed `ipv4_addr . inet_proto . inet_service` that jumps to one
/// chain per Service port; that chain marks traffic from outside the pod CIDR for masquerade and dispatches with
/// `numgen random mod N vmap { … }` to one chain per endpoint; each endpoint chain marks hairpin traffic and DNATs.
/// The fixed part (filter hooks, cluster-ips check, firewall and no-endpoint maps, masquerading chain) is included
/// so the kernel sees the same object count kube-proxy creates. A cold start is one `nft -f` transaction, as
/// kube-proxy's first full sync is.
struct KubeProxyNFTablesLayout {
    let services: ServiceSet

    static let table = "kube-proxy"

    func serviceChain(_ index: Int) -> String {
        let portName = "\(ServiceSet.namespace)/\(services.name(index))/tcp/\(ServiceSet.portName)"
        return "service-\(shortHash(portName, length: 8))-\(portName)"
    }

    func endpointChain(_ index: Int, _ slot: Int, generation: Int = 0) -> String {
        let portName = "\(ServiceSet.namespace)/\(services.name(index))/tcp/\(ServiceSet.portName)"
        let target = "\(services.endpoint(index, slot, generation: generation))/\(ServiceSet.targetPort)"
        return "endpoint-\(shortHash(portName + target, length: 8))-\(portName)__\(target)"
    }

    /// kube-proxy's partial sync when endpoint `slot` of Service `index` is replaced (the change Sluice's "one
    /// endpoint" scenario makes): the new endpoint's chain, the Service chain flushed and rewritten with the new
    /// dispatch, the old endpoint's chain flushed and deleted — one `nft -f` transaction.
    func endpointChange(_ index: Int, slot changed: Int) -> String {
        let t = "ip \(Self.table)"
        let ip = services.clusterIP(index)
        let service = serviceChain(index)
        let fresh = endpointChain(index, changed, generation: 1)
        let address = services.endpoint(index, changed, generation: 1)
        var out = "add chain \(t) \(fresh)\n"
        out += "add rule \(t) \(fresh) ip saddr \(address) jump mark-for-masquerade\n"
        out += "add rule \(t) \(fresh) meta l4proto tcp dnat to \(address):\(ServiceSet.targetPort)\n"
        out += "flush chain \(t) \(service)\n"
        out +=
            "add rule \(t) \(service) ip daddr \(ip) ip saddr != \(ServiceSet.clusterCIDR) jump mark-for-masquerade\n"
        let vmap = (0..<services.endpointsPerService).map { slot in
            "\(slot) : goto \(slot == changed ? fresh : endpointChain(index, slot))"
        }
        out +=
            "add rule \(t) \(service) numgen random mod \(services.endpointsPerService) vmap { "
            + vmap.joined(separator: ", ") + " }\n"
        out += "flush chain \(t) \(endpointChain(index, changed))\n"
        out += "delete chain \(t) \(endpointChain(index, changed))\n"
        return out
    }

    /// The whole ruleset (fixed part, then per-Service chains and elements).
    func render() -> String {
        var out = base()
        out.reserveCapacity(services.endpointCount * 400)
        let t = "ip \(Self.table)"
        for i in 0..<services.count {
            let ip = services.clusterIP(i)
            let service = serviceChain(i)
            out += "add chain \(t) \(service)\n"
            out +=
                "add rule \(t) \(service) ip daddr \(ip) ip saddr != \(ServiceSet.clusterCIDR) jump mark-for-masquerade\n"
            var vmap: [String] = []
            for slot in 0..<services.endpointsPerService {
                let endpoint = endpointChain(i, slot)
                let address = services.endpoint(i, slot)
                vmap.append("\(slot) : goto \(endpoint)")
                out += "add chain \(t) \(endpoint)\n"
                out += "add rule \(t) \(endpoint) ip saddr \(address) jump mark-for-masquerade\n"
                out += "add rule \(t) \(endpoint) meta l4proto tcp dnat to \(address):\(ServiceSet.targetPort)\n"
            }
            out +=
                "add rule \(t) \(service) numgen random mod \(services.endpointsPerService) vmap { "
                + vmap.joined(separator: ", ") + " }\n"
            out += "add element \(t) cluster-ips { \(ip) }\n"
            out += "add element \(t) service-ips { \(ip) . tcp . \(ServiceSet.servicePort) : goto \(service) }\n"
        }
        return out
    }

    /// The objects kube-proxy creates whatever the Services.
    private func base() -> String {
        let t = "ip \(Self.table)"
        return """
            add table \(t) { comment "rules for kube-proxy" ; }
            add set \(t) cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
            add set \(t) nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
            add map \(t) firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }
            add map \(t) no-endpoint-nodeports { type inet_proto . inet_service : verdict ; }
            add map \(t) no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }
            add map \(t) service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }
            add map \(t) service-nodeports { type inet_proto . inet_service : verdict ; }
            add chain \(t) cluster-ips-check
            add chain \(t) filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
            add chain \(t) filter-output-pre-dnat { type filter hook output priority -110 ; }
            add chain \(t) filter-forward { type filter hook forward priority 0 ; }
            add chain \(t) filter-input { type filter hook input priority 0 ; }
            add chain \(t) filter-output { type filter hook output priority 0 ; }
            add chain \(t) firewall-check
            add chain \(t) mark-for-masquerade
            add chain \(t) masquerading
            add chain \(t) nat-output { type nat hook output priority -100 ; }
            add chain \(t) nat-postrouting { type nat hook postrouting priority 100 ; }
            add chain \(t) nat-prerouting { type nat hook prerouting priority -100 ; }
            add chain \(t) nodeport-endpoints-check
            add chain \(t) reject-chain
            add chain \(t) services
            add chain \(t) service-endpoints-check
            add rule \(t) cluster-ips-check ip daddr @cluster-ips reject
            add rule \(t) cluster-ips-check ip daddr { \(ServiceSet.serviceCIDR) } drop
            add rule \(t) filter-prerouting-pre-dnat ct state new jump firewall-check
            add rule \(t) filter-forward ct state new jump service-endpoints-check
            add rule \(t) filter-forward ct state new jump cluster-ips-check
            add rule \(t) filter-input ct state new jump nodeport-endpoints-check
            add rule \(t) filter-input ct state new jump service-endpoints-check
            add rule \(t) filter-output ct state new jump service-endpoints-check
            add rule \(t) filter-output-pre-dnat ct state new jump firewall-check
            add rule \(t) filter-output ct state new jump cluster-ips-check
            add rule \(t) firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
            add rule \(t) mark-for-masquerade mark set mark or 0x4000
            add rule \(t) masquerading mark and 0x4000 == 0 return
            add rule \(t) masquerading mark set mark xor 0x4000
            add rule \(t) masquerading masquerade fully-random
            add rule \(t) nat-output jump services
            add rule \(t) nat-postrouting jump masquerading
            add rule \(t) nat-prerouting jump services
            add rule \(t) nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
            add rule \(t) reject-chain reject
            add rule \(t) services ip daddr . meta l4proto . th dport vmap @service-ips
            add rule \(t) services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
            add rule \(t) service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
            add element \(t) nodeport-ips { \(ServiceSet.nodeAddress) }

            """
    }
}

/// kube-proxy's iptables-mode ruleset for a ``ServiceSet``, as input for `iptables-restore --noflush`.
///
/// The classic layout: `KUBE-SERVICES` holds one rule per Service port (a linear list every new connection walks),
/// each jumping to a `KUBE-SVC-*` chain that marks outside traffic for masquerade and picks an endpoint with
/// `-m statistic --mode random --probability 1/(n-i)`, then a `KUBE-SEP-*` chain per endpoint that DNATs. As
/// kube-proxy does above 1,000 endpoints ("large cluster mode"), the per-endpoint rules carry no comments.
struct KubeProxyIPTablesLayout {
    let services: ServiceSet

    var largeClusterMode: Bool { services.endpointCount > 1000 }

    func serviceChain(_ index: Int) -> String {
        "KUBE-SVC-" + shortHash("\(ServiceSet.namespace)/\(services.name(index)):\(ServiceSet.portName)tcp", length: 16)
    }

    func endpointChain(_ index: Int, _ slot: Int, generation: Int = 0) -> String {
        let key = "\(ServiceSet.namespace)/\(services.name(index)):\(ServiceSet.portName)tcp"
        let target = services.endpoint(index, slot, generation: generation)
        return "KUBE-SEP-" + shortHash(key + target + ":\(ServiceSet.targetPort)", length: 16)
    }

    /// kube-proxy's partial sync (`MinimizeIPTablesRestore`) for the same change: `KUBE-SERVICES` is always
    /// rewritten whole (every Service's dispatch rule), plus the changed Service's chain, the new endpoint chain,
    /// and the old one deleted; `iptables-restore --noflush` keeps every other chain.
    func endpointChange(_ index: Int, slot changed: Int) -> String {
        let svc = serviceChain(index)
        let fresh = endpointChain(index, changed, generation: 1)
        let stale = endpointChain(index, changed)
        var out = "*nat\n:KUBE-SERVICES - [0:0]\n:\(svc) - [0:0]\n:\(fresh) - [0:0]\n:\(stale) - [0:0]\n"
        for i in 0..<services.count {
            let portName = "\(ServiceSet.namespace)/\(services.name(i)):\(ServiceSet.portName)"
            out +=
                "-A KUBE-SERVICES -m comment --comment \"\(portName) cluster IP\" -d \(services.clusterIP(i))/32 -p tcp"
                + " -m tcp --dport \(ServiceSet.servicePort) -j \(serviceChain(i))\n"
        }
        out +=
            "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in"
            + " this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n"
        let portName = "\(ServiceSet.namespace)/\(services.name(index)):\(ServiceSet.portName)"
        let match = "-d \(services.clusterIP(index))/32 -p tcp -m tcp --dport \(ServiceSet.servicePort)"
        out +=
            "-A \(svc) -m comment --comment \"\(portName) cluster IP\" \(match) ! -s \(ServiceSet.clusterCIDR) -j KUBE-MARK-MASQ\n"
        let n = services.endpointsPerService
        for slot in 0..<n {
            let sep = slot == changed ? fresh : endpointChain(index, slot)
            if slot < n - 1 {
                out +=
                    "-A \(svc) -m statistic --mode random --probability \(String(format: "%0.10f", 1.0 / Double(n - slot))) -j \(sep)\n"
            } else {
                out += "-A \(svc) -j \(sep)\n"
            }
        }
        let address = services.endpoint(index, changed, generation: 1)
        out += "-A \(fresh) -s \(address)/32 -j KUBE-MARK-MASQ\n"
        out += "-A \(fresh) -m tcp -p tcp -j DNAT --to-destination \(address):\(ServiceSet.targetPort)\n"
        out += "-X \(stale)\nCOMMIT\n"
        return out
    }

    func render() -> String {
        var chains: [String] = []
        var rules: [String] = []
        chains.reserveCapacity(services.endpointCount + services.count)
        rules.reserveCapacity(services.endpointCount * 3)
        var dispatch: [String] = []
        for i in 0..<services.count {
            let ip = services.clusterIP(i)
            let svc = serviceChain(i)
            let portName = "\(ServiceSet.namespace)/\(services.name(i)):\(ServiceSet.portName)"
            let match = "-d \(ip)/32 -p tcp -m tcp --dport \(ServiceSet.servicePort)"
            chains.append(svc)
            dispatch.append("-A KUBE-SERVICES -m comment --comment \"\(portName) cluster IP\" \(match) -j \(svc)")
            rules.append(
                "-A \(svc) -m comment --comment \"\(portName) cluster IP\" \(match) ! -s \(ServiceSet.clusterCIDR)"
                    + " -j KUBE-MARK-MASQ")
            let n = services.endpointsPerService
            for slot in 0..<n {
                let sep = endpointChain(i, slot)
                let address = services.endpoint(i, slot)
                chains.append(sep)
                let comment = largeClusterMode ? "" : "-m comment --comment \"\(portName) -> \(address)\" "
                if slot < n - 1 {
                    let probability = String(format: "%0.10f", 1.0 / Double(n - slot))
                    rules.append(
                        "-A \(svc) \(comment)-m statistic --mode random --probability \(probability) -j \(sep)")
                } else {
                    rules.append("-A \(svc) \(comment)-j \(sep)")
                }
                let sepComment = largeClusterMode ? "" : "-m comment --comment \(portName) "
                rules.append("-A \(sep) \(sepComment)-s \(address)/32 -j KUBE-MARK-MASQ")
                rules.append(
                    "-A \(sep) \(sepComment)-m tcp -p tcp -j DNAT --to-destination \(address):\(ServiceSet.targetPort)")
            }
        }
        var out = Self.filterTable
        out += "*nat\n"
        for chain in ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"] + chains {
            out += ":\(chain) - [0:0]\n"
        }
        out += """
            -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
            -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
            -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
            -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
            -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
            -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
            -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully

            """
        for line in dispatch { out += line + "\n" }
        out +=
            "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in"
            + " this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n"
        for line in rules { out += line + "\n" }
        out += "COMMIT\n"
        return out
    }

    /// The filter-table chains and hooks kube-proxy installs whatever the Services.
    static let filterTable = """
        *filter
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-EXTERNAL-SERVICES - [0:0]
        :KUBE-FORWARD - [0:0]
        :KUBE-PROXY-FIREWALL - [0:0]
        -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
        -A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
        -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
        -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
        -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
        -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
        -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
        -A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
        -A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
        -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
        -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
        -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        COMMIT

        """
}

/// A short, stable, name-safe digest (base32 of FNV-1a 64), standing in for kube-proxy's hashed chain-name
/// prefixes: the kernel cost depends on the names' length and uniqueness, not on which hash made them.
func shortHash(_ text: String, length: Int) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x100_0000_01b3
    }
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    // 12 characters use 60 bits of the hash; longer names continue with a remixed copy (splitmix64's finaliser).
    var remixed = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
    remixed = (remixed ^ (remixed >> 27)) &* 0x94d0_49bb_1331_11eb
    var out = ""
    for i in 0..<length {
        let source = i < 12 ? hash >> (5 * UInt64(i)) : remixed >> (5 * UInt64(i - 12))
        out.append(alphabet[Int(source & 31)])
    }
    return out
}
