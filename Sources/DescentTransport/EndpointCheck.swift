/// Checks a ZeroMQ endpoint given on the command line before libzmq sees it: libzmq takes
/// `tcp://host:99999` and listens on another port (the number modulo 65536).
public enum EndpointCheck {
    /// Whether the endpoint is to be bound (a wildcard port `*` or `0` is allowed) or connected to.
    public enum Use: Sendable { case bind, connect }

    /// Nil when `endpoint` is acceptable, else the problem in words.
    public static func problem(with endpoint: String, use: Use) -> String? {
        guard let schemeEnd = endpoint.range(of: "://") else {
            return "is not a ZeroMQ endpoint"
        }
        let scheme = endpoint[..<schemeEnd.lowerBound], rest = endpoint[schemeEnd.upperBound...]
        switch scheme {
        case "tcp":
            guard let colon = rest.lastIndex(of: ":") else { return "has no port (use tcp://HOST:PORT)" }
            let host = rest[..<colon], port = rest[rest.index(after: colon)...]
            guard !host.isEmpty else { return "has no host (use tcp://0.0.0.0:PORT to listen on every address)" }
            if use == .bind && (port == "*" || port == "0") { return nil }
            guard let number = Int(port), (1...65_535).contains(number) else {
                return use == .bind ? "has port '\(port)'; a port is 1-65535, or * (or 0) for any free port"
                                    : "has port '\(port)'; a port is 1-65535"
            }
            return nil
        case "ipc":
            return rest.isEmpty ? "has no path (use ipc:///PATH)" : nil
        case "inproc":
            return "is in-process only; use tcp:// or ipc://"
        default:
            return "uses transport '\(scheme)'; Descent uses tcp:// and ipc://"
        }
    }

    /// Whether traffic on `endpoint` can leave this machine (tcp), so it needs CURVE or `--insecure`.
    public static func isNetwork(_ endpoint: String) -> Bool { endpoint.hasPrefix("tcp://") }
}
