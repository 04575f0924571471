"""The synthesiser's sample buffers (float64 arrays, channels first) and the default rate."""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["SAMPLE_RATE", "Audio"]


Audio = NDArray[np.float64]

SAMPLE_RATE: Final = 44100
