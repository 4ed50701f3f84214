"""The run engine every table shares: variants and their training, notebook data, statistics, claims, report."""
