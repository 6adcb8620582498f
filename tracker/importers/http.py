"""Small HTTP POST with retries and backoff on 5xx and timeouts (urllib only)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker.errors import TrackerError


class FetchError(TrackerError):
    """A portal could not be read; the previous import stays as it was."""

    exit_code = 5


@dataclass(frozen=True)
class Retry:
    """How hard to try: attempts per request, first backoff (doubling), timeout, page delay."""

    attempts: int = 4
    backoff: float = 2.0
    timeout: float = 60.0
    delay: float = 1.0


def post_json(url: str, body: bytes, content_type: str, retry: Retry,
              sleep: Callable[[float], None] = time.sleep) -> Any:
    """POST `body` and decode the JSON answer; retries 5xx, timeouts and refused connections."""
    last = ""
    for attempt in range(retry.attempts):
        if attempt:
            sleep(retry.backoff * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": content_type,
                                                  "Accept": "application/json",
                                                  "User-Agent": "grant-tracker importer"})
        try:
            with urllib.request.urlopen(request, timeout=retry.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                raise FetchError(f"{url} refused the request: HTTP {exc.code} {exc.reason}. "
                                 "Check the filter options.") from None
            last = f"HTTP {exc.code} {exc.reason}"
        except TimeoutError:
            last = f"no answer within {retry.timeout:g} s"
        except urllib.error.URLError as exc:
            last = f"cannot connect ({exc.reason})"
        except ValueError as exc:
            last = f"the answer is not JSON ({exc})"
    raise FetchError(f"{url} failed {retry.attempts} time(s), last: {last}. The previous import "
                     "is kept; try again later.")
