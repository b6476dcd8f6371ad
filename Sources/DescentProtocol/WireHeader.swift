import DescentCore

#if _endian(big)
#error("Descent's wire format and float payloads assume a little-endian host")
#endif

/// The fixed 64-byte little-endian header that is the first frame of every Descent message.
///
/// Layout (byte offsets): 0 magic "DSNT" u32, 4 version u16, 6 type u16, 8 run id u64,
/// 16 generation u32, 20 rank u32, 24 step u64, 32 element count u32, 36 dtype u8,
/// 37 reserved (0), 38 round u16 (steps and gradients), 40 a f64, 48 b u64, 56 c u64. The meaning of a, b, c depends on the
/// type (see `MessageType`); the named accessors (`rate`, `samples`, ...) read them.
/// The dtype is not stored: it follows from `type` (and, for a step or gradient in a frame, from
/// `encoding`: float32 or bfloat16), is written by `encode` and checked by `decode`.
public struct WireHeader: Equatable, Sendable {
    /// The header's size in bytes.
    public static let size = 64
    /// "DSNT" read as a little-endian u32.
    public static let magic: UInt32 = 0x544E_5344
    /// The protocol version this build writes and accepts (3: the shared segment holds two
    /// parameter buffers, and line 0 names the published step's).
    public static let protocolVersion: UInt16 = 3
    /// The rank of a worker that has none yet.
    public static let unassignedRank: UInt32 = 0xFFFF_FFFF

    public var type: MessageType
    public var runID: UInt64
    public var generation: UInt32
    public var rank: UInt32
    public var step: UInt64
    /// Elements in the payload (float32 values or UTF-8 bytes); 0 without a payload.
    public var count: UInt32
    /// Steps and gradients: how many times the step in flight has been dealt again after a
    /// change of membership (0 first); a gradient echoes its step's round. 0 for other types.
    public var round: UInt16
    /// General field a (f64): the rate of a step, the loss sum of a gradient; otherwise 0.
    public var a: Double
    /// General field b (u64): participants mask, samples, config hash or world size by type; otherwise 0.
    public var b: UInt64
    /// General field c (u64): batch index, correct predictions or process id by type; otherwise 0.
    public var c: UInt64
    /// Steps and gradients in a frame: float32 (dtype 1) or bfloat16 (dtype 4) values. float32
    /// for every other type.
    public var encoding: WireEncoding = .float32

    public init(
        type: MessageType, runID: UInt64, generation: UInt32, rank: UInt32 = WireHeader.unassignedRank,
        step: UInt64 = 0, count: UInt32 = 0, round: UInt16 = 0, a: Double = 0, b: UInt64 = 0, c: UInt64 = 0
    ) {
        self.round = round
        self.type = type
        self.runID = runID
        self.generation = generation
        self.rank = rank
        self.step = step
        self.count = count
        self.a = a
        self.b = b
        self.c = c
    }

    /// The payload's element type, fixed by `type` and, for steps and gradients in frames, `encoding`.
    public var dtype: WireDType {
        type.payloadDType == .float32 && encoding == .bf16 ? .bfloat16 : type.payloadDType
    }
    /// The payload's size in bytes as the header announces it.
    public var payloadByteCount: Int { Int(count) * dtype.elementSize }
}

/// Headers for each message type, with the type-specific fields named.
extension WireHeader {
    public static func hello(
        runID: UInt64 = 0, generation: UInt32 = 0, rank: UInt32 = unassignedRank,
        configHash: UInt64, processID: UInt64, jsonByteCount: UInt32
    ) -> WireHeader {
        WireHeader(type: .hello, runID: runID, generation: generation, rank: rank,
                   count: jsonByteCount, b: configHash, c: processID)
    }

    public static func welcome(runID: UInt64, generation: UInt32, rank: UInt32, worldSize: UInt64, jsonByteCount: UInt32) -> WireHeader {
        WireHeader(type: .welcome, runID: runID, generation: generation, rank: rank, count: jsonByteCount, b: worldSize)
    }

    public static func reject(runID: UInt64, generation: UInt32, reasonByteCount: UInt32) -> WireHeader {
        WireHeader(type: .reject, runID: runID, generation: generation, count: reasonByteCount)
    }

    public static func step(
        runID: UInt64, generation: UInt32, rank: UInt32 = unassignedRank, step: UInt64, round: UInt16 = 0,
        participants: UInt64, batchIndex: UInt64, rate: Double, parameterCount: UInt32
    ) -> WireHeader {
        WireHeader(type: .step, runID: runID, generation: generation, rank: rank, step: step,
                   count: parameterCount, round: round, a: rate, b: participants, c: batchIndex)
    }

    public static func gradient(
        runID: UInt64, generation: UInt32, rank: UInt32, step: UInt64, round: UInt16 = 0,
        samples: UInt64, lossSum: Double, correct: UInt64, parameterCount: UInt32
    ) -> WireHeader {
        WireHeader(type: .gradient, runID: runID, generation: generation, rank: rank, step: step,
                   count: parameterCount, round: round, a: lossSum, b: samples, c: correct)
    }

    public static func heartbeat(runID: UInt64, generation: UInt32, rank: UInt32, step: UInt64 = 0) -> WireHeader {
        WireHeader(type: .heartbeat, runID: runID, generation: generation, rank: rank, step: step)
    }

    public static func stop(runID: UInt64, generation: UInt32, rank: UInt32, step: UInt64 = 0, reasonByteCount: UInt32) -> WireHeader {
        WireHeader(type: .stop, runID: runID, generation: generation, rank: rank, step: step, count: reasonByteCount)
    }

    public static func registerAgain(runID: UInt64, generation: UInt32) -> WireHeader {
        WireHeader(type: .registerAgain, runID: runID, generation: generation)
    }

    /// The same step or gradient header, saying that its floats are in the shared-memory segment.
    public func inSharedMemory() -> WireHeader {
        var header = self
        switch type {
        case .step: header.type = .stepShared
        case .gradient: header.type = .gradientShared
        default: break
        }
        return header
    }

    /// Step: the learning rate (a).
    public var rate: Double { a }
    /// Step: the ranks that take part in it, bit r for rank r (b); see `SlotAssignment`.
    public var participants: UInt64 { b }
    /// Step: the batch index within the epoch (c).
    public var batchIndex: UInt64 { c }
    /// Gradient: the loss summed over the worker's batch (a).
    public var lossSum: Double { a }
    /// Gradient: the samples in the worker's batch (b); 0 with an all-zero payload for an empty share.
    public var samples: UInt64 { b }
    /// Gradient: correct predictions in the worker's batch (c).
    public var correct: UInt64 { c }
    /// Hello: the hash of the worker's config, 0 for none (b).
    public var configHash: UInt64 { b }
    /// Hello: the worker's process id (c).
    public var processID: UInt64 { c }
    /// Welcome: the number of workers in the run (b).
    public var worldSize: UInt64 { b }
}
