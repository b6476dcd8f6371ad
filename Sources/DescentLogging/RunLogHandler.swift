import DescentCore
import Foundation
import Logging

/// How log lines look: for people (the default) or one JSON object per line for machines.
public enum LogFormat: String, Sendable, CaseIterable {
    case human
    case json
}

/// A swift-log handler that writes each record to standard error, whole, as a human line
/// (`2026-12-02T06:40:00.123Z info coordinator: worker joined rank=1`) or as one JSON object
/// with `level`, `time`, `role`, `rank`, `event`, `message` and the metadata.
public struct RunLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let format: LogFormat
    public let role: String
    public let rank: Int?
    private let write: @Sendable (String) -> Void

    public init(format: LogFormat, role: String, rank: Int? = nil, write: @escaping @Sendable (String) -> Void = { Console.writeErrorLine($0) }) {
        self.format = format
        self.role = role
        self.rank = rank
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        write(Self.format(level: event.level, message: event.message.description, metadata: merged, time: Date(),
                          format: format, role: role, rank: rank))
    }

    /// One record as a line (without the newline).
    public static func format(level: Logger.Level, message: String, metadata: Logger.Metadata, time: Date, format: LogFormat,
                              role: String, rank: Int?) -> String {
        let stamp = timestamp(time)
        switch format {
        case .human:
            var line = "\(stamp) \(level) \(role)\(rank.map { " \($0)" } ?? ""): \(message)"
            for key in metadata.keys.sorted() { line += " \(key)=\(metadata[key]!)" }
            return line
        case .json:
            var object: [String: Any] = ["level": level.rawValue, "time": stamp, "role": role, "message": message]
            object["rank"] = rank.map { $0 as Any } ?? NSNull()
            object["event"] = metadata["event"].map { "\($0)" } ?? "message"
            for (key, value) in metadata where key != "event" { object[key] = json(value) }
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
                return "{\"level\":\"error\",\"message\":\"a log record could not be encoded\"}"
            }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Numbers stay numbers in JSON (metadata carries them as strings).
    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): return Double(s).map { $0.isFinite ? $0 as Any : s as Any } ?? s
        case .stringConvertible(let c): return Double(c.description).map { $0.isFinite ? $0 as Any : c.description as Any } ?? c.description
        case .array(let values): return values.map(json)
        case .dictionary(let d): return d.mapValues(json)
        }
    }

    private static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}
