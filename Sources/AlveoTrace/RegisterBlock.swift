/// The payload of a `modbusRegisters` record: one block read, as
/// `u8 table (3 holding, 4 input) | u16 address | u16 count | count × u16`, little-endian.
/// The one codec for the recorder, replay, the listing and the trace synthesizer.
package struct RegisterBlock: Sendable, Equatable {
    /// The Modbus function code of the table: 3 holding registers, 4 input registers.
    package var table: UInt8
    /// The first register's 0-based PDU address.
    package var address: Int
    /// The registers as read (fewer than `count` only in a damaged record).
    package var registers: [UInt16]
    /// The count the record declares.
    package var count: Int
    /// Bytes after the declared registers (none in a record Alveo wrote).
    package var extraBytes = 0

    package static let holding: UInt8 = 3
    package static let input: UInt8 = 4

    package init(table: UInt8, address: Int, registers: [UInt16]) {
        self.table = table
        self.address = address
        self.registers = registers
        self.count = registers.count
    }

    /// Decodes a record's payload; nil if it is shorter than the 5-byte block header.
    package init?(payload: [UInt8]) {
        guard payload.count >= 5 else { return nil }
        table = payload[0]
        address = Int(payload[1]) | Int(payload[2]) << 8
        count = Int(payload[3]) | Int(payload[4]) << 8
        let present = min(count, (payload.count - 5) / 2)
        registers = (0..<present).map { UInt16(payload[5 + 2 * $0]) | UInt16(payload[6 + 2 * $0]) << 8 }
        extraBytes = payload.count - 5 - 2 * present
    }

    package var payload: [UInt8] {
        var bytes: [UInt8] = [table, UInt8(address & 0xFF), UInt8(address >> 8 & 0xFF), UInt8(count & 0xFF), UInt8(count >> 8 & 0xFF)]
        bytes.reserveCapacity(5 + 2 * registers.count)
        for register in registers { bytes += [UInt8(register & 0xFF), UInt8(register >> 8)] }
        return bytes
    }
}
