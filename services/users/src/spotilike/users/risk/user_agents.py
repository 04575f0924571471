"""Recognising clients that announce themselves as scripts, driven browsers or crawlers."""

from __future__ import annotations

import re

__all__ = ["is_automation_user_agent"]

_AUTOMATION_USER_AGENT = re.compile(
    r"""
    \b(?:
        curl | wget | httpie | python-requests | python-urllib | python-httpx | httpx
      | aiohttp | urllib3 | go-http-client | libwww-perl | lwp-\w+ | java/ | okhttp
      | apache-httpclient | node-fetch | axios | undici
      | postmanruntime | insomnia | scrapy | mechanize
      | headlesschrome | phantomjs | slimerjs | selenium | webdriver | puppeteer
      | playwright | electron-fetch
      | \w*spider | \w*crawler | \w*crawl\b
    )
    | (?<!cu)bot\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
"""Clients that announce themselves as scripts, driven browsers or crawlers.

A short pattern of our own rather than a crawler-list package: what reaches a sign-up form
is HTTP libraries and browser-automation tools, which search-engine crawler lists cover
only partly, and the pattern costs one regex search per request. ``crawlerdetect`` is the
candidate should the list need to grow. ``(?<!cu)`` spares the Cubot phone brand, whose
model names would otherwise match ``bot``. OkHttp is listed because Spotilike has no
Android app of its own: an OkHttp client at the sign-up form is somebody's script.
"""


def is_automation_user_agent(user_agent: str) -> bool:
    return _AUTOMATION_USER_AGENT.search(user_agent) is not None
