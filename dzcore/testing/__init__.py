"""The testing kit: gradient checks, hypothesis strategies, conformance."""
