#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted SMTP server for familymail's tests (check_smtp).

It listens on 127.0.0.1 on a free port, records every message it accepts
as a file in --outdir, and injects faults chosen by the recipient's local
part (the part before any '+' or '@'):

  reject-550   550 at RCPT            defer-451   451 at RCPT
  relay-554    554 5.7.1 relay access denied at RCPT (about the sender)
  full-552     552 5.2.2 mailbox full at RCPT
  421          421 at RCPT, then closes the connection
  data-554     554 after the data     data-452    452 after the data
  slow         sleeps --slow-secs before replying to the end of the data
  drop         closes the connection after the data, without a reply

Each accepted message is written to OUTDIR/msg-NNNNNN as lines
"from ADDR", "rcpt ADDR" (one per recipient), "tls yes|no",
"auth USER|-", an empty line, then the data exactly as received (after
SMTP dot-unstuffing). Every connection and command of interest is
appended to OUTDIR/commands.log ("CONNECT", "MAIL ...", "RCPT ...",
"DATA", "STARTTLS"), so a test can tell what was sent at all.

With --pipelining it offers PIPELINING, and a client may send commands
in groups; they are handled, and logged, one by one all the same. With
--smtputf8 it offers SMTPUTF8 (RFC 6531) and takes addresses beyond
ASCII with it.

Faults of the session, as relays have them:

  --max-per-session N    after N messages on one connection, answer MAIL
                         with --limit-reply (default "452 4.5.3 Too many
                         messages sent", as OpenSMTPD; a reply that starts
                         with 421 closes the connection after it, as Exim)
  --idle-secs S          a connection idle for S seconds gets "421 4.4.2
                         Idle timeout" and is closed
  --control FILE         while FILE exists, each word in it is a fault of
                         the whole server, read afresh at each connection
                         and command, so that a test can break and mend
                         the relay while it runs:
                           refuse     close each new connection at once
                           mail-421   421 4.7.0 at MAIL, then close
                           rcpt-5.7.515  550 5.7.515 (an authentication
                                      refusal, as Microsoft 365) at RCPT
                           rcpt-4.7.0 451 4.7.0 (a rate limit) at RCPT

"EHLO name" and "QUIT" are logged too.

It is not a mail server: it delivers nothing, and it is for tests only.
It exits when its stdin closes or on SIGTERM/SIGINT, so a test that dies
never leaves it running. Needs python3-aiosmtpd (Debian).
"""

import argparse
import asyncio
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, outdir):
        self.outdir = outdir
        self.seq = 0
        self.log_path = os.path.join(outdir, "commands.log")

    def log(self, line):
        with open(self.log_path, "a", encoding="utf-8",
                  errors="backslashreplace") as f:
            f.write(line + "\n")

    def save(self, server, session, envelope):
        # Everything that can fail (a client gone at the end of its
        # data leaves no transport) before a number is taken, so that
        # the numbers of the files have no gaps.
        transport = server.transport
        tls = (session.ssl is not None or
               (transport is not None and
                transport.get_extra_info("ssl_object") is not None))
        head = ["from " + (envelope.mail_from or "")]
        head += ["rcpt " + r for r in envelope.rcpt_tos]
        self.seq += 1
        name = "msg-%06d" % self.seq
        tmp = os.path.join(self.outdir, "." + name + ".tmp")
        head.append("tls " + ("yes" if tls else "no"))
        user = session.auth_data
        head.append("auth " + (user if isinstance(user, str) else "-"))
        with open(tmp, "wb") as f:
            f.write(("\n".join(head) + "\n\n").encode("utf-8",
                                                       "surrogateescape"))
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(self.outdir, name))


def fault_of(address):
    local = address.split("@", 1)[0]
    return local.split("+", 1)[0].lower()


def control_faults(opts):
    if not opts.control:
        return set()
    try:
        with open(opts.control, encoding="ascii") as f:
            return set(f.read().split())
    except OSError:
        return set()


class Handler:
    def __init__(self, recorder, opts):
        self.rec = recorder
        self.opts = opts

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        self.rec.log("MAIL " + address +
                     "".join(" " + o for o in mail_options))
        if "mail-421" in control_faults(self.opts):
            server.loop.call_soon(server.transport.close)
            return "421 4.7.0 Try again later, closing connection"
        count = getattr(session, "fm_count", 0)
        if self.opts.max_per_session and count >= self.opts.max_per_session:
            reply = self.opts.limit_reply
            if reply.startswith("421"):
                server.loop.call_soon(server.transport.close)
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        self.rec.log("RCPT " + address)
        fault = fault_of(address)
        faults = control_faults(self.opts)
        if "rcpt-5.7.515" in faults:
            return ("550 5.7.515 Access denied, sending domain "
                    "example.org does not meet the required authentication "
                    "level")
        if "rcpt-4.7.0" in faults:
            return "451 4.7.0 Rate limit exceeded, try again later"
        if fault == "reject-550":
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        if fault == "relay-554":
            return "554 5.7.1 <%s>: Relay access denied" % address
        if fault == "full-552":
            return "552 5.2.2 <%s>: Mailbox full" % address
        if fault == "defer-451":
            return "451 4.3.0 <%s>: Temporary lookup failure" % address
        if fault == "421":
            # The reply is written before this callback runs.
            server.loop.call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        self.rec.log("DATA")
        faults = {fault_of(r) for r in envelope.rcpt_tos}
        if self.opts.delay_ms > 0:
            await asyncio.sleep(self.opts.delay_ms / 1000.0)
        if "slow" in faults:
            await asyncio.sleep(self.opts.slow_secs)
        if "drop" in faults:
            # abort(): nothing more is written, not even a late reply.
            server.transport.abort()
            return "250 2.0.0 never sent"
        if "data-554" in faults:
            return "554 5.7.1 Message rejected as spam"
        if "data-452" in faults:
            return "452 4.3.1 Insufficient system storage"
        self.rec.save(server, session, envelope)
        session.fm_count = getattr(session, "fm_count", 0) + 1
        return "250 2.0.0 Ok: queued as TEST%06d" % self.rec.seq

    async def handle_QUIT(self, server, session, envelope):
        self.rec.log("QUIT")
        return "221 2.0.0 Bye"

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        self.rec.log("EHLO " + hostname)
        session.host_name = hostname
        if self.opts.pipelining:
            # Before the last line ("250 HELP").
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    def handle_STARTTLS(self, server, session, envelope):
        self.rec.log("STARTTLS")
        return True


class RecordingSMTP(SMTP):
    recorder = None
    opts = None

    def connection_made(self, transport):
        if self.transport is None:
            self.recorder.log("CONNECT")
            if "refuse" in control_faults(self.opts):
                transport.close()
                return
        super().connection_made(transport)

    def _timeout_cb(self):
        # An idle connection ends as relays end it: 421, then closed.
        if self.opts.idle_secs and self.transport is not None:
            self.recorder.log("IDLE-421")
            self.transport.write(b"421 4.4.2 Idle timeout, closing\r\n")
        super()._timeout_cb()


def make_authenticator(user, password, recorder):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login == user.encode() and
              auth_data.password == password.encode())
        recorder.log("AUTH %s %s" % (mechanism, "ok" if ok else "fail"))
        if ok:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)
    return authenticate


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--outdir", required=True)
    p.add_argument("--port-file")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true",
                   help="TLS from the first byte (smtps://), no STARTTLS")
    p.add_argument("--auth-user")
    p.add_argument("--auth-pass")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--slow-secs", type=float, default=5.0)
    p.add_argument("--pipelining", action="store_true",
                   help="offer PIPELINING (RFC 2920) in the EHLO reply")
    p.add_argument("--smtputf8", action="store_true",
                   help="offer SMTPUTF8 (RFC 6531)")
    p.add_argument("--max-per-session", type=int, default=0)
    p.add_argument("--limit-reply", default="452 4.5.3 Too many messages sent")
    p.add_argument("--idle-secs", type=float, default=0)
    p.add_argument("--control")
    opts = p.parse_args()

    rec = Recorder(opts.outdir)
    RecordingSMTP.recorder = rec
    RecordingSMTP.opts = opts
    handler = Handler(rec, opts)
    ctx = None
    if opts.tls_cert:
        ctx = tls_context(opts.tls_cert, opts.tls_key or opts.tls_cert)
    kwargs = dict(hostname="smtp.test", data_size_limit=None,
                  timeout=opts.idle_secs or 30,
                  enable_SMTPUTF8=opts.smtputf8)
    if ctx is not None and not opts.implicit_tls:
        kwargs.update(tls_context=ctx, require_starttls=True)
    if opts.auth_user is not None:
        kwargs.update(authenticator=make_authenticator(
                          opts.auth_user, opts.auth_pass or "", rec),
                      auth_required=True,
                      auth_require_tls=ctx is not None)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: RecordingSMTP(handler, loop=loop, **kwargs),
        "127.0.0.1", 0,
        ssl=ctx if opts.implicit_tls else None))
    port = server.sockets[0].getsockname()[1]

    stop = loop.stop
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)

    def on_stdin():
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            data = b""
        if not data:
            stop()

    try:
        loop.add_reader(sys.stdin.fileno(), on_stdin)
    except (OSError, ValueError, PermissionError):
        pass  # stdin is not pollable (a file): rely on signals

    if opts.port_file:
        write_port(opts.port_file, port)
    print("PORT %d" % port, flush=True)
    loop.run_forever()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
