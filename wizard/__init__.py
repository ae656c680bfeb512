from . import pos_announcement_wizard
