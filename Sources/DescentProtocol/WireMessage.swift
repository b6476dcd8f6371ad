import DescentCore

/// A message as its sender means it: one case per meaning, every field named, decoded once at
/// the edge from a `WireHeader` (and its text payload). Float payloads (parameters, gradients)
/// stay where they arrived (a frame or the shared segment); `StepOrder.parameters` and
/// `GradientResult.location` say where.
public enum WireMessage: Sendable, Equatable {
    case hello(Hello)
    case welcome(Welcome)
    case reject(Envelope, reason: String)
    case step(StepOrder)
    case gradient(GradientResult)
    case heartbeat(Envelope)
    case stop(Envelope, reason: String)
    case registerAgain(Envelope)

    /// The run, generation, rank and step a message is addressed in.
    public struct Envelope: Sendable, Equatable {
        public var runID: UInt64
        public var generation: UInt32
        public var rank: UInt32
        public var step: UInt64

        public init(runID: UInt64, generation: UInt32, rank: UInt32 = WireHeader.unassignedRank, step: UInt64 = 0) {
            self.runID = runID
            self.generation = generation
            self.rank = rank
            self.step = step
        }
    }

    public struct Hello: Sendable, Equatable {
        /// The run and generation the worker was in before (0 when new): a rejoin.
        public var runID: UInt64
        public var generation: UInt32
        public var requestedRank: UInt32
        public var configHash: UInt64
        public var processID: UInt64
        public var introduction: WorkerIntroduction

        public init(runID: UInt64, generation: UInt32, requestedRank: UInt32, configHash: UInt64, processID: UInt64,
                    introduction: WorkerIntroduction) {
            self.runID = runID
            self.generation = generation
            self.requestedRank = requestedRank
            self.configHash = configHash
            self.processID = processID
            self.introduction = introduction
        }
    }

    public struct Welcome: Sendable, Equatable {
        public var runID: UInt64
        public var generation: UInt32
        public var rank: Int
        public var settings: RunSettings

        public init(runID: UInt64, generation: UInt32, rank: Int, settings: RunSettings) {
            self.runID = runID
            self.generation = generation
            self.rank = rank
            self.settings = settings
        }
    }

    /// Where floats are: in the message's payload frame, or in the run's shared segment.
    public enum FloatLocation: Sendable, Equatable { case frame, sharedMemory }

    /// One step to compute: its number and round, the global batch, the rate, who takes part.
    public struct StepOrder: Sendable, Equatable {
        public var runID: UInt64
        public var generation: UInt32
        public var step: Int
        public var round: UInt16
        public var batch: Int
        public var rate: Double
        public var participants: UInt64
        public var parameterCount: Int
        public var parameters: FloatLocation
        /// How the parameters travel in a frame (float32 unless the run says bf16; the transport sets it).
        public var encoding: WireEncoding = .float32

        public init(runID: UInt64, generation: UInt32, step: Int, round: UInt16, batch: Int, rate: Double,
                    participants: UInt64, parameterCount: Int, parameters: FloatLocation) {
            self.runID = runID
            self.generation = generation
            self.step = step
            self.round = round
            self.batch = batch
            self.rate = rate
            self.participants = participants
            self.parameterCount = parameterCount
            self.parameters = parameters
        }

        public var header: WireHeader {
            var header = WireHeader.step(runID: runID, generation: generation, step: UInt64(step), round: round,
                                         participants: participants, batchIndex: UInt64(batch), rate: rate,
                                         parameterCount: UInt32(clamping: parameterCount))
            header.encoding = encoding
            return parameters == .sharedMemory ? header.inSharedMemory() : header
        }
    }

    /// A worker's mean gradient of its share of a step. Counts are kept as sent (u64) and
    /// checked, without arithmetic that could trap, by the coordinator.
    public struct GradientResult: Sendable, Equatable {
        public var runID: UInt64
        public var generation: UInt32
        public var rank: UInt32
        public var step: UInt64
        public var round: UInt16
        public var samples: UInt64
        public var lossSum: Double
        public var correct: UInt64
        public var count: Int
        public var location: FloatLocation
        /// How the gradient travels in a frame (float32 unless the run says bf16; the transport sets it).
        public var encoding: WireEncoding = .float32

        public init(runID: UInt64, generation: UInt32, rank: UInt32, step: UInt64, round: UInt16, samples: UInt64,
                    lossSum: Double, correct: UInt64, count: Int, location: FloatLocation) {
            self.runID = runID
            self.generation = generation
            self.rank = rank
            self.step = step
            self.round = round
            self.samples = samples
            self.lossSum = lossSum
            self.correct = correct
            self.count = count
            self.location = location
        }

        public var header: WireHeader {
            var header = WireHeader.gradient(runID: runID, generation: generation, rank: rank, step: step, round: round,
                                             samples: samples, lossSum: lossSum, correct: correct,
                                             parameterCount: UInt32(clamping: count))
            header.encoding = encoding
            return location == .sharedMemory ? header.inSharedMemory() : header
        }
    }
}

extension WireMessage {
    /// Decodes a validated header and, for text types, its payload bytes.
    public static func decode(_ header: WireHeader, text payload: UnsafeRawBufferPointer?) throws(WireError) -> WireMessage {
        let envelope = Envelope(runID: header.runID, generation: header.generation, rank: header.rank, step: header.step)
        func textPayload() throws(WireError) -> UnsafeRawBufferPointer {
            guard let payload else { throw WireError.missingPayload(type: header.type) }
            return payload
        }
        switch header.type {
        case .hello:
            let introduction = try WireText.decodeJSON(WorkerIntroduction.self, from: try textPayload(), in: .hello)
            return .hello(Hello(runID: header.runID, generation: header.generation, requestedRank: header.rank,
                                configHash: header.configHash, processID: header.processID, introduction: introduction))
        case .welcome:
            let settings = try WireText.decodeJSON(RunSettings.self, from: try textPayload(), in: .welcome)
            return .welcome(Welcome(runID: header.runID, generation: header.generation, rank: Int(header.rank), settings: settings))
        case .reject:
            return .reject(envelope, reason: try WireText.decodeText(try textPayload(), in: .reject))
        case .stop:
            return .stop(envelope, reason: try WireText.decodeText(try textPayload(), in: .stop))
        case .heartbeat:
            return .heartbeat(envelope)
        case .registerAgain:
            return .registerAgain(envelope)
        case .step, .stepShared:
            guard header.step <= UInt64(Int.max), header.batchIndex <= UInt64(Int.max) else {
                throw WireError.fieldOutOfRange(type: header.type, field: "step or batch index")
            }
            var order = StepOrder(runID: header.runID, generation: header.generation, step: Int(header.step), round: header.round,
                                  batch: Int(header.batchIndex), rate: header.rate, participants: header.participants,
                                  parameterCount: Int(header.count), parameters: header.type == .step ? .frame : .sharedMemory)
            order.encoding = header.encoding
            return .step(order)
        case .gradient, .gradientShared:
            var result = GradientResult(runID: header.runID, generation: header.generation, rank: header.rank, step: header.step,
                                        round: header.round, samples: header.samples, lossSum: header.lossSum,
                                        correct: header.correct, count: Int(header.count),
                                        location: header.type == .gradient ? .frame : .sharedMemory)
            result.encoding = header.encoding
            return .gradient(result)
        }
    }

    /// The header and text payload that carry this message (float payloads are the sender's).
    public func encoded() throws -> (header: WireHeader, text: [UInt8]?) {
        switch self {
        case .hello(let hello):
            let json = try WireText.encodeJSON(hello.introduction)
            return (WireHeader.hello(runID: hello.runID, generation: hello.generation, rank: hello.requestedRank,
                                     configHash: hello.configHash, processID: hello.processID, jsonByteCount: UInt32(json.count)), json)
        case .welcome(let welcome):
            let json = try WireText.encodeJSON(welcome.settings)
            return (WireHeader.welcome(runID: welcome.runID, generation: welcome.generation, rank: UInt32(welcome.rank),
                                       worldSize: UInt64(welcome.settings.workers), jsonByteCount: UInt32(json.count)), json)
        case let .reject(envelope, reason):
            let text = Array(reason.utf8)
            return (WireHeader.reject(runID: envelope.runID, generation: envelope.generation, reasonByteCount: UInt32(text.count)), text)
        case let .stop(envelope, reason):
            let text = Array(reason.utf8)
            return (WireHeader.stop(runID: envelope.runID, generation: envelope.generation, rank: envelope.rank, step: envelope.step,
                                    reasonByteCount: UInt32(text.count)), text)
        case .heartbeat(let envelope):
            return (WireHeader.heartbeat(runID: envelope.runID, generation: envelope.generation, rank: envelope.rank, step: envelope.step), nil)
        case .registerAgain(let envelope):
            return (WireHeader.registerAgain(runID: envelope.runID, generation: envelope.generation), nil)
        case .step(let order):
            return (order.header, nil)
        case .gradient(let result):
            return (result.header, nil)
        }
    }
}
