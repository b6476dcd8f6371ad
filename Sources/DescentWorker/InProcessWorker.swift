import DescentData
import DescentProtocol

/// The worker of `descent coordinator --local-worker`: a `WorkerShell` in the coordinator's own
/// process, turned by the coordinator's thread and never waiting. Its control messages travel an
/// `InMemoryNetwork`; its steps and gradients go through the coordinator's shared segment, so
/// nothing is copied. It is a worker like the others in every other way: admitted by the
/// coordinator's machine, dealt its slots, checked.
public final class InProcessWorker {
    public let network = InMemoryNetwork()
    private let shell: WorkerShell

    /// `train`: the training set as loaded (the coordinator's); `options.connect` names nothing
    /// here and is only shown in messages.
    public init(train: LabeledImages, options: WorkerOptions) throws {
        let control = InMemoryWorkerTransport(network: network, peer: .inProcess)
        shell = try WorkerShell(options: options, train: train, transport: SharedMemoryWorkerTransport(control: control, wakesCoordinator: false))
    }

    /// Answers what arrived and computes a published step, without waiting. Throws when the
    /// worker cannot go on (refused, its data differs, stopped by the coordinator).
    public func turn() throws {
        try shell.turn(timeout: 0)
        guard shell.ending != nil else { return }
        try shell.finish()
        throw WorkerError.runFailed(reason: "the coordinator stopped it")
    }
}
