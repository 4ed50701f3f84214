"""One small module per table or study: which variants, which data, how to aggregate."""
