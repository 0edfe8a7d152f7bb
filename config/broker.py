"""The embedded default's broker: kombu's filesystem transport, made fit for a burst.

* Messages appear whole. kombu writes a message file in place under its final name, and a
  consumer that lists the folder at that moment moves it away and reads it empty (a
  JSONDecodeError in the worker, the wake-up lost). Under a burst, polling every 50 ms,
  that happens. Here a message is written under a name no consumer picks up and then
  renamed, which is atomic.
* Wake-ups do not pile up. A task named in the transport option `coalesce_tasks` (the
  inbox drain, sync.dispatch) only says "look at the inbox"; while one such message is
  still waiting in the folder, another adds nothing: the waiting one starts a drain
  after the sender's commit, and that drain sees the sender's rows. So a message for it
  without an ETA is not written when one is already waiting. Without this, 300 events/s
  left thousands of wake-ups queued during a sustained stream (each web process sends
  up to 20 a second, each drain consumes one), and every poll of the worker listed and
  sorted the whole folder: the embedded default slowed down as the burst went on.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# In the name of a waiting wake-up, before the first dot (kombu's consumer only looks at
# what follows it: "<queue>.msg").
_WAKE_UP_MARK = "_wake-"


class Channel(filesystem.Channel):
    # kombu renames this argument itself (virtual.Channel: message; filesystem: payload).
    def _put(self, queue, payload, **kwargs):  # type: ignore[override]
        wake_up = self._is_wake_up(payload)
        if wake_up and self._wake_up_waiting(queue):
            return
        mark = _WAKE_UP_MARK if wake_up else "_"
        name = f"{round(monotonic() * 1000)}{mark}{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Consumers take names whose part after the first dot is "<queue>.msg".
        partial = os.path.join(self.data_folder_out, f"partial-{name}.part")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _is_wake_up(self, payload) -> bool:
        headers = (payload.get("headers") or {}) if isinstance(payload, dict) else {}
        coalesce = self.transport_options.get("coalesce_tasks") or ()
        return headers.get("task") in coalesce and not headers.get("eta")

    def _wake_up_waiting(self, queue: str) -> bool:
        suffix = f".{queue}.msg"
        try:
            names = os.listdir(self.data_folder_out)
        except OSError:
            return False  # written (or failing) as any other message
        return any(_WAKE_UP_MARK in name and name.endswith(suffix) for name in names)


class Transport(filesystem.Transport):
    Channel = Channel
