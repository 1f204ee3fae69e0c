#!/usr/bin/env python3
"""A real IHE ACM Alert Manager peer (python-hl7's asyncio MLLP server and client) for Alveo's PCD-05 tests.

It listens for Alveo's PCD-04 (ORU^R40) messages, answers each with ACK^R40^ACK, MSA-1 AA, MSA-2 = the
MSH-10 received, and for the first message of each selected alert sends one or more PCD-05 Report Alert
Status messages (ORA^R41^ORA_R41, docs: pcd05-reference section 7) to Alveo's own HL7 listener as an
MLLP client (a new TCP connection per status, 3 tries), then reads Alveo's ACK^R41 on that connection.

  ORA^R41, segments separated by CR:
    MSH|^~\\&|<app>|<facility>|ALVEO|HOSP_ICU|<now>||ORA^R41^ORA_R41|AM-<n>|P|2.7|||AL|NE||UNICODE UTF-8
    MSA|AA|<MSH-10 of the PCD-04>
    OBR|1|<OBR-3 comps 1-2 of the PCD-04>|<same>|196616^MDC_EVT_ALARM^MDC|||<now>
    PRT||AD|<status>|AAP^Alert Acknowledging Provider^HL70912|<person>||||<location>|<device>|<now>

Flags:
  --port N               listen here for PCD-04 (127.0.0.1; --host to change)
  --log FILE             JSON lines, appended (below)
  --alveo HOST:PORT      Alveo's HL7 listener, where the ORA^R41 go (required to send any status)
  --when-state STATE     with --select: the first message of the alert whose alarm state is STATE
                         (e.g. latched) gets the status, instead of its first message; one select
                         alone: --select TEXT@STATE
  --select TEXT          repeatable; a PCD-04 whose raw text contains TEXT (rule id, word of the alarm
                         text, ...) and which is the first message seen of its alert id gets a status.
                         Default: none selected (the peer then only ACKs and logs)
  --delay S              seconds before each status (default 0.5); with --statuses, between statuses too
  --status TEXT          PRT-3 (default Accepted)
  --statuses A,B,...     several statuses in sequence for the same alert (overrides --status)
  --app / --facility     MSH-3 / MSH-4 (default ALERT_MGR / HOSP)
  --person XCN           PRT-5 (default 4711^NURSE^ANNA)
  --device EI            PRT-10 (default PH-0815^ALERT_MGR)
  --location PL          PRT-9 (default empty)
  --tamper MODE          none (default); unknown-alarm: the alert id's trailing A<n> becomes A999999;
                         other-bed: the bed part becomes OTHER-BED; other-run: the run part becomes
                         20000101T000000Z (inserted if the id has none); no-obr: no OBR segment, only
                         MSA-2 identifies the alert. MSA-2 is the true PCD-04 MSH-10 in every mode (so
                         with a tampered OBR-3, Alveo must let OBR-3 win: pcd05-reference section 4)
  --blank-msa            with unknown-alarm/other-bed/other-run: send MSA-2 empty, so the tampered
                         OBR-3 is the only identity
  --ack-timeout S        how long to wait for Alveo's ACK^R41 (default 10)
  --tls-cert/--tls-key   serve MLLP over TLS with this certificate and key (PEM), as hl7_receiver.py
  --tls-ca FILE          with --tls-cert: require client certificates signed by this CA
  --alveo-tls-ca FILE    connect to --alveo over TLS, verifying its certificate with this CA (no hostname check)
  --ready FILE           written (with the pid) once listening
SIGTERM / SIGINT: stops cleanly (pending statuses are cancelled).

Log lines (one per event):
  {"kind":"pcd04", "control_id", "type" (MSH-9), "alert_id" (OBR-3 comp 1, null if none), "bed", "run",
   "alarm" (the n of A<n>), "phase", "state", "inactivation", "priority", "alert_type", "rule",
   "event_code", "text", "first" (first message of this alert id), "selected", "ack": "AA"}
  {"kind":"pcd05", "alert_id" (the true one), "sent_alert_id" (OBR-3 comp 1 as sent; null for no-obr),
   "control_id" (the ORA's MSH-10), "pcd04_control_id", "status", "tamper", "ack_code" (MSA-1, null: no
   answer within --ack-timeout or no connection), "ack_text" (MSA-3), "ack_type" (MSH-9 of the answer),
   "ack_control_id" (MSA-2), "error" (null, or why no answer)}

Alert ids: Alveo's OBR-3 component 1 is `<bed>-<run>-A<n>` (run = Journal.newRunID, `YYYYMMDDTHHMMSSZ`),
or `<bed>-A<n>` without a run; the bed id may contain `-`. It is split from the right: `-A<digits>` at the
end, then the run if the preceding `-`-part looks like `\\d{8}T\\d{6}(\\.\\d+)?Z`; the rest is the bed.
Fields are used raw (HL7-escaped as received), never unescaped.
"""
import argparse
import asyncio
import datetime
import json
import os
import re
import signal
import ssl

import hl7
from hl7.mllp import open_hl7_connection, start_hl7_server

ALERT_ID = re.compile(r"^(?P<head>.*)-A(?P<alarm>\d+)$")
RUN_ID = re.compile(r"^\d{8}T\d{6}(\.\d+)?Z$")
TAMPERS = ("none", "unknown-alarm", "other-bed", "other-run", "no-obr")


def now_hl7():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d%H%M%S+0000")


def split_alert_id(alert_id):
    """(bed, run or None, alarm number as str) of `<bed>-<run>-A<n>` / `<bed>-A<n>`; None if not of that form."""
    match = ALERT_ID.match(alert_id or "")
    if not match:
        return None
    head, alarm = match.group("head"), match.group("alarm")
    bed, _, last = head.rpartition("-")
    if bed and RUN_ID.match(last):
        return bed, last, alarm
    return head, None, alarm


def tamper_id(alert_id, mode):
    parts = split_alert_id(alert_id)
    if mode == "none" or mode == "no-obr" or parts is None:
        return alert_id
    bed, run, alarm = parts
    if mode == "unknown-alarm":
        alarm = "999999"
    elif mode == "other-bed":
        bed = "OTHER-BED"
    elif mode == "other-run":
        run = "20000101T000000Z"
    return f"{bed}-{run}-A{alarm}" if run else f"{bed}-A{alarm}"


def field(segment, index):
    try:
        return str(segment[index])
    except IndexError:
        return ""


def component(text, index):
    parts = text.split("^")
    return parts[index] if index < len(parts) else ""


def describe_pcd04(message):
    """What the peer can read out of one PCD-04: alert id, its parts, the attribute rows, rule and text."""
    info = {"alert_id": None, "alert_ref": None, "bed": None, "run": None, "alarm": None, "phase": None,
            "state": None, "inactivation": None, "priority": None, "alert_type": None, "rule": None,
            "event_code": None, "text": None}
    obr = next((s for s in message if str(s[0]) == "OBR"), None)
    if obr is not None:
        ref = field(obr, 3) or field(obr, 2)
        info["alert_ref"] = "^".join(ref.split("^")[:2]) if ref else None
        info["alert_id"] = component(ref, 0) or None
        parts = split_alert_id(info["alert_id"])
        if parts:
            info["bed"], info["run"], info["alarm"] = parts
    attributes = {"68481": "phase", "68482": "state", "68483": "inactivation", "68484": "priority",
                  "68485": "alert_type"}
    for segment in message:
        if str(segment[0]) != "OBX":
            continue
        code, sub_id, value = field(segment, 3), field(segment, 4), field(segment, 5)
        key = attributes.get(component(code, 0))
        if key:
            info[key] = value
        elif sub_id.endswith(".1") and sub_id != "1.0.0.0" and info["text"] is None:
            # The alert's identification row (facet .1): event code, rule (local 99ALV code, as the
            # primary code or the alternate one), alarm text.
            info["event_code"] = component(code, 0) or None
            if component(code, 2) == "99ALV":
                info["rule"] = component(code, 0)
            elif component(code, 5) == "99ALV":
                info["rule"] = component(code, 3)
            info["text"] = value
    return info


def build_ora(args, n, pcd04_control_id, alert_ref, status):
    """The ORA^R41 for one status, segments separated by CR. alert_ref: OBR-3 components 1-2 (tampered)."""
    now = now_hl7()
    control_id = f"AM-{n}"
    segments = [
        f"MSH|^~\\&|{args.app}|{args.facility}|ALVEO|HOSP_ICU|{now}||ORA^R41^ORA_R41|{control_id}|P|2.7|||AL|NE||UNICODE UTF-8",
        f"MSA|AA|{pcd04_control_id}",
    ]
    if alert_ref is not None:
        segments.append(f"OBR|1|{alert_ref}|{alert_ref}|196616^MDC_EVT_ALARM^MDC|||{now}")
    segments.append(f"PRT||AD|{status}|AAP^Alert Acknowledging Provider^HL70912|{args.person}||||"
                    f"{args.location}|{args.device}|{now}")
    return control_id, "\r".join(segments) + "\r"


async def main():
    parser = argparse.ArgumentParser(description="IHE ACM Alert Manager peer (PCD-04 in, PCD-05 out)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log", required=True)
    parser.add_argument("--alveo", help="HOST:PORT of Alveo's HL7 listener")
    parser.add_argument("--select", action="append", default=[])
    parser.add_argument("--when-state", default=None,
                        help="select the first message of a selected alert whose alarm state (MDC_ATTR_ALARM_STATE) is this, e.g. latched, instead of its first message")
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--status", default="Accepted")
    parser.add_argument("--statuses")
    parser.add_argument("--app", default="ALERT_MGR")
    parser.add_argument("--facility", default="HOSP")
    parser.add_argument("--person", default="4711^NURSE^ANNA")
    parser.add_argument("--device", default="PH-0815^ALERT_MGR")
    parser.add_argument("--location", default="")
    parser.add_argument("--tamper", choices=TAMPERS, default="none")
    parser.add_argument("--blank-msa", action="store_true")
    parser.add_argument("--ack-timeout", type=float, default=10.0)
    parser.add_argument("--ready")
    parser.add_argument("--tls-cert", help="serve MLLP over TLS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="and this key (PEM)")
    parser.add_argument("--tls-ca", help="require client certificates signed by this CA (PEM)")
    parser.add_argument("--alveo-tls-ca", help="connect to --alveo over TLS, trusting this CA (PEM)")
    args = parser.parse_args()
    statuses = [s for s in (args.statuses.split(",") if args.statuses else [args.status]) if s]
    if args.alveo:
        alveo_host, _, alveo_port = args.alveo.rpartition(":")
        alveo_host, alveo_port = alveo_host or "127.0.0.1", int(alveo_port)
    client_tls = None
    if args.alveo_tls_ca:
        client_tls = ssl.create_default_context(cafile=args.alveo_tls_ca)
        client_tls.check_hostname = False

    seen = set()
    reported = set()
    tasks = set()
    counter = {"ora": 0}

    def log(record):
        with open(args.log, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    async def send_status(alert_id, alert_ref, pcd04_control_id, status):
        counter["ora"] += 1
        sent_ref = None
        if args.tamper != "no-obr" and alert_ref is not None:
            sent_id = tamper_id(alert_id, args.tamper)
            rest = alert_ref.split("^")[1:]
            sent_ref = "^".join([sent_id] + rest)
        msa2 = pcd04_control_id
        if args.tamper in ("unknown-alarm", "other-bed", "other-run") and args.blank_msa:
            msa2 = ""
        control_id, text = build_ora(args, counter["ora"], msa2, sent_ref, status)
        record = {"kind": "pcd05", "alert_id": alert_id, "sent_alert_id": component(sent_ref, 0) if sent_ref else None,
                  "control_id": control_id, "pcd04_control_id": pcd04_control_id, "status": status,
                  "tamper": args.tamper, "ack_code": None, "ack_text": None, "ack_type": None,
                  "ack_control_id": None, "error": None}
        for attempt in range(3):
            writer = None
            try:
                reader, writer = await asyncio.wait_for(
                    open_hl7_connection(alveo_host, alveo_port, encoding="utf-8", ssl=client_tls), 5)
                writer.writemessage(text)  # str(): the message text as is
                await writer.drain()
                try:
                    answer = await asyncio.wait_for(reader.readmessage(), args.ack_timeout)
                except asyncio.TimeoutError:
                    record["error"] = f"no answer within {args.ack_timeout:g} s"
                    break  # delivered, not answered: do not resend (that would be a second status)
                msa = next((s for s in answer if str(s[0]) == "MSA"), None)
                record["ack_type"] = field(answer.segment("MSH"), 9)
                if msa is not None:
                    record["ack_code"] = field(msa, 1) or None
                    record["ack_control_id"] = field(msa, 2)
                    record["ack_text"] = field(msa, 3) or None
                record["error"] = None
                break
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                record["error"] = f"attempt {attempt + 1}: {type(error).__name__}: {error}"
                await asyncio.sleep(0.5 * (attempt + 1))
            finally:
                if writer is not None:
                    writer.close()
                    try:
                        await writer.wait_closed()
                    except Exception:
                        pass
        log(record)

    async def report(alert_id, alert_ref, pcd04_control_id):
        for status in statuses:
            await asyncio.sleep(args.delay)
            await send_status(alert_id, alert_ref, pcd04_control_id, status)

    async def handle(reader, writer):
        try:
            while not writer.is_closing():
                message = await reader.readmessage()
                text = str(message)
                msh = message.segment("MSH")
                control_id = field(msh, 10)
                info = describe_pcd04(message)
                alert_id = info["alert_id"]
                is_pcd04 = component(field(msh, 9), 1) == "R40"
                first = bool(is_pcd04 and alert_id and alert_id not in seen)
                if first:
                    seen.add(alert_id)
                # --select TEXT: the alert's first message; TEXT@STATE (or --when-state): its first
                # message in that alarm state (e.g. latched).
                selected = False
                for choice in args.select:
                    wanted, _, state = choice.partition("@")
                    state = state or args.when_state
                    if not (is_pcd04 and alert_id and alert_id not in reported and wanted in text):
                        continue
                    if (state and info["state"] == state) or (not state and first):
                        selected = True
                if selected:
                    reported.add(alert_id)
                record = {"kind": "pcd04" if is_pcd04 else "other", "control_id": control_id,
                          "type": field(msh, 9)}
                record.update({k: v for k, v in info.items() if k != "alert_ref"})
                record.update({"first": first, "selected": selected, "ack": "AA"})
                log(record)
                writer.writemessage(message.create_ack(ack_code="AA"))
                await writer.drain()
                if selected and args.alveo:
                    task = asyncio.ensure_future(report(alert_id, info["alert_ref"], control_id))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_ca:
            tls.load_verify_locations(args.tls_ca)
            tls.verify_mode = ssl.CERT_REQUIRED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # MSH-18 says UNICODE UTF-8: read the messages as such (python-hl7 defaults to ASCII).
    server = await start_hl7_server(handle, host=args.host, port=args.port, ssl=tls, encoding="utf-8")
    async with server:
        if args.ready:
            with open(args.ready + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(args.ready + ".tmp", args.ready)
        await stop.wait()
        server.close()
        for task in list(tasks):
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
