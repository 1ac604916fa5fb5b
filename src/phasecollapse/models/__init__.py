"""Models of the poster's Tables 1–3 and their registry."""

from .lscat import LScat
from .registry import check_options, create_model, list_models
from .resnet import ResNet
from .scat import Scattering2D, ScatNet

__all__ = ["LScat", "ResNet", "ScatNet", "Scattering2D", "check_options", "create_model", "list_models"]
