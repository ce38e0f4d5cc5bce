#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# lane_bench.sh: how long a booking confirmation takes to reach the wire
# while a digest of COUNT subscribers (default 100,000) is being sent.
# familymaild runs as a daemon (-f, --now) with the digest queued, over
# SMTP into Postfix's smtp-sink on 127.0.0.1 through a small recorder
# (python3 asyncio, below) that passes every byte on and notes the time
# each RCPT TO:<delegate...> goes by. Once the digest is under way the
# bench writes a booking into the database every INTERVAL ms, as the
# booking website would, BOOKINGS times; a confirmation's latency is
# from the commit of its booking to its RCPT on the wire. Prints the
# percentiles, how much of the digest was still queued when the last
# confirmation went, and the load average.
#
# usage: bench/lane_bench.sh [COUNT]        (default COUNT 100000)
#   FAMILYMAILD, FAMILYMAIL  the binaries (default: ./src/familymaild and
#                            ./src/familymail: run from the build folder)
#   CONNECTIONS              SMTP sessions (default 4)
#   BOOKINGS, INTERVAL       bookings made during the digest, and the ms
#                            between them (default 50 and 150)
#   RATE                     [smtp] rate (default 0: none)
# Needs postfix (smtp-sink), sqlite3, python3. Benchmark an optimised
# build (./configure without --enable-debug).
set -eu

count=${1:-100000}
fmd=${FAMILYMAILD:-./src/familymaild}
fm=${FAMILYMAIL:-./src/familymail}
conns=${CONNECTIONS:-4}
bookings=${BOOKINGS:-50}
interval=${INTERVAL:-150}
rate=${RATE:-0}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
now_at=2026-11-24T09:00:00Z

for tool in smtp-sink sqlite3 python3; do
	command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
	command -v "$tool" >/dev/null 2>&1 || {
		echo "lane_bench: $tool missing (contrib/install-deps.sh --bench)" >&2
		exit 1
	}
done
[ -x "$fmd" ] && [ -x "$fm" ] || {
	echo "lane_bench: no $fmd or $fm (run from the build folder)" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/lane_bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	i=0
	while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { echo "lane_bench: nothing listens on $1" >&2; exit 1; }
		sleep 0.05
	done
}

# The recorder: 127.0.0.1:LISTEN to 127.0.0.1:TARGET, every byte passed
# on; "<time> <address>" to OUT for each RCPT TO:<delegate...> the client
# sends, the moment its bytes arrive.
cat >"$work/recorder.py" <<'EOF'
import asyncio, sys, time

listen, target, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
log = open(out, "a", buffering=1)
NEEDLE = b"RCPT TO:<delegate"

async def pipe(reader, writer, watch):
    tail = b""
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            if watch:
                now = time.time()
                buf = tail + data
                at = buf.find(NEEDLE)
                while at >= 0:
                    end = buf.find(b">", at)
                    if end < 0:
                        break
                    log.write("%.6f %s\n" % (now, buf[at + 9:end].decode()))
                    at = buf.find(NEEDLE, end)
                tail = buf[-64:]
            writer.write(data)
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass  # a daemon stopped mid-send drops its pipelined replies
    finally:
        writer.close()

async def client(reader, writer):
    up_r, up_w = await asyncio.open_connection("127.0.0.1", target)
    await asyncio.gather(pipe(reader, up_w, True), pipe(up_r, writer, False))

async def main():
    srv = await asyncio.start_server(client, "127.0.0.1", listen, backlog=256)
    await srv.serve_forever()

asyncio.run(main())
EOF

# The driver: waits until the digest is under way, makes the bookings,
# waits for their confirmations, prints the figures.
cat >"$work/drive.py" <<'EOF'
import os, sqlite3, sys, time

db_path, rcpts, count, n, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]) / 1000.0

def db():
    c = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    return c

def sent_digests(c):
    return c.execute("SELECT count(*) FROM messages WHERE kind = 'blog_digest' AND state = 'sent'").fetchone()[0]

c = db()
deadline = time.time() + 600
while sent_digests(c) < count // 20:
    if time.time() > deadline:
        sys.exit("lane_bench: the digest never got going")
    time.sleep(0.05)
made = {}
for i in range(n):
    bid = 1000 + i
    email = "delegate%d@example.org" % bid
    c.execute("BEGIN IMMEDIATE")
    c.execute("INSERT INTO delegates (id, email, first_name) VALUES (?, ?, 'Dee')", (bid, email))
    c.execute("INSERT INTO bookings (id, course_id, delegate_id, reference, status, created_at)"
              " VALUES (?, 1, ?, ?, 'confirmed', '2026-11-24T09:00:00Z')", (bid, bid, "FC-%d" % bid))
    c.execute("COMMIT")
    made[email] = time.time()
    time.sleep(interval)
seen = {}
deadline = time.time() + 120
while len(seen) < n and time.time() < deadline:
    if os.path.exists(rcpts):
        for line in open(rcpts):
            t, a = line.split()
            if a in made and a not in seen:
                seen[a] = float(t)
    time.sleep(0.05)
queued = c.execute("SELECT count(*) FROM messages WHERE kind = 'blog_digest' AND state != 'sent'").fetchone()[0]
lat = sorted((seen[a] - made[a]) * 1000 for a in seen)
if not lat:
    sys.exit("lane_bench: no confirmation reached the wire")
def pct(p):
    return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))]
print("lane_bench: %d of %d confirmations on the wire; digest messages still queued after the last: %d of %d"
      % (len(lat), n, queued, count))
print("lane_bench: latency ms  p50 %.0f  p90 %.0f  p99 %.0f  max %.0f"
      % (pct(50), pct(90), pct(99), lat[-1]))
EOF

dir=$work/run
mkdir -p "$dir"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/secret"
chmod 600 "$dir/secret"
sink_port=$(free_port)
rec_port=$(free_port)
http_port=$(free_port)
cat >"$dir/fm.conf" <<EOF
[daemon]
user = $(id -un)
database = fm.db
templates = $src/templates
timezone = Europe/London
log_level = warning
[sender]
from = Family Courses <courses@example.org>
reply_to = bookings@example.org
bounce_domain = bounces.example.org
[transport]
type = smtp
[smtp]
url = smtp://127.0.0.1:$rec_port
tls = off
connections = $conns
rate = $rate
timeout = 60s
[unsubscribe]
url = https://example.org/unsubscribe?token={token}
mailto = unsubscribe@example.org
secret_file = secret
[http]
listen = 127.0.0.1:$http_port
EOF
"$fm" -c "$dir/fm.conf" migrate >/dev/null
sqlite3 "$dir/fm.db" <<EOF
BEGIN;
INSERT INTO courses (id, title, starts_at, venue, status) VALUES
 (1, 'Facilitator Training', '2026-12-03T09:30:00Z', 'Cardiff', 'scheduled');
INSERT INTO posts (title, url, author, summary, published_at) VALUES
 ('Ten minutes of play a day', 'https://blog.example.org/posts/play',
  'Sam Evans', 'Why a short, regular time of undivided attention does more for a child than a long outing once a month.',
  '2026-11-19T10:00:00Z'),
 ('When bedtime is a battle', 'https://blog.example.org/posts/bedtime',
  'Alex Morgan', 'Routines, choices and calm: what the parents on our last course found worked for them.',
  '2026-11-21T10:00:00Z');
INSERT INTO digests (frequency, period, scheduled_at, since, until,
  post_count, state, created_at) VALUES
 ('weekly', '2026-W48', '2026-11-23T08:00:00Z', '2026-11-16T08:00:00Z',
  '2026-11-23T08:00:00Z', 2, 'enqueued', '2026-11-23T08:00:00Z'),
 ('monthly', '2026-11', '2026-11-01T08:00:00Z', '2026-10-01T08:00:00Z',
  '2026-11-01T08:00:00Z', 0, 'enqueued', '2026-11-01T08:00:00Z');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count)
INSERT INTO subscribers (email, name, status, frequency, created_at)
SELECT 'reader' || i || '@example.net', 'Reader Number ' || i, 'active',
  'weekly', '2026-01-01T00:00:00Z' FROM n;
INSERT INTO messages (dedupe_key, kind, recipient, subscriber_id, detail,
  created_at, next_attempt_at, updated_at)
SELECT 'digest:weekly:2026-W48:subscriber:' || id, 'blog_digest', email, id,
  'weekly:2026-W48', '2026-11-23T08:00:00Z', '2026-11-23T08:00:00Z',
  '2026-11-23T08:00:00Z' FROM subscribers;
COMMIT;
EOF

smtp-sink -u nobody -c 127.0.0.1:"$sink_port" 1024 >/dev/null 2>&1 &
pids="$pids $!"
wait_port "$sink_port"
python3 "$work/recorder.py" "$rec_port" "$sink_port" "$work/rcpts" &
pids="$pids $!"
wait_port "$rec_port"

echo "lane_bench: a digest of $count over $conns connections (rate $rate), $bookings bookings every $interval ms, $(nproc) CPUs"
echo "lane_bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$fmd" -c "$dir/fm.conf" -f --now "$now_at" 2>>"$work/daemon.log" &
dpid=$!
pids="$pids $dpid"
python3 "$work/drive.py" "$dir/fm.db" "$work/rcpts" "$count" "$bookings" "$interval"
kill "$dpid"
wait "$dpid" 2>/dev/null || true
echo "lane_bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
