/// Reading and validating a received header, without touching (or copying) the payload.
extension WireHeader {
    /// Checks the number of frames of a message after any routing id: 1 (header) or 2 (header, payload).
    public static func checkFrameCount(_ frameCount: Int) throws(WireError) {
        guard frameCount == 1 || frameCount == 2 else { throw WireError.wrongFrameCount(frameCount) }
    }

    /// Decodes and validates a header frame, and checks it against the payload frame's size
    /// (`payloadByteCount` nil when the message has no payload frame). Checks, in order: size, magic,
    /// version, type, reserved bytes, dtype, unused fields zero, finite rate or loss, payload
    /// presence and size. Only the payload's size is needed, so a received payload is never copied.
    public static func decode(_ bytes: UnsafeRawBufferPointer, payloadByteCount: Int?) throws(WireError) -> WireHeader {
        guard bytes.count == WireHeader.size else { throw WireError.wrongHeaderSize(bytes.count) }
        let magic = bytes.littleEndian(at: WireHeaderLayout.magic, as: UInt32.self)
        guard magic == WireHeader.magic else { throw WireError.badMagic(magic) }
        let version = bytes.littleEndian(at: WireHeaderLayout.version, as: UInt16.self)
        guard version == WireHeader.protocolVersion else { throw WireError.unsupportedVersion(version) }
        let typeNumber = bytes.littleEndian(at: WireHeaderLayout.type, as: UInt16.self)
        guard let type = MessageType(rawValue: typeNumber) else { throw WireError.unknownType(typeNumber) }
        for offset in 0..<WireHeaderLayout.reservedLength where bytes[WireHeaderLayout.reserved + offset] != 0 {
            throw WireError.reservedBytesNotZero
        }
        let dtype = bytes[WireHeaderLayout.dtype]
        let bfloat16 = type.payloadDType == .float32 && dtype == WireDType.bfloat16.rawValue
        guard dtype == type.payloadDType.rawValue || bfloat16 else { throw WireError.wrongDType(type: type, dtype: dtype) }

        var header = WireHeader(
            type: type,
            runID: bytes.littleEndian(at: WireHeaderLayout.runID, as: UInt64.self),
            generation: bytes.littleEndian(at: WireHeaderLayout.generation, as: UInt32.self),
            rank: bytes.littleEndian(at: WireHeaderLayout.rank, as: UInt32.self),
            step: bytes.littleEndian(at: WireHeaderLayout.step, as: UInt64.self),
            count: bytes.littleEndian(at: WireHeaderLayout.count, as: UInt32.self),
            round: bytes.littleEndian(at: WireHeaderLayout.round, as: UInt16.self),
            a: Double(bitPattern: bytes.littleEndian(at: WireHeaderLayout.a, as: UInt64.self)),
            b: bytes.littleEndian(at: WireHeaderLayout.b, as: UInt64.self),
            c: bytes.littleEndian(at: WireHeaderLayout.c, as: UInt64.self)
        )
        if bfloat16 { header.encoding = .bf16 }
        try header.validateFields()
        try header.validatePayload(byteCount: payloadByteCount)
        return header
    }

    /// `decode(_:payloadByteCount:)` for a header held in an array.
    public static func decode(_ bytes: [UInt8], payloadByteCount: Int?) throws(WireError) -> WireHeader {
        let result: Result<WireHeader, WireError> = bytes.withUnsafeBytes { raw in
            Result { () throws(WireError) -> WireHeader in try decode(raw, payloadByteCount: payloadByteCount) }
        }
        return try result.get()
    }

    /// Checks a whole message given as frames (after any routing id): the frame count, then the header
    /// against the payload's size.
    public static func decode(frames: [[UInt8]]) throws(WireError) -> WireHeader {
        try checkFrameCount(frames.count)
        return try decode(frames[0], payloadByteCount: frames.count == 2 ? frames[1].count : nil)
    }

    /// Unused general fields are zero (bit for bit), and the rate or loss is finite.
    func validateFields() throws(WireError) {
        let used = type.usedFields
        if !used.a && a.bitPattern != 0 { throw WireError.unusedFieldNotZero(type: type, field: "a") }
        if !used.b && b != 0 { throw WireError.unusedFieldNotZero(type: type, field: "b") }
        if !used.c && c != 0 { throw WireError.unusedFieldNotZero(type: type, field: "c") }
        if !type.isStep && !type.isGradient && round != 0 { throw WireError.unusedFieldNotZero(type: type, field: "round") }
        if type.isStep && !a.isFinite { throw WireError.nonFiniteRate }
        // A gradient's loss may be NaN or infinite on the wire: that is how a diverged worker
        // says so, and the coordinator decides (it stops the run), not the decoder.
    }

    /// The payload frame is present exactly when the type requires one, and holds `count` elements.
    func validatePayload(byteCount: Int?) throws(WireError) {
        if dtype == .none {
            if let byteCount { throw WireError.unexpectedPayload(type: type, byteCount: byteCount) }
            if count != 0 { throw WireError.payloadSizeMismatch(type: type, count: count, byteCount: 0) }
            return
        }
        if dtype == .sharedFloat32 {
            if let byteCount { throw WireError.unexpectedPayload(type: type, byteCount: byteCount) }
            return
        }
        guard let byteCount else { throw WireError.missingPayload(type: type) }
        guard byteCount == payloadByteCount else {
            if dtype == .bfloat16 { throw WireError.bfloat16PayloadSizeMismatch(type: type, count: count, byteCount: byteCount) }
            throw WireError.payloadSizeMismatch(type: type, count: count, byteCount: byteCount)
        }
    }

    /// Checks that a float payload has one element per model parameter.
    public func checkElementCount(expected parameterCount: Int) throws(WireError) {
        guard Int(count) == parameterCount else {
            throw WireError.elementCountMismatch(type: type, expected: parameterCount, actual: count)
        }
    }
}
