import CModbus
import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A Modbus server over libmodbus (TCP or RTU), serving input and holding registers that another
/// thread updates: the device side of `alveo simulate`. The libmodbus context is created, used and
/// freed on the server's own thread; the register mapping is shared under `lock`.
/// (@unchecked: `modbus_reply` needs the context and the mapping together, which Mutex's region
/// checking cannot express; every access to `mapping` is under `lock`.)
package final class ModbusServer: @unchecked Sendable {
    package let endpoint: ModbusEndpoint
    package let unitID: Int
    private let mapping: UnsafeMutablePointer<modbus_mapping_t>
    private let lock = NSLock()
    private let registerCount: Int

    /// Allocates `registers` input and holding registers, all zero (`modbus_mapping_new`).
    package init(endpoint: ModbusEndpoint, unitID: Int, registers: Int = 64) throws(ModbusError) {
        self.endpoint = endpoint
        self.unitID = unitID
        self.registerCount = registers
        guard let allocated = modbus_mapping_new(0, 0, Int32(clamping: registers), Int32(clamping: registers)) else {
            throw ModbusError.fromErrno(alveo_errno(), operation: "allocate registers", peer: endpoint.description)
        }
        mapping = allocated
    }

    deinit {
        modbus_mapping_free(mapping)
    }

    /// Sets registers from `address` on; values beyond the mapping are ignored.
    package func set(_ table: RegisterFunction, address: Int, _ values: [UInt16]) {
        lock.withLock {
            let base = table == .input ? mapping.pointee.tab_input_registers : mapping.pointee.tab_registers
            guard let base else { return }
            for (offset, value) in values.enumerated() where address + offset < registerCount {
                base[address + offset] = value
            }
        }
    }

    /// Starts serving on a new thread and returns once the server listens (TCP) or has opened its
    /// serial device (RTU). Serves until the process exits.
    package func start() throws(ModbusError) {
        let ready = DispatchSemaphore(value: 0)
        let outcome = Mutex<ModbusError?>(nil)
        let thread = Thread { [self] in
            serve { error in
                outcome.withLock { $0 = error }
                ready.signal()
            }
        }
        thread.name = "alveo-sim-\(endpoint)"
        thread.start()
        ready.wait()
        if let error = outcome.withLock({ $0 }) { throw error }
    }

    private func serve(started: (ModbusError?) -> Void) {
        let peer = endpoint.description
        let context: OpaquePointer?
        switch endpoint {
        case .tcp(let host, let port): context = modbus_new_tcp(host, Int32(clamping: port))
        case .rtu(let path, let baud, let parity, let dataBits, let stopBits):
            context = modbus_new_rtu(path, Int32(clamping: baud), parity.libmodbusCode, Int32(clamping: dataBits), Int32(clamping: stopBits))
        }
        guard let context else {
            started(ModbusError.fromErrno(alveo_errno(), operation: "create server context", peer: peer))
            return
        }
        defer { modbus_free(context) }
        modbus_set_slave(context, Int32(clamping: unitID))
        var query = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))

        func answer(_ length: Int32) {
            lock.withLock {
                _ = query.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, length, mapping) }
            }
        }

        switch endpoint {
        case .tcp:
            var listener = modbus_tcp_listen(context, 1)
            guard listener >= 0 else {
                started(ModbusError.fromErrno(alveo_errno(), operation: "listen", peer: peer))
                return
            }
            started(nil)
            while true {
                let client = modbus_tcp_accept(context, &listener)
                guard client >= 0 else { continue }
                while true {
                    let length = query.withUnsafeMutableBufferPointer { modbus_receive(context, $0.baseAddress) }
                    if length > 0 { answer(length) } else if length < 0 { break }
                }
                close(client)
            }
        case .rtu:
            guard modbus_connect(context) == 0 else {
                started(ModbusError.fromErrno(alveo_errno(), operation: "open serial device", peer: peer))
                return
            }
            started(nil)
            while true {
                let length = query.withUnsafeMutableBufferPointer { modbus_receive(context, $0.baseAddress) }
                // Requests for other unit ids return 0; garbled frames -1: keep serving either way.
                if length > 0 { answer(length) }
            }
        }
    }
}
