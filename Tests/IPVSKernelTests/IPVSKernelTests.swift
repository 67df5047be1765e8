import Foundation
import IPVSNetlink
import LinkNetlink
import Logging
import NFTablesNetlink
import SluiceAgent
import SluiceTestSupport
import Testing

/// The IPVS backend against a real IPVS kernel. This machine's kernel has no IPVS, so one VM boots Debian's kernel
/// (`scripts/run-in-vm.sh`) and runs `sluice-ipvs-check` there as root: every check below runs in that one boot,
/// in the VM's own namespaces, and reports `CHECK PASS name` or `CHECK FAIL name: why`.
///
/// Skipped, with the missing tool named, only outside CI; with `CI` set a missing tool fails the test instead.
@Suite(.serialized)
struct IPVSKernelTests {
    /// Every check the VM must pass (a check that never reports fails too).
    static let checks = [
        "readback-wrr", "readback-lc", "readback-wlc", "readback-sh", "readback-mh", "readback-rr", "incremental",
        "restart-adopts", "traffic-clusterip", "traffic-nodeport-masquerade", "no-endpoints-reject", "bad-scheduler",
        "kernel-rejection-isolated", "recovers-after-failed-sync", "watch-events", "timeouts", "mode-switch",
        "sluiced-proxy-mode", "strict-arp",
    ]

    static let inCI = ProcessInfo.processInfo.environment["CI"] != nil

    @Test(
        .enabled(
            if: VMTools.missing.isEmpty || inCI,
            "IPVS VM tests skipped: \(VMTools.missing.joined(separator: ", ")) (CI installs them: scripts/install-deps.sh)"
        ))
    func ipvsBackendInAVMWithIPVS() throws {
        try #require(VMTools.missing.isEmpty, "CI must run the IPVS VM tests, but: \(VMTools.missing)")
        let binary = try VMTools.stripped("sluice-ipvs-check")
        defer { try? FileManager.default.removeItem(atPath: binary) }
        let sluiced = try VMTools.stripped("sluiced")
        defer { try? FileManager.default.removeItem(atPath: sluiced) }
        let started = ContinuousClock.now
        let result = try runProcess(VMTools.command(binary, with: sluiced))
        print("sluice-ipvs-check in the VM (\(ContinuousClock.now - started)):\n\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        for check in Self.checks {
            let failure = lines.first { $0.hasPrefix("CHECK FAIL \(check):") }
            #expect(failure == nil, "\(failure ?? "")")
            #expect(lines.contains("CHECK PASS \(check)") || failure != nil, "check \(check) never reported")
        }
        let setup = lines.first { $0.hasPrefix("CHECK FAIL setup") }
        #expect(setup == nil, "\(setup ?? "")")
        #expect(result.status == 0, "sluice-ipvs-check exited \(result.status)")
    }
}

/// What booting the IPVS VM needs, and the command that does it.
enum VMTools {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let runInVM = packageRoot.appendingPathComponent("scripts/run-in-vm.sh").path

    /// Modules the checks use beyond IPVS itself: the dummy interface, veth pods, and nftables for the mode's
    /// table (and the nftables backend in the mode-switch check).
    static let modules = [
        "dummy", "veth", "nf_tables", "nft_chain_nat", "nft_nat", "nft_masq", "nft_reject_inet", "nft_fib_inet",
        "nft_ct", "nft_numgen", "nft_hash", "ip_vs_lc", "ip_vs_wlc", "ip_vs_sh", "ip_vs_mh",
    ]

    /// Tools and files that are missing, by name (empty: the VM can boot).
    static let missing: [String] = {
        var missing: [String] = []
        for tool in ["qemu-system-x86_64", "cpio", "modprobe", "depmod", "ipvsadm", "ip", "strip"]
        where !onPath(tool) {
            missing.append(tool)
        }
        if !FileManager.default.isExecutableFile(atPath: "/bin/busybox") { missing.append("busybox-static") }
        let kernels = (try? FileManager.default.contentsOfDirectory(atPath: "/lib/modules")) ?? []
        let withIPVS = kernels.filter {
            FileManager.default.fileExists(atPath: "/lib/modules/\($0)/kernel/net/netfilter/ipvs")
        }
        if withIPVS.isEmpty {
            missing.append("a kernel with IPVS modules (linux-image-amd64)")
        } else if !withIPVS.contains(where: { FileManager.default.isReadableFile(atPath: "/boot/vmlinuz-\($0)") }) {
            missing.append("a readable /boot/vmlinuz (root)")
        }
        return missing
    }()

    static func onPath(_ tool: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }

    /// A built executable (`sluice-ipvs-check`, `sluiced`) stripped into a temporary file: debug info would double
    /// the VM's initramfs.
    static func stripped(_ name: String) throws -> String {
        let built = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent(name).path
        try #require(FileManager.default.isExecutableFile(atPath: built), "\(name) not built at \(built)")
        let stripped = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())").path
        _ = try runProcess(["strip", "-o", stripped, built]).output()
        return stripped
    }

    /// `run-in-vm.sh` with the modules and tools the checks need; the real iproute2 `ip` ahead of busybox's.
    /// `sluiced` goes in too (`SLUICED` names it), for the check of the daemon's own flags.
    static func command(_ binary: String, with sluiced: String) -> [String] {
        var argv = ["env", "VM_MEM=1024M", runInVM, "-t", "600", "-e", "PATH=/usr/bin:/usr/sbin:/bin:/sbin"]
        argv += ["-f", "/usr/sbin/ipvsadm", "-f", "/usr/bin/ip", "-f", sluiced, "-e", "SLUICED=\(sluiced)"]
        for module in modules { argv += ["-m", module] }
        return argv + [binary]
    }
}

/// The IPVS backend's kernel layer on this machine's kernel, in a namespace of the test's own: whether or not the
/// kernel has IPVS, opening a connection answers plainly, and the nftables mode's start-up cleanup finds nothing.
@Suite(.serialized, .requiresRoot)
struct IPVSHostKernelTests {
    @Test func openingAConnectionSaysWhetherTheKernelHasIPVS() throws {
        let hasIPVS = FileManager.default.fileExists(atPath: "/proc/net/ip_vs")
        let ns = try TestNamespace.make("ipvs-open")
        defer { try? ns.delete() }
        let outcome = try ns.run { () -> String in
            do {
                let connection = try IPVSConnection()
                return "open, \(try connection.services().count) services"
            } catch {
                return "\(error)"
            }
        }
        if hasIPVS {
            #expect(outcome == "open, 0 services")
        } else {
            #expect(outcome.hasPrefix("IPVS is not available in this kernel"))
        }
    }

    @Test func theNFTablesModeCleanupFindsNothingInAFreshNamespace() throws {
        let ns = try TestNamespace.make("ipvs-clean")
        defer { try? ns.delete() }
        let logger = Logger(label: "test")
        let removed = try ns.run {
            try ProxyModeCleanup.removeIPVSModeState(
                nftables: try NFTablesConnection(), links: try LinkConnection(), logger: logger)
        }
        #expect(removed.virtualServices == 0 && !removed.table && !removed.dummyInterface)
    }
}
