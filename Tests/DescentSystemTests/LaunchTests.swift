import Foundation
import Testing

extension SystemTests {
    /// The reference config, trained on the real 5,000-image sample and tested on the real 10k
    /// test set: one process, then `descent launch` with 2 workers on the same global batch.
    @Test(.enabled(if: Paths.mnistSample != nil, "needs the real MNIST sample at ../shared/data/mnist-sample (or $DESCENT_MNIST_SAMPLE); skipped"))
    func launchWithTwoWorkersReachesTheAccuracyOfOneProcessOnRealDigits() throws {
        let sample = try #require(Paths.mnistSample)
        let dir = try Paths.temporaryDirectory("real")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Paths.packageRoot.appendingPathComponent("Config/mnist-seed.yaml").path

        let train = try Child("train", ["train", "--config", config, "--data", sample], directory: dir)
        #expect(train.wait(seconds: 300) == 0, "\(train.stderr)")
        let launch = try Child("launch", ["launch", "--config", config, "--data", sample, "--workers", "2"], directory: dir)
        #expect(launch.wait(seconds: 600) == 0, "\(launch.stderr)")

        // Keras/TensorFlow reaches 0.932 on this data; the issue asks for >= 0.92.
        let single = try #require(testAccuracy(train.stdout), "\(train.stdout)")
        let parallel = try #require(testAccuracy(launch.stdout), "\(launch.stdout)")
        #expect(single >= 0.92)
        #expect(abs(single - parallel) <= 0.005, "one process \(single), two workers \(parallel)")

        // The reference program's lines: the rate at each epoch start, the end summary.
        #expect(train.stdout.contains("Epoch 01: learning rate = 0.10000\n"))
        #expect(train.stdout.contains("Epoch 15: learning rate = 0.09216\n"))  // 0.1 * 0.96^2 at step 2198
        // 5,000 samples / 32 = 157 steps an epoch; 2355 steps; floor(2355 / 1000) = 2.
        #expect(train.stdout.contains("Current learning rate: \(Double(Float(Double(Float(0.1)) * pow(Double(Float(0.96)), 2))))\n"))
        // Every line of launch's output carries its process's role (and rank).
        for line in launch.stdout.split(separator: "\n") {
            #expect(line.hasPrefix("[coordinator] ") || line.hasPrefix("[worker 0] ") || line.hasPrefix("[worker 1] "), "\(line)")
        }
        #expect(launch.stdout.contains("[coordinator] Epoch 01: learning rate = 0.10000"))
    }

    @Test func launchForwardsAnInterruptToEveryProcessAndFails() throws {
        let dir = try Paths.temporaryDirectory("interrupt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 2000, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1000\n", in: dir)
        let launch = try Child("launch", ["launch", "--config", config, "--workers", "2"], directory: dir)
        defer { launch.stop() }
        #expect(launch.waitFor("Epoch 01: learning rate", seconds: 60), "\(launch.stdout)\n\(launch.stderr)")
        kill(launch.process.processIdentifier, SIGINT)
        #expect(launch.wait(seconds: 30) == 130)
        let err = launch.stderr
        #expect(err.contains("[coordinator] Error: interrupted"), "\(err)")
        #expect(err.contains("[worker 0]") && err.contains("[worker 1]"), "\(err)")
        // Without --local-worker the coordinator shares the CPUs with the workers: they sleep for their steps.
        #expect(launch.stdout.contains("Worker rank 1 of 2 joined") && !launch.stdout.contains("spinning"), "\(launch.stdout)")
    }

    @Test func launchFailsWithTheStatusOfAFailingProcess() throws {
        let dir = try Paths.temporaryDirectory("failing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticMNIST.write(to: dir, train: 2000, test: 10)
        let config = try writeConfig("data:\n  dir: \(dir)\ntraining:\n  epochs: 1000\n", in: dir)
        // The injected exit is `_exit(70)` at step 5 (WorkerShell); nothing restarts the worker.
        let launch = try Child("launch", ["launch", "--config", config, "--workers", "1", "--worker-fault", "0=exit:step=5"], directory: dir)
        #expect(launch.wait(seconds: 120) == 70, "\(launch.stderr)")
        #expect(launch.stderr.contains("[launch] worker 0 exited with status 70"), "\(launch.stderr)")
    }

    /// Missing data is fetched by launch itself, once, before any process starts: offline that is
    /// one error and no processes (each process used to fetch, and print the same error). The
    /// mirror is an empty directory named by `$DESCENT_MNIST_MIRROR`, so no test ever downloads.
    @Test func launchFetchesMissingDataOnceBeforeItStartsAnyProcess() throws {
        let dir = try Paths.temporaryDirectory("prefetch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/empty-mirror", withIntermediateDirectories: true)
        let config = try writeConfig("data:\n  dir: \(dir)/mnist\n", in: dir)
        let launch = try Child("launch", ["launch", "--config", config, "--workers", "2"], directory: dir,
                               environment: ["DESCENT_MNIST_MIRROR": "\(dir)/empty-mirror"])
        #expect(launch.wait(seconds: 60) != 0)
        let output = launch.stdout + launch.stderr
        #expect(output.components(separatedBy: "could not fetch train-images-idx3-ubyte.gz").count == 2, "\(output)")
        #expect(output.contains("file://\(dir)/empty-mirror/train-images-idx3-ubyte.gz"), "\(output)")
        #expect(!output.contains("[coordinator]") && !output.contains("[worker"), "\(output)")

        // A mirror that is not one is named, with what to give instead.
        let bad = try Child("launch-bad-mirror", ["launch", "--config", config, "--workers", "2"], directory: dir,
                            environment: ["DESCENT_MNIST_MIRROR": "ftp://mirror.example/mnist/"])
        #expect(bad.wait(seconds: 60) != 0)
        #expect(bad.stderr.contains("$DESCENT_MNIST_MIRROR: 'ftp://mirror.example/mnist/' is not an http, https or file URL"), "\(bad.stderr)")
    }
}

/// The test accuracy from a run's end summary (`Test loss: 0.2269 - test accuracy: 0.9343`).
func testAccuracy(_ output: String) -> Double? {
    guard let line = output.split(separator: "\n").last(where: { $0.contains("Test loss:") }),
          let value = line.split(separator: " ").last else { return nil }
    return Double(value)
}
