"""phasecollapse: phase-collapse networks (Guth, Zarka, Mallat, ICLR 2022).

Building blocks: filter banks (:mod:`.filters`), the wavelet transform W (:mod:`.wavelet`),
phase collapse and its phase-preserving alternatives (:mod:`.nonlinearities`), standardisation
(:mod:`.standardization`), P_j (:mod:`.projection`), normalisation (:mod:`.normalization`),
one learned-scattering block (:mod:`.block`). Complex maps are real pairs (:mod:`.complex`).
"""

from .block import LScatBlock
from .complex import from_complex, to_complex
from .filters import FilterBank, filter_bank
from .models import create_model, list_models
from .nonlinearities import create_nonlinearity, list_nonlinearities
from .normalization import Normalization
from .projection import ComplexProjection
from .standardization import Standardization
from .wavelet import Wavelet

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
