#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# lock_bench.sh: how familymaild holds up while the booking website
# holds the database's write lock. During a send of COUNT digests
# (default 20,000) to Postfix's smtp-sink on 127.0.0.1, another process
# (Python's sqlite3 module, a real SQLite connection) holds BEGIN
# IMMEDIATE for LOCK seconds out of every PERIOD (default 20 of 30),
# while a mail provider POSTs a one-click unsubscribe every half second
# and a monitoring system asks /healthz every 50 ms.
#
# It prints the figures: unsubscribes asked for, accepted (200 or 202)
# and applied at the end (lost = accepted but not applied); /healthz
# latency (p50, p99, max, overall and under the lock); messages queued,
# sent, cancelled, failed, and what smtp-sink received (lost = sent but
# never received; twice = one recipient received twice); digests that
# went out after their recipient's unsubscribe had been accepted; the
# send's duration. It is a benchmark, not a test: it exits 0 whatever
# the figures, and 1 only when it cannot run.
#
# usage: bench/lock_bench.sh [COUNT]
#   FAMILYMAILD, FAMILYMAIL  the binaries (default: ./src/familymaild and
#                            ./src/familymail: run from the build folder)
#   LOCK, PERIOD             seconds the lock is held, and of each cycle
#   RATE                     [smtp] rate (default 300/s: the send spans
#                            several lock cycles)
# Needs python3, sqlite3 and Postfix's smtp-sink.
set -eu

count=${1:-20000}
fmd=${FAMILYMAILD:-./src/familymaild}
fm=${FAMILYMAIL:-./src/familymail}
lock=${LOCK:-20}
period=${PERIOD:-30}
rate=${RATE:-300/s}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
now_at=2026-11-23T08:30:00Z

PATH=$PATH:/usr/sbin
for tool in sqlite3 python3 smtp-sink; do
	command -v "$tool" >/dev/null 2>&1 || { echo "lock_bench: $tool missing" >&2; exit 1; }
done
[ -x "$fmd" ] && [ -x "$fm" ] || {
	echo "lock_bench: no $fmd or $fm (run from the build folder)" >&2
	exit 1
}
fmd=$(cd "$(dirname "$fmd")" && pwd)/$(basename "$fmd")

base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/lock_bench.XXXXXX")
sink_pid=""
daemon_pid=""
cleanup() {
	[ -z "$daemon_pid" ] || kill "$daemon_pid" 2>/dev/null || true
	[ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

(umask 077 && head -c 32 /dev/urandom | base64 >"$work/secret")
smtp_port=$(free_port)
http_port=$(free_port)
user_opt=""
[ "$(id -u)" -ne 0 ] || user_opt="-u nobody"
# smtp-sink appends every transaction here (as nobody, when root).
mkdir "$work/sink"
chmod 777 "$work/sink"
chmod 711 "$work"
# shellcheck disable=SC2086 # user_opt is empty or two words
smtp-sink $user_opt -D "$work/sink/dump" "127.0.0.1:$smtp_port" 256 &
sink_pid=$!
i=0
while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $smtp_port), 1)" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { echo "lock_bench: smtp-sink did not start" >&2; exit 1; }
	sleep 0.05
done

cat >"$work/fm.conf" <<EOF
[daemon]
user = $(id -un)
database = fm.db
templates = $src/templates
timezone = Europe/London
log_level = info
[sender]
from = Family Courses <courses@example.org>
bounce_domain = bounces.example.org
[transport]
type = smtp
[smtp]
url = smtp://127.0.0.1:$smtp_port
tls = off
connections = 4
rate = $rate
[digest]
weekly = mon 08:00
monthly = 1 08:00
[unsubscribe]
url = http://127.0.0.1:$http_port/unsubscribe?token={token}
secret_file = secret
[http]
listen = 127.0.0.1:$http_port
EOF

"$fm" -c "$work/fm.conf" migrate >/dev/null
sqlite3 "$work/fm.db" <<EOF
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count)
INSERT INTO subscribers (id, email, name, status, frequency, created_at)
SELECT i, 'reader' || i || '@example.net', 'Reader ' || i, 'active',
  'weekly', '2026-01-01T00:00:00Z' FROM n;
INSERT INTO posts (title, url, author, summary, published_at) VALUES
 ('Bedtime without battles', 'https://blog.example.org/bedtime', 'Ruth',
  'Five calm steps.', '2026-11-20T12:00:00Z');
INSERT INTO digests (frequency, period, scheduled_at, since, until,
  post_count, state, created_at) VALUES
 ('weekly', '2026-W47', '2026-11-16T08:00:00Z', '2026-11-09T08:00:00Z',
  '2026-11-16T08:00:00Z', 0, 'empty', '2026-11-16T08:00:00Z'),
 ('monthly', '2026-11', '2026-11-01T08:00:00Z', '2026-10-01T08:00:00Z',
  '2026-11-01T08:00:00Z', 0, 'empty', '2026-11-01T08:00:00Z');
COMMIT;
EOF

(cd "$work" && exec "$fmd" -f -c fm.conf --now "$now_at" 2>daemon.log) &
daemon_pid=$!

python3 - "$work" "$http_port" "$count" "$lock" "$period" "$daemon_pid" <<'EOF'
import base64, calendar, collections, hashlib, hmac, os, random, re, signal, sqlite3
import sys, threading, time, urllib.error, urllib.request

work, port, count, lock_s, period_s, daemon_pid = sys.argv[1:]
port, count, lock_s, period_s = int(port), int(count), float(lock_s), float(period_s)
db = os.path.join(work, "fm.db")
secret = open(os.path.join(work, "secret"), "rb").read().rstrip(b"\r\n")
done = threading.Event()


def token(purpose, sid, email):
    raw = sid.to_bytes(8, "big")
    msg = b"familymail-token-v1\0" + purpose + b"\0" + raw + email.lower()
    mac = hmac.new(secret, msg, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(raw + mac).decode().rstrip("=")


def query(sql):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def request(path, body=None):
    t0 = time.monotonic()
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=body)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError:
        status = 0
    return status, (time.monotonic() - t0) * 1000.0


def wait_for(cond, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.5)
    return False


# Ready when /healthz answers and the digest is enqueued.
if not wait_for(lambda: request("/healthz")[0] == 200, 30):
    sys.exit("lock_bench: the daemon did not answer")
if not wait_for(lambda: query("SELECT count(*) FROM messages")[0][0] >= count, 120):
    sys.exit("lock_bench: the digest was not enqueued")
start = time.monotonic()
locks = []        # (start, end) in monotonic time
health = []       # (t, ms, status)
unsubs = []       # (t_wall, id, status, ms)


def website():
    while not done.is_set():
        con = sqlite3.connect(db, timeout=60, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        t0 = time.monotonic()
        while time.monotonic() - t0 < lock_s and not done.is_set():
            time.sleep(0.1)
        con.execute("COMMIT")
        con.close()
        locks.append((t0, time.monotonic()))
        done.wait(max(0.0, period_s - lock_s))


def prober():
    while not done.is_set():
        t = time.monotonic()
        status, ms = request("/healthz")
        health.append((t, ms, status))
        time.sleep(0.05)


def unsubscriber():
    ids = random.Random(15).sample(range(1, count + 1), count)
    for sid in ids:
        if done.is_set():
            break
        email = b"reader%d@example.net" % sid
        path = "/unsubscribe?token=" + token(b"unsubscribe", sid, email)
        status, ms = request(path, b"List-Unsubscribe=One-Click")
        unsubs.append((time.time(), sid, status, ms))
        time.sleep(0.5)


threads = [threading.Thread(target=f) for f in (website, prober, unsubscriber)]
for t in threads:
    t.start()
# Until nothing is left to send, or nothing has moved for two minutes
# (then the figures say NOT FINISHED).
progress = [None, time.monotonic()]
def drained():
    left = query("SELECT count(*) FROM messages WHERE state IN"
                 " ('queued', 'sending')")[0][0]
    if left != progress[0]:
        progress[0], progress[1] = left, time.monotonic()
    return left == 0 or time.monotonic() - progress[1] > 120
wait_for(drained, 3600)
finished = progress[0] == 0
send_secs = time.monotonic() - start
done.set()
for t in threads:
    t.join()
accepted = [u for u in unsubs if u[2] in (200, 202)]
# The queue applies what it kept once the lock is free.
applied_ids = set()
def all_applied():
    global applied_ids
    rows = query("SELECT id FROM subscribers WHERE status = 'unsubscribed'")
    applied_ids = {r[0] for r in rows}
    return all(u[1] in applied_ids for u in accepted)
wait_for(all_applied, 60)
os.kill(int(daemon_pid), signal.SIGTERM)
for _ in range(100):
    try:
        os.kill(int(daemon_pid), 0)
        time.sleep(0.1)
    except OSError:
        break

states = dict(query("SELECT state, count(*) FROM messages GROUP BY state"))
sent_rcpts = {r[0] for r in query("SELECT recipient FROM messages WHERE state = 'sent'")}
received = collections.Counter()
with open(os.path.join(work, "sink", "dump"), "rb") as f:
    for line in f:
        if line.startswith(b"X-Rcpt-Args:"):
            m = re.search(rb"<([^>]*)>", line)
            if m:
                received[m.group(1).decode().lower()] += 1
twice = sum(1 for n in received.values() if n > 1)
lost = len([r for r in sent_rcpts if received[r.lower()] == 0])

# Digests that went out after their recipient's unsubscribe was
# accepted (the log times are real UTC, as the POSTs' are).
sent_at = {}
for line in open(os.path.join(work, "daemon.log"), errors="replace"):
    m = re.match(r"(\S+)Z \S+ outbox sent id=\d+ kind=blog_digest rcpt=(\S+)", line)
    if m:
        t = calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
        sent_at[m.group(2)] = t + float("0" + m.group(1)[19:])
late = sum(1 for u in accepted
           if sent_at.get("reader%d@example.net" % u[1], 0) > u[0])


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


def locked(t):
    return any(a <= t <= b for a, b in locks)


all_ms = [h[1] for h in health]
lock_ms = [h[1] for h in health if locked(h[0])]
bad_health = sum(1 for h in health if h[2] != 200)
print("lock_bench: %d subscribers, website lock %gs every %gs, %d lock cycles"
      % (count, lock_s, period_s, len(locks)))
print("send: %s in %.0fs (%.0f msg/s)%s"
      % (", ".join("%s=%d" % kv for kv in sorted(states.items())), send_secs,
         states.get("sent", 0) / send_secs if send_secs else 0,
         "" if finished else " (NOT FINISHED)"))
print("smtp-sink: received=%d distinct=%d lost=%d twice=%d"
      % (sum(received.values()), len(received), lost, twice))
print("unsubscribes: asked=%d accepted=%d (200=%d 202=%d) other=%d "
      "applied=%d lost=%d digest-after-unsubscribe=%d"
      % (len(unsubs), len(accepted),
         sum(1 for u in unsubs if u[2] == 200),
         sum(1 for u in unsubs if u[2] == 202),
         len(unsubs) - len(accepted),
         sum(1 for u in accepted if u[1] in applied_ids),
         sum(1 for u in accepted if u[1] not in applied_ids), late))
print("unsubscribe answer: p50=%.1fms p99=%.1fms max=%.1fms"
      % (pct([u[3] for u in unsubs], 50), pct([u[3] for u in unsubs], 99),
         max([u[3] for u in unsubs] or [float("nan")])))
print("healthz: n=%d failed=%d p50=%.1fms p99=%.1fms max=%.1fms"
      % (len(all_ms), bad_health, pct(all_ms, 50), pct(all_ms, 99),
         max(all_ms or [float("nan")])))
print("healthz under the lock: n=%d p50=%.1fms p99=%.1fms max=%.1fms"
      % (len(lock_ms), pct(lock_ms, 50), pct(lock_ms, 99),
         max(lock_ms or [float("nan")])))
EOF
daemon_pid=""
