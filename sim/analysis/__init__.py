"""Statistics over ensembles: summaries across replications and paired comparisons."""
