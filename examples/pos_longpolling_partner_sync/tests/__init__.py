from . import test_partner_sync
