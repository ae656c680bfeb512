{
    "name": "POS Longpolling",
    "summary": "Push messages from the backend to open Point of Sale screens "
    "over Odoo's longpolling bus",
    "version": "15.0.1.1.0",
    "category": "Point of Sale",
    "author": "pos_longpolling contributors",
    "license": "LGPL-3",
    "development_status": "Beta",
    "depends": ["bus", "point_of_sale"],
    "data": [
        "security/ir.model.access.csv",
        "security/pos_announcement_security.xml",
        "views/pos_config_views.xml",
        "views/pos_config_connection_views.xml",
        "views/pos_announcement_views.xml",
        "wizard/pos_announcement_wizard_views.xml",
    ],
    "assets": {
        "point_of_sale.assets": [
            "pos_longpolling/static/src/js/connection_monitor.js",
            "pos_longpolling/static/src/js/sync_credential.js",
            "pos_longpolling/static/src/js/channel_bus.js",
            "pos_longpolling/static/src/js/http_transport.js",
            "pos_longpolling/static/src/js/pos_model.js",
            "pos_longpolling/static/src/js/LongpollingStatus.js",
            "pos_longpolling/static/src/js/PosAnnouncement.js",
            "pos_longpolling/static/src/js/AnnouncementPopup.js",
            "pos_longpolling/static/src/js/AnnouncementChrome.js",
            "pos_longpolling/static/src/css/pos_longpolling.css",
        ],
        "web.assets_qweb": [
            "pos_longpolling/static/src/xml/**/*",
        ],
        "web.assets_tests": [
            "pos_longpolling/static/tests/tours/**/*",
        ],
    },
    "post_load": "post_load",
    "installable": True,
}
