"""A byte-level iCalendar reader for the tests: physical lines, unfolding, components and
properties as written (no library of ours reads what our library wrote)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Prop:
    """One unfolded content line."""

    name: str
    params: dict[str, str]
    value: str


@dataclass
class Comp:
    """One component with its properties and sub-components, in file order."""

    name: str
    props: list[Prop] = field(default_factory=list)
    children: list[Comp] = field(default_factory=list)

    def all(self, name: str) -> list[Prop]:
        """Every property with this name."""
        return [p for p in self.props if p.name == name.upper()]

    def one(self, name: str) -> Prop:
        """The one property with this name (fails when absent or repeated)."""
        found = self.all(name)
        assert len(found) == 1, f"{self.name}: {len(found)} x {name}"
        return found[0]

    def value(self, name: str) -> str:
        """The value of the one property with this name."""
        return self.one(name).value

    def sub(self, name: str) -> list[Comp]:
        """Sub-components with this name."""
        return [c for c in self.children if c.name == name.upper()]

    def walk(self) -> Iterator[Comp]:
        """This component and every one below it."""
        yield self
        for c in self.children:
            yield from c.walk()


def physical_lines(data: bytes) -> list[bytes]:
    """The lines as sent, without their CRLF; fails on a bare CR or LF."""
    assert data.endswith(b"\r\n"), "the last line must end with CRLF"
    lines = data[:-2].split(b"\r\n")
    for n, line in enumerate(lines, 1):
        assert b"\n" not in line and b"\r" not in line, f"line {n}: bare CR or LF: {line!r}"
    return lines


def unfold(data: bytes) -> list[str]:
    """Logical content lines (RFC 5545 §3.1), decoded as UTF-8."""
    out: list[bytes] = []
    for line in physical_lines(data):
        if line[:1] in (b" ", b"\t"):
            assert out, "a continuation line cannot come first"
            out[-1] += line[1:]
        else:
            out.append(line)
    return [x.decode("utf-8") for x in out]


_NAME = re.compile(r"[A-Za-z0-9-]+")


def _split_line(line: str) -> Prop:
    m = _NAME.match(line)
    assert m, f"no property name in {line!r}"
    name, i, params = m.group().upper(), m.end(), {}
    while i < len(line) and line[i] == ";":
        pm = _NAME.match(line, i + 1)
        assert pm and line[pm.end()] == "=", f"bad parameter in {line!r}"
        j = pm.end() + 1
        if line[j] == '"':
            k = line.index('"', j + 1)
            value, i = line[j + 1:k], k + 1
        else:
            k = j
            while k < len(line) and line[k] not in ";:":
                k += 1
            value, i = line[j:k], k
        params[pm.group().upper()] = value
    assert line[i] == ":", f"no ':' after the name and parameters in {line!r}"
    return Prop(name, params, line[i + 1:])


def parse(data: bytes) -> Comp:
    """The VCALENDAR tree of a feed (strict about nesting)."""
    stack: list[Comp] = []
    root: Comp | None = None
    for line in unfold(data):
        prop = _split_line(line)
        if prop.name == "BEGIN":
            comp = Comp(prop.value.upper())
            if stack:
                stack[-1].children.append(comp)
            else:
                assert root is None, "more than one top-level component"
                root = comp
            stack.append(comp)
        elif prop.name == "END":
            assert stack and stack[-1].name == prop.value.upper(), f"unbalanced {line!r}"
            stack.pop()
        else:
            assert stack, f"property outside any component: {line!r}"
            stack[-1].props.append(prop)
    assert root is not None and not stack, "unterminated calendar"
    assert root.name == "VCALENDAR"
    return root


def events(cal: Comp) -> dict[str, Comp]:
    """VEVENTs by UID (each UID once)."""
    out: dict[str, Comp] = {}
    for ev in cal.sub("VEVENT"):
        uid = ev.value("UID")
        assert uid not in out, f"UID {uid} twice"
        out[uid] = ev
    return out


def read(path: Path) -> Comp:
    """parse() of a file."""
    return parse(path.read_bytes())


# ----------------------------------------------------------------------------- split for CalDAV

def calendar_objects(data: bytes) -> list[str]:
    """One iCalendar object per VEVENT, carrying the VTIMEZONEs that event uses (CalDAV wants
    one UID per resource), made of the feed's own lines."""
    lines = physical_lines(data)
    zones: dict[str, list[bytes]] = {}
    evs: list[list[bytes]] = []
    current: list[bytes] | None = None
    kind = b""
    for line in lines:
        if current is None and line in (b"BEGIN:VTIMEZONE", b"BEGIN:VEVENT"):
            current, kind = [line], line[6:]
            continue
        if current is not None:
            current.append(line)
            if line == b"END:" + kind:
                if kind == b"VTIMEZONE":
                    tzid = parse(b"\r\n".join([b"BEGIN:VCALENDAR", *current, b"END:VCALENDAR",
                                               b""])).sub("VTIMEZONE")[0].value("TZID")
                    zones[tzid] = current
                else:
                    evs.append(current)
                current = None
    out = []
    for ev in evs:
        text = b"\r\n".join(ev).decode("utf-8")
        needed = sorted(set(re.findall(r";TZID=([^:;]+)", text.replace("\r\n ", ""))))
        body = [b"BEGIN:VCALENDAR", b"VERSION:2.0", b"PRODID:-//grant-tracker//tests//EN"]
        for tzid in needed:
            body += zones[tzid]
        body += [*ev, b"END:VCALENDAR", b""]
        out.append(b"\r\n".join(body).decode("utf-8"))
    return out
