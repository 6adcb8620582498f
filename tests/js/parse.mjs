// Read an .ics file with ical.js (the parser of Thunderbird) and print what a client would see.
//
//   node tests/js/parse.mjs FILE.ics
//
// Only the feed's own VTIMEZONEs are registered with ICAL.TimezoneService: no zone database is
// loaded, so a TZID without its VTIMEZONE shows up as zone "floating" instead of being rescued.
// Output (JSON on stdout): { "<uid>": { start_utc, is_date, date, zone, status, sequence,
// summary }, ... }. start_utc is an ISO instant for date-times and null for DATE values (which
// have no instant; `date` then holds YYYY-MM-DD). Exit 1 with a message on any parse error or
// a UID seen twice.

import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function fail(message) {
  process.stderr.write(`parse.mjs: ${message}\n`);
  process.exit(1);
}

const file = process.argv[2];
if (!file) fail("usage: node parse.mjs FILE.ics");

let root;
try {
  root = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
} catch (err) {
  fail(`${file}: ${err.message}`);
}

ICAL.TimezoneService.reset(); // UTC only, then the feed's zones and nothing else
for (const vtz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtz);
}

const out = {};
for (const vevent of root.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(vevent);
  const uid = event.uid;
  if (uid in out) fail(`UID ${uid} appears twice`);
  const start = event.startDate;
  const zone = start.zone ? start.zone.tzid : "floating";
  out[uid] = {
    start_utc: start.isDate ? null : start.toJSDate().toISOString().replace(".000Z", "Z"),
    is_date: start.isDate,
    date: start.isDate ? start.toString() : null,
    zone,
    status: vevent.getFirstPropertyValue("status"),
    sequence: event.sequence,
    summary: event.summary,
  };
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
