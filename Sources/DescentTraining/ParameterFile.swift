import DescentCore
import Foundation

/// A parameter vector saved to disk: the magic `DSCP`, a format version, the float count, then
/// the float32 values little-endian. Written to a temporary file and renamed, so a reader never
/// sees half a file.
public enum ParameterFile {
    static let magic: [UInt8] = Array("DSCP".utf8)
    static let version: UInt32 = 1
    static let headerSize = 16

    public static func write(_ parameters: [Float], to path: String) throws {
        var data = Data(capacity: headerSize + parameters.count * 4)
        data.append(contentsOf: magic)
        withUnsafeBytes(of: version.littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(parameters.count).littleEndian) { data.append(contentsOf: $0) }
        for value in parameters {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        try AtomicFile.write(data, to: path)
    }

    public static func read(from path: String) throws -> [Float] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParameterFileError(path: path, problem: "cannot read the file")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= headerSize, Array(bytes[0..<4]) == magic else {
            throw ParameterFileError(path: path, problem: "not a Descent parameter file (no DSCP magic)")
        }
        let version = readLE(UInt32.self, bytes, at: 4)
        guard version == ParameterFile.version else {
            throw ParameterFileError(path: path, problem: "format version \(version), expected \(ParameterFile.version)")
        }
        let count = Int(readLE(UInt64.self, bytes, at: 8))
        guard bytes.count == headerSize + count * 4 else {
            throw ParameterFileError(path: path, problem: "header promises \(count) floats (\(headerSize + count * 4) bytes) but the file holds \(bytes.count) bytes")
        }
        return (0..<count).map { Float(bitPattern: readLE(UInt32.self, bytes, at: headerSize + $0 * 4)) }
    }

    private static func readLE<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + i]) << (8 * i) }
        return value
    }
}

/// A parameter file that cannot be read, with the path and the problem.
public struct ParameterFileError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "\(path): \(problem)" }
}

extension AtomicFile {
    /// `write(_:to:)` for `Data`.
    public static func write(_ data: Data, to path: String) throws(FileWriteError) {
        try write([UInt8](data), to: path)
    }
}
