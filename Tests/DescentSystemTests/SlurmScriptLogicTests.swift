import Foundation
import Testing

/// Deploy/slurm/descent.sbatch's logic where the real cluster test cannot reach yet: a `descent`
/// whose `coordinator --help` lists issue 5's checkpoint flags (--checkpoint-dir, --resume DIR,
/// --auto-resume), which the binary this branch builds lacks. The script runs as bash with Slurm's environment set by hand and stand-ins
/// for srun, scontrol, squeue and scancel on PATH that record what they were asked and run the
/// tasks here; the stand-in `descent` records its arguments and waits for SIGTERM like the real one.
@Suite(.serialized) struct SlurmScriptLogicTests {
    struct Sandbox {
        let root: String
        var log: String { root + "/calls.log" }

        /// `help`: the checkpoint flags the stand-in's `coordinator --help` lists.
        init(help: String) throws {
            root = try Paths.temporaryDirectory("sbatch-logic")
            try FileManager.default.createDirectory(atPath: "\(root)/bin", withIntermediateDirectories: true)
            try "training:\n  epochs: 1\n".write(toFile: "\(root)/run.yaml", atomically: true, encoding: .utf8)
            let log = self.log
            try script("srun", """
                # Stand-in srun: records the call, runs the command once per task with SLURM_PROCID.
                echo "srun $*" >> \(log)
                tasks=1
                for a in "$@"; do case "$a" in --ntasks=*) tasks=${a#--ntasks=} ;; esac; done
                while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
                pids=""
                i=0; while [ $i -lt $tasks ]; do SLURM_PROCID=$i "$@" & pids="$pids $!"; i=$((i + 1)); done
                status=0; for p in $pids; do wait $p || status=$?; done
                exit $status
                """)
            try script("scontrol", """
                echo "scontrol $*" >> \(log)
                [ "$1 $2" = "show hostnames" ] && printf 'node1\\nnode2\\n'
                exit 0
                """)
            try script("squeue", #"echo "$SLURM_JOB_ID.0 descent-coordinator""#)
            try script("scancel", """
                echo "scancel $*" >> \(log)
                kill -TERM "$(cat \(root)/coordinator.pid)"
                """)
            try script("descent", """
                # Stand-in descent: the real flags plus issue 5's checkpoint flags.
                if [ "$2" = --help ]; then echo "USAGE: descent coordinator --workers <n> \(help)"; exit 0; fi
                if [ "$1" = coordinator ]; then
                    echo $$ > \(root)/coordinator.pid
                    echo "descent $*" >> \(log)
                    trap 'echo "Error: interrupted"; exit 1' TERM
                    while :; do sleep 0.1; done
                fi
                echo "descent $*" >> \(log)
                exit 0
                """)
        }

        func script(_ name: String, _ body: String) throws {
            try writeExecutable("#!/bin/bash\n\(body)\n", to: "\(root)/bin/\(name)")
        }

        /// Starts the batch script as Slurm would (job 77, 3 tasks on node1 and node2).
        func start(restarts: Int) throws -> SpawnedScript {
            let environment = [
                "PATH=\(root)/bin:/usr/bin:/bin", "SLURM_JOB_ID=77", "SLURM_NTASKS=3", "SLURM_JOB_NODELIST=node[1-2]",
                "SLURM_SUBMIT_DIR=\(root)", "SLURM_RESTART_COUNT=\(restarts)", "DESCENT=\(root)/bin/descent",
            ]
            let script = Paths.packageRoot.appendingPathComponent("Deploy/slurm/descent.sbatch").path
            return try SpawnedScript(["-i"] + environment + ["bash", script, "\(root)/run.yaml"], outputPath: "\(root)/job.out")
        }

        var calls: [String] { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

        /// Ends a stand-in coordinator still waiting (when a check failed before it was stopped).
        func stopStandIns() {
            if let text = try? String(contentsOfFile: "\(root)/coordinator.pid", encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
            }
            if ProcessInfo.processInfo.environment["KEEP_SANDBOX"] == nil { try? FileManager.default.removeItem(atPath: root) }
        }

        func waitForCoordinator() -> Bool {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if calls.contains(where: { $0.hasPrefix("descent coordinator") }) && calls.filter({ $0.hasPrefix("descent worker") }).count == 2 {
                    return true
                }
                usleep(50_000)
            }
            return false
        }
    }

    @Test func withCheckpointFlagsTheTimeLimitSignalStopsTheRunAndRequeuesTheJob() throws {
        let box = try Sandbox(help: "[--checkpoint-dir <dir>] [--resume <dir>] [--auto-resume]")
        let job = try box.start(restarts: 0)
        defer { box.stopStandIns() }
        #expect(box.waitForCoordinator(), "\(box.calls)\n\(job.output)")
        kill(job.pid, SIGUSR1)
        #expect(job.wait(seconds: 20) == 0, "\(job.output)")

        let runDir = "\(box.root)/runs/slurm-77"
        let coordinator = try #require(box.calls.first { $0.hasPrefix("descent coordinator") })
        // Port 20000 + 77; 2 workers; checkpoints in the run directory, resumed by the binary when there.
        #expect(coordinator.contains("--bind tcp://0.0.0.0:20077 --workers 2"), "\(coordinator)")
        #expect(coordinator.hasSuffix("--checkpoint-dir \(runDir)/checkpoints --auto-resume"), "\(coordinator)")
        let workers = box.calls.filter { $0.hasPrefix("descent worker") }.sorted()
        #expect(workers == [0, 1].map { "descent worker --connect tcp://node1:20077 --config \(box.root)/run.yaml --rank \($0)" }, "\(workers)")
        // The coordinator on the first node, one task; the workers on the other two tasks.
        #expect(box.calls.contains { $0.hasPrefix("srun --exact --nodes=1 --ntasks=1 --nodelist=node1 --job-name=descent-coordinator") })
        #expect(box.calls.contains { $0.hasPrefix("srun --exact --ntasks=2 --label --job-name=descent-workers") })
        // The signal went to the coordinator's step, then the job was requeued to resume.
        #expect(box.calls.contains("scancel --signal=TERM 77.0"), "\(box.calls)")
        #expect(box.calls.last == "scontrol requeue 77", "\(box.calls)")
        #expect(job.output.contains("descent.sbatch: requeueing job 77: it resumes from the checkpoint in \(runDir)/checkpoints"), "\(job.output)")
    }

    /// A binary with --resume DIR but no --auto-resume: the script decides, from the directory.
    @Test func aRestartWithACheckpointResumes() throws {
        let box = try Sandbox(help: "[--checkpoint-dir <dir>] [--resume <dir>]")
        let checkpoints = "\(box.root)/runs/slurm-77/checkpoints"
        try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
        try "step".write(toFile: "\(checkpoints)/latest", atomically: true, encoding: .utf8)
        let job = try box.start(restarts: 1)
        defer { box.stopStandIns() }
        #expect(box.waitForCoordinator(), "\(box.calls)")
        kill(job.pid, SIGTERM)
        // SIGTERM (scancel, pre-emption): stopped, not requeued by the script (Slurm does that).
        #expect(job.wait(seconds: 20) == 143, "\(job.output)")
        let coordinator = try #require(box.calls.first { $0.hasPrefix("descent coordinator") })
        #expect(coordinator.hasSuffix("--checkpoint-dir \(checkpoints) --resume \(checkpoints)"), "\(coordinator)")
        #expect(job.output.contains("(start 2)"))
        #expect(!box.calls.contains { $0.hasPrefix("scontrol requeue") })
    }
}
