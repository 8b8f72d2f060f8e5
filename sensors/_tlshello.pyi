"""Types of the compiled ClientHello reader (``sensors/_tlshello.pyx``): the fields of
``sensors.tls.ClientHello`` as a ``hello`` (plain tuple by default), or None unless the
message is a whole ClientHello."""

from typing import TypeVar, overload

import numpy as np
import numpy.typing as npt

U16s = tuple[int, ...]
Fields = tuple[int, U16s, U16s, str, U16s, U16s, U16s, tuple[bytes, ...], U16s]
Hello = TypeVar("Hello", bound=Fields)

@overload
def parse(message: bytes | npt.NDArray[np.uint8]) -> Fields | None: ...
@overload
def parse(message: bytes | npt.NDArray[np.uint8], hello: type[Hello]) -> Hello | None: ...
