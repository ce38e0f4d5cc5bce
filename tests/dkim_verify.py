# SPDX-License-Identifier: GPL-3.0-or-later
"""Verifies the DKIM signatures of messages with dkimpy (Debian's
python3-dkim), an implementation independent of the signer's.

usage: dkim_verify.py KEYS MESSAGE...

KEYS is a file of lines "NAME TXT", the DNS records verifiers would look
up (NAME like fm2026._domainkey.example.org, TXT the record's text); they
reach dkimpy through its DNS hook (dnsfunc), so no DNS is used. For each
message, one line per DKIM-Signature, in order:

    MESSAGE INDEX a=ALGORITHM s=SELECTOR pass|fail

and "MESSAGE - unsigned" for a message without one. Exit 0 if every
signature passed, 1 otherwise.
"""
import sys

import dkim


def main():
    records = {}
    with open(sys.argv[1], encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if line:
                name, txt = line.split(" ", 1)
                records[name.rstrip(".").lower()] = txt.encode("ascii")

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        return records.get(name.rstrip(".").lower())

    ok = True
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            msg = f.read()
        d = dkim.DKIM(msg)
        sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
        if not sigs:
            print(path, "-", "unsigned")
            ok = False
            continue
        for i, sig in enumerate(sigs):
            tags = dkim.util.parse_tag_value(sig)
            try:
                good = d.verify(idx=i, dnsfunc=dnsfunc)
            except dkim.DKIMException as e:
                print("dkim error:", e, file=sys.stderr)
                good = False
            print(path, i, "a=" + tags[b"a"].decode(),
                  "s=" + tags[b"s"].decode(), "pass" if good else "fail")
            ok = ok and good
    sys.exit(0 if ok else 1)


main()
