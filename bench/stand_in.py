"""Stand-in servers for the hub's capacity (bench/capacity.py): a start that takes a while and runs no notebook.

``start`` waits about ``start_seconds`` (a server's start on a cluster: the pod scheduled, the image
there, the server up), drawn evenly from half to one and a half of it, as real starts differ: starts
that all end at one instant would bring the hub's work in waves no cluster sends. It then answers the
URL of one HTTP answerer the bench runs for every server. The hub checks that the server answers,
routes it in the proxy and says it is ready, as for a real one: what costs the hub is all there, and
nothing costs the machine per person. Used by our hub and by plain JupyterHub alike
(``--JupyterHub.spawner_class=bench.stand_in.StandInSpawner``).
"""

import asyncio
import random

from jupyterhub.spawner import Spawner
from traitlets import Float, Unicode


class StandInSpawner(Spawner):
    start_seconds = Float(30.0, config=True, help="How long a start takes on average before the server answers.")
    answerer_url = Unicode(config=True, help="The answerer every stand-in server is (any path answers 200).")

    _running = False

    async def start(self):
        await asyncio.sleep(self.start_seconds * random.uniform(0.5, 1.5))  # noqa: S311 - not for security
        self._running = True
        return self.answerer_url

    async def poll(self):
        return None if self._running else 0

    async def stop(self, now=False):
        self._running = False
