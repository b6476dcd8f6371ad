import DescentMetrics
import Testing

@Suite struct MetricsAddressTests {
    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("localhost:65535", "localhost", 65535),
        ("[::1]:9100", "::1", 9100),
    ])
    func parsesHostAndPort(text: String, host: String, port: Int) throws {
        let address = try MetricsAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test(arguments: [
        ("127.0.0.1", "no port"),
        ("127.0.0.1:65536", "from 0 to 65535"),
        ("127.0.0.1:-1", "from 0 to 65535"),
        ("127.0.0.1:http", "'http' is not a number"),
        (":9464", "no host"),
        ("::1:9464", "brackets"),
        ("[::1]9464", "brackets"),
    ])
    func refusesBadAddressesSayingWhy(text: String, expected: String) {
        #expect {
            _ = try MetricsAddress(parsing: text)
        } throws: { error in
            "\(error)".contains(expected) && "\(error)".contains(text)
        }
    }
}
