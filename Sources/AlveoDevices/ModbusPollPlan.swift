/// The reads one poll makes: contiguous register blocks, as few as possible.
package struct ModbusPollPlan: Sendable, Equatable {
    package struct Block: Sendable, Equatable {
        package var table: ModbusTable
        package var address: Int
        package var count: Int

        package init(table: ModbusTable, address: Int, count: Int) {
            self.table = table
            self.address = address
            self.count = count
        }

        func contains(_ address: Int, width: Int) -> Bool {
            address >= self.address && address + width <= self.address + count
        }
    }

    package var blocks: [Block]

    /// Largest read the Modbus protocol allows for registers.
    package static let maxRegistersPerRead = 125

    /// Merges the profile's registers into blocks per table. Registers closer than `maxGap` are read
    /// together (reading a few unused registers is cheaper than another round trip).
    package init(profile: ModbusProfile, maxGap: Int = 8) {
        var spans: [(table: ModbusTable, start: Int, end: Int)] = profile.fields.map {
            ($0.table, $0.address, $0.address + $0.type.registerCount)
        }
        if let status = profile.status { spans.append((status.table, status.address, status.address + 1)) }
        var blocks: [Block] = []
        for table in ModbusTable.allCases {
            let sorted = spans.filter { $0.table == table }.sorted { $0.start < $1.start }
            var current: (start: Int, end: Int)?
            for span in sorted {
                if let open = current, span.start <= open.end + maxGap,
                   max(open.end, span.end) - open.start <= ModbusPollPlan.maxRegistersPerRead
                {
                    current = (open.start, max(open.end, span.end))
                } else {
                    if let open = current { blocks.append(Block(table: table, address: open.start, count: open.end - open.start)) }
                    current = (span.start, span.end)
                }
            }
            if let open = current { blocks.append(Block(table: table, address: open.start, count: open.end - open.start)) }
        }
        self.blocks = blocks
    }
}
