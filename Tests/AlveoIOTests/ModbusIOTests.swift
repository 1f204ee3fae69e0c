import AlveoIO
import CModbus
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// libmodbus client against libmodbus server, in process, and the mapping of libmodbus errors.
@Suite struct ModbusIOTests {
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, length) }
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func clientReadsWhatTheServerServesAndGetsTypedExceptions() throws {
        let port = Self.freePort()
        let server = try ModbusServer(endpoint: .tcp(host: "127.0.0.1", port: port), unitID: 1, registers: 16)
        server.set(.input, address: 0, [1, 1, 0, 42, 97, 72, 400, 450, 220, 50, 140, 280])
        server.set(.holding, address: 2, [0x0000, 0x4220])
        try server.start()

        let client = try ModbusConnection(endpoint: .tcp(host: "127.0.0.1", port: port), unitID: 1)
        try client.connect()
        #expect(try client.read(.input, address: 4, count: 4) == [97, 72, 400, 450])
        #expect(try client.read(.holding, address: 2, count: 2) == [0x0000, 0x4220])
        #expect {
            try client.read(.input, address: 14, count: 4)  // past the 16 registers served
        } throws: { error in
            guard let error = error as? ModbusError else { return false }
            return error.cause == .exception(0x02) && "\(error)".contains("illegal data address")
                && "\(error)".contains("at 14 from unit 1")
        }
        #expect(throws: ModbusError.self) { try client.read(.input, address: 0, count: 126) }
    }

    @Test func connectionRefusedIsASystemError() throws {
        let client = try ModbusConnection(endpoint: .tcp(host: "127.0.0.1", port: Self.freePort()), unitID: 1)
        #expect {
            try client.connect()
        } throws: { error in
            (error as? ModbusError)?.cause == .system(ECONNREFUSED)
        }
    }

    @Test func libmodbusErrnoValuesMapToCauses() {
        let gateway = ModbusError.fromErrnoForTesting(alveo_modbus_emb_gateway_target())
        #expect(gateway.cause == .exception(0x0B))
        #expect(gateway.isGatewayTargetLost)
        #expect(gateway.causeText.contains("device behind the gateway is lost"))
        #expect(ModbusError.fromErrnoForTesting(alveo_modbus_emb_first_exception()).cause == .exception(0x01))
        #expect(ModbusError.fromErrnoForTesting(alveo_modbus_emb_bad_crc()).cause == .protocolViolation("bad CRC"))
        #expect(ModbusError.fromErrnoForTesting(ETIMEDOUT).isTimeout)
        #expect(ModbusError.fromErrnoForTesting(ENOENT).causeText.contains("No such file or directory"))
    }

    @Test func unitIDOutOfRangeIsRefused() {
        #expect(throws: ModbusError.self) { try ModbusConnection(endpoint: .tcp(host: "127.0.0.1", port: 502), unitID: 300) }
        #expect(ModbusConnectionTestHooks.resolve("localhost") == "127.0.0.1")
    }
}
