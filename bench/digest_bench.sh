#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# digest_bench.sh: how long familymaild takes to enqueue a weekly digest
# for COUNT active subscribers (default 100,000), and its peak memory
# while it then sends them all over SMTP into Postfix's smtp-sink on
# 127.0.0.1 (tls = off). Without smtp-sink it delivers into a Maildir
# on /dev/shm instead.
#
# usage: bench/digest_bench.sh [COUNT]
#   FAMILYMAILD, FAMILYMAIL  the binaries (default: ./src/familymaild and
#                            ./src/familymail: run from the build folder)
#   CONNECTIONS              SMTP sessions (default 8)
#   TRANSPORT                smtp or maildir (default: smtp if smtp-sink
#                            is installed)
#   ENQUEUE_ONLY=1           stop the daemon (SIGTERM) once the digest is
#                            enqueued: the enqueue figure alone, quickly
#
# One `familymaild --once --now` run does it all, as cron would on a
# Monday morning: the digest job opens period 2026-W48 and enqueues one
# message per subscriber in the thread pool (chunks of 2,000, each its
# own transaction), then the sender drains the queue. The enqueue time
# is read from the daemon's log ("job digest opened" to "job digest
# enqueued digest="); the peak memory from GNU time ("Maximum resident
# set size"). Needs sqlite3, python3, GNU time; postfix for smtp-sink.
set -eu

count=${1:-100000}
fmd=${FAMILYMAILD:-./src/familymaild}
fm=${FAMILYMAIL:-./src/familymail}
conns=${CONNECTIONS:-8}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
now_at=2026-11-23T08:30:00Z

PATH=$PATH:/usr/sbin
if [ -z "${TRANSPORT:-}" ]; then
	if command -v smtp-sink >/dev/null 2>&1; then TRANSPORT=smtp; else TRANSPORT=maildir; fi
fi
for tool in sqlite3 python3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "digest_bench: $tool missing" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "digest_bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
[ -x "$fmd" ] && [ -x "$fm" ] || {
	echo "digest_bench: no $fmd or $fm (run from the build folder)" >&2
	exit 1
}
fmd=$(cd "$(dirname "$fmd")" && pwd)/$(basename "$fmd")

base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/digest_bench.XXXXXX")
sink_pid=""
cleanup() {
	[ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secret"
chmod 600 "$work/secret"

if [ "$TRANSPORT" = smtp ]; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	user_opt=""
	[ "$(id -u)" -ne 0 ] || user_opt="-u nobody"
	# shellcheck disable=SC2086 # user_opt is empty or two words
	smtp-sink $user_opt "127.0.0.1:$port" 256 &
	sink_pid=$!
	i=0
	while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { echo "digest_bench: smtp-sink did not start" >&2; exit 1; }
		sleep 0.05
	done
	transport="[transport]
type = smtp
[smtp]
url = smtp://127.0.0.1:$port
tls = off
connections = $conns
timeout = 60s"
else
	transport="[transport]
type = maildir
[maildir]
path = Maildir"
fi

cat >"$work/fm.conf" <<EOF
[daemon]
user = $(id -un)
database = fm.db
templates = $src/templates
timezone = Europe/London
log_level = info
[sender]
from = Family Courses <courses@example.org>
reply_to = bookings@example.org
bounce_domain = bounces.example.org
$transport
[digest]
weekly = mon 08:00
monthly = 1 08:00
max_posts = 10
[unsubscribe]
url = https://example.org/unsubscribe?token={token}
mailto = unsubscribe@example.org
secret_file = secret
EOF

# COUNT weekly subscribers (and a few who must get nothing), five posts
# in the week before Monday 23 November 2026 08:00, last week's digest
# already sent.
"$fm" -c "$work/fm.conf" migrate >/dev/null
sqlite3 "$work/fm.db" <<EOF
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count)
INSERT INTO subscribers (email, name, status, frequency, created_at)
SELECT 'reader' || i || '@example.net', 'Reader Number ' || i,
  CASE WHEN i % 1000 = 0 THEN 'unsubscribed' ELSE 'active' END,
  'weekly', '2026-01-01T00:00:00Z' FROM n;
INSERT INTO subscribers (email, name, status, frequency, created_at)
SELECT 'monthly' || value || '@example.net', 'Monthly ' || value, 'active',
  'monthly', '2026-01-01T00:00:00Z' FROM generate_series(1, 100);
INSERT INTO posts (title, url, author, summary, published_at)
SELECT 'Post number ' || value, 'https://blog.example.org/posts/' || value,
  'Sam Evans', 'Why a short, regular time of undivided attention does more '
  || 'for a child than a long outing once a month.',
  strftime('%Y-%m-%dT%H:%M:%SZ', '2026-11-17T10:00:00Z',
    '+' || value || ' days') FROM generate_series(1, 5);
INSERT INTO digests (frequency, period, scheduled_at, since, until,
  post_count, state, created_at) VALUES
 ('weekly', '2026-W47', '2026-11-16T08:00:00Z', '2026-11-09T08:00:00Z',
  '2026-11-16T08:00:00Z', 0, 'empty', '2026-11-16T08:00:00Z'),
 ('monthly', '2026-11', '2026-11-01T08:00:00Z', '2026-10-01T08:00:00Z',
  '2026-11-01T08:00:00Z', 0, 'empty', '2026-11-01T08:00:00Z');
COMMIT;
EOF
want=$(sqlite3 "$work/fm.db" "SELECT count(*) FROM subscribers WHERE frequency = 'weekly' AND status = 'active'")

t0=$(date +%s.%N)
if [ "${ENQUEUE_ONLY:-0}" = 1 ]; then
	# Stop the daemon (SIGTERM: a graceful stop) as soon as the digest
	# is enqueued; what it sent by then does not count.
	(cd "$work" && exec /usr/bin/time -v -o time.txt "$fmd" -c fm.conf --once --now "$now_at" 2>daemon.log) &
	daemon_pid=$!
	i=0
	until grep -q "job digest enqueued digest=" "$work/daemon.log" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 1200 ] || { echo "digest_bench: no digest after 60 s" >&2; exit 1; }
		sleep 0.05
	done
	# The daemon is the only child of GNU time.
	child=$(pgrep -P "$daemon_pid" || true)
	[ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
	wait "$daemon_pid" || true
	t1=$(date +%s.%N)
	sent=$(sqlite3 "$work/fm.db" "SELECT count(*) FROM messages WHERE kind = 'blog_digest'")
else
	(cd "$work" && /usr/bin/time -v -o time.txt "$fmd" -c fm.conf --once --now "$now_at" 2>daemon.log) || {
		tail -5 "$work/daemon.log" >&2
		exit 1
	}
	t1=$(date +%s.%N)
	sent=$(sqlite3 "$work/fm.db" "SELECT count(*) FROM messages WHERE kind = 'blog_digest' AND state = 'sent'")
fi
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
python3 - "$work/daemon.log" "$t0" "$t1" "$want" "$sent" "$rss" "$TRANSPORT" "$conns" "${ENQUEUE_ONLY:-0}" <<'EOF'
import datetime, re, sys

log, t0, t1, want, sent, rss, transport, conns, only = sys.argv[1:]
opened = enqueued = None
for line in open(log, encoding="utf-8", errors="replace"):
    stamp = line.split(" ", 1)[0]
    if "job digest opened frequency=weekly" in line:
        opened = stamp
    elif "job digest enqueued digest=" in line and opened and not enqueued:
        enqueued = stamp

def parse(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")

if opened is None or enqueued is None:
    sys.exit("digest_bench: no digest lines in the daemon's log")
enq = (parse(enqueued) - parse(opened)).total_seconds()
wall = float(t1) - float(t0)
print("subscribers (weekly, active): %s" % want)
print("enqueue (open period + %s messages): %.3f s, %.0f messages/s"
      % (want, enq, int(want) / enq if enq > 0 else 0))
if only == "1":
    print("enqueued: %s (stopped once enqueued)" % sent)
else:
    print("sent over %s%s: %s in %.1f s (%.0f messages/s, whole run)"
          % (transport, " x%s" % conns if transport == "smtp" else "", sent,
             wall, int(sent) / wall))
print("familymaild peak memory: %.1f MB (maximum resident set size)"
      % (int(rss) / 1024.0))
if int(sent) != int(want):
    sys.exit("digest_bench: %s %s, %s expected"
             % (sent, "enqueued" if only == "1" else "sent", want))
EOF
