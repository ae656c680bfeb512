"""Live end-to-end / fault / performance harness of pos_longpolling."""
