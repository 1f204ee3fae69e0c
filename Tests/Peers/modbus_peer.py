#!/usr/bin/env python3
"""A real, independent Modbus server (pymodbus) for Alveo's integration tests.

Serves input registers (FC 04) and holding registers (FC 03) for one unit id, over TCP or RTU on a
serial path (a socat pty). Requests for any other unit id get an exception response (pymodbus 3.16
answers 0x04, server device failure).

  modbus_peer.py --tcp 5020 --ir 1,1,0,42,97,72,400,450,220,50,140,280 --ready /tmp/ready
  modbus_peer.py --rtu /tmp/ttyA --unit 1 --hr 0,0,16928,0

`--ready FILE` is written once the server is about to serve, so tests wait for a condition, not a delay.
"""
import argparse
import asyncio
import logging
import os

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer


def registers(text):
    return [int(v, 0) & 0xFFFF for v in text.split(",")] if text else []


async def main():
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=int, help="listen on 127.0.0.1:PORT")
    where.add_argument("--rtu", help="serve Modbus RTU on this serial path")
    parser.add_argument("--unit", type=int, action="append", help="unit id served (repeat for several; default 1)")
    parser.add_argument("--ir", default="", help="input registers from address 0, comma separated")
    parser.add_argument("--hr", default="", help="holding registers from address 0, comma separated")
    parser.add_argument("--ready", help="file to write when serving")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    # pymodbus data blocks start at 1 so that protocol address 0 reads values[0] (platform notes).
    ir = registers(args.ir) + [0] * 64
    hr = registers(args.hr) + [0] * 64
    units = args.unit or [1]
    context = ModbusServerContext(devices={
        unit: ModbusDeviceContext(ir=ModbusSequentialDataBlock(1, list(ir)), hr=ModbusSequentialDataBlock(1, list(hr)))
        for unit in units}, single=False)

    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(args.ready + ".tmp", args.ready)
    if args.tcp:
        await StartAsyncTcpServer(context=context, address=("127.0.0.1", args.tcp), ignore_missing_devices=False)
    else:
        await StartAsyncSerialServer(context=context, port=args.rtu, framer="rtu", baudrate=19200,
                                     ignore_missing_devices=False)


if __name__ == "__main__":
    asyncio.run(main())
