// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Descent",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "descent", targets: ["DescentCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    ],
    targets: [
        // C libraries, wrapped as system-library targets.
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // oneDNN ships no pkg-config file on Debian; the module map links -ldnnl.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Atomics and futexes on words shared between processes (header-only).
        .systemLibrary(name: "CLinuxSync"),

        // The element-wise passes around the matrix products (C, one version per vector width).
        .target(name: "DescentKernels"),

        // Shared utilities: seeded randomness, strict config decoding, error text.
        .target(name: "DescentCore"),
        // MNIST: IDX files, gzip, checksummed download (SHA-256 from swift-crypto).
        .target(name: "DescentData", dependencies: ["DescentCore", "DescentKernels", "CZlib", .product(name: "Crypto", package: "swift-crypto")]),
        // The MLP, its contiguous parameter buffer, forward/backward through OpenBLAS or oneDNN, SGD.
        .target(name: "DescentModel", dependencies: ["DescentCore", "DescentKernels", "COpenBLAS", "CDNNL"]),
        // Learning-rate schedules as pure functions of the global step.
        .target(name: "DescentSchedules", dependencies: ["DescentCore"]),
        // The YAML run configuration.
        .target(name: "DescentConfig", dependencies: ["DescentCore", "DescentSchedules", "Yams"]),
        // Epoch plans, batches, the single-process trainer, evaluation, traces.
        .target(name: "DescentTraining", dependencies: ["DescentCore", "DescentData", "DescentModel", "DescentSchedules", "DescentConfig"]),
        // A small Swift wrapper of libzmq's C API.
        .target(name: "DescentTransport", dependencies: ["DescentCore", "CZeroMQ", "CLinuxSync"]),
        // The wire format and the coordinator/worker state machines (no I/O).
        .target(name: "DescentProtocol", dependencies: ["DescentCore", "DescentKernels"]),
        // The coordinator process: sockets and clocks around the protocol state machine.
        .target(name: "DescentCoordinator", dependencies: ["DescentProtocol", "DescentTransport", "DescentTraining", "DescentKernels"]),
        // The worker process.
        .target(name: "DescentWorker", dependencies: ["DescentProtocol", "DescentTransport", "DescentTraining"]),
        // Starts a group of child processes, prefixes their output, forwards signals, reports exit codes.
        .target(name: "DescentLaunch", dependencies: ["DescentCore", "CLinuxSync"]),
        // What a person sees of a run: the live progress line on a terminal.
        .target(name: "DescentProgress", dependencies: ["DescentCore", "DescentTraining", "DescentLaunch"]),
        // Prometheus metrics of a run (swift-metrics + swift-prometheus), served over HTTP.
        .target(name: "DescentMetrics", dependencies: [
            "DescentTraining",
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // TensorBoard event files: TFRecord framing and the Event/Summary protobufs.
        .target(name: "DescentTensorBoard", dependencies: [
            "DescentTraining", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["Protos"]),
        // Structured logs of a run through swift-log: human lines or one JSON object per line.
        .target(name: "DescentLogging", dependencies: ["DescentTraining", .product(name: "Logging", package: "swift-log")]),
        // The run directory (config copy, events file) and the HTML report drawn from it.
        .target(name: "DescentReport", dependencies: ["DescentCore", "DescentConfig", "DescentSchedules", "DescentTraining"]),
        // `descent experiment`: a matrix of runs (schedules x workers x sync modes x seeds) and its results table.
        .target(name: "DescentExperiment", dependencies: ["DescentCore", "DescentConfig", "DescentLaunch", "DescentReport", "Yams"]),
        // Hosts in Linux network namespaces with links shaped by tc, for tests and `bench network`.
        .target(name: "DescentNetworkLab"),
        // The `descent` command.
        .executableTarget(name: "DescentCLI", dependencies: [
            "DescentCoordinator", "DescentWorker", "DescentTraining", "DescentLaunch", "DescentNetworkLab",
            "DescentProgress", "DescentMetrics", "DescentTensorBoard", "DescentLogging", "DescentReport",
            "DescentExperiment",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Fuzz targets (libFuzzer; see scripts/fuzz). A plain build makes corpus replayers of them.
        .target(name: "FuzzReplay", path: "Fuzz/FuzzReplay"),
        .executableTarget(name: "FuzzWire", dependencies: ["DescentProtocol", "FuzzReplay"], path: "Fuzz/FuzzWire"),
        .executableTarget(name: "FuzzConfig", dependencies: ["DescentConfig", "FuzzReplay"], path: "Fuzz/FuzzConfig"),
        .executableTarget(name: "FuzzIDX", dependencies: ["DescentData", "FuzzReplay"], path: "Fuzz/FuzzIDX"),
        .executableTarget(name: "FuzzCheckpoint", dependencies: ["DescentTraining", "DescentData", "FuzzReplay"], path: "Fuzz/FuzzCheckpoint"),

        .testTarget(name: "DescentCoreTests", dependencies: ["DescentCore"]),
        .testTarget(name: "DescentDataTests", dependencies: ["DescentData"]),
        .testTarget(name: "DescentModelTests", dependencies: ["DescentModel"]),
        .testTarget(name: "DescentSchedulesTests", dependencies: ["DescentSchedules", "DescentConfig"], exclude: ["Fixtures"]),
        .testTarget(name: "DescentConfigTests", dependencies: ["DescentConfig"]),
        .testTarget(name: "DescentTrainingTests", dependencies: ["DescentTraining", "DescentData"]),
        .testTarget(name: "DescentTransportTests", dependencies: ["DescentTransport"]),
        .testTarget(name: "DescentProtocolTests", dependencies: ["DescentProtocol"]),
        .testTarget(name: "DescentLaunchTests", dependencies: ["DescentLaunch"]),
        .testTarget(name: "DescentObserveTests", dependencies: [
            "DescentProgress", "DescentMetrics", "DescentTensorBoard", "DescentLogging", "DescentReport", "DescentTraining",
        ]),
        .testTarget(name: "DescentExperimentTests", dependencies: ["DescentExperiment", "DescentConfig", "DescentReport", "Yams"]),
        .testTarget(name: "DescentShellTests", dependencies: ["DescentCoordinator", "DescentWorker", "DescentTraining"]),
        .testTarget(name: "DescentSystemTests", dependencies: [
            "DescentCLI", "DescentTraining", "DescentProtocol", "DescentTransport", "DescentNetworkLab", "DescentReport", "DescentMetrics",
            "DescentConfig", "DescentData", "DescentKernels", "DescentModel",
            .product(name: "Yams", package: "Yams"),  // reads the Kubernetes manifests
        ]),
    ]
)
