// swift-tools-version:6.1
import PackageDescription

/// Strict Swift 6 everywhere: the data plane is concurrent (watchers, sync loop,
/// per-thread namespaces) and we want the compiler to prove it race-free.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

let package = Package(
    name: "Sluice",
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluiced", targets: ["sluiced"]),
        .executable(name: "sluice-cni", targets: ["sluice-cni"]),
        .executable(name: "sluice-bench", targets: ["sluice-bench"]),
        .library(name: "KubeAPI", targets: ["KubeAPI"]),
        .library(name: "NFTables", targets: ["NFTables"]),
        .library(name: "NFTablesNetlink", targets: ["NFTablesNetlink"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C modules: only the *Netlink kernel targets may import these.
        .systemLibrary(
            name: "CNftnl",
            pkgConfig: "libnftnl",
            providers: [.apt(["libnftnl-dev"])]
        ),
        .systemLibrary(
            name: "CMnl",
            pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]
        ),
        .systemLibrary(
            name: "CIPVS",
            pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]
        ),
        .systemLibrary(
            name: "CNLRoute",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]
        ),

        // Models (pure).
        .target(
            name: "KubeAPI",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(name: "NFTables", swiftSettings: swiftSettings),

        // Compilers (pure).
        .target(name: "ServiceProxy", dependencies: ["KubeAPI", "NFTables"], swiftSettings: swiftSettings),
        .target(name: "NetworkPolicy", dependencies: ["KubeAPI", "NFTables"], swiftSettings: swiftSettings),
        .target(name: "GatewayRouting", dependencies: ["KubeAPI"], swiftSettings: swiftSettings),
        .target(name: "Overlay", dependencies: ["KubeAPI"], swiftSettings: swiftSettings),
        // The IPVS Service backend's model: virtual services compiled from ServiceProxy's frontends (docs/ipvs.md).
        .target(name: "IPVS", dependencies: ["KubeAPI", "NFTables", "ServiceProxy"], swiftSettings: swiftSettings),

        // Kernel layer.
        .target(
            name: "NFTablesNetlink",
            dependencies: ["NFTables", "CNftnl", "CMnl"],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(name: "CNamespaceCalls"),
        .target(name: "NetNamespace", dependencies: ["CNamespaceCalls"], swiftSettings: swiftSettings),
        .target(name: "LinkNetlink", dependencies: ["CNLRoute"], swiftSettings: swiftSettings),
        .target(name: "IPVSNetlink", dependencies: ["IPVS", "KubeAPI", "CIPVS"], swiftSettings: swiftSettings),

        // The CNI plugin's logic: protocol, configuration, IPAM, and the pod/host wiring (see cni-conf/README.md).
        .target(
            name: "CNIPlugin",
            dependencies: ["LinkNetlink", "NetNamespace", "NFTables", "NFTablesNetlink"],
            swiftSettings: swiftSettings
        ),
        .target(name: "ConntrackNetlink", dependencies: ["CMnl"], swiftSettings: swiftSettings),
        // What the fully static `sluice-cni` needs beyond Debian's archives (libmnl's API, no name service); see its header.
        .target(name: "CNIStaticLink"),

        // The API server's list/watch protocol over HTTPS, decoding into KubeAPI's objects.
        .target(
            name: "KubeClient",
            dependencies: [
                "KubeAPI",
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Agent: sources, reconcile loop, health checks.
        .target(
            name: "SluiceAgent",
            dependencies: [
                "KubeAPI", "NFTables", "NFTablesNetlink", "ServiceProxy", "NetworkPolicy", "ConntrackNetlink",
                "Overlay", "LinkNetlink", "KubeClient", "GatewayRouting", "IPVS", "IPVSNetlink",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The virtual multi-node cluster of `sluice demo` and the multi-node tests.
        .target(
            name: "VirtualCluster", dependencies: ["KubeAPI", "NetworkPolicy", "NetNamespace"],
            swiftSettings: swiftSettings),

        // Executables (thin).
        .executableTarget(
            name: "sluice",
            dependencies: [
                "KubeAPI", "NFTables", "ServiceProxy", "NetworkPolicy", "GatewayRouting", "RoutingWorkload",
                "VirtualCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sluiced",
            dependencies: [
                "SluiceAgent", "KubeAPI", "ServiceProxy", "NetworkPolicy", "NFTablesNetlink", "ConntrackNetlink",
                "Overlay", "GatewayRouting", "IPVS", "IPVSNetlink", "LinkNetlink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runtimes exec the plugin for every pod and call VERSION constantly: a fully static executable starts without
        // the dynamic loader (CNIStaticLink and scripts/cni-ld.sh make that possible; cni-conf/README.md, "Start-up
        // cost").
        .executableTarget(
            name: "sluice-cni",
            dependencies: ["CNIPlugin", "CNIStaticLink"],
            swiftSettings: swiftSettings,
            linkerSettings: [
                .unsafeFlags([
                    "-static-executable", "-Xclang-linker", "--ld-path=\(Context.packageDirectory)/scripts/cni-ld.sh",
                ])
            ]
        ),

        // Benchmarks: process-level, side-by-side runs (see Benchmarks/README.md).
        // The synthetic route workload is shared by `sluice-bench routing` and the hidden `sluice route benchmark`,
        // so both measure the same table.
        .target(
            name: "RoutingWorkload",
            dependencies: ["GatewayRouting", "KubeAPI"],
            path: "Benchmarks/Sources/RoutingWorkload",
            swiftSettings: swiftSettings
        ),
        // Benchmarks: process-level, side-by-side runs (see Benchmarks/README.md). The bench's own C shim starts
        // CNI plugins inside a node namespace (fork, setns, execve) without a wrapper program's exec in every timing.
        .systemLibrary(name: "CBenchSpawn", path: "Benchmarks/Sources/CBenchSpawn"),
        .executableTarget(
            name: "sluice-bench",
            dependencies: [
                "NFTables", "NFTablesNetlink", "NetNamespace", "ServiceProxy", "SluiceAgent", "KubeAPI",
                "NetworkPolicy", "GatewayRouting", "RoutingWorkload", "Overlay", "LinkNetlink", "CBenchSpawn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/Sources/sluice-bench",
            swiftSettings: swiftSettings
        ),

        // Tests.
        // Service and EndpointSlice builders for the tests that compile Services.
        .target(
            name: "ServiceFixtures", dependencies: ["KubeAPI", "ServiceProxy"], path: "Tests/ServiceFixtures",
            swiftSettings: swiftSettings),
        .target(
            name: "SluiceTestSupport",
            dependencies: ["NetNamespace"],
            path: "Tests/SluiceTestSupport",
            swiftSettings: swiftSettings
        ),
        // Runs inside a VM with IPVS (Tests/IPVSKernelTests boots it); also the in-VM half of `sluice-bench ipvs`.
        .executableTarget(
            name: "sluice-ipvs-check",
            dependencies: [
                "IPVS", "IPVSNetlink", "SluiceAgent", "ServiceProxy", "KubeAPI", "NFTables", "NFTablesNetlink",
                "LinkNetlink", "SluiceTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/sluice-ipvs-check",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IPVSKernelTests",
            dependencies: [
                "IPVSNetlink", "SluiceAgent", "SluiceTestSupport", "LinkNetlink", "NFTablesNetlink",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "KubeAPITests", dependencies: ["KubeAPI"], swiftSettings: swiftSettings),
        .testTarget(name: "NFTablesTests", dependencies: ["NFTables"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IPVSTests", dependencies: ["IPVS", "ServiceProxy", "KubeAPI", "NFTables", "ServiceFixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ServiceDatapathTests",
            dependencies: [
                "ServiceProxy", "SluiceAgent", "KubeAPI", "NFTables", "NFTablesNetlink", "ConntrackNetlink",
                "SluiceTestSupport", "ServiceFixtures", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ServiceProxyTests", dependencies: ["ServiceProxy", "KubeAPI", "NFTables", "ServiceFixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "NetworkPolicyTests", dependencies: ["NetworkPolicy", "KubeAPI", "NFTables"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "GatewayRoutingTests", dependencies: ["GatewayRouting", "KubeAPI"], swiftSettings: swiftSettings),
        .testTarget(
            name: "NetworkPolicyDatapathTests",
            dependencies: [
                "NetworkPolicy", "SluiceAgent", "KubeAPI", "NFTables", "NFTablesNetlink", "SluiceTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "NFTablesNetlinkTests",
            dependencies: ["NFTables", "NFTablesNetlink", "SluiceTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetNamespaceTests",
            dependencies: ["NetNamespace", "SluiceTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CNIPluginTests", dependencies: ["CNIPlugin", "LinkNetlink"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CNIRuntimeTests",
            dependencies: [
                "CNIPlugin", "LinkNetlink", "NetNamespace", "SluiceTestSupport", "SluiceAgent", "NetworkPolicy",
                "KubeAPI",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VirtualClusterTests",
            dependencies: ["VirtualCluster", "KubeAPI", "SluiceTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OverlayTests",
            dependencies: [
                "Overlay", "SluiceAgent", "KubeAPI", "LinkNetlink", "SluiceTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubeClientTests",
            dependencies: [
                "KubeClient", "KubeAPI", "SluiceAgent", "ServiceProxy", "SluiceTestSupport", "GatewayRouting",
                "ServiceFixtures",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConntrackNetlinkTests",
            dependencies: ["ConntrackNetlink", "SluiceTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
