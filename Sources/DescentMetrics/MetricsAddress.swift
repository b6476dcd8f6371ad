/// `HOST:PORT` where `/metrics` is served: `127.0.0.1:9464`, `0.0.0.0:9464`, `localhost:9464`,
/// `[::1]:9464`; port 0 takes a free one.
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, with a message naming what is wrong and what to write instead.
    public init(parsing text: String) throws(MetricsAddressError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw MetricsAddressError(text: text, problem: "an IPv6 host goes in brackets followed by :PORT, e.g. [::1]:9464")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw MetricsAddressError(text: text, problem: "it has no port; write HOST:PORT, e.g. 127.0.0.1:9464")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw MetricsAddressError(text: text, problem: "put an IPv6 host in brackets, e.g. [::1]:9464")
            }
        }
        guard !host.isEmpty else {
            throw MetricsAddressError(text: text, problem: "it has no host; use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)")
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw MetricsAddressError(text: text, problem: "the port '\(portText)' is not a number from 0 to 65535")
        }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A `--metrics-address` that cannot be used.
public struct MetricsAddressError: Error, CustomStringConvertible, Equatable {
    public var text: String
    public var problem: String
    public var description: String { "--metrics-address '\(text)': \(problem)" }
}
