#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# smtp_bench.sh: messages per second of `familymaild --once` delivering a
# queue of personalised digests (about 4 KB each) over SMTP into
# Postfix's smtp-sink on 127.0.0.1, beside Postfix's smtp-source sending
# the same number of messages of the same size over the same number of
# sessions to the same sink, in the same run. Prints both rates, their
# ratio and familymaild's peak memory, for 4 and 16 connections, on a
# fast sink and on a slow one that takes 5 ms to accept each message.
# familymaild also runs with [dkim] signing every message (RSA-2048,
# relaxed/relaxed); "signed" is that run's rate and "cost" how much
# slower it is.
#
# The machine may be shared and busy: each side runs REPEAT times in
# turn (familymaild, the baseline if any, smtp-source, and again) and
# the best rate of each counts; the load average is printed before and
# after. Benchmark an optimised build (./configure without
# --enable-debug).
#
# usage: bench/smtp_bench.sh [COUNT]          (default COUNT 20000)
#   FAMILYMAILD, FAMILYMAIL  the binaries (default: ./src/familymaild and
#                            ./src/familymail: run from the build folder)
#   BASE_FAMILYMAILD, BASE_FAMILYMAIL, BASE_TEMPLATES
#                            an older build and its templates, run side by
#                            side in the same run ("base" and its ratio
#                            to smtp-source); unset: none
#   CONNECTIONS              the session counts to try (default "4 16")
#   REPEAT                   runs of each side (default 3)
#   SIGNED=0                 leave out the signed run
#
# smtp-sink delays only by whole seconds, so the slow sink is smtp-sink
# behind a small relay (python3 asyncio, below) that holds each reply to
# the end of a message's data for 5 ms; both clients go through it.
# Needs postfix (smtp-sink, smtp-source), sqlite3, python3, GNU time.
set -eu

count=${1:-20000}
fmd=${FAMILYMAILD:-./src/familymaild}
fm=${FAMILYMAIL:-./src/familymail}
conns=${CONNECTIONS:-4 16}
repeat=${REPEAT:-3}
bfmd=${BASE_FAMILYMAILD:-}
bfm=${BASE_FAMILYMAIL:-}
signed=${SIGNED:-1}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
now_at=2026-11-24T09:00:00Z

for tool in smtp-sink smtp-source sqlite3 python3 openssl; do
	command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
	command -v "$tool" >/dev/null 2>&1 || {
		echo "smtp_bench: $tool missing (contrib/install-deps.sh --bench)" >&2
		exit 1
	}
done
[ -x /usr/bin/time ] || { echo "smtp_bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
[ -x "$fmd" ] && [ -x "$fm" ] || {
	echo "smtp_bench: no $fmd or $fm (run from the build folder)" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/smtp_bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A free port on 127.0.0.1 (the kernel picks; a race with other programs
# is harmless here: the start of the sink would fail loudly).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	i=0
	while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { echo "smtp_bench: nothing listens on $1" >&2; exit 1; }
		sleep 0.05
	done
}

cat >"$work/delay.py" <<'EOF'
# Relays 127.0.0.1:LISTEN to 127.0.0.1:TARGET, holding each reply to the
# end of a message's data ("250 2.0.0 ...", after DATA's 354) DELAY ms.
import asyncio, sys

listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000.0

class Up(asyncio.Protocol):
    def __init__(self, down):
        self.down = down
        self.in_data = False
        self.buf = b""
        self.queue = []  # (time it may go, bytes), in order
        self.timer = None
    def connection_made(self, t):
        self.t = t
        self.down.up = self
        for chunk in self.down.early:
            t.write(chunk)
        self.down.early = []
    def data_received(self, data):
        # Replies line by line: a client that pipelines (RFC 2920) gets
        # the replies to MAIL, RCPT and DATA in one chunk. The first
        # final reply after a 354 answers the end of the data.
        loop = asyncio.get_running_loop()
        self.buf += data
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                break
            line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
            at = 0.0
            if line[3:4] != b"-":
                if self.in_data:
                    self.in_data = False
                    at = loop.time() + delay
                elif line.startswith(b"354"):
                    self.in_data = True
            self.queue.append((at, line))
        self.pump()
    def pump(self):
        loop = asyncio.get_running_loop()
        self.timer = None
        out = []
        while self.queue and self.queue[0][0] <= loop.time():
            out.append(self.queue.pop(0)[1])
        if out:
            self.down.t.write(b"".join(out))
        if self.queue and self.timer is None:
            self.timer = loop.call_at(self.queue[0][0], self.pump)
    def connection_lost(self, exc):
        self.down.t.close()

class Down(asyncio.Protocol):
    def connection_made(self, t):
        self.t = t
        self.up = None
        self.early = []
        t.set_write_buffer_limits(1 << 20)
        asyncio.get_running_loop().create_task(
            asyncio.get_running_loop().create_connection(lambda: Up(self), "127.0.0.1", target))
    def data_received(self, data):
        if self.up is None:
            self.early.append(data)
        else:
            self.up.t.write(data)
    def connection_lost(self, exc):
        if self.up is not None:
            self.up.t.close()

async def main():
    srv = await asyncio.get_running_loop().create_server(Down, "127.0.0.1", listen, backlog=256)
    await srv.serve_forever()

asyncio.run(main())
EOF

# The queue: COUNT weekly subscribers, two posts, one digest period
# already opened (so the digest job adds nothing), one message each.
make_db() {
	dir=$1
	mkdir -p "$dir"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/secret"
	chmod 600 "$dir/secret"
	"${2:-$fm}" -c "$dir/fm.conf" migrate >/dev/null
	sqlite3 "$dir/fm.db" <<EOF
BEGIN;
INSERT INTO posts (title, url, author, summary, published_at) VALUES
 ('Ten minutes of play a day', 'https://blog.example.org/posts/play',
  'Sam Evans', 'Why a short, regular time of undivided attention does more for a child than a long outing once a month, and how to fit it into a busy week.',
  '2026-11-19T10:00:00Z'),
 ('When bedtime is a battle', 'https://blog.example.org/posts/bedtime',
  'Alex Morgan', 'Routines, choices and calm: what the parents on our last course found worked for them, in their own words.',
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
}

# write_conf DIR PORT CONNECTIONS [dkim|base]
write_conf() {
	tpl=$src/templates
	[ "${4:-}" = base ] && tpl=${BASE_TEMPLATES:-$src/templates}
	cat >"$1/fm.conf" <<EOF
[daemon]
user = $(id -un)
database = fm.db
templates = $tpl
timezone = Europe/London
log_level = warning
[sender]
from = Family Courses <courses@example.org>
reply_to = bookings@example.org
bounce_domain = bounces.example.org
[transport]
type = smtp
[smtp]
url = smtp://127.0.0.1:$2
tls = off
connections = $3
timeout = 60s
[unsubscribe]
url = https://example.org/unsubscribe?token={token}
mailto = unsubscribe@example.org
secret_file = secret
EOF
	if [ "${4:-}" = dkim ]; then
		cp "$work/dkim.pem" "$1/dkim.pem"
		printf '[dkim]\ndomain = example.org\nselector = bench\nkey_file = dkim.pem\n' >>"$1/fm.conf"
	fi
}

now() { date +%s.%N; }
rate() { python3 -c "print('%.0f' % ($1 / ($3 - $2)))"; }

# The size of one message as familymaild sends it (for smtp-source -l):
# render one into a Maildir.
probe=$work/probe
mkdir -p "$probe"
write_conf "$probe" 1 1
sed -i 's/^type = smtp/type = maildir/' "$probe/fm.conf"
printf '[maildir]\npath = md\n' >>"$probe/fm.conf"
save=$count
count=1
make_db "$probe"
count=$save
"$fmd" -c "$probe/fm.conf" --once --now "$now_at" 2>>"$work/probe.log"
size=$(cat "$probe"/md/new/* | wc -c)
echo "smtp_bench: $count messages of $size bytes (a weekly digest), $(nproc) CPUs, best of $repeat"
echo "smtp_bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$work/dkim.pem" 2>/dev/null)

sink_port=$(free_port)
smtp-sink -u nobody -c 127.0.0.1:"$sink_port" 1024 >/dev/null 2>&1 &
pids="$pids $!"
wait_port "$sink_port"
slow_port=$(free_port)
python3 "$work/delay.py" "$slow_port" "$sink_port" 5 &
pids="$pids $!"
wait_port "$slow_port"

printf '%-6s %5s %12s %12s %6s %12s %12s %6s %6s %8s\n' sink conns \
    familymaild signed cost base smtp-source ratio base_r peak_rss
# run_daemon BIN DIR: BIN --once on a copy of DIR's queue; prints its
# rate and leaves its peak memory in DIR/rss.
run_daemon() {
	rm -rf "$2.run"
	cp -r "$2" "$2.run"
	t0=$(now)
	/usr/bin/time -f %M -o "$2/rss" "$1" -c "$2.run/fm.conf" --once \
	    --now "$now_at" 2>>"$2/daemon.log"
	t1=$(now)
	sent=$(sqlite3 "$2.run/fm.db" "SELECT count(*) FROM messages WHERE state = 'sent'")
	[ "$sent" -eq "$count" ] || {
		echo "smtp_bench: only $sent of $count sent ($2/daemon.log)" >&2
		exit 1
	}
	rm -rf "$2.run"
	rate "$count" "$t0" "$t1"
}

best() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }

for sink in fast slow; do
	port=$sink_port
	[ "$sink" = slow ] && port=$slow_port
	for k in $conns; do
		run=$work/run-$sink-$k
		mkdir -p "$run" "$run-dkim" "$run-base"
		write_conf "$run" "$port" "$k"
		make_db "$run"
		if [ "$signed" = 1 ]; then
			write_conf "$run-dkim" "$port" "$k" dkim
			make_db "$run-dkim"
		fi
		if [ -n "$bfmd" ]; then
			write_conf "$run-base" "$port" "$k" base
			make_db "$run-base" "$bfm"
		fi
		fr=0 br=0 sr=0 rss=0
		for i in $(seq "$repeat"); do
			fr=$(best "$(run_daemon "$fmd" "$run")" "$fr")
			r=$(cat "$run/rss")
			[ "$r" -gt "$rss" ] && rss=$r
			if [ -n "$bfmd" ]; then
				br=$(best "$(run_daemon "$bfmd" "$run-base")" "$br")
			fi
			t2=$(now)
			smtp-source -d -s "$k" -m "$count" -l "$size" \
			    -f bounces@bounces.example.org -t reader@example.net \
			    127.0.0.1:"$port" >/dev/null
			t3=$(now)
			sr=$(best "$(rate "$count" "$t2" "$t3")" "$sr")
		done
		dr=- cost=-
		if [ "$signed" = 1 ]; then
			dr=$(run_daemon "$fmd" "$run-dkim")
			cost=$(python3 -c "print('%.0f%%' % (100 * (1 - $dr / $fr)))")
			dr=$dr/s
		fi
		ratio=$(python3 -c "print('%.2f' % ($fr / $sr))")
		bratio=-
		bshow=-
		if [ -n "$bfmd" ]; then
			bratio=$(python3 -c "print('%.2f' % ($br / $sr))")
			bshow=$br/s
		fi
		printf '%-6s %5s %10s/s %12s %6s %12s %10s/s %6s %6s %5s MB\n' \
		    "$sink" "$k" "$fr" "$dr" "$cost" "$bshow" "$sr" "$ratio" \
		    "$bratio" "$((rss / 1024))"
		rm -rf "$run" "$run-dkim" "$run-base"
	done
done
echo "smtp_bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
