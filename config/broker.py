"""The embedded default's broker: kombu's filesystem transport, with messages that appear whole.

kombu writes a message file in place under its final name, and a consumer that lists the
folder at that moment moves it away and reads it empty (a JSONDecodeError in the worker,
the wake-up lost). Under a burst, polling every 50 ms, that happens. Here a message is
written under a name no consumer picks up and then renamed, which is atomic.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu renames this argument itself (virtual.Channel: message; filesystem: payload).
    def _put(self, queue, payload, **kwargs):  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Consumers take names whose part after the first dot is "<queue>.msg".
        partial = os.path.join(self.data_folder_out, f"partial-{name}.part")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
