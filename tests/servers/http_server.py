#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A static HTTP server for familymail's feed tests (check_feed).

Serves the files of one folder (default: tests/data/feed beside this
script) on 127.0.0.1, on a free port chosen by the system, and prints
"port N" on stdout once it listens. A path that names no file gets a
404. Every request is logged on stderr as "GET /path STATUS".

It exits on SIGTERM or SIGINT, and by itself when the process that
started it goes away, so a test that dies never leaves it running. It is
for tests only.
"""

import argparse
import functools
import http.server
import os
import signal
import sys
import threading
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))
        sys.stderr.flush()

    def end_headers(self):
        # Feeds change between test runs: no caching, no keep-alive.
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        super().end_headers()

    def guess_type(self, path):
        if path.endswith(".xml"):
            return "application/xml"
        return super().guess_type(path)


def watch_parent(server, parent):
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:
            server.shutdown()
            return


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root",
                        default=os.path.join(here, "..", "data", "feed"),
                        help="folder to serve")
    args = parser.parse_args()

    handler = functools.partial(Handler, directory=args.root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=watch_parent, args=(server, os.getppid()),
                     daemon=True).start()
    print("port %d" % server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()


if __name__ == "__main__":
    main()
