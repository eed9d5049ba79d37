"""Code shared by the paas-billing processes: config, logging, errors, database and broker."""
