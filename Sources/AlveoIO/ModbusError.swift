import AlveoCore
import CModbus
#if canImport(Glibc)
import Glibc
#endif

/// A Modbus failure as a value: what was being done, with which peer, and why (errno or exception).
package struct ModbusError: Error, CustomStringConvertible, Sendable, Equatable {
    package enum Cause: Sendable, Equatable {
        /// An operating-system error (errno), e.g. ECONNREFUSED, ENOENT, ETIMEDOUT.
        case system(Int32)
        /// The server answered with a Modbus exception (function | 0x80, then this code).
        case exception(UInt8)
        /// A malformed or unexpected reply (bad CRC, wrong unit id, wrong length).
        case protocolViolation(String)
        /// A request Alveo refuses to send (e.g. more than 125 registers).
        case invalidRequest(String)
    }

    package var operation: String
    package var peer: String
    package var cause: Cause

    package init(operation: String, peer: String, cause: Cause) {
        self.operation = operation
        self.peer = peer
        self.cause = cause
    }

    /// Builds the error from libmodbus's errno, read on the thread of the failing call.
    static func fromErrno(_ code: Int32, operation: String, peer: String) -> ModbusError {
        let first = alveo_modbus_emb_first_exception()
        let gatewayTarget = alveo_modbus_emb_gateway_target()
        let cause: Cause
        switch code {
        case first...gatewayTarget:
            cause = .exception(UInt8(code - first + 1))
        case alveo_modbus_emb_bad_crc(): cause = .protocolViolation("bad CRC")
        case alveo_modbus_emb_bad_data(): cause = .protocolViolation("invalid data in the reply")
        case alveo_modbus_emb_bad_exception(): cause = .protocolViolation("invalid exception code")
        case alveo_modbus_emb_unknown_exception(): cause = .protocolViolation("unknown exception")
        case alveo_modbus_emb_too_much_data(): cause = .protocolViolation("too many data")
        case alveo_modbus_emb_bad_slave(): cause = .protocolViolation("reply from another unit id")
        default: cause = .system(code)
        }
        return ModbusError(operation: operation, peer: peer, cause: cause)
    }

    /// The mapping from a libmodbus errno value, for tests.
    package static func fromErrnoForTesting(_ code: Int32) -> ModbusError {
        fromErrno(code, operation: "test", peer: "test")
    }

    /// True when the peer did not answer in time (a silent device, a wrong unit id on RTU).
    package var isTimeout: Bool { cause == .system(ETIMEDOUT) }

    /// True for exception 0x0B: a gateway reports that the device behind it does not answer.
    package var isGatewayTargetLost: Bool { cause == .exception(0x0B) }

    package var description: String {
        "\(peer): \(operation) failed: \(causeText)"
    }

    package var causeText: String {
        switch cause {
        case .system(let code):
            let name = code == ETIMEDOUT ? "no response within the timeout (ETIMEDOUT)" : "\(String(cString: strerror(code))) (errno \(code))"
            return name
        case .exception(let code):
            return "Modbus exception 0x\(Hex.byte(code)) (\(ModbusError.exceptionName(code)))"
        case .protocolViolation(let what): return "protocol error: \(what)"
        case .invalidRequest(let what): return "invalid request: \(what)"
        }
    }

    /// Names from the Modbus application protocol specification.
    package static func exceptionName(_ code: UInt8) -> String {
        switch code {
        case 0x01: "illegal function"
        case 0x02: "illegal data address: the register is not served"
        case 0x03: "illegal data value"
        case 0x04: "server device failure"
        case 0x05: "acknowledge"
        case 0x06: "server device busy"
        case 0x08: "memory parity error"
        case 0x0A: "gateway path unavailable"
        case 0x0B: "gateway target device failed to respond: the device behind the gateway is lost"
        default: "unknown exception"
        }
    }
}
