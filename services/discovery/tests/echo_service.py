"""A minimal kit service, run as its own process by the tests (settings from SPOTILIKE_*).

It registers with the registry through the kit, exactly as every Spotilike service does
when ``discovery_url`` is set, which is what the SIGKILL test needs a real process for.
"""

import uvicorn

from spotilike.kit.app import create_app
from spotilike.kit.settings import ServiceSettings

if __name__ == "__main__":
    settings = ServiceSettings()
    app = create_app(settings, title="echo", use_database=False, use_redis=False)
    uvicorn.run(app, host="127.0.0.1", port=settings.port, log_config=None, access_log=False)
