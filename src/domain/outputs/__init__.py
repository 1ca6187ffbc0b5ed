"""A job's outputs: delivery while the prompt runs, where each is stored, the answer's size and output formats."""
