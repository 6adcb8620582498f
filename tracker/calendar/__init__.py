"""iCalendar: `vtimezone` (our own VTIMEZONE writer, and why), `events` (one event's text and a
whole calendar), `feeds` (which feeds exist and building them), `files` (writing them)."""
