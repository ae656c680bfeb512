from . import controllers, models, wizard
from .patches import post_load
