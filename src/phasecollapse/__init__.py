"""phasecollapse: phase-collapse networks (Guth, Zarka, Mallat, ICLR 2022).

Building blocks: filter banks (:mod:`.layers.filters`), the wavelet transform W (:mod:`.layers.wavelet`),
phase collapse and its phase-preserving alternatives (:mod:`.layers.nonlinearities`), standardisation
(:mod:`.layers.standardization`), P_j (:mod:`.layers.projection`), normalisation (:mod:`.layers.normalization`),
one learned-scattering block (:mod:`.layers.block`). Complex maps are real pairs (:mod:`.layers.complex`).
"""

from .layers.block import LScatBlock
from .layers.complex import from_complex, to_complex
from .layers.filters import FilterBank, filter_bank
from .models import create_model, list_models
from .layers.nonlinearities import create_nonlinearity, list_nonlinearities
from .layers.normalization import Normalization
from .layers.projection import ComplexProjection
from .layers.standardization import Standardization
from .layers.wavelet import Wavelet

__version__ = "0.1.0"

__all__ = [
    "ComplexProjection",
    "FilterBank",
    "LScatBlock",
    "Normalization",
    "Standardization",
    "Wavelet",
    "create_model",
    "create_nonlinearity",
    "filter_bank",
    "from_complex",
    "list_models",
    "list_nonlinearities",
    "to_complex",
]
