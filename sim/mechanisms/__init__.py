"""Pure, vectorized rules. Each takes arrays and a generator and returns arrays; none loops over people."""
