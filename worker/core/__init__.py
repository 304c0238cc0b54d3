"""The pure pipeline: normalize, blocks, matcher, classify, redact, template, aggregate, pipeline. No I/O."""
