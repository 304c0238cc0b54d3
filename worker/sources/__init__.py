"""Where events come from (files, Kafka) and the one commit path both use."""
