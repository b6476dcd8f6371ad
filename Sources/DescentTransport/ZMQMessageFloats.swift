import CZeroMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A payload whose byte count does not match the number of float32 values asked for.
public struct ZMQFloatPayloadError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The payload's size in bytes.
    public let byteCount: Int
    /// How many float32 values the caller expected.
    public let floatCount: Int

    public var description: String {
        "payload of \(byteCount) bytes does not hold exactly \(floatCount) float32 values (\(floatCount * 4) bytes)"
    }
}

/// Reading and writing frames as float32 values (host byte order; Descent runs on little-endian hosts).
extension ZMQMessage {
    /// A frame holding a copy of `floats`.
    public convenience init(copyingFloats floats: UnsafeBufferPointer<Float>) throws(ZMQError) {
        try self.init(copying: UnsafeRawBufferPointer(floats))
    }

    /// Copies the payload into `destination`, whatever the alignment of the frame's data (libzmq may
    /// hand back received data at any address). Throws unless the frame is exactly `destination.count * 4` bytes.
    public func copyFloats(into destination: UnsafeMutableBufferPointer<Float>) throws(ZMQFloatPayloadError) {
        try withUnsafeBytes { (bytes) throws(ZMQFloatPayloadError) in
            try ZMQMessage.copyFloats(from: bytes, into: destination)
        }
    }

    /// Calls `body` with the payload viewed in place as floats when the data is 4-byte aligned and a
    /// whole number of floats; returns nil (without calling `body`) otherwise — then use `copyFloats`.
    public func withFloatsIfAligned<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R? {
        try withUnsafeBytes { (bytes) throws(E) -> R? in try ZMQMessage.withFloatsIfAligned(bytes, body) }
    }

    static func copyFloats(from bytes: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>) throws(ZMQFloatPayloadError) {
        guard bytes.count == destination.count * MemoryLayout<Float>.stride else {
            throw ZMQFloatPayloadError(byteCount: bytes.count, floatCount: destination.count)
        }
        guard bytes.count > 0, let source = bytes.baseAddress, let target = destination.baseAddress else { return }
        memcpy(target, source, bytes.count)
    }

    static func withFloatsIfAligned<R, E: Error>(
        _ bytes: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R? {
        let stride = MemoryLayout<Float>.stride
        guard bytes.count % stride == 0 else { return nil }
        guard let data = bytes.baseAddress else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        guard Int(bitPattern: data) % MemoryLayout<Float>.alignment == 0 else { return nil }
        let floats = data.assumingMemoryBound(to: Float.self)
        return try body(UnsafeBufferPointer(start: floats, count: bytes.count / stride))
    }
}
