{
    "name": "POS Longpolling: partner sync example",
    "summary": "Example: open POSes reload the partners edited in the backend",
    "version": "15.0.1.0.0",
    "category": "Point of Sale",
    "author": "pos_longpolling contributors",
    "license": "LGPL-3",
    "depends": ["pos_longpolling"],
    "assets": {
        "point_of_sale.assets": [
            "pos_longpolling_partner_sync/static/src/js/partner_sync.js",
        ],
        "web.assets_tests": [
            "pos_longpolling_partner_sync/static/tests/tours/**/*",
        ],
    },
    "installable": True,
}
