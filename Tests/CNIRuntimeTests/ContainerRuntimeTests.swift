import Foundation
import SluiceTestSupport
import Testing

/// podman (CNI backend) and containerd (`ctr run --cni`) driving `sluice-cni`, set up as
/// `notes/cni-runtimes.md` describes: everything under one scratch directory, busybox as the image.
///
/// These runtimes create the bridge and the plugin's nftables table in the host's own namespace (the one
/// exception to "test namespaces only"): the bridges and subnets are this suite's own (`slpod0` on
/// 10.244.70.0/24, `slctr0` on 10.244.71.0/24), and each test deletes its bridge, its IPAM store and, once it
/// holds no element, the `inet sluice-cni` table. The suite is serialized because both tests share that table.
@Suite(.requiresRoot, .serialized) struct ContainerRuntimeTests {
    static func installed(_ programs: String...) -> Bool {
        programs.allSatisfy { program in
            ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"].contains {
                FileManager.default.isExecutableFile(atPath: "\($0)/\(program)")
            }
        }
    }

    @Test(
        .enabled(
            if: installed("podman", "runc", "busybox"),
            "podman, runc or busybox not installed (scripts/install-deps.sh installs them)"))
    func podmanContainersTalkAndReachAHostPort() throws {
        let scratch = try Scratch(label: "podman")
        defer { scratch.remove(bridge: "slpod0") }
        let directory = scratch.path
        try scratch.write(
            "containers.conf",
            """
            [containers]
            default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
            [network]
            network_backend = "cni"
            cni_plugin_dirs = ["\(directory)/plugins", "/usr/lib/cni"]
            network_config_dir = "\(directory)/net.d"
            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            events_logfile_path = "\(directory)/run/events.log"
            runtime = "runc"
            tmp_dir = "\(directory)/tmp"
            """)
        try scratch.write(
            "storage.conf",
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"\(directory)/storage\"\nrunroot = \"\(directory)/run\"\n")
        try scratch.write(
            "net.d/sluice-podman.conflist",
            """
            {"cniVersion":"1.0.0","name":"sluice-podman","plugins":[{"type":"sluice-cni","bridge":"slpod0",
             "isGateway":true,"isDefaultGateway":true,"hairpinMode":true,"capabilities":{"portMappings":true},
             "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.70.0/24"}]],"dataDir":"\(directory)/ipam"}}]}
            """)
        try scratch.installPlugin()
        try scratch.makeBusyboxRootfs()
        // podman leaves conmon running per container. Run through Foundation's `Process`, `podman run -d` was never
        // seen to exit (the test hung with podman a zombie), so podman runs under a plain spawn-and-`waitpid`, its
        // output going to files.
        let podman = { (arguments: [String]) -> ProcessResult in
            let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            let status = spawnShellAndWait(
                "CONTAINERS_CONF=\(directory)/containers.conf CONTAINERS_STORAGE_CONF=\(directory)/storage.conf "
                    + "podman \(quoted.joined(separator: " ")) </dev/null >\(directory)/out 2>\(directory)/err")
            return ProcessResult(
                argv: ["podman"] + arguments, status: status,
                stdout: (try? String(contentsOfFile: "\(directory)/out", encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOfFile: "\(directory)/err", encoding: .utf8)) ?? "")
        }
        defer {
            _ = podman(["rm", "-f", "-t", "0", "-a"])
            _ = podman(["system", "reset", "-f"])
        }
        _ = try runProcess(["tar", "-C", "\(directory)/rootfs", "-cf", "\(directory)/rootfs.tar", "."]).output()
        let imported = podman(["import", "\(directory)/rootfs.tar", "localhost/bb"])
        try #require(imported.succeeded, "\(imported)")

        let server = podman([
            "run", "-d", "--name", "web", "--network", "sluice-podman", "-p", "18080:80", "localhost/bb", "sh", "-c",
            "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www",
        ])
        try #require(server.succeeded, "\(server)")
        let address = try podman(["exec", "web", "ip", "-4", "-o", "address", "show", "eth0"]).output()
        let webIP = try #require(address.split(separator: " ").first { $0.hasPrefix("10.244.70.") }).split(
            separator: "/")[0]

        // busybox-static's wget crashes when a connection fails; nc with a retry loop also waits for httpd to listen.
        let fetch = { (address: String, port: Int) in
            podman([
                "run", "--rm", "--network", "sluice-podman", "localhost/bb", "sh", "-c",
                "for i in $(seq 50); do printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 2 \(address) \(port) "
                    + "&& exit 0; sleep 0.1; done; exit 1",
            ])
        }
        let direct = fetch(String(webIP), 80)
        #expect(direct.stdout.contains("hello-from-web"), "\(direct)")
        // The hostPort, from another container's namespace, through the node's address on the bridge.
        let viaHostPort = fetch("10.244.70.1", 18080)
        #expect(viaHostPort.stdout.contains("hello-from-web"), "\(viaHostPort)")

        #expect(podman(["rm", "-f", "-t", "0", "web"]).succeeded)
        #expect(scratch.storedAddresses(network: "sluice-podman").isEmpty)
        #expect(!(try hostTableComments()).contains { $0.hasPrefix("sluice-podman ") })
    }

    @Test(
        .enabled(
            if: installed("containerd", "ctr", "runc", "busybox", "unshare"),
            "containerd, ctr, runc or busybox not installed (scripts/install-deps.sh installs them)"))
    func containerdRunsAContainerAndReleasesItsAddressOnDelete() throws {
        let scratch = try Scratch(label: "ctr")
        defer { scratch.remove(bridge: "slctr0") }
        let directory = scratch.path
        try scratch.write(
            "net.d/10-sluice.conflist",
            """
            {"cniVersion":"1.0.0","name":"sluice-ctr","plugins":[{"type":"sluice-cni","bridge":"slctr0",
             "isGateway":true,"isDefaultGateway":true,
             "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.71.0/24"}]],"dataDir":"\(directory)/ipam"}}]}
            """)
        try scratch.write(
            "containerd.toml",
            """
            version = 2
            root = "\(directory)/containerd/root"
            state = "\(directory)/containerd/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(directory)/containerd.sock"
            """)
        try scratch.installPlugin()
        try scratch.makeBusyboxRootfs()
        // ctr reads /etc/cni/net.d and /opt/cni/bin only: bind-mount the scratch directories over them in a private
        // mount namespace, so the host's own CNI configuration is never touched.
        let script = """
            set -e
            mkdir -p /etc/cni/net.d /opt/cni/bin
            mount --bind \(directory)/net.d /etc/cni/net.d
            mount --bind \(directory)/plugins /opt/cni/bin
            containerd --config \(directory)/containerd.toml > \(directory)/containerd.log 2>&1 &
            daemon=$!
            trap 'kill $daemon; wait $daemon || true' EXIT
            for i in $(seq 100); do [ -S \(directory)/containerd.sock ] && break; sleep 0.1; done
            ctr -a \(directory)/containerd.sock run --rm --cni --rootfs \(directory)/rootfs sluice-ctr-1 \
                /bin/ip -4 -o address show eth0
            """
        let run = try runProcess(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
        #expect(run.succeeded, "\(run)")
        #expect(run.stdout.contains("10.244.71."), "\(run)")
        // ctr sent DEL with an empty CNI_NETNS after the task exited: the address is released.
        #expect(
            scratch.storedAddresses(network: "sluice-ctr").isEmpty, "\(scratch.storedAddresses(network: "sluice-ctr"))")
    }
}

/// A scratch directory for one runtime test, and its cleanup of host-namespace state.
struct Scratch {
    let path: String

    init(label: String) throws {
        path = NSTemporaryDirectory() + "sluice-\(label)-\(getpid())-\(UInt32.random(in: 0..<0x10000))"
        for sub in ["net.d", "plugins", "storage", "run", "tmp", "rootfs/bin", "ipam"] {
            try FileManager.default.createDirectory(atPath: "\(path)/\(sub)", withIntermediateDirectories: true)
        }
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: "\(path)/\(name)", atomically: true, encoding: .utf8)
    }

    /// Copies the plugin binary into `plugins/` under its CNI type name.
    func installPlugin() throws {
        try FileManager.default.copyItem(atPath: PluginHarness.binary, toPath: "\(path)/plugins/sluice-cni")
    }

    /// An image without a registry: busybox and its applets.
    func makeBusyboxRootfs() throws {
        let busybox = FileManager.default.isExecutableFile(atPath: "/bin/busybox") ? "/bin/busybox" : "/usr/bin/busybox"
        try FileManager.default.copyItem(atPath: busybox, toPath: "\(path)/rootfs/bin/busybox")
        for applet in ["sh", "ip", "nc", "httpd", "sleep", "cat", "mkdir", "echo", "seq", "printf"] {
            try FileManager.default.createSymbolicLink(
                atPath: "\(path)/rootfs/bin/\(applet)", withDestinationPath: "busybox")
        }
    }

    func storedAddresses(network: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(path)/ipam/\(network)")) ?? [])
            .filter { $0.first?.isNumber == true }
    }

    /// Deletes the bridge, the scratch directory, and the plugin's table when nothing else is left in it.
    func remove(bridge: String) {
        _ = try? runProcess(["ip", "link", "delete", bridge])
        if (try? hostTableComments())?.isEmpty == true {
            _ = try? runProcess(["nft", "delete", "table", "inet", "sluice-cni"])
        }
        _ = try? runProcess(["rm", "-rf", path])
    }
}

/// Runs `/bin/sh -c script` and waits for it with `waitpid`; returns its exit status (128 + signal if killed).
///
/// The child starts with no blocked signals, as from a login shell: the test runner blocks some (`SIGCHLD`
/// among them), and a container's processes would otherwise inherit that mask.
func spawnShellAndWait(_ script: String) -> Int32 {
    let words: [String] = ["/bin/sh", "-c", script]
    var arguments: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { arguments.forEach { free($0) } }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var pid = pid_t()
    guard posix_spawn(&pid, "/bin/sh", nil, &attributes, &arguments, environ) == 0 else {
        return -1
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// The element comments of the plugin's table in the host namespace (empty when there is no table).
func hostTableComments() throws -> [String] {
    try elementComments(ofListing: runProcess(["nft", "-j", "list", "table", "inet", "sluice-cni"]))
}
