#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# tmpl_bench.sh: renders per second of the blog digest HTML template with
# 10 posts, familymail's engine (bench/tmpl_bench.c) beside pystache
# (Debian package python3-pystache) on the same template and data in the
# same run; prints both rates and their ratio.
#
# usage: bench/tmpl_bench.sh [SECONDS]      (run from a build folder)
#   BUILDDIR  the build folder (default: .); bench/tmpl_bench is built
#             there with `make bench/tmpl_bench`. Use a build without
#             --enable-debug (which compiles with -O0).
#   PYTHON    a Python 3 that has Debian's pystache (default:
#             /usr/bin/python3)
#
# The template is templates/blog_digest/html.mustache with its layout
# (or, without it, a small inline digest of the same shape). pystache
# 0.6 has no template inheritance ({{<layout}} with {{$blocks}}), so both
# engines are timed on the same template with the layout filled in by
# this script (the "flat" template), and familymail is timed on the real
# one as well. Each side compiles once and renders for SECONDS (default
# 3) in one process, as a daemon would; the two flat outputs are
# compared.
set -eu

secs=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
src=$here/..
builddir=${BUILDDIR:-.}
python=${PYTHON:-/usr/bin/python3}

"$python" -c 'import pystache' 2>/dev/null || {
	echo "tmpl_bench: pystache missing (apt-get install python3-pystache)" >&2
	exit 1
}
make -s -C "$builddir" bench/tmpl_bench >/dev/null
bench=$builddir/bench/tmpl_bench
if grep -q '^CFLAGS = .*-O0' "$builddir/Makefile"; then
	echo "tmpl_bench: warning: $builddir is built with -O0" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -f "$src/templates/blog_digest/html.mustache" ]; then
	tdir=$src/templates
	which="templates/blog_digest/html.mustache"
else
	# A stand-in of the same shape: a layout parent, blocks, a partial.
	tdir=$tmp/templates
	mkdir -p "$tdir/blog_digest" "$tdir/partials"
	cat >"$tdir/partials/layout.mustache" <<'EOF'
<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><title>{{$title}}{{sender.name}}{{/title}}</title></head>
<body style="margin:0;padding:0;background-color:#f3efe8;">
<table role="presentation" width="100%" style="border-collapse:collapse;">
<tr><td style="padding:18px 24px;background-color:#1f5156;color:#ffffff;">{{sender.name}}</td></tr>
<tr><td style="padding:28px 24px;background-color:#ffffff;">
<h1 style="margin:0 0 20px;font-size:24px;">{{$heading}}{{/heading}}</h1>
{{$body}}{{/body}}
</td></tr>
<tr><td style="padding:20px 24px;font-size:13px;color:#4f5660;">
{{$footer}}{{/footer}}
<p style="margin:0;">{{sender.name}}<br><a href="mailto:{{sender.email}}">{{sender.email}}</a></p>
</td></tr>
</table>
</body>
</html>
EOF
	cat >"$tdir/partials/post.mustache" <<'EOF'
<table role="presentation" width="100%" style="border-collapse:collapse;">
<tr><td style="padding:20px 0;border-bottom:1px solid #e3ddd3;">
<h2 style="margin:0 0 4px;font-size:20px;"><a href="{{url}}" style="color:#1f5156;">{{title}}</a></h2>
<p style="margin:0 0 12px;font-size:14px;color:#4f5660;">{{#author}}{{author}} &middot; {{/author}}{{published}}</p>
{{#summary}}
<p style="margin:0 0 12px;">{{summary}}</p>
{{/summary}}
<p style="margin:0;"><a href="{{url}}">Read the full post</a></p>
</td></tr>
</table>
EOF
	cat >"$tdir/blog_digest/html.mustache" <<'EOF'
{{<layout}}
{{$title}}New on the {{sender.name}} blog{{/title}}
{{$heading}}New on the blog this {{subscriber.period}}{{/heading}}
{{$body}}
<p>Hello{{#subscriber.name}} {{subscriber.name}}{{/subscriber.name}},</p>
{{#posts}}
{{>post}}
{{/posts}}
{{/body}}
{{$footer}}
<p>You are receiving this {{subscriber.frequency}} digest as {{subscriber.email}}.
<a href="{{unsubscribe_url}}">Unsubscribe</a></p>
{{/footer}}
{{/layout}}
EOF
	which="an inline digest template (templates/blog_digest not found)"
fi

# The data, and the flat template for pystache (and for a like-for-like
# familymail run).
"$python" - "$tdir" "$tmp" <<'EOF'
import json, os, re, sys

tdir, tmp = sys.argv[1], sys.argv[2]
posts = []
for i in range(10):
    posts.append({
        "title": "Week %d: what our volunteers & families did" % (10 - i),
        "url": "https://charity.example.org/blog/%d-volunteers-families" % (100 - i),
        "author": "Sam O'Neill" if i % 2 else "Priya Shah",
        "published": "%d December 2026" % (20 - i),
        "summary": ("Our <Nurturing Programme> group met again this week. "
                    "Parents shared what worked at bedtime, and we planned "
                    "the next term's sessions & the summer picnic. ") * 2,
    })
data = {
    "sender": {"name": "Family Links & Friends", "email": "hello@charity.example.org"},
    "subscriber": {"name": "Alex", "email": "alex@example.net",
                   "frequency": "weekly", "period": "week"},
    "posts": posts,
    "post_count": 10,
    "post_count_plural": True,
    "unsubscribe_url": "https://charity.example.org/u/abc?t=1&x=2",
    "preferences_url": "https://charity.example.org/p/abc",
}
with open(os.path.join(tmp, "data.json"), "w") as f:
    json.dump(data, f)

block = re.compile(r"\{\{\$(\w+)\}\}(.*?)\{\{/\1\}\}", re.S)
child = open(os.path.join(tdir, "blog_digest", "html.mustache")).read()
m = re.search(r"\{\{<\s*(\w+)\s*\}\}(.*)\{\{/\s*\1\s*\}\}", child, re.S)
parent = open(os.path.join(tdir, "partials", m.group(1) + ".mustache")).read()
overrides = {b.group(1): b.group(2).strip("\n") for b in block.finditer(m.group(2))}
flat = block.sub(lambda b: overrides.get(b.group(1), b.group(2)), parent)
with open(os.path.join(tmp, "flat.mustache"), "w") as f:
    f.write(flat)
EOF

rate() { sed -n 's/.*rate=\([0-9.]*\).*/\1/p'; }

fm_real=$("$bench" "$tdir/blog_digest/html.mustache" "$tdir/partials" \
	"$tmp/data.json" "$secs" "$tmp/fm_real.html" | rate)
fm_flat=$("$bench" "$tmp/flat.mustache" "$tdir/partials" \
	"$tmp/data.json" "$secs" "$tmp/fm_flat.html" | rate)
py_flat=$("$python" - "$tmp/flat.mustache" "$tdir/partials" \
	"$tmp/data.json" "$secs" "$tmp/py_flat.html" <<'EOF'
import json, os, sys, time
import pystache

tpath, pdir, dpath, secs, opath = sys.argv[1:6]
partials = {}
for name in os.listdir(pdir):
    if name.endswith(".mustache") and not name.startswith("."):
        with open(os.path.join(pdir, name)) as f:
            partials[name[:-len(".mustache")]] = f.read()
with open(tpath) as f:
    parsed = pystache.parse(f.read())
with open(dpath) as f:
    data = json.load(f)
renderer = pystache.Renderer(partials=partials, missing_tags="ignore")
n = 0
start = time.monotonic()
while True:
    for _ in range(10):
        out = renderer.render(parsed, data)
        n += 1
    elapsed = time.monotonic() - start
    if elapsed >= float(secs):
        break
with open(opath, "w") as f:
    f.write(out)
print("rate=%.0f" % (n / elapsed))
EOF
)
py_flat=$(echo "$py_flat" | rate)

# pystache escapes ' as &#x27; where familymail writes &#39;.
if sed "s/&#x27;/\&#39;/g" "$tmp/py_flat.html" | cmp -s - "$tmp/fm_flat.html"; then
	same="identical output"
else
	same="outputs DIFFER"
fi

echo "template: $which, 10 posts, $(wc -c <"$tmp/fm_real.html") bytes of HTML"
awk -v real="$fm_real" -v flat="$fm_flat" -v py="$py_flat" -v same="$same" 'BEGIN {
	printf "familymail (layout parent):  %10.0f renders/s\n", real
	printf "familymail (flat template):  %10.0f renders/s\n", flat
	printf "pystache   (flat template):  %10.0f renders/s\n", py
	printf "ratio familymail/pystache:   %10.1f (flat, %s)\n", flat / py, same
}'
