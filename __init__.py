from . import controllers, models
from .patches import post_load
