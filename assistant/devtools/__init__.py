"""Developer tools: evaluation, reports, eval-set schema, tuning, benchmarks. Not imported by the product."""
