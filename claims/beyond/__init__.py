"""Questions beyond the paper (Section 8): biases, non-Gaussian initializations, training; their records carry
section "beyond" and have their own section of the claims table."""
