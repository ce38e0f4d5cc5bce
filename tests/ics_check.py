#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reads iCalendar files as a calendar app would, with python-icalendar
(Debian: python3-icalendar), a parser independent of the libical that
wrote them, and prints one JSON object a line per file: the calendar's
METHOD, its one VEVENT's properties, and each of DTSTART and DTEND as
local time, as UTC by the zone its TZID names (pytz) and as UTC by the
rules of the VTIMEZONE sent with it. A file it cannot read prints
{"file": ..., "error": ...}; the exit status is 0 either way.

usage: ics_check.py FILE...   (or --probe: exit 0 if the modules load)
"""
import datetime
import json
import sys

try:
    import icalendar
except ImportError as e:  # the caller skips with a message
    print(json.dumps({"error": "no python-icalendar: %s" % e}))
    sys.exit(3)

UTC = datetime.timezone.utc


def utc(dt):
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def text(ev, name):
    return str(ev[name]) if name in ev else None


def read(path):
    with open(path, "rb") as f:
        cal = icalendar.Calendar.from_ical(f.read())
    out = {"file": path, "method": text(cal, "METHOD"),
           "version": text(cal, "VERSION")}
    zones = {}
    for tz in cal.walk("VTIMEZONE"):
        zones[str(tz["TZID"])] = tz.to_tz()
    out["vtimezones"] = sorted(zones)
    events = cal.walk("VEVENT")
    out["events"] = len(events)
    if not events:
        return out
    ev = events[0]
    for name in ("UID", "SUMMARY", "LOCATION", "DESCRIPTION", "URL",
                 "STATUS", "TRANSP"):
        out[name.lower()] = text(ev, name)
    out["sequence"] = int(ev["SEQUENCE"]) if "SEQUENCE" in ev else None
    if "ORGANIZER" in ev:
        out["organizer"] = str(ev["ORGANIZER"])
        out["organizer_cn"] = ev["ORGANIZER"].params.get("CN")
    attendees = ev.get("ATTENDEE")
    if attendees is not None and not isinstance(attendees, list):
        attendees = [attendees]
    out["attendees"] = [str(a) for a in attendees or []]
    if attendees:
        params = attendees[0].params
        out["attendee_cn"] = params.get("CN")
        out["partstat"] = params.get("PARTSTAT")
        out["rsvp"] = params.get("RSVP")
    for name in ("DTSTART", "DTEND"):
        if name not in ev:
            continue
        prop, key = ev[name], name.lower()
        dt = prop.dt
        tzid = prop.params.get("TZID")
        out[key + "_tzid"] = tzid
        out[key + "_local"] = dt.strftime("%Y-%m-%dT%H:%M:%S")
        out[key + "_utc"] = utc(dt)
        if tzid in zones:
            local = zones[tzid].localize(dt.replace(tzinfo=None))
            out[key + "_utc_by_vtimezone"] = utc(local)
            out[key + "_offset"] = int(local.utcoffset().total_seconds())
    return out


def main(argv):
    if argv[1:] == ["--probe"]:
        return 0
    for path in argv[1:]:
        try:
            out = read(path)
        except Exception as e:  # noqa: BLE001 - report, not crash
            out = {"file": path, "error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
