"""A local SMTP sink for benchmarks: aiosmtpd in its own process, counting the messages it accepts.

    .venv/bin/python bench/smtp_sink.py PORT COUNT_FILE [--recipients FILE]

Writes the number of messages received to COUNT_FILE every 0.2 s (and at SIGTERM); with --recipients, appends each
message's recipient to FILE (one a line) so a test can count who got what twice.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import threading
import time


def main() -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("count_file")
    parser.add_argument("--recipients", default=None)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds of wait at DATA (a slow server)")
    args = parser.parse_args()
    state = {"count": 0}
    recipients = open(args.recipients, "a", buffering=1) if args.recipients else None  # noqa: SIM115

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if args.delay:
                await asyncio.sleep(args.delay)
            state["count"] += 1
            if recipients is not None:
                recipients.write(" ".join(envelope.rcpt_tos) + "\n")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())

    def write() -> None:
        with open(args.count_file + ".tmp", "w") as fh:
            fh.write(str(state["count"]))
        import os
        os.replace(args.count_file + ".tmp", args.count_file)

    print(f"listening on {args.port}", flush=True)
    while not stop.wait(0.2):
        write()
    write()
    controller.stop()
    time.sleep(0.05)


if __name__ == "__main__":
    main()
