"""Sequence tasks: generators of input/target batches with a success criterion."""
